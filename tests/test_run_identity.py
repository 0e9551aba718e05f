"""Results that vouch for themselves: run fingerprints refuse a folder of another
identity for every script, budget labels, hyperparameter provenance, per-fold (nested)
tuning, and merged runs equal to the single run."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ser_keras.cli import (
    merge_runs,
    search_elor,
    short_fig2,
    short_fig3,
    short_table3,
    short_table4,
    table1,
    wieser_fig4,
    wieser_fig5,
    wieser_table5,
)
from ser_keras.data.corpus import load_corpus
from ser_keras.experiments import elor, short
from ser_keras.experiments.analysis_short import analysis_budget
from ser_keras.experiments.hparams import open_hparam_source
from ser_keras.experiments.merge import without_flags
from ser_keras.io import write_json
from ser_keras.runs import Budget, RunIdentityError, RunRecord, fingerprint_differences, run_fingerprint


class _Corpus:
    def __init__(self, spec, sha256="a" * 64):
        self.spec, self.sha256, self.utterances = spec, sha256, []


def _fingerprint(spec="synthetic:tiny", sha256="a" * 64, **changes):
    values = {
        "script": "table1",
        "label_view": "four_class",
        "protocol": "leave-one-session-out",
        "budget": Budget("quick", {"max_epochs": 2}, "quick"),
        "seed": 0,
        "settings": {"batch_size": 256},
    }
    values.update(changes)
    return run_fingerprint(corpus=_Corpus(spec, sha256), **values)


# -- unit: fingerprints, budgets, provenance -------------------------------------------------
@pytest.mark.unit
def test_differences_name_every_changed_key_with_both_values():
    differences = fingerprint_differences(_fingerprint(), _fingerprint("synthetic:small", "b" * 64, seed=3))
    assert ("corpus.spec", "synthetic:tiny", "synthetic:small") in differences
    assert ("seed", 0, 3) in differences
    assert {key for key, _, _ in differences} == {"corpus.spec", "corpus.sha256", "seed"}


@pytest.mark.unit
def test_record_refuses_another_identity_and_reuses_nothing(tmp_path):
    record = RunRecord(tmp_path, script="table1", fingerprint=_fingerprint(), config={"seed": 0})
    record.save_part("row", "Ses01", {"ids": []})
    with pytest.raises(RunIdentityError, match="corpus.spec: 'synthetic:tiny' there, 'synthetic:small' now"):
        RunRecord(tmp_path, script="table1", fingerprint=_fingerprint("synthetic:small"), config={}, resume=True)
    with pytest.raises(FileExistsError, match="--resume"):
        RunRecord(tmp_path, script="table1", fingerprint=_fingerprint(), config={})
    resumed = RunRecord(tmp_path, script="table1", fingerprint=_fingerprint(), config={}, resume=True)
    assert resumed.load_part("row", "Ses01") == {"ids": []}


@pytest.mark.unit
def test_a_folder_with_results_but_no_fingerprint_is_refused(tmp_path):
    write_json(tmp_path / "parts" / "row" / "Ses01.json", {"ids": []})
    with pytest.raises(RunIdentityError, match="without a fingerprint"):
        RunRecord(tmp_path, script="table1", fingerprint=_fingerprint(), config={}, resume=True)


@pytest.mark.unit
@pytest.mark.parametrize(
    "kind, quick, name",
    [
        ("synthetic", False, "embedded"),
        ("synthetic", True, "quick"),
        ("iemocap", False, "full"),
        ("emodb", False, "full"),
        ("manifest", False, "full"),
        ("emodb", True, "quick"),
    ],
)
def test_budget_names(kind, quick, name):
    for budget in (short.budget(kind, quick=quick), elor.budget(kind, quick=quick), analysis_budget(kind, quick=quick)):
        assert budget.name == name and budget.to_dict()["name"] == name
    if name == "embedded":
        assert "every 12th window" in short.budget(kind, quick=quick).words
        assert "at most 6 epochs" in short.budget(kind, quick=quick).words


def _search_folder(root, *, quick, corpus_sha256, network="elor", fold="Ses01F"):
    root.mkdir(parents=True)
    write_json(root / "best_hparams.json", {"network": network, "hparams": {"dropout_rate": 0.4}})
    write_json(
        root / "search.json",
        {"network": network, "quick": quick, "corpus": "synthetic:tiny", "corpus_sha256": corpus_sha256, "fold": fold},
    )
    return root / "best_hparams.json"


@pytest.mark.unit
def test_quick_or_foreign_hyperparameters_are_refused_unless_allowed(tmp_path):
    corpus = _Corpus("iemocap:/data", "b" * 64)
    quick_file = _search_folder(tmp_path / "quick", quick=True, corpus_sha256="b" * 64)
    with pytest.raises(RunIdentityError, match=r"best_hparams.json: quick True in its search, False in this run"):
        open_hparam_source(quick_file, ["Ses01F"], corpus=corpus, quick=False)
    foreign = _search_folder(tmp_path / "foreign", quick=False, corpus_sha256="a" * 64)
    with pytest.raises(RunIdentityError, match="corpus 'synthetic:tiny"):
        open_hparam_source(foreign, ["Ses01F"], corpus=corpus, quick=False)
    source, accepted = open_hparam_source(foreign, ["Ses01F"], corpus=corpus, quick=False, allow_foreign=True)
    assert len(accepted) == 1 and "ACCEPTED DESPITE --allow-foreign-hparams" in source.summary(foreign=accepted)
    assert "selected once on fold Ses01F's training pool" in source.summary()
    assert "other folds' test speakers were in that pool (paper protocol)" in source.summary()


@pytest.mark.unit
def test_per_fold_hyperparameters_need_every_fold_run(tmp_path):
    corpus = _Corpus("synthetic:tiny", "b" * 64)
    for fold in ("Ses01F", "Ses01M"):
        _search_folder(tmp_path / "nested" / fold, quick=True, corpus_sha256="b" * 64, fold=fold)
    source, _ = open_hparam_source(tmp_path / "nested", ["Ses01F", "Ses01M"], corpus=corpus, quick=True)
    assert source.protocol == "per_fold" and source.for_fold("Ses01M").search["fold"] == "Ses01M"
    assert "per outer fold" in source.summary()
    with pytest.raises(ValueError, match="lacks best_hparams.json for fold"):
        open_hparam_source(tmp_path / "nested", ["Ses01F", "Ses02F"], corpus=corpus, quick=True)


@pytest.mark.unit
def test_merge_replaces_out_folds_and_resume_in_the_stored_command():
    argv = ["--quick", "--out", "a", "--folds=Ses01", "--resume", "--networks", "ftr"]
    assert without_flags(argv) == ["--quick", "--networks", "ftr"]


# -- integration: every script refuses a folder of another identity --------------------------
def _foreign_folder(out):
    """A run folder holding a part, fingerprinted as a run on another corpus."""
    write_json(out / "fingerprint.json", _fingerprint("synthetic:small", "c" * 64))
    write_json(out / "parts" / "some_row" / "Ses01.json", {"ids": [], "targets": [], "predictions": []})
    return out


SCRIPTS = {
    "table1": (table1, ["--rows", "compare_func_svm"]),
    "wieser_table5": (wieser_table5, ["--networks", "ftr"]),
    "short_fig2": (short_fig2, []),
    "short_fig3": (short_fig3, []),
    "short_table3": (short_table3, []),
    "short_table4": (short_table4, []),
    "wieser_fig4": (wieser_fig4, []),
    "wieser_fig5": (wieser_fig5, []),
}


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_resume_on_a_run_of_another_corpus_exits_2_naming_corpus(name, tmp_path, capsys):
    module, extra = SCRIPTS[name]
    out = _foreign_folder(tmp_path / "run")
    with pytest.raises(SystemExit) as stop:
        module.main(["--corpus", "synthetic:tiny", "--quick", "--out", str(out), "--resume", "--verbose", "0", *extra])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert "another identity" in error and "corpus.spec: 'synthetic:small' there, 'synthetic:tiny' now" in error
    assert sorted(p.name for p in (out / "parts").rglob("*.json")) == ["Ses01.json"]  # nothing reused or added


@pytest.mark.integration
def test_search_refuses_a_folder_of_another_corpus(tmp_path, capsys):
    out = tmp_path / "search"
    write_json(out / "search.json", {"network": "elor", "corpus": "synthetic:small"})
    code = search_elor.main(["--corpus", "synthetic:tiny", "--quick", "--out", str(out), "--resume", "--verbose", "0"])
    assert code == 2
    assert "corpus" in capsys.readouterr().err


@pytest.mark.integration
def test_table1_then_another_corpus_with_resume_refuses(tmp_path, tiny_copy, capsys):
    """A run, then --resume into its folder with another corpus spec (the tiny corpus's own audio
    read as IEMOCAP): refused with exit 2, naming both specs, although the audio is the same."""
    out = tmp_path / "R"
    table1.main(
        ["--corpus", "synthetic:tiny", "--rows", "compare_func_svm", "--out", str(out), "--quick", "--verbose", "0"]
    )
    with pytest.raises(SystemExit) as stop:
        table1.main(
            [
                "--corpus",
                f"iemocap:{tiny_copy}",
                "--rows",
                "compare_func_svm",
                "--out",
                str(out),
                "--quick",
                "--resume",
                "--verbose",
                "0",
            ]
        )
    assert stop.value.code == 2
    assert f"corpus.spec: 'synthetic:tiny' there, 'iemocap:{tiny_copy}' now" in capsys.readouterr().err


@pytest.mark.integration
def test_analysis_refuses_models_of_another_budget(tmp_path, capsys):
    source = tmp_path / "source"
    table1.main(
        ["--corpus", "synthetic:tiny", "--rows", "compare_func_svm", "--out", str(source), "--quick", "--verbose", "0"]
    )
    with pytest.raises(SystemExit) as stop:  # the analysis at the embedded budget, the models from a quick run
        short_fig2.main(
            ["--corpus", "synthetic:tiny", "--models", str(source), "--out", str(tmp_path / "a"), "--verbose", "0"]
        )
    assert stop.value.code == 2
    assert "budget.name: 'quick' there, 'embedded' now" in capsys.readouterr().err


# -- merges and per-fold tuning ----------------------------------------------------------------
def _table5(out, *extra):
    wieser_table5.main(
        ["--corpus", "synthetic:tiny", "--quick", "--networks", "ftr", "--out", str(out), "--verbose", "0", *extra]
    )
    return json.loads((out / "metrics.json").read_text())


def _same_numbers(metrics):
    return {key: metrics[key] for key in ("rows", "claims", "comparisons", "folds", "budget", "fingerprint")}


@pytest.mark.integration
def test_merge_of_two_table5_halves_equals_the_whole_run(tmp_path):
    whole = _table5(tmp_path / "whole")
    folds = whole["folds"]
    _table5(tmp_path / "a", "--folds", ",".join(folds[:5]))
    _table5(tmp_path / "b", "--folds", ",".join(folds[5:]))
    merge_runs.main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "merged")])
    merged = json.loads((tmp_path / "merged" / "metrics.json").read_text())
    assert _same_numbers(merged) == _same_numbers(whole)
    assert (tmp_path / "merged" / "predictions.csv").read_text() == (tmp_path / "whole" / "predictions.csv").read_text()


@pytest.mark.integration
def test_merge_refuses_runs_of_another_identity(tmp_path, capsys):
    _table5(tmp_path / "a", "--folds", "Ses01F")
    _table5(tmp_path / "b", "--folds", "Ses01M", "--seed", "1")
    with pytest.raises(SystemExit) as stop:
        merge_runs.main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "merged")])
    error = capsys.readouterr().err
    assert stop.value.code == 2 and f"seed: 0 in {tmp_path / 'a'}, 1 in {tmp_path / 'b'}" in error


@pytest.mark.slow
def test_per_fold_search_feeds_each_fold_its_own_hyperparameters(tmp_path):
    search = tmp_path / "search"
    assert search_elor.main(
        ["--corpus", "synthetic:tiny", "--quick", "--outer-folds", "all", "--out", str(search), "--verbose", "0"]
    ) in (None, 0)
    summary = json.loads((search / "summary.json").read_text())
    assert not summary["missing"] and len(summary["folds"]) == 10
    for fold in summary["folds"]:
        settings = json.loads((search / fold / "search.json").read_text())
        assert settings["fold"] == fold and settings["outer_fold"] is True
    out = tmp_path / "table5"
    wieser_table5.main(
        [
            "--corpus",
            "synthetic:tiny",
            "--quick",
            "--networks",
            "elor",
            "--hparams",
            str(search),
            "--out",
            str(out),
            "--verbose",
            "0",
        ]
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["hyperparameters"]["protocol"] == "per_fold"
    assert "per outer fold" in (out / "table.md").read_text()
    for fold, searched in summary["folds"].items():
        used = metrics["hparams"]["elor"][fold]
        assert all(
            used[key] == value
            for key, value in searched["hparams"].items()
            if key in ("dropout_rate", "l2_alpha", "learning_rate")
        )
        sidecar = json.loads((out / "models" / f"elor_{fold}.json").read_text())
        assert sidecar["hparams"] == used and sidecar["budget"]["name"] == "quick"


@pytest.mark.integration
def test_one_file_hyperparameters_say_they_come_from_one_fold(tmp_path):
    corpus = load_corpus("synthetic:tiny")
    folder = tmp_path / "search"
    _search_folder(folder, quick=True, corpus_sha256=corpus.sha256, network="ftr")
    metrics = _table5(tmp_path / "run", "--hparams", str(folder / "best_hparams.json"), "--folds", "Ses01F")
    assert metrics["hyperparameters"]["protocol"] == "once"
    table = (tmp_path / "run" / "table.md").read_text()
    assert "selected once on fold Ses01F's training pool" in table and "(paper protocol)" in table
    assert metrics["hparams"]["ftr"]["Ses01F"]["dropout_rate"] == 0.4


def _checkout(root):
    """A git checkout of the package and the scripts, committed once (a user's clone)."""
    repo = Path(__file__).resolve().parent.parent
    for folder in ("ser_keras", "replicate"):
        shutil.copytree(repo / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "README.md").write_text("# ser-keras\n")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "clone")
    return root


def _git(root, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True)


@pytest.mark.integration
def test_a_readme_commit_keeps_resume_and_a_code_edit_refuses_it_naming_the_file(tmp_path, tiny_root):
    checkout, out = _checkout(tmp_path / "checkout"), tmp_path / "run"

    def table1(folds, *extra):
        return subprocess.run(
            [
                sys.executable,
                "replicate/table1.py",
                "--quick",
                "--corpus",
                "synthetic:tiny",
                "--rows",
                "compare_func_svm",
                "--folds",
                folds,
                "--out",
                str(out),
                "--verbose",
                "0",
                *extra,
            ],
            cwd=checkout,
            env={**os.environ, "PYTHONPATH": str(checkout)},
            capture_output=True,
            text=True,
        )

    first = table1("Ses01")
    assert first.returncode == 0, first.stderr[-2000:]
    (checkout / "README.md").write_text("# ser-keras\n\nA typo fixed.\n")
    _git(checkout, "commit", "-qam", "README typo")
    resumed = table1("Ses01,Ses02", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((out / "metrics.json").read_text())["folds"] == ["Ses01", "Ses02"]
    with open(checkout / "ser_keras" / "stats.py", "a", encoding="utf-8") as handle:
        handle.write("# an edit, not committed\n")
    refused = table1("Ses01,Ses02", "--resume")
    assert refused.returncode == 2
    assert "package source differs in ser_keras/stats.py" in refused.stderr, refused.stderr[-2000:]


@pytest.mark.unit
def test_reporting_only_settings_are_outside_the_identity():
    from ser_keras.cli.common import identity_settings

    settings = identity_settings(short.ShortConfig(reference="compare_func_svm", margin=1.0))
    assert "reference" not in settings and "margin" not in settings and "batch_size" in settings
    assert settings == identity_settings(short.ShortConfig())
