"""Smoke, resume and determinism tests of replicate/table1.py on synthetic:tiny (SHORT Table 1)."""

import csv
import importlib.util
import json
from pathlib import Path

import pytest

from ser_keras.experiments.short import TABLE1_IDS

ROOT = Path(__file__).resolve().parent.parent


def _table1():
    spec = importlib.util.spec_from_file_location("table1_script", ROOT / "replicate" / "table1.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(out, *extra):
    _table1().main(["--corpus", "synthetic:tiny", "--quick", "--out", str(out), "--verbose", "0", *extra])
    return json.loads((out / "metrics.json").read_text())


def _comparable(metrics):
    return {key: value for key, value in metrics.items() if key != "wall_s"}


@pytest.fixture(scope="module")
def full_quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("table1") / "run"
    return out, _run(out)


def test_quick_run_writes_every_row_and_file(full_quick_run):
    out, metrics = full_quick_run
    assert [row["id"] for row in metrics["rows"]] == list(TABLE1_IDS)
    assert metrics["quick"] is True and metrics["protocol"] == "leave_one_session_out"
    assert metrics["folds"] == ["Ses01", "Ses02", "Ses03", "Ses04", "Ses05"]
    for row in metrics["rows"]:
        if row["id"].startswith("boaw_w2v2"):
            assert row["value"] is None and row["status"] == "skipped: no --wav2vec2 weights"
        else:
            assert 0.0 <= row["value"] <= 100.0
            assert row["ci95"][0] <= row["value"] <= row["ci95"][1]
    for name in ("config.json", "env.json", "results.csv", "predictions.csv", "table.md"):
        assert (out / name).stat().st_size > 0
    with open(out / "predictions.csv") as handle:
        header = next(csv.reader(handle))
    assert header == ["id", "row", "fold", "target", "prediction"]
    table = (out / "table.md").read_text()
    assert "QUICK budget" in table and "56.57" in table
    for row_id in ("raw_subseg_cnn", "raw_seg_cnn", "compare_lld_mlp", "egemaps_lld_mlp"):
        for fold in metrics["folds"]:
            sidecar = json.loads((out / "models" / f"{row_id}_{fold}.json").read_text())
            assert sidecar["labels"] == ["ang", "hap", "neu", "sad"] and sidecar["fold"] == fold
            assert (out / "models" / f"{row_id}_{fold}.h5").stat().st_size > 0


@pytest.mark.reliability
def test_rerun_with_same_seed_is_identical_and_resume_reuses_parts(full_quick_run, tmp_path):
    out, metrics = full_quick_run
    rows = "compare_func_svm,raw_seg_cnn"
    again = _run(tmp_path / "again", "--rows", rows)
    assert [r for r in again["rows"]] == [r for r in metrics["rows"] if r["id"] in rows.split(",")]
    with pytest.raises(SystemExit):
        _run(tmp_path / "again", "--rows", rows)  # a finished run is not overwritten without --resume
    part = tmp_path / "again" / "parts" / "raw_seg_cnn" / "Ses02.json"
    stamp = part.stat().st_mtime_ns
    resumed = _run(tmp_path / "again", "--rows", rows, "--resume")
    assert part.stat().st_mtime_ns == stamp
    assert _comparable(resumed)["rows"] == _comparable(again)["rows"]


def test_merging_runs_of_disjoint_folds_gives_the_single_run_values(full_quick_run, tmp_path):
    import shutil

    from ser_keras.experiments.merge import merge_runs

    out, metrics = full_quick_run
    halves = {"a": ["Ses01", "Ses02"], "b": ["Ses03", "Ses04", "Ses05"]}
    for name, folds in halves.items():
        half = shutil.copytree(out, tmp_path / name)
        partial = {**metrics, "folds": folds}
        (half / "metrics.json").write_text(json.dumps(partial))
        for part in half.glob("parts/*/*.json"):
            if part.stem not in folds:
                part.unlink()
    merged = json.loads((merge_runs([tmp_path / "a", tmp_path / "b"], tmp_path / "merged") / "metrics.json").read_text())
    assert [row["value"] for row in merged["rows"]] == [row["value"] for row in metrics["rows"]]
    assert merged["folds"] == metrics["folds"]
    with pytest.raises(ValueError, match="share folds"):
        merge_runs([tmp_path / "a", tmp_path / "a"], tmp_path / "twice")
