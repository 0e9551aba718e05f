"""Pooling fold results into table rows with bootstrap CIs, shared by every experiment.

A fold part is ``{"ids", "targets", "predictions", ...}``; a row pools the parts of all its
folds, scores them (SHORT: UAR; ELOR: WAR and UAR pooled over folds) and says which classes
were absent from the test targets instead of dividing by zero.
"""

import zlib

import numpy as np

from ser_keras.metrics import (absent_classes, bootstrap_ci, unweighted_average_recall,
                               weighted_average_recall)
from ser_keras.results import Claim, ResultRow
from ser_keras.stats import claim_verdict, compare_systems, comparisons_markdown, with_holm


def row_seed(seed, row_id, fold):
    """A seed per (row, fold), independent of which rows or folds ran before (resume-safe)."""
    return (seed * 1_000_003 + zlib.crc32(f"{row_id}/{fold}".encode())) % (2 ** 31)


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


def score_row(spec, parts, *, num_classes, metric="UAR", seed=0, n_bootstrap=1000):
    """A :class:`ResultRow`: ``spec`` (id, system, classifier, paper[, origin]) + pooled value and CI in %."""
    _, targets, predictions, _ = pool_parts(parts)
    score = scorer(metric, num_classes)
    value = 100.0 * score(targets, predictions)
    low, high = bootstrap_ci(targets, predictions, score, n_resamples=n_bootstrap, seed=seed)
    missing = absent_classes(targets, num_classes)
    status = "ok" if not missing else (f"ok: UAR over present classes (absent: {missing})" if metric == "UAR"
                                       else f"ok (classes absent from the test targets: {missing})")
    per_fold = {fold: round(100.0 * score(np.asarray(p["targets"]), np.asarray(p["predictions"])), 2)
                for fold, p in parts.items() if p["targets"]}
    return ResultRow(**spec, metric=metric, value=round(value, 2), ci95=(round(100 * low, 2), round(100 * high, 2)),
                     status=status, per_fold=per_fold)


def skipped_row(spec, reason, metric="UAR"):
    """A row that could not run: value null, status 'skipped: ...' (never a made-up number)."""
    return ResultRow(**spec, metric=metric, value=None, status=f"skipped: {reason}")


def compare_rows(parts_by_row, reference, *, num_classes, metric="UAR", group_of=None, seed=0, n_resamples=1000):
    """Paired comparisons (:mod:`ser_keras.stats`) of every row in ``parts_by_row`` against
    ``reference`` on their shared test items, Holm-adjusted over the family, and their
    Markdown section. ``group_of(id)`` names the speaker of a test item (cluster bootstrap).
    Returns ``(comparisons, section)``; none when the reference did not run."""
    if reference not in parts_by_row:
        return [], ""
    score = scorer(metric, num_classes)

    def percent(t, p):
        return 100.0 * score(t, p)

    ref_ids, ref_targets, ref_predictions, _ = pool_parts(parts_by_row[reference])
    groups = None if group_of is None else [group_of(item) for item in ref_ids]
    comparisons = []
    for row_id, parts in parts_by_row.items():
        if row_id == reference:
            continue
        ids, targets, predictions, _ = pool_parts(parts)
        comparisons.append(compare_systems(reference, row_id, ref_ids, ref_targets, ref_predictions, ids, targets,
                                           predictions, score=percent, metric=metric, groups=groups,
                                           n_resamples=n_resamples, seed=seed))
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


def combined_verdict(verdicts):
    """One verdict from several: holds if all hold, does not hold if any does not."""
    if "does not hold" in verdicts:
        return "does not hold"
    return "holds" if verdicts and all(v == "holds" for v in verdicts) else "not significant at 5 %"


def paired_claim(text, pairs, parts_by_row, *, expectation, num_classes, metrics=("UAR",), names=None,
                 group_of=None, seed=0, n_resamples=1000):
    """A paper's claim "system is ``expectation`` than reference" for every ``(system,
    reference)`` of ``pairs`` on every metric, decided by paired tests (Holm within the
    claim): a :class:`~ser_keras.results.Claim` ("n/a" when a row did not run)."""
    missing = sorted({row for pair in pairs for row in pair if row not in parts_by_row})
    if missing:
        return Claim(text, "n/a", f"needs {', '.join(missing)}")
    names = names or {}
    comparisons = []
    for metric in metrics:
        for system, reference in pairs:
            found, _ = compare_rows({reference: parts_by_row[reference], system: parts_by_row[system]}, reference,
                                    num_classes=num_classes, metric=metric, group_of=group_of, seed=seed,
                                    n_resamples=n_resamples)
            comparisons += found
    comparisons = with_holm(comparisons)
    verdicts = [claim_verdict(c, expectation) for c in comparisons]
    detail = ", ".join(f"{names.get(c.system, c.system)} − {names.get(c.reference, c.reference)} {c.metric} "
                       f"{c.difference:+.2f} (p_Holm {c.p_holm:.3f})" for c in comparisons)
    return Claim(text, combined_verdict(verdicts), detail)


def figure_subtitle(metrics):
    """What a result figure shows, in one line: corpus, budget, protocol, seed."""
    return (f"{metrics['corpus']['spec']}, {metrics['budget']['name']} budget, "
            f"{metrics['protocol'].replace('_', '-')}, seed {metrics['seed']}")
