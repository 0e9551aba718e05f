"""Two finished runs compared row by row (tools/compare_runs.py): pairing, identity checks,
bad input, and the score difference against scikit-learn's balanced accuracy (= UAR)."""

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from ser_keras.cli import compare_runs as compare_runs_cli
from ser_keras.data.corpus import Corpus, Utterance
from ser_keras.experiments.run_comparison import compare_runs, read_run_predictions
from ser_keras.io import read_json, write_json
from ser_keras.results import ResultRow, Scoring
from ser_keras.runs import Budget, RunRecord, run_fingerprint

SPEAKERS = [f"spk{i:02d}" for i in range(12)]
IDS = [f"{speaker}_u{j:02d}" for speaker in SPEAKERS for j in range(20)]
TARGETS = np.arange(len(IDS)) % 4
BUDGET = Budget("quick", {"max_epochs": 2}, "quick smoke-test budget")


def _corpus(sha="ab" * 32):
    return Corpus(
        "synthetic:tiny", "synthetic", "/c", tuple(Utterance(id=i, path=f"/{i}.wav", speaker=i[:5]) for i in IDS), sha
    )


def _write_run(out, predictions_by_row, *, seed=0, precision="float32", corpus=None, ids=IDS):
    corpus = corpus or _corpus()
    fingerprint = run_fingerprint(
        script="table1",
        corpus=corpus,
        label_view="four_class",
        protocol="leave-one-session-out",
        budget=BUDGET,
        seed=seed,
        settings={"precision": precision},
    )
    record = RunRecord(out, script="table1", fingerprint=fingerprint, config={"seed": seed}, corpus=corpus)
    position = {item: k for k, item in enumerate(IDS)}
    lines = [
        [item, row, "Ses01", int(TARGETS[position[item]]), int(predicted[position[item]]), item[:5]]
        for row, predicted in predictions_by_row.items()
        for item in ids
    ]
    rows = [ResultRow(row, row, "", "UAR", 50.0) for row in predictions_by_row]
    record.finish(
        rows, protocol="leave_one_session_out", predictions=lines, label_view="four_class", scoring=Scoring(("UAR",), 4)
    )
    return out


def _chance(seed):
    return np.random.default_rng(seed).integers(0, 4, len(IDS))


def _mostly_right(seed, accuracy=0.9):
    rng = np.random.default_rng(seed)
    return np.where(rng.random(len(IDS)) < accuracy, TARGETS, (TARGETS + 1) % 4)


def test_the_difference_is_the_uar_difference_and_a_clear_gain_is_significant(tmp_path):
    a = _write_run(tmp_path / "a", {"raw_seg_cnn": _chance(1), "compare_func_rf": _chance(2)})
    b = _write_run(
        tmp_path / "b", {"raw_seg_cnn": _mostly_right(3), "compare_func_rf": _chance(2)}, precision="mixed_bfloat16"
    )
    result = compare_runs(a, b)
    by_row = {c.reference.rsplit(":", 1)[1]: c for c in result.comparisons}
    gain, same = by_row["raw_seg_cnn"], by_row["compare_func_rf"]
    expected = 100 * (balanced_accuracy_score(TARGETS, _mostly_right(3)) - balanced_accuracy_score(TARGETS, _chance(1)))
    assert gain.difference == pytest.approx(expected)
    assert gain.value_reference == pytest.approx(100 * balanced_accuracy_score(TARGETS, _chance(1)))
    assert gain.significant() and gain.ci95[0] > 0 and gain.speakers == len(SPEAKERS)
    assert same.difference == 0.0 and same.p == 1.0 and not same.significant()
    assert result.differences == [("settings.precision", "float32", "mixed_bfloat16")]


def test_rows_pair_on_shared_items_and_unshared_rows_are_listed(tmp_path):
    a = _write_run(tmp_path / "a", {"raw_seg_cnn": _chance(1), "egemaps_lld_mlp": _chance(4)})
    b = _write_run(tmp_path / "b", {"raw_seg_cnn": _chance(1), "my_plugin": _chance(5)}, seed=7, ids=IDS[:100])
    result = compare_runs(a, b)
    assert [c.n_utterances for c in result.comparisons] == [100]
    assert result.only_in_a == ["egemaps_lld_mlp"] and result.only_in_b == ["my_plugin"]
    assert result.differences[0][0] == "seed"
    with pytest.raises(ValueError, match="not predicted by both runs"):
        compare_runs(a, b, rows=["egemaps_lld_mlp"])


def test_runs_on_other_audio_are_refused(tmp_path):
    a = _write_run(tmp_path / "a", {"raw_seg_cnn": _chance(1)})
    b = _write_run(tmp_path / "b", {"raw_seg_cnn": _chance(1)}, corpus=_corpus(sha="cd" * 32))
    with pytest.raises(ValueError, match="cannot be paired item by item: corpus.sha256"):
        compare_runs(a, b)


def test_a_bad_line_is_named_with_its_file_and_line(tmp_path):
    a = _write_run(tmp_path / "a", {"raw_seg_cnn": _chance(1)})
    path = a / "predictions.csv"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace(",Ses01,", ",Ses01,x")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"predictions.csv, line 4: expected id,row,fold,target,prediction,speaker"):
        read_run_predictions(a)


def test_the_command_prints_the_table_and_writes_its_files(tmp_path, capsys):
    a = _write_run(tmp_path / "a", {"raw_seg_cnn": _chance(1)})
    b = _write_run(tmp_path / "b", {"raw_seg_cnn": _mostly_right(3)}, precision="mixed_bfloat16")
    assert compare_runs_cli.main([str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    printed = capsys.readouterr().out
    assert "- `settings.precision`: 'float32' in A, 'mixed_bfloat16' in B" in printed
    assert "| raw_seg_cnn | UAR |" in printed and "| yes | 240 | 12 |" in printed
    assert "; A: budget quick, seed 0, ser-keras " in printed and "; B: budget quick, seed 0," in printed
    assert (tmp_path / "cmp" / "comparison.md").read_text() in printed
    assert (tmp_path / "cmp" / "comparisons.csv").read_text().startswith("system,reference,metric,")
    with pytest.raises(SystemExit) as stopped:
        compare_runs_cli.main([str(a), str(tmp_path / "nothing")])
    assert stopped.value.code == 2 and "metrics.json is missing" in capsys.readouterr().err


def test_a_run_without_scoring_is_refused_with_the_reason(tmp_path):
    a = _write_run(tmp_path / "a", {"raw_seg_cnn": _chance(1)})
    metrics = read_json(a / "metrics.json")
    del metrics["scoring"]
    write_json(a / "metrics.json", metrics)
    with pytest.raises(ValueError, match=r"metrics.json says nothing about how its predictions are scored"):
        read_run_predictions(a)
