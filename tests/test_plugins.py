"""Your model beside the papers': a plug-in row and a plug-in ELOR network run through
table1.py / wieser_table5.py exactly like the paper's; a plug-in is a file (``--plugin
my_rows.py``) or a module; open time axes and heads named as a list or a dict train; the
scripts run plug-ins without a warning; bad plug-ins fail with one clear error before any
training."""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from ser_keras.cli import table1, wieser_table5
from ser_keras.data.windows import ContextTensor
from ser_keras.experiments import networks, plugins, rows
from ser_keras.training.device_input import ContextGather, with_input_gather

pytestmark = pytest.mark.integration


@pytest.fixture
def clean_registries():
    """The registries as the package defines them, restored after the test."""
    saved_rows, saved_networks = dict(rows.ROWS), dict(networks.NETWORKS)
    yield
    for registry, saved in ((rows.ROWS, saved_rows), (networks.NETWORKS, saved_networks)):
        registry.clear()
        registry.update(saved)
    loaded = [name for name in sys.modules if name == "plugin_models" or name.startswith(plugins.FILE_MODULE_PREFIX)]
    for name in loaded:
        sys.modules.pop(name)


def _h5_loads_in_a_fresh_process(path):
    code = f"import keras; m = keras.models.load_model({str(path)!r}, compile=False); print(m.count_params())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    return result.returncode == 0 and int(result.stdout.split()[-1]) > 0


def test_plugin_row_runs_like_a_paper_row(tmp_path, clean_registries):
    out = tmp_path / "t1"
    table1.main(
        [
            "--quick",
            "--corpus",
            "synthetic:tiny",
            "--plugin",
            "plugin_models",
            "--out",
            str(out),
            "--rows",
            "compare_func_rf,raw_subseg_cnn,tiny_window_cnn",
            "--verbose",
            "0",
        ]
    )
    metrics = json.loads((out / "metrics.json").read_text())
    row = next(r for r in metrics["rows"] if r["id"] == "tiny_window_cnn")
    assert row["origin"] == "plugin" and 0 <= row["value"] <= 100 and row["ci95"][0] <= row["value"] <= row["ci95"][1]
    comparison = next(c for c in metrics["comparisons"] if c["system"] == "tiny_window_cnn")
    assert comparison["reference"] == "compare_func_rf" and comparison["p_holm"] is not None
    table = (out / "table.md").read_text()
    assert "| tiny_window_cnn | tiny window CNN (test plug-in) |" in table and "not from the paper" in table
    assert "| tiny_window_cnn | " in table.split("### Paired comparisons against compare_func_rf")[1]
    assert "tiny_window_cnn" in (out / "comparisons.csv").read_text()
    sidecar = json.loads((out / "models" / "tiny_window_cnn_Ses01.json").read_text())
    assert sidecar["origin"] == "plugin" and sidecar["budget"]["name"] == "quick"
    assert metrics["fingerprint"]["settings"]["plugins"] == ["plugin_models"]
    assert _h5_loads_in_a_fresh_process(out / "models" / "tiny_window_cnn_Ses01.h5")


def test_plugin_network_runs_like_a_paper_network(tmp_path, clean_registries):
    out = tmp_path / "t5"
    wieser_table5.main(
        [
            "--quick",
            "--corpus",
            "synthetic:tiny",
            "--plugin",
            "plugin_models",
            "--out",
            str(out),
            "--networks",
            "elor,tiny_slice_cnn",
            "--folds",
            "Ses01F,Ses01M,Ses02F",
            "--verbose",
            "0",
        ]
    )
    metrics = json.loads((out / "metrics.json").read_text())
    mine = [r for r in metrics["rows"] if r["id"].startswith("tiny_slice_cnn_")]
    assert len(mine) == 4 and all(r["origin"] == "plugin" and r["value"] is not None for r in mine)
    assert any(c["system"] == "tiny_slice_cnn" and c["reference"] == "elor" for c in metrics["comparisons"])
    assert "Plug-in networks (not from the paper): TinySlice" in (out / "table.md").read_text()
    assert _h5_loads_in_a_fresh_process(out / "models" / "tiny_slice_cnn_Ses01F.h5")


def test_bad_plugins_fail_before_training_naming_the_plugin(tmp_path, clean_registries, capsys):
    with pytest.raises(SystemExit) as stop:
        table1.main(
            ["--quick", "--corpus", "synthetic:tiny", "--plugin", "no_such_plugin_module", "--out", str(tmp_path / "a")]
        )
    assert stop.value.code == 2 and "Plug-in 'no_such_plugin_module' failed to import" in capsys.readouterr().err
    with pytest.raises(ValueError, match="clashes with a registered row"):
        rows.register_row("raw_subseg_cnn", "raw_250ms", lambda shape, n: None)
    with pytest.raises(ValueError, match="unknown input kind 'mel'"):
        rows.register_row("mine", "mel", lambda shape, n: None)
    with pytest.raises(ValueError, match="clashes with a registered network"):
        networks.register_network("ELoR", "raw", lambda config: None)

    def wrong_output(shape, num_classes):
        inputs = keras.Input(shape=shape)
        return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))

    rows.register_row("wrong_output", "raw_250ms", wrong_output)
    with pytest.raises(SystemExit) as stop:
        table1.main(
            [
                "--quick",
                "--corpus",
                "synthetic:tiny",
                "--rows",
                "wrong_output",
                "--out",
                str(tmp_path / "b"),
                "--verbose",
                "0",
            ]
        )
    error = capsys.readouterr().err
    assert stop.value.code == 2 and "Plug-in row 'wrong_output': the model's output shape is (None, 3)" in error
    assert not (tmp_path / "b" / "parts").exists()


def test_readme_example_runs_as_written(tmp_path):
    """The README's "Add your own model" block, written to a module and run as the README says."""
    readme = (__import__("pathlib").Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("## Add your own model")[1].split("```python\n")[1].split("```")[0]
    assert len(block.strip().splitlines()) <= 20
    (tmp_path / "my_rows.py").write_text(block)
    command = readme.split("## Add your own model")[1].split("```bash\n")[1].split("```")[0].strip()
    command = command.replace("python replicate/table1.py", f"{sys.executable} -m ser_keras.cli table1")
    result = subprocess.run(
        command + f" --out {tmp_path / 'run'} --verbose 0",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert any(r["origin"] == "plugin" and r["value"] is not None for r in metrics["rows"])
    assert textwrap.dedent(block) == block


REPOSITORY = Path(__file__).resolve().parent.parent
PLUGIN_FILE = Path(__file__).resolve().parent / "plugin_models.py"


def _script(script, *argv, out):
    """A replicate script run the way the README shows it, from the repository (on the session's
    synthetic:tiny, ``tiny_root``), with Python's UserWarnings (Keras' advice on a call of ours)
    turned into errors."""
    command = [
        sys.executable,
        "-W",
        "error::UserWarning",
        f"replicate/{script}.py",
        "--quick",
        "--corpus",
        "synthetic:tiny",
        "--plugin",
        os.path.relpath(PLUGIN_FILE, REPOSITORY),
        *argv,
        "--out",
        str(out),
    ]
    return subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, check=False)


def _quiet(result):
    """rc 0, and stderr holds the progress lines only: no traceback, no warning."""
    assert result.returncode == 0, result.stderr[-3000:]
    noise = [line for line in result.stderr.splitlines() if "warn" in line.lower() or "traceback" in line.lower()]
    assert noise == [], noise


def test_a_plugin_file_with_an_open_time_axis_and_its_own_recipe_runs_through_table1(tmp_path, tiny_root):
    result = _script("table1", "--rows", "open_context_mean", "--folds", "Ses01,Ses02", out=tmp_path / "t1")
    _quiet(result)
    assert "| open_context_mean |" in result.stdout  # the table, printed
    sidecar = json.loads((tmp_path / "t1" / "models" / "open_context_mean_Ses01.json").read_text())
    assert sidecar["input_shape"][0] is None and sidecar["training"]["recipe"].startswith("plug-in compiled")
    metrics = json.loads((tmp_path / "t1" / "metrics.json").read_text())
    assert metrics["fingerprint"]["settings"]["plugins"] == ["tests/plugin_models.py"]


def test_a_plugin_file_with_open_frames_and_heads_as_a_list_or_a_dict_runs_through_table5(tmp_path, tiny_root):
    result = _script(
        "wieser_table5",
        "--networks",
        "open_frames_list,open_frames_dict",
        "--folds",
        "Ses01F,Ses01M",
        out=tmp_path / "t5",
    )
    _quiet(result)
    for network in ("open_frames_list", "open_frames_dict"):
        assert f"| {network}_arousal_uar |" in result.stdout
        sidecar = json.loads((tmp_path / "t5" / "models" / f"{network}_Ses01F.json").read_text())
        assert sidecar["inputs"] == [[None, 26]]


def _write_plugin(folder, row_id):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "my_rows.py"
    path.write_text(
        textwrap.dedent(f"""
        import keras
        import ser_keras

        def build(input_shape, num_classes):
            window = keras.Input(shape=input_shape)
            return keras.Model(window, keras.layers.Dense(num_classes, activation="softmax")(window))

        ser_keras.register_row({row_id!r}, "raw_250ms", build)
    """)
    )
    return path


def test_a_plugin_file_loads_once_under_its_own_module_name(tmp_path, clean_registries, monkeypatch, capsys):
    path = _write_plugin(tmp_path / "a", "file_row")
    monkeypatch.chdir(tmp_path)
    assert plugins.load_plugins(["a/my_rows.py"]) == ["a/my_rows.py"]
    assert rows.ROWS["file_row"].origin == "plugin"
    assert sys.modules["ser_keras_plugin_my_rows"].__file__ == str(path)
    assert plugins.load_plugins([str(path)]) == [str(path)]  # the same file, named otherwise: not imported again
    _write_plugin(tmp_path / "b", "other_row")
    with pytest.raises(ValueError, match=r"Plug-in files .*a/my_rows.py and .*b/my_rows.py share the name"):
        plugins.load_plugins(["b/my_rows.py"])
    with pytest.raises(SystemExit) as stop:
        table1.main(
            ["--quick", "--corpus", "synthetic:tiny", "--plugin", "missing/rows.py", "--out", str(tmp_path / "run")]
        )
    error = capsys.readouterr().err
    assert stop.value.code == 2 and "Plug-in file 'missing/rows.py' does not exist" in error


def _two_heads(names, *, shared_heads=False):
    """A functional model on MFCC frames whose outputs are layers named ``names``: Dense heads,
    or, with ``shared_heads``, views of one Dense layer (no layer of a head's own)."""
    frames = keras.Input(shape=(599, 26))
    x = keras.layers.GlobalAveragePooling1D()(frames)
    if shared_heads:
        x = keras.layers.Dense(5, activation="softmax", name="both")(x)
        return keras.Model(frames, [keras.layers.Identity(name=name)(x) for name in names])
    return keras.Model(frames, [keras.layers.Dense(5, activation="softmax", name=name)(x) for name in names])


@pytest.mark.parametrize(
    "names, shared_heads, message",
    [
        (
            ("first", "second"),
            False,
            (
                r"outputs named \['first', 'second'\]; expected two outputs named 'valence' and "
                r"'arousal' \(a list of layers of those names, or a dict with those keys\)"
            ),
        ),
        (("valence",), False, r"outputs named \['valence'\]; expected two outputs"),
        (("valence", "arousal", "dominance"), False, r"outputs named \['arousal', 'dominance', 'valence'\]"),
        (("valence", "arousal"), True, r"no trainable layer feeds the 'valence' output alone"),
    ],
)
def test_heads_that_cannot_be_mapped_are_refused_before_training(
    names, shared_heads, message, tmp_path, clean_registries, capsys
):
    networks.register_network("unmapped", "mfcc", lambda config: _two_heads(names, shared_heads=shared_heads))
    with pytest.raises(SystemExit) as stop:
        wieser_table5.main(
            [
                "--quick",
                "--corpus",
                "synthetic:tiny",
                "--networks",
                "unmapped",
                "--folds",
                "Ses01F",
                "--out",
                str(tmp_path / "run"),
                "--verbose",
                "0",
            ]
        )
    error = capsys.readouterr().err
    assert stop.value.code == 2 and "Plug-in network 'unmapped': " in error and re.search(message, error), error
    assert not (tmp_path / "run" / "parts").exists()


def test_a_context_model_with_an_open_time_axis_takes_contexts_cut_on_the_device():
    matrices = [np.arange(12 * 3, dtype=np.float32).reshape(12, 3) + 100 * index for index in range(2)]
    gather = ContextGather(ContextTensor(matrices))
    contexts = keras.Input(shape=(None, 3))
    model = with_input_gather(keras.Model(contexts, keras.layers.Identity()(contexts)), gather)
    window_ids = np.array([[0, 4], [1, 11]], np.int32)
    np.testing.assert_array_equal(model.predict(window_ids, verbose=0), gather(window_ids).numpy())
    wider = keras.Input(shape=(None, 4))
    with pytest.raises(ValueError, match=r"Got input shape \(None, None, 4\)"):
        with_input_gather(keras.Model(wider, keras.layers.Identity()(wider)), gather)
