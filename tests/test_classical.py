"""SVM / RF selection on the validation split, and train-only fitting of BoAW codebooks."""

import warnings

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier

from ser_keras.classical import SVM_GRID, fit_with_validation, make_random_forest, make_svm
from ser_keras.features.boaw import BagOfAudioWords

LABELS = ("ang", "hap", "neu", "sad")


def _blobs(count, seed, width=8):
    rng = np.random.default_rng(seed)
    targets = np.array([LABELS[index % 4] for index in range(count)])
    centres = np.eye(4, width) * 4.0
    features = centres[[LABELS.index(label) for label in targets]] + rng.standard_normal((count, width))
    return features, targets


def test_svm_selection_refits_on_train_and_validation():
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = _blobs(80, 0), _blobs(40, 1), _blobs(40, 2)
    model, params, uar = fit_with_validation("svm", x_train, y_train, x_val, y_val, random_state=0, labels=LABELS)
    assert params in [dict(point) for point in SVM_GRID] and uar > 0.9
    assert model[-1].coef_.shape == (4, 8)
    assert model[0].n_samples_seen_ == 120  # refit on train + validation
    predicted = np.array(LABELS)[model.predict(x_test)]
    assert np.mean(predicted == y_test) > 0.9


def test_random_forest_selection_with_a_small_grid():
    (x_train, y_train), (x_val, y_val) = _blobs(60, 3), _blobs(20, 4)
    grid = [{"n_estimators": 10, "max_depth": depth, "min_samples_leaf": 1} for depth in (1, None)]
    model, params, uar = fit_with_validation(
        "rf", x_train, y_train, x_val, y_val, random_state=0, labels=LABELS, grid=grid
    )
    assert params in grid and 0.0 <= uar <= 1.0
    assert model[-1].n_estimators == 10 and model[-1].random_state == 0


def test_forest_workers_that_empty_the_warning_filters_leave_them_as_they_were(monkeypatch):
    # Two interleaved scikit-learn forest workers can leave the process with no warning
    # filter at all (resetwarnings inside catch_warnings); these forests always do.
    fit, filters_seen = RandomForestClassifier.fit, []

    def fit_then_empty_the_filters(self, *args, **kwargs):
        filters_seen.append(list(warnings.filters))
        fitted = fit(self, *args, **kwargs)
        warnings.resetwarnings()
        return fitted

    monkeypatch.setattr(RandomForestClassifier, "fit", fit_then_empty_the_filters)
    (x_train, y_train), (x_val, y_val) = _blobs(60, 3), _blobs(20, 4)
    grid = [{"n_estimators": 10, "max_depth": depth, "min_samples_leaf": 1} for depth in (1, None)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        before = list(warnings.filters)
        model, _, _ = fit_with_validation(
            "rf", x_train, y_train, x_val, y_val, random_state=0, labels=LABELS, grid=grid, n_jobs=2
        )
        assert filters_seen == [before] * 3  # two grid points, the refit: each starts from the filters of before
        assert warnings.filters == before
    assert model[-1].n_jobs == 1  # predicts and sums importances in the caller's thread


class SpyBagOfAudioWords(BagOfAudioWords):
    """Records every frame matrix that reaches fit/fit_transform (clones share the log)."""

    fitted_on = []

    def fit(self, bags, y=None):
        SpyBagOfAudioWords.fitted_on.extend(bags)
        return super().fit(bags, y)

    def fit_transform(self, bags, y=None, **fit_params):
        SpyBagOfAudioWords.fitted_on.extend(bags)
        return super().fit_transform(bags, y)


def test_boaw_codebooks_never_see_the_test_fold():
    rng = np.random.default_rng(5)

    def bags(count, offset):
        return [rng.normal(offset + index % 4, 1.0, (30, 3)).astype(np.float32) for index in range(count)]

    train, val, test = bags(24, 0), bags(8, 0), bags(8, 0)
    y_train, y_val = [LABELS[index % 4] for index in range(24)], [LABELS[index % 4] for index in range(8)]
    SpyBagOfAudioWords.fitted_on.clear()
    model, _, _ = fit_with_validation(
        "svm",
        train,
        y_train,
        val,
        y_val,
        random_state=0,
        labels=LABELS,
        transformer=SpyBagOfAudioWords(16, standardize_input=True),
    )
    seen = {id(array) for array in SpyBagOfAudioWords.fitted_on}
    assert seen == {id(array) for array in train + val}
    assert not seen & {id(array) for array in test}
    codebook = model.named_steps["features"].codebooks_[0].copy()
    assert model.predict(test).shape == (8,)
    np.testing.assert_array_equal(model.named_steps["features"].codebooks_[0], codebook)
    assert len(SpyBagOfAudioWords.fitted_on) == len(seen) + len(train)  # selection on train, final on train+val


def test_builders_and_invalid_arguments():
    assert make_svm(0.01, random_state=3)[-1].C == 0.01
    assert make_random_forest({"n_estimators": 5}, random_state=3)[-1].n_estimators == 5
    features, targets = _blobs(8, 6)
    with pytest.raises(ValueError, match="outside labels"):
        fit_with_validation("svm", features, targets, features, ["joy"] * 8, random_state=0, labels=LABELS)
    with pytest.raises(ValueError, match="kind"):
        fit_with_validation("knn", features, targets, features, targets, random_state=0, labels=LABELS)
