"""UAR, WAR and confusion matrices against scikit-learn; absent classes; bootstrap CIs."""

import warnings

import numpy as np
import pytest
import sklearn.metrics

from ser_keras.metrics import (
    absent_classes,
    bootstrap_ci,
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
        sklearn.metrics.balanced_accuracy_score(y_true, y_pred))
    assert weighted_average_recall(y_true, y_pred) == pytest.approx(sklearn.metrics.accuracy_score(y_true, y_pred))
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred, 4),
                                  sklearn.metrics.confusion_matrix(y_true, y_pred, labels=range(4)))


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


def _uar4(y_true, y_pred):
    return unweighted_average_recall(y_true, y_pred, 4)


def test_bootstrap_ci_brackets_the_point_estimate_utterances_and_speakers():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 300)
    y_pred = np.where(rng.random(300) < 0.55, y_true, rng.integers(0, 4, 300))
    speakers = np.repeat(np.arange(10), 30)
    point = _uar4(y_true, y_pred)
    low, high = bootstrap_ci(y_true, y_pred, _uar4, n_resamples=300, seed=1)
    assert low < point < high and high - low < 0.2
    assert (low, high) == bootstrap_ci(y_true, y_pred, _uar4, n_resamples=300, seed=1)
    s_low, s_high = bootstrap_ci(y_true, y_pred, _uar4, groups=speakers, n_resamples=300, seed=1)
    assert s_low < point < s_high
    war_low, war_high = bootstrap_ci(y_true, y_pred, weighted_average_recall, n_resamples=300)
    assert war_low < weighted_average_recall(y_true, y_pred) < war_high


def test_speaker_bootstrap_widens_when_speakers_differ():
    # Half the speakers are always right, half always wrong: resampling speakers shows it.
    y_true = np.tile([0, 1], 100)
    speakers = np.repeat(np.arange(10), 20)
    y_pred = np.where(speakers < 5, y_true, 1 - y_true)
    utterance = bootstrap_ci(y_true, y_pred, weighted_average_recall, n_resamples=300)
    speaker = bootstrap_ci(y_true, y_pred, weighted_average_recall, groups=speakers, n_resamples=300)
    assert speaker[1] - speaker[0] > 2 * (utterance[1] - utterance[0])
