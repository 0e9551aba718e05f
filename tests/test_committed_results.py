"""The committed real-speech results (docs/results/emodb/): every score in a metrics.json equals
the score scikit-learn computes from the run's predictions.csv, and ``ser-keras report`` on those
runs reproduces the committed report.md but for its date line, and the README quotes only committed
scores."""

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from sklearn.metrics import accuracy_score, recall_score

from ser_keras.cli import report

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results" / "emodb"
RUNS = sorted(path.parent for path in RESULTS.glob("*/metrics.json"))
# Fold chunks of the long runs, committed until their merge lands (docs/results/emodb/chunks/).
CHUNK_RUNS = sorted(path.parent for path in RESULTS.glob("chunks/*/*/metrics.json"))


def _report_order():
    """The run folders in the committed report's order (its overview table), e.g. Table 1 first."""
    overview = re.findall(r"^\| \d+ \| `([^`]+)` \|", (RESULTS / "report.md").read_text(), re.M)
    return [RESULTS / name for name in overview]


def _predictions(run):
    by_row = {}
    with open(run / "predictions.csv", newline="", encoding="utf-8") as handle:
        for line in csv.DictReader(handle):
            targets, predictions = by_row.setdefault(line["row"], ([], []))
            targets.append(int(line["target"]))
            predictions.append(int(line["prediction"]))
    return by_row


def test_results_are_committed():
    assert RUNS, "docs/results/emodb/ holds no run"


@pytest.mark.parametrize("run", RUNS + CHUNK_RUNS, ids=lambda run: str(run.relative_to(RESULTS)))
def test_every_committed_score_equals_its_predictions(run):
    metrics = json.loads((run / "metrics.json").read_text())
    by_row = _predictions(run)
    checked = 0
    for row in metrics["rows"]:
        # Analysis rows (Fig. 2 levels, Fig. 3 recalls, Table 4 counts) are read from models and
        # parts, not scored from predictions.
        if row["value"] is None or row["origin"] == "baseline" or row["metric"] not in ("UAR", "WAR"):
            continue
        metric = row["metric"]
        predicted_row = row["id"].removesuffix(f"_{metric.lower()}") if row["id"] not in by_row else row["id"]
        targets, predictions = by_row[predicted_row]
        expected = (
            recall_score(targets, predictions, average="macro", labels=sorted(set(targets)))
            if metric == "UAR"
            else accuracy_score(targets, predictions)
        )
        assert row["value"] == pytest.approx(100 * expected, abs=0.005), row["id"]
        checked += 1
    assert checked > 0 or not by_row


def test_the_committed_report_covers_every_committed_run():
    assert sorted(_report_order()) == RUNS


def test_the_committed_report_regenerates(tmp_path):
    committed = (RESULTS / "report.md").read_text().splitlines()
    # Table 1 reads EmoDB by its file names, Table 5 through its valence/arousal manifest: two specs.
    assert report.main([*map(str, _report_order()), "--mixed-corpora", "--out", str(tmp_path)]) in (None, 0)
    regenerated = (tmp_path / "report.md").read_text().splitlines()

    def undated(lines):
        return [line for line in lines if not line.startswith("Generated ")]

    assert undated(regenerated) == undated(committed)
    assert len(undated(committed)) == len(committed) - 1


def test_a_report_written_above_its_run_folders_shows_their_figures(tmp_path):
    for run in RUNS:
        shutil.copytree(run, tmp_path / run.name)
    copies = [str(tmp_path / run.name) for run in _report_order()]
    assert report.main([*copies, "--mixed-corpora", "--out", str(tmp_path)]) in (None, 0)
    pngs = [png for run in RUNS for png in run.glob("*.png")]
    assert len(list((tmp_path / "figures").iterdir())) == len(pngs) > 0
    assert (tmp_path / "report.html").read_text().count("data:image/png;base64,") == len(pngs)


def _readme_quoted_scores():
    """(score, low, high) of every score the README's Results section tabulates with its interval;
    a cell "a / b" beside "[..] / [..]" quotes two."""
    section = (ROOT / "README.md").read_text().split("\n## Results\n", 1)[1].split("\n## ", 1)[0]
    quoted = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        for score, interval in zip(cells, cells[1:]):
            if interval.startswith("[") and score[:1].isdigit():
                for value, bounds in zip(score.split(" / "), interval.split(" / "), strict=True):
                    low, high = bounds.strip("[]").split(", ")
                    quoted.append((float(value), float(low), float(high)))
    return quoted


def test_the_readme_quotes_the_committed_scores():
    committed = [
        (row["value"], *row["ci95"])
        for run in RUNS
        for row in json.loads((run / "metrics.json").read_text())["rows"]
        if row["value"] is not None and row.get("ci95")
    ]
    quoted = _readme_quoted_scores()
    assert quoted, "the README's Results section tabulates no score with its interval"
    for score in quoted:
        assert any(score == pytest.approx(row, abs=0.005) for row in committed), score
