"""Pooling fold results into table rows with bootstrap CIs, shared by every experiment.

A fold part is ``{"ids", "targets", "predictions", ...}``; a row pools the parts of all its
folds, scores them (SHORT: UAR; ELOR: WAR and UAR pooled over folds) and says which classes
were absent from the test targets instead of dividing by zero.
"""

import zlib

import numpy as np

from ser_keras.metrics import (absent_classes, bootstrap_ci, unweighted_average_recall,
                               weighted_average_recall)


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


def score_row(spec, parts, *, num_classes, metric="UAR", seed=0, n_bootstrap=1000):
    """A results row: ``spec`` (id, system, classifier, paper) + pooled value and CI in %."""
    _, targets, predictions, _ = pool_parts(parts)
    if metric == "UAR":
        def score(t, p):
            return unweighted_average_recall(t, p, num_classes)
    elif metric == "WAR":
        score = weighted_average_recall
    else:
        raise ValueError(f"The 'metric' parameter of score_row must be 'UAR' or 'WAR'. Got {metric!r}.")
    value = 100.0 * score(targets, predictions)
    low, high = bootstrap_ci(targets, predictions, score, n_resamples=n_bootstrap, seed=seed)
    missing = absent_classes(targets, num_classes)
    status = "ok" if not missing else (f"ok: UAR over present classes (absent: {missing})" if metric == "UAR"
                                       else f"ok (classes absent from the test targets: {missing})")
    per_fold = {fold: round(100.0 * score(np.asarray(p["targets"]), np.asarray(p["predictions"])), 2)
                for fold, p in parts.items() if p["targets"]}
    return {**spec, "metric": metric, "value": round(value, 2), "ci95": [round(100 * low, 2), round(100 * high, 2)],
            "status": status, "per_fold": per_fold}


def skipped_row(spec, reason, metric="UAR"):
    """A row that could not run: value null, status 'skipped: ...' (never a made-up number)."""
    return {**spec, "metric": metric, "value": None, "ci95": None, "status": f"skipped: {reason}"}


def prediction_lines(row_id, parts):
    """``predictions.csv`` lines ``id,row,fold,target,prediction`` of one row."""
    ids, targets, predictions, folds = pool_parts(parts)
    return [[i, row_id, f, int(t), int(p)] for i, f, t, p in zip(ids, folds, targets, predictions)]


def pooled_confusion(parts, num_classes):
    """Row-normalised confusion matrix of the pooled predictions (SHORT Fig. 3)."""
    from ser_keras.metrics import confusion_matrix

    _, targets, predictions, _ = pool_parts(parts)
    matrix = confusion_matrix(targets, predictions, num_classes).astype(np.float64)
    return matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1.0)
