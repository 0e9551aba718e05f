"""Smoke tests of the analysis scripts (SHORT Fig. 2, Tables 3-4, Fig. 3; ELOR Figs. 4-5) with
--quick on synthetic:tiny, plus the relevance bookkeeping of ShortAnalysis against a direct
per-utterance computation."""

import importlib
import io
import json
import re
import shutil
from importlib import resources

import jsonschema
import keras
import numpy as np
import pytest

from ser_keras.experiments.analysis_short import TABLE3_IDS

pytestmark = pytest.mark.integration

METRICS_SCHEMA = json.loads(resources.files("ser_keras").joinpath("schemas/metrics.schema.json").read_text())
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _main(name, out, *extra):
    importlib.import_module(f"ser_keras.cli.{name}").main(
        ["--corpus", "synthetic:tiny", "--quick", "--out", str(out), "--verbose", "0", *extra]
    )
    return json.loads((out / "metrics.json").read_text())


def _check_pngs(out, names):
    assert names
    for name in names:
        assert (out / name).read_bytes()[:8] == PNG_MAGIC, name


def _check_schema(metrics, script):
    jsonschema.validate(metrics, METRICS_SCHEMA)
    assert metrics["script"] == script and metrics["budget"]["name"] == "quick"
    assert metrics["corpus"]["spec"] == "synthetic:tiny"
    for row in metrics["rows"]:
        assert {"id", "metric", "value", "paper", "status"} <= set(row)
        assert row["status"].startswith("ok") and row["value"] is not None
    for claim in metrics["claims"]:
        assert set(claim) >= {"claim", "holds"} and claim["holds"] in (True, False, None)


@pytest.fixture(scope="module")
def table3(tmp_path_factory):
    out = tmp_path_factory.mktemp("short") / "table3"
    return out, _main("short_table3", out)


def test_short_table3_rows_and_models(table3):
    out, metrics = table3
    _check_schema(metrics, "short_table3")
    ids = [row["id"] for row in metrics["rows"]]
    assert ids[4:] == list(TABLE3_IDS) and metrics["folds"] == ["Ses01"]
    assert all(0 <= row["value"] <= 100 for row in metrics["rows"])
    assert {row["id"]: row["paper"] for row in metrics["rows"]}["rel_subseg_compare_svm"] == 57.15
    for row_id in ("rel_subseg_cnn", "rel_seg_cnn", "raw_subseg_cnn"):
        assert (out / "models" / f"{row_id}_Ses01.h5").stat().st_size > 0
    part = json.loads((out / "parts" / "rel_seg_compare_rf" / "Ses01.json").read_text())
    assert len(part["importances"]) == 6373


def test_short_fig2_from_models(table3, tmp_path):
    metrics = _main("short_fig2", tmp_path / "fig2", "--models", str(table3[0]))
    _check_schema(metrics, "short_fig2")
    _check_pngs(tmp_path / "fig2", metrics["figures"])
    assert {row["id"] for row in metrics["rows"]} >= {"fig2_subseg_centroid_hz", "fig2_seg_centroid_hz"}
    assert metrics["frequency"]["subseg"]["dominant_band_hz"] in ([0, 1000], [1000, 4000], [4000, 8000])
    assert len(metrics["claims"]) == 3 and metrics["claims"][2]["holds"] is None  # one fold: no agreement


def test_short_fig2_resumes_without_model_weights(table3, tmp_path):
    # Committed and merged runs carry no weights: the curves must come from the fold parts.
    source = tmp_path / "source"
    shutil.copytree(table3[0], source)
    first = _main("short_fig2", tmp_path / "fig2", "--models", str(source))
    shutil.rmtree(source / "models")
    again = _main("short_fig2", tmp_path / "fig2", "--models", str(source), "--resume")
    assert not (tmp_path / "fig2" / "models").exists()  # nothing was retrained
    assert again["rows"] == first["rows"] and again["frequency"] == first["frequency"]


def test_short_table4_and_fig3_reuse_the_table3_run(table3, tmp_path):
    metrics = _main("short_table4", tmp_path / "table4", "--models", str(table3[0]))
    _check_schema(metrics, "short_table4")
    for summary in metrics["top_features"].values():
        assert len(summary["top"]) == 10 and sum(summary["group_counts"].values()) == 10
    assert "F-index" in (tmp_path / "table4" / "top_features.md").read_text()
    fig3 = _main("short_fig3", tmp_path / "fig3", "--models", str(table3[0]))
    _check_schema(fig3, "short_fig3")
    _check_pngs(tmp_path / "fig3", fig3["figures"])
    assert len(fig3["figures"]) == 4 and len(fig3["claims"]) == 4
    assert not (tmp_path / "fig3" / "models").exists()  # nothing retrained: parts came from the source run
    expected = {row["id"]: row["value"] for row in table3[1]["rows"]}
    assert all(expected[row["id"]] == row["value"] for row in fig3["rows"] if row["id"] in expected)


def _analysis(out, source):
    """A quick ShortAnalysis of fold Ses01 of synthetic:tiny into ``out``, reading ``source``."""
    from ser_keras.data.corpus import load_corpus
    from ser_keras.experiments.analysis_short import ShortAnalysis, ShortAnalysisConfig, analysis_budget
    from ser_keras.experiments.data import ShortData
    from ser_keras.runs import RunRecord, run_fingerprint

    corpus = load_corpus("synthetic:tiny")
    budget = analysis_budget(corpus.kind, quick=True)
    config = ShortAnalysisConfig(folds=("Ses01",), verbose=0, budget=budget.name, **budget.settings)
    fingerprint = run_fingerprint(
        script="test", corpus=corpus, label_view="four_class", protocol="p", budget=budget, seed=0, settings={}
    )
    record = RunRecord(out, script="test", fingerprint=fingerprint, config={})
    return ShortAnalysis(ShortData(corpus, folds=("Ses01",), verbose=0), config, record, source=source)


def test_an_analysis_tells_each_unit_once_imported_ones_as_done(table3, tmp_path, monkeypatch):
    from ser_keras import console

    source = tmp_path / "source"
    shutil.copytree(table3[0], source)
    for row_id in ("rel_subseg_compare_svm", "rel_subseg_cnn"):
        shutil.rmtree(source / "parts" / row_id)
    row_ids = ["compare_func_rf", "rel_subseg_compare_svm", "rel_subseg_cnn"]
    weightless = tmp_path / "weightless"
    shutil.copytree(source, weightless, ignore=shutil.ignore_patterns("models"))
    # The CNNs whose models neither run holds are trained, and counted, for the relevance and the curves.
    planned = _analysis(tmp_path / "other", weightless).planned_rows(row_ids, responses=("seg",))
    assert planned == [*row_ids, "raw_subseg_cnn", "raw_seg_cnn"]
    analysis = _analysis(tmp_path / "run", source)
    assert analysis.planned_rows(row_ids) == row_ids and analysis.planned_rows((), responses=("subseg", "seg")) == []
    monkeypatch.setattr(console, "HEARTBEAT_SECONDS", 0)  # a heartbeat line after every epoch
    stream = io.StringIO()
    with console.RunProgress(len(row_ids), stream=stream) as progress:
        analysis.report_to(progress, row_ids)
        analysis.importances("raw")  # imports compare_func_rf, which rows() then reads again
        analysis.rows(row_ids)
        analysis.confusion("rel_subseg_cnn")
    lines = stream.getvalue().splitlines()
    units = [line for line in lines if re.search(r" \[\d/3\] ", line)]
    assert progress.done == progress.total == 3 and len(units) == 3, lines
    assert units[0].endswith("[1/3] compare_func_rf Ses01: resumed")
    assert re.search(r"\[2/3\] rel_subseg_compare_svm Ses01: UAR [\d.]+ %, \d+ s", units[1])
    assert re.search(r"\[3/3\] rel_subseg_cnn Ses01: UAR [\d.]+ %, 2 epochs, \d+ s$", units[2])
    assert [line for line in lines if re.fullmatch(r"\d\d:\d\d:\d\d   rel_subseg_cnn Ses01: epoch \d+, .*", line)]


def test_relevance_signals_match_a_direct_computation(table3, tmp_path, window_oracle):
    from ser_keras.data.windows import STD_FLOOR, frame_counts
    from ser_keras.interpret import guided_model, utterance_relevance, window_relevance
    from ser_keras.interpret.relevance import spliced_window_positions

    analysis = _analysis(tmp_path / "rel", table3[0])
    config, fold = analysis.config, analysis.folds[0]
    signals, _ = analysis.relevance_signals("raw_subseg_cnn", fold)
    assert set(signals) == set(range(analysis.store.num_utterances))
    assert all(len(signals[u]) == 4 for u in fold.test) and all(len(signals[u]) == 1 for u in fold.train)
    guided = guided_model(keras.models.load_model(table3[0] / "models" / "raw_subseg_cnn_Ses01.h5", compile=False))
    for utterance in (int(fold.train[0]), int(fold.train[-1])):
        audio = analysis.store.signal(utterance)
        frames = np.arange(0, frame_counts([len(audio)])[0], config.relevance_frame_step)
        windows = np.stack([window_oracle(audio, f) for f in frames])
        windows = (windows - windows.mean(1, keepdims=True)) / np.maximum(windows.std(1, keepdims=True), STD_FLOOR)
        relevance = window_relevance(guided, windows, int(analysis.targets[utterance]))
        direct = utterance_relevance(relevance, spliced_window_positions(frames, len(audio)), len(audio))
        direct = direct * (0.9 / np.abs(direct).max())
        np.testing.assert_allclose(signals[utterance][0], direct, atol=2e-3)


@pytest.fixture(scope="module")
def fig4(tmp_path_factory):
    out = tmp_path_factory.mktemp("elor") / "fig4"
    return out, _main("wieser_fig4", out, "--examples", "1")


def test_wieser_fig4_correlations_and_figures(fig4):
    out, metrics = fig4
    _check_schema(metrics, "wieser_fig4")
    _check_pngs(out, metrics["figures"])
    assert len(metrics["figures"]) == 2 and metrics["fold"] == "Ses03F"
    rows = {row["id"]: row for row in metrics["rows"]}
    assert rows["saliency_input_corr_arousal"]["paper"] == 0.50
    assert rows["saliency_arousal_valence_corr"]["paper"] == 0.96
    assert all(-1 <= row["value"] <= 1 for row in rows.values())
    assert "saliency_input_envelope_corr_valence" in rows


def test_wieser_fig5_from_the_fig4_model(fig4, tmp_path):
    out = tmp_path / "fig5"
    metrics = _main("wieser_fig5", out, "--models", str(fig4[0]))
    _check_schema(metrics, "wieser_fig5")
    _check_pngs(out, metrics["figures"])
    assert len(metrics["figures"]) == 4 and len(metrics["rows"]) == 20
    labels = [(r["head"], r["start"], r["label"]) for r in metrics["descriptors"]]
    assert labels == sorted(labels, key=lambda k: (("arousal", "valence").index(k[0]), k[1], k[2]))
    assert (out / "descriptors.csv").read_text().startswith("head,start,label")
    assert not (out / "models").exists()
