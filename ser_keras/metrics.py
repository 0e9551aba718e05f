"""Evaluation metrics of both papers: UAR (SHORT §2.1), WAR/UAR pooled over folds (ELOR §4),
confusion matrices (SHORT Fig. 3). Intervals and tests over speakers: :mod:`ser_keras.stats`.

Class lists are always explicit, never inferred from predictions; a class absent from the
test targets is left out of UAR and reported, never divided by zero.
"""

import numpy as np


def confusion_matrix(y_true, y_pred, num_classes):
    """Counts ``[true, predicted]`` over classes ``0 .. num_classes-1``."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in shape: {y_true.shape} vs {y_pred.shape}.")
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} holds labels outside 0..{num_classes - 1}.")
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes**2).reshape(num_classes, num_classes)


def per_class_recall(y_true, y_pred, num_classes):
    """Recall per class; NaN for a class with no test utterances."""
    matrix = confusion_matrix(y_true, y_pred, num_classes)
    support = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(matrix) / np.maximum(support, 1), np.nan)


def unweighted_average_recall(y_true, y_pred, num_classes):
    """Mean recall over the classes present in ``y_true`` (UAR), as a fraction."""
    recalls = per_class_recall(y_true, y_pred, num_classes)
    if np.all(np.isnan(recalls)):
        raise ValueError("UAR of an empty test set is undefined.")
    return float(np.nanmean(recalls))


def weighted_average_recall(y_true, y_pred):
    """Accuracy (WAR = recall weighted by class support), as a fraction."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.size == 0:
        raise ValueError("WAR of an empty test set is undefined.")
    return float(np.mean(y_true == y_pred))


def absent_classes(y_true, num_classes):
    """Class indices with no test utterance (UAR is then over the present classes only)."""
    return [c for c in range(num_classes) if not np.any(np.asarray(y_true) == c)]
