"""Pooling fold results into table rows with intervals over speakers, shared by every experiment.

A fold part is ``{"ids", "targets", "predictions", ...}``; a row pools the parts of all its
folds, scores them (SHORT §2.1: UAR; ELOR §4: WAR and UAR pooled over folds) with the
speaker-level interval of :mod:`ser_keras.stats`, and says which classes were absent from the
test targets instead of dividing by zero. Claims on the paper's rows are decided here by the
paired speaker tests of :mod:`ser_keras.stats`.
"""

import dataclasses
import zlib

import numpy as np

from ser_keras.metrics import absent_classes, unweighted_average_recall, weighted_average_recall
from ser_keras.results import Claim, ResultRow
from ser_keras.stats import (
    all_of,
    compare_systems,
    comparisons_markdown,
    directional_verdict,
    interval,
    noninferiority_verdict,
    speakers_text,
    with_holm,
)


def row_seed(seed, row_id, fold):
    """A seed per (row, fold), independent of which rows or folds ran before (resume-safe)."""
    return (seed * 1_000_003 + zlib.crc32(f"{row_id}/{fold}".encode())) % (2**31)


def pool_parts(parts):
    """Concatenate fold parts into ``(ids, targets, predictions, folds)`` arrays."""
    ids, targets, predictions, folds = [], [], [], []
    for fold, part in parts.items():
        ids += part["ids"]
        targets += part["targets"]
        predictions += part["predictions"]
        folds += [fold] * len(part["ids"])
    return ids, np.asarray(targets, np.int64), np.asarray(predictions, np.int64), folds


def scorer(metric, num_classes):
    """The score function (fraction) of ``metric``: 'UAR' over ``num_classes`` or 'WAR'."""
    if metric == "UAR":

        def score(t, p):
            return unweighted_average_recall(t, p, num_classes)

        return score
    if metric == "WAR":
        return weighted_average_recall
    raise ValueError(f"The 'metric' must be 'UAR' or 'WAR'. Got {metric!r}.")


def score_row(spec, parts, *, num_classes, speaker_of, metric="UAR"):
    """A :class:`ResultRow`: ``spec`` (id, system, classifier, paper[, origin]) + pooled value and
    its 95 % interval over speakers in %; ``speaker_of(id)`` names the speaker of a test item."""
    ids, targets, predictions, _ = pool_parts(parts)
    score = scorer(metric, num_classes)
    pooled = interval(targets, predictions, [speaker_of(item) for item in ids], metric=metric, num_classes=num_classes)
    missing = absent_classes(targets, num_classes)
    status = (
        "ok"
        if not missing
        else (
            f"ok: UAR over present classes (absent: {missing})"
            if metric == "UAR"
            else f"ok (classes absent from the test targets: {missing})"
        )
    )
    per_fold = {
        fold: round(100.0 * score(np.asarray(p["targets"]), np.asarray(p["predictions"])), 2)
        for fold, p in parts.items()
        if p["targets"]
    }
    ci95 = None if pooled.low is None else (round(pooled.low, 2), round(pooled.high, 2))
    return ResultRow(
        **spec,
        metric=metric,
        value=round(pooled.value, 2),
        ci95=ci95,
        ci_unit=pooled.unit,
        ci_clusters=pooled.clusters,
        status=status,
        per_fold=per_fold,
    )


def skipped_row(spec, reason, metric="UAR"):
    """A row that could not run: value null, status 'skipped: ...' (never a made-up number)."""
    return ResultRow(**spec, metric=metric, value=None, status=f"skipped: {reason}")


def compare_rows(parts_by_row, reference, *, speaker_of, metric="UAR", seed=0):
    """Paired comparisons (:mod:`ser_keras.stats`) of every row in ``parts_by_row`` against
    ``reference`` on their shared test items, Holm-adjusted over the family, and their
    Markdown section. ``speaker_of(id)`` names the speaker of a test item (the unit the
    test flips). Returns ``(comparisons, section)``; none when the reference did not run."""
    if reference not in parts_by_row:
        return [], ""
    ref_ids, ref_targets, ref_predictions, _ = pool_parts(parts_by_row[reference])
    speakers = [speaker_of(item) for item in ref_ids]
    comparisons = []
    for row_id, parts in parts_by_row.items():
        if row_id == reference:
            continue
        ids, targets, predictions, _ = pool_parts(parts)
        comparisons.append(
            compare_systems(
                reference,
                row_id,
                ref_ids,
                ref_targets,
                ref_predictions,
                ids,
                targets,
                predictions,
                speakers=speakers,
                metric=metric,
                seed=seed,
            )
        )
    comparisons = with_holm(comparisons)
    return comparisons, comparisons_markdown(comparisons, reference) if comparisons else ""


def prediction_lines(row_id, parts, speaker_of):
    """``predictions.csv`` lines ``id,row,fold,target,prediction,speaker`` of one row;
    ``speaker_of(id)`` names the speaker of a test item."""
    ids, targets, predictions, folds = pool_parts(parts)
    return [[i, row_id, f, int(t), int(p), speaker_of(i)] for i, f, t, p in zip(ids, folds, targets, predictions)]


def pooled_confusion(parts, num_classes):
    """Row-normalised confusion matrix of the pooled predictions (SHORT Fig. 3)."""
    from ser_keras.metrics import confusion_matrix

    _, targets, predictions, _ = pool_parts(parts)
    matrix = confusion_matrix(targets, predictions, num_classes).astype(np.float64)
    return matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1.0)


@dataclasses.dataclass(frozen=True)
class ClaimTest:
    """How a paper's claim on its rows is tested: "``system`` is ``expectation`` than
    ``reference``" for every ``(system, reference)`` of ``pairs`` and every metric.

    ``expectation``: "better" / "worse" (each component a two-sided 5 % sign-flip test,
    all must hold: intersection–union, no correction) or "non_inferior" (the difference's
    95 % interval above −``margin`` percentage points)."""

    text: str
    pairs: tuple
    expectation: str
    metrics: tuple = ("UAR",)


def paired_claim(test, parts_by_row, *, speaker_of, margin=None, names=None, seed=0):
    """The :class:`~ser_keras.results.Claim` of a :class:`ClaimTest` on this run ("n/a" when a
    row it needs did not run); ``margin`` (pp) is required by non-inferiority claims."""
    missing = sorted({row for pair in test.pairs for row in pair if row not in parts_by_row})
    if missing:
        return Claim(test.text, "n/a", f"needs {', '.join(missing)}")
    if test.expectation == "non_inferior" and margin is None:
        raise ValueError(f"The claim {test.text!r} is a non-inferiority claim and needs a margin.")
    names = names or {}
    verdicts, details = [], []
    for metric in test.metrics:
        for system, reference in test.pairs:
            (comparison,), _ = compare_rows(
                {reference: parts_by_row[reference], system: parts_by_row[system]},
                reference,
                speaker_of=speaker_of,
                metric=metric,
                seed=seed,
            )
            low, high = comparison.ci95 or (None, None)
            interval_text = "no interval" if low is None else f"95 % CI [{low:+.2f}, {high:+.2f}]"
            if test.expectation == "non_inferior":
                verdicts.append(noninferiority_verdict(comparison, margin))
                test_text = f"{interval_text} vs margin −{margin:g}"
            else:
                verdicts.append(directional_verdict(comparison, test.expectation))
                test_text = f"p {comparison.p:.3f}, {interval_text}"
            details.append(
                f"{names.get(system, system)} − {names.get(reference, reference)} {metric} "
                f"{comparison.difference:+.2f} ({test_text}, {speakers_text(comparison.speakers)})"
            )
    return Claim(test.text, all_of(verdicts), "; ".join(details))


def figure_subtitle(metrics):
    """What a result figure shows, in one line: corpus, budget, protocol, seed."""
    return (
        f"{metrics['corpus']['spec']}, {metrics['budget']['name']} budget, "
        f"{metrics['protocol'].replace('_', '-')}, seed {metrics['seed']}"
    )
