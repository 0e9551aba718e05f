"""UAR, WAR and confusion matrices against scikit-learn; absent classes (intervals: tests/test_stats.py)."""

import warnings

import numpy as np
import pytest
import sklearn.metrics

from ser_keras.metrics import (
    absent_classes,
    confusion_matrix,
    per_class_recall,
    unweighted_average_recall,
    weighted_average_recall,
)


@pytest.mark.parametrize("seed", range(5))
def test_uar_war_and_confusion_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 4, 200)
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, 4, 200))
    assert unweighted_average_recall(y_true, y_pred, 4) == pytest.approx(
        sklearn.metrics.balanced_accuracy_score(y_true, y_pred)
    )
    assert weighted_average_recall(y_true, y_pred) == pytest.approx(sklearn.metrics.accuracy_score(y_true, y_pred))
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred, 4), sklearn.metrics.confusion_matrix(y_true, y_pred, labels=range(4))
    )


def test_class_absent_from_test_set_is_left_out_not_divided_by_zero():
    y_true = np.array([0, 0, 1, 1, 3, 3])  # class 2 has no test utterance
    y_pred = np.array([0, 2, 1, 1, 2, 3])  # ... but is predicted
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from a 0/0
        recalls = per_class_recall(y_true, y_pred, 4)
        uar = unweighted_average_recall(y_true, y_pred, 4)
    assert np.isnan(recalls[2]) and recalls[[0, 1, 3]].tolist() == [0.5, 1.0, 0.5]
    assert uar == pytest.approx(2.0 / 3.0)
    assert absent_classes(y_true, 4) == [2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about the predicted-but-absent class
        assert uar == pytest.approx(sklearn.metrics.balanced_accuracy_score(y_true, y_pred))


def test_explicit_class_list_is_not_inferred_from_predictions():
    # Never predicting class 3 still counts its recall of 0.
    assert unweighted_average_recall([0, 1, 2, 3], [0, 1, 2, 0], 4) == pytest.approx(0.75)
    assert confusion_matrix([0, 1], [0, 1], 3).shape == (3, 3)


def test_invalid_inputs_are_rejected():
    with pytest.raises(ValueError, match="differ in shape"):
        confusion_matrix([0, 1], [0], 2)
    with pytest.raises(ValueError, match=r"y_pred holds labels outside 0..1"):
        confusion_matrix([0, 1], [0, 2], 2)
    with pytest.raises(ValueError, match="UAR of an empty test set"):
        unweighted_average_recall([], [], 4)
    with pytest.raises(ValueError, match="WAR of an empty test set"):
        weighted_average_recall([], [])
