"""Smoke run of replicate/wieser_table5.py --quick on synthetic:tiny: the metrics.json schema,
row ids, claims, per-fold .h5 + sidecars, a saved ELoR reloading bit for bit in a process that
never imports ser_keras, --resume reusing finished parts, and tools/compare_runs.py on a real run."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from ser_keras.cli import wieser_table5
from ser_keras.data.corpus import load_corpus
from ser_keras.experiments.data import ElorData
from ser_keras.experiments.elor_table5 import BASELINE_IDS, TABLE5_IDS
from ser_keras.experiments.networks import NETWORKS
from ser_keras.experiments.run_comparison import compare_runs
from ser_keras.io import read_json
from ser_keras.stats import POINT_VERDICTS
from ser_keras.training.routes import route_layers

pytestmark = pytest.mark.integration

FOLD = "Ses03M"


def _run(out, *extra, folds=FOLD):
    return wieser_table5.main(
        ["--corpus", "synthetic:tiny", "--quick", "--verbose", "0", "--out", str(out), "--folds", folds, *extra]
    )


@pytest.fixture(scope="module")
def quick_run(tiny_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("table5") / "run"
    _run(out)
    return out


def test_metrics_schema_rows_and_claims(quick_run):
    metrics = read_json(quick_run / "metrics.json")
    assert metrics["script"] == "wieser_table5" and metrics["quick"] is True and metrics["seed"] == 0
    assert metrics["protocol"] == "leave_one_speaker_out" and metrics["folds"] == [FOLD]
    assert metrics["corpus"]["spec"] == "synthetic:tiny" and metrics["corpus"]["label_view"] == "dimensional_A-E2"
    assert [row["id"] for row in metrics["rows"]] == list(TABLE5_IDS) + list(BASELINE_IDS)
    for row in metrics["rows"]:
        assert {"id", "system", "classifier", "metric", "value", "ci95", "paper", "status", "origin"} <= set(row)
        assert 0.0 <= row["value"] <= 100.0 and row["status"].startswith("ok")
        if not row["id"].startswith("chance"):  # one test speaker: an interval over speakers has no spread
            assert (row["ci_unit"], row["ci_clusters"], row["ci95"]) == ("speaker", 1, None)
        assert row["paper"] is None if not row["id"].startswith("chance") else row["paper"] == 20.0
    assert [c["claim"] for c in metrics["claims"]] == [
        "ELoR best on arousal",
        "FTR worst on arousal",
        "ELoR+FTR best on valence",
        "WAR > UAR for every network",
        "Arousal > valence for every network",
    ]
    # Paired speaker tests, but one fold holds one test speaker: no verdict, said as such.
    assert all(c["verdict"] == "too few speakers to test" and c["tested"] for c in metrics["claims"][:3])
    assert all(c["verdict"] in POINT_VERDICTS and not c["tested"] for c in metrics["claims"][3:])
    table = (quick_run / "table.md").read_text()
    assert "n/a (not in source text)" in table and "Budget: **quick**" in table
    assert "| paper's claim | on this run | on what |" in table
    assert "### Arousal WAR: paired comparisons against elor" in table and (quick_run / "table5.png").exists()
    predictions = (quick_run / "predictions.csv").read_text().splitlines()
    assert predictions[0] == "id,row,fold,target,prediction,speaker"
    assert any(",elor_ftr_valence," in p for p in predictions)
    assert metrics["scoring"] == {"metrics": ["WAR", "UAR"], "num_classes": 5}


def test_models_and_sidecars_per_fold(quick_run):
    for network in NETWORKS:
        model = quick_run / "models" / f"{network}_{FOLD}.h5"
        sidecar = read_json(model.with_suffix(".json"))
        assert model.stat().st_size > 0
        assert sidecar["network"] == network and sidecar["fold"] == FOLD and sidecar["test_speakers"] == [FOLD]
        assert sidecar["labels"] == {"arousal": ["1", "2", "3", "4", "5"], "valence": ["1", "2", "3", "4", "5"]}
        assert set(sidecar["metrics"]["test"]) == {"arousal", "valence"} and sidecar["budget"]["name"] == "quick"
        assert sidecar["hparams"]["head_units"] == [32, 32]
        # the layers the split-head updates computed through a same-maths route on this machine
        reloaded = {
            layer: route for layer, route in route_layers(keras.models.load_model(model, compile=False)).items()
        }
        assert sidecar["training"]["routes"] == {layer.name: route for layer, route in reloaded.items()}
    assert read_json(quick_run / "models" / f"elor_{FOLD}.json")["training"]["routes"]  # its batch norms at least
    assert read_json(quick_run / "models" / f"elor_ftr_{FOLD}.json")["inputs"] == [[96000], [1582]]
    assert not (quick_run / "checkpoints").exists()


def test_saved_elor_reloads_bit_for_bit_without_ser_keras(quick_run, tmp_path):
    part = read_json(quick_run / "parts" / "elor" / f"{FOLD}.json")
    data = ElorData(load_corpus("synthetic:tiny"), verbose=0)
    index = np.array([data.slice_ids.index(i) for i in part["ids"]])
    inputs = np.concatenate([x.numpy() for x, _ in data.dataset("raw", index, batch_size=32)])
    np.save(tmp_path / "inputs.npy", inputs)
    script = (
        "import sys, numpy as np, keras\n"
        f"model = keras.models.load_model({str(quick_run / 'models' / f'elor_{FOLD}.h5')!r}, compile=False)\n"
        f"out = model.predict(np.load({str(tmp_path / 'inputs.npy')!r}), batch_size=32, verbose=0)\n"
        f"np.savez({str(tmp_path / 'out.npz')!r}, **{{k: np.asarray(v) for k, v in out.items()}})\n"
        "assert not [m for m in sys.modules if m.startswith('ser_keras')]\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path, env=env, capture_output=True)
    reloaded = np.load(tmp_path / "out.npz")
    for head in ("arousal", "valence"):
        stored = np.asarray(part[head]["probabilities"], np.float32)
        assert stored.shape == (len(part["ids"]), 5)
        np.testing.assert_array_equal(reloaded[head], stored)
        assert reloaded[head].argmax(axis=1).tolist() == part[head]["predictions"]


def test_resume_reuses_parts_and_refuses_without_flag(quick_run, tmp_path):
    out = Path(shutil.copytree(quick_run, tmp_path / "run"))
    with pytest.raises(SystemExit) as refused:
        _run(out)
    assert refused.value.code == 2
    kept = {p: p.stat().st_mtime_ns for p in (out / "parts").rglob("*.json") if p.parent.name != "ftr"}
    (out / "parts" / "ftr" / f"{FOLD}.json").unlink()
    (out / "metrics.json").unlink()
    _run(out, "--resume")  # FTR trains alone now, beside ELoR+FTR in the first run (two threads)
    assert {p: p.stat().st_mtime_ns for p in kept} == kept  # reused, not rewritten
    assert (out / "parts" / "ftr" / f"{FOLD}.json").exists()
    before, after = read_json(quick_run / "metrics.json"), read_json(out / "metrics.json")
    assert [(r["id"], r["value"]) for r in after["rows"]] == [(r["id"], r["value"]) for r in before["rows"]]


@pytest.mark.slow
def test_all_ten_folds(tiny_root, tmp_path):
    out = tmp_path / "run"
    wieser_table5.main(["--corpus", "synthetic:tiny", "--quick", "--verbose", "0", "--out", str(out)])
    metrics = read_json(out / "metrics.json")
    assert len(metrics["folds"]) == 10 and len(list((out / "models").glob("*.h5"))) == 40


def test_compare_runs_reproduces_the_runs_own_paired_comparison(quick_run, tmp_path):
    # A copy of the run whose ELoR arousal predictions are LoM's: across the two runs the ELoR
    # row then differs exactly as LoM differs from ELoR inside the run (same items, same
    # speaker clusters, same bootstrap seed and draws).
    copy = tmp_path / "lom_as_elor"
    shutil.copytree(quick_run, copy)
    lines = (copy / "predictions.csv").read_text().splitlines()
    lom = {line.split(",")[0]: line.split(",")[4] for line in lines[1:] if line.split(",")[1] == "lom_arousal"}
    swapped = [lines[0]]
    for line in lines[1:]:
        fields = line.split(",")
        if fields[1] == "elor_arousal":
            fields[4] = lom[fields[0]]
        swapped.append(",".join(fields))
    (copy / "predictions.csv").write_text("\n".join(swapped) + "\n")
    metrics = read_json(quick_run / "metrics.json")
    across = compare_runs(quick_run, copy, seed=metrics["seed"])
    assert across.differences == [] and len(across.comparisons) == 2 * 8  # WAR and UAR of 4 networks x 2 heads
    for metric in ("WAR", "UAR"):
        # Arousal's reference is ELoR (valence's ELoR+FTR), so this pair is the arousal one.
        inside = next(
            c for c in metrics["comparisons"] if (c["system"], c["reference"], c["metric"]) == ("lom", "elor", metric)
        )
        found = next(c for c in across.comparisons if c.metric == metric and c.reference.endswith(":elor_arousal"))
        assert (found.difference, found.p) == pytest.approx((inside["difference"], inside["p"]))
        assert found.ci95 is None and inside["ci95"] is None  # one speaker
        unchanged = [c for c in across.comparisons if c.metric == metric and c is not found]
        assert all(c.difference == 0.0 and c.p == 1.0 for c in unchanged)
