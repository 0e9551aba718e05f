"""The command-line home: every subcommand of ser_keras.cli imports and has
``main``, the installed ``ser-keras-<name>`` commands match the table, the dispatcher lists and
runs them, and the scripts in replicate/, tuning/ and tools/ only call their module."""

import configparser
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from ser_keras.cli import MODULES, SUBCOMMANDS, command_name, module_of
from ser_keras.cli.__main__ import main as dispatch

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("module", MODULES)
def test_every_subcommand_imports_and_has_main(module):
    assert callable(importlib.import_module(f"ser_keras.cli.{module}").main)


def test_setup_cfg_installs_one_command_per_subcommand():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    lines = [line.strip() for line in setup["options.entry_points"]["console_scripts"].splitlines() if line.strip()]
    installed = dict(line.split(" = ") for line in lines)
    assert installed == {
        "ser-keras": "ser_keras.cli.__main__:main",
        **{f"ser-keras-{command_name(m)}": f"ser_keras.cli.{m}:main" for m in MODULES},
    }


@pytest.mark.parametrize("folder", SUBCOMMANDS)
def test_scripts_are_shims_of_their_module(folder):
    # Scripts of the checkout for its developers, not commands (the benchmarks are in tools/bench/).
    scripts = {path.stem for path in (ROOT / folder).glob("*.py")} - {"make_wav2vec2_fixture", "calibrate_stats"}
    assert scripts == set(SUBCOMMANDS[folder])
    for module in scripts:
        assert f"from ser_keras.cli.{module} import main" in (ROOT / folder / f"{module}.py").read_text()


def test_dispatcher_lists_every_command_with_its_summary(capsys):
    assert dispatch(["list"]) == 0
    listing = capsys.readouterr().out
    assert all(f"  {command_name(m)} " in listing for m in MODULES)
    assert "Replicate SHORT Fig. 2: cumulative frequency response" in listing
    assert dispatch(["no-such-command"]) == 2 and "unknown command 'no-such-command'" in capsys.readouterr().err


def test_the_listing_heads_each_folder_with_its_role_and_installs_no_benchmark(capsys):
    # The benchmarks are developer tools of the checkout (tools/bench/), not commands of the package.
    assert dispatch(["list"]) == 0
    listing = capsys.readouterr().out
    assert "replicate: the papers' tables and figures" in listing and "tuning: hyperparameter searches" in listing
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    assert "bench" not in setup["options.entry_points"]["console_scripts"] and "bench" not in listing
    assert not [path for path in (ROOT / "ser_keras").rglob("*.py") if "bench" in str(path.relative_to(ROOT))]


def test_commands_accept_either_spelling():
    assert module_of("wieser-table5") == module_of("wieser_table5") == "wieser_table5"
    assert module_of("common") is None  # shared plumbing, not a subcommand


@pytest.mark.integration
def test_table1_help_runs_as_a_command():
    done = subprocess.run(
        [sys.executable, "-m", "ser_keras.cli", "table1", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: ser-keras table1") and "--corpus" in done.stdout


@pytest.mark.parametrize("native", [True, False])
def test_mixed_precision_is_recorded_in_the_budget_and_warns_where_it_is_emulated(native, monkeypatch, caplog):
    import argparse

    import keras

    from ser_keras.cli import common
    from ser_keras.runs import Budget

    monkeypatch.setattr(common, "half_precision_native", lambda: native)
    budget = Budget("embedded", {"max_epochs": 6}, "embedded-corpus budget")
    assert common.precision_budget(argparse.Namespace(mixed_precision=False), budget) is budget
    try:
        with caplog.at_level("WARNING", logger="ser_keras"):
            mixed = common.precision_budget(argparse.Namespace(mixed_precision=True), budget)
        policy = keras.mixed_precision.global_policy().name
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert mixed.settings == {"max_epochs": 6, "precision": policy} and policy in mixed.words
    warned = [record.message for record in caplog.records if "emulated" in record.message]
    assert len(warned) == (0 if native else 1)
