"""Two finished runs of one table side by side, row by row, with paired significance.

Not a paper section: the question after every table — did ``--mixed-precision`` change it,
is another seed's difference within the noise, does a searched
hyperparameter file beat the defaults, did a new code version move a row? Each row both
runs report (same row id) is paired on the test items both predicted: a speaker
sign-flip test and a t interval over speakers of the score difference, exact McNemar
beside it, Holm over the family (:mod:`ser_keras.stats`, as inside a run). Everything is read from the run
folders (``metrics.json``, ``predictions.csv``); nothing is retrained.

The runs may differ in anything but what their test items are scored against: corpus
content, label view and protocol must agree (else one utterance id could carry two
targets or sit in another fold), and so must the scoring. What else differs is read off
their fingerprints and printed above the numbers.
"""

import csv
import dataclasses
from pathlib import Path

import numpy as np

from ser_keras.io import read_json
from ser_keras.results import Scoring
from ser_keras.runs import PREDICTIONS_HEADER, fingerprint_differences
from ser_keras.stats import compare_systems, p_text, significance_text, with_holm

# Fingerprint keys two runs must share to be paired item by item.
PAIRING_KEYS = ("corpus.sha256", "label_view", "protocol")


@dataclasses.dataclass(frozen=True)
class RowPredictions:
    """One row's pooled test predictions, aligned by position."""

    ids: list
    targets: np.ndarray
    predictions: np.ndarray
    speakers: list


@dataclasses.dataclass(frozen=True)
class RunPredictions:
    """What a finished run folder says about its test items."""

    path: Path
    metrics: dict
    scoring: Scoring
    rows: dict  # row id -> RowPredictions, in predictions.csv order


@dataclasses.dataclass(frozen=True)
class RunComparison:
    """Every shared row of run ``b`` against the same row of run ``a`` (Δ = b − a)."""

    a: RunPredictions
    b: RunPredictions
    differences: list  # (fingerprint key, value in a, value in b)
    comparisons: list  # ser_keras.stats.Comparison, Holm-adjusted over the family
    only_in_a: list
    only_in_b: list


def read_run_predictions(run):
    """The :class:`RunPredictions` of a finished run folder; a clear error naming the file
    (and line) when it is not one this version can pair."""
    run = Path(run)
    metrics_path, predictions_path = run / "metrics.json", run / "predictions.csv"
    for path in (metrics_path, predictions_path):
        if not path.exists():
            raise ValueError(f"{run} is not a finished run folder: {path.name} is missing.")
    metrics = read_json(metrics_path)
    if "scoring" not in metrics:
        raise ValueError(
            f"{metrics_path} says nothing about how its predictions are scored (no 'scoring'): a "
            "figure's run predicts nothing to compare, and runs of ser-keras before compare_runs did "
            "not record it (rerun those)."
        )
    scoring = Scoring(tuple(metrics["scoring"]["metrics"]), int(metrics["scoring"]["num_classes"]))
    lines = {}
    with open(predictions_path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(header) != PREDICTIONS_HEADER:
            raise ValueError(
                f"{predictions_path}, line 1: expected the columns {','.join(PREDICTIONS_HEADER)}, got {header!r}."
            )
        for number, line in enumerate(reader, start=2):
            try:
                item, row, _, target, prediction, speaker = line
                entry = (item, int(target), int(prediction), speaker)
            except ValueError:
                raise ValueError(
                    f"{predictions_path}, line {number}: expected id,row,fold,target,prediction,speaker "
                    f"with integer classes, got {line!r}."
                ) from None
            lines.setdefault(row, []).append(entry)
    rows = {
        row: RowPredictions(
            ids=[e[0] for e in entries],
            targets=np.array([e[1] for e in entries], np.int64),
            predictions=np.array([e[2] for e in entries], np.int64),
            speakers=[e[3] for e in entries],
        )
        for row, entries in lines.items()
    }
    return RunPredictions(path=run, metrics=metrics, scoring=scoring, rows=rows)


def compare_runs(run_a, run_b, *, rows=None, seed=0):
    """Run ``run_b`` against ``run_a`` on every row both predicted (or on ``rows``): a
    :class:`RunComparison` with one Holm-adjusted comparison per row and metric."""
    a, b = read_run_predictions(run_a), read_run_predictions(run_b)
    differences = fingerprint_differences(a.metrics["fingerprint"], b.metrics["fingerprint"])
    unpairable = [d for d in differences if d[0] in PAIRING_KEYS]
    if unpairable:
        raise ValueError(
            f"{a.path} and {b.path} cannot be paired item by item: "
            + "; ".join(f"{key} {first!r} vs {second!r}" for key, first, second in unpairable)
            + "."
        )
    if a.scoring != b.scoring:
        raise ValueError(f"{a.path} and {b.path} score their predictions differently: {a.scoring} vs {b.scoring}.")
    shared = [row for row in a.rows if row in b.rows]
    if rows is not None:
        missing = [row for row in rows if row not in shared]
        if missing:
            raise ValueError(f"Row(s) {missing} are not predicted by both runs; both have: {shared}.")
        shared = [row for row in shared if row in rows]
    if not shared:
        raise ValueError(
            f"{a.path} and {b.path} share no row; rows of the first: {list(a.rows)}, of the second: {list(b.rows)}."
        )
    comparisons = []
    for metric in a.scoring.metrics:
        for row in shared:
            first, second = a.rows[row], b.rows[row]
            comparisons.append(
                compare_systems(
                    f"{a.path}:{row}",
                    f"{b.path}:{row}",
                    first.ids,
                    first.targets,
                    first.predictions,
                    second.ids,
                    second.targets,
                    second.predictions,
                    speakers=first.speakers,
                    metric=metric,
                    seed=seed,
                )
            )
    return RunComparison(
        a=a,
        b=b,
        differences=differences,
        comparisons=with_holm(comparisons),
        only_in_a=[row for row in a.rows if row not in b.rows],
        only_in_b=[row for row in b.rows if row not in a.rows],
    )


def _identity(metrics):
    code = metrics["fingerprint"]["code"]
    return (
        f"budget {metrics['budget']['name']}, seed {metrics['seed']}, ser-keras {code['ser_keras']} "
        f"(source {str(code.get('source_sha256'))[:12]})"
    )


def _value(value):
    return repr(value) if isinstance(value, str) else str(value)


def run_comparison_markdown(result, *, alpha=0.05):
    """The comparison as a Markdown section: what the runs are, what differs, one line per
    row and metric."""
    corpus = result.a.metrics["corpus"]
    lines = [
        "## Run comparison: B − A",
        "",
        f"A = `{result.a.path}`, B = `{result.b.path}`: corpus `{corpus['spec']}` (sha256 "
        f"{corpus['sha256'][:12]}…), label view {corpus.get('label_view')}, protocol "
        f"{result.a.metrics['protocol']}; A: {_identity(result.a.metrics)}; B: {_identity(result.b.metrics)}.",
        "",
    ]
    if result.differences:
        lines += ["What differs (fingerprints):", ""]
        lines += [
            f"- `{key}`: {_value(first)} in A, {_value(second)} in B" for key, first, second in result.differences
        ]
    else:
        lines.append("What differs: nothing in the fingerprints (two runs of one identity).")
    lines += [
        "",
        "| row | metric | A | B | Δ B − A (pp) | 95 % CI | p (sign flip) | p (Holm) | p (McNemar) | "
        "significant | items | speakers |",
        "|---|---|---:|---:|---:|---|---|---|---|---|---:|---:|",
    ]
    for c in result.comparisons:
        row = c.reference.rsplit(":", 1)[1]
        ci = "no interval" if c.ci95 is None else f"[{c.ci95[0]:+.2f}, {c.ci95[1]:+.2f}]"
        lines.append(
            f"| {row} | {c.metric} | {c.value_reference:.2f} | {c.value_system:.2f} | {c.difference:+.2f} | "
            f"{ci} | {p_text(c.p)} | {p_text(c.p_holm)} | {p_text(c.p_mcnemar)} | "
            f"{significance_text(c, alpha)} | {c.n_utterances} | {c.speakers} |"
        )
    lines += [
        "",
        f"Δ on the test items both runs predicted: speaker sign-flip test and t interval over speakers; "
        f"significant = Holm-adjusted p < {alpha:g} over the {len(result.comparisons)} comparisons; "
        "McNemar (exact, accuracy, ignores speakers) beside it.",
    ]
    for name, only in (("A", result.only_in_a), ("B", result.only_in_b)):
        if only:
            lines.append(f"Only in {name} (not compared): {', '.join(only)}.")
    return "\n".join(lines) + "\n"
