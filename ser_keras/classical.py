"""Utterance-level SVM and random-forest classifiers of SHORT §2.2 (Table 1 rows 1–8).

The paper names the classifiers but not their settings; these are our choices:

* SVM: ``StandardScaler → LinearSVC`` (liblinear, one-vs-rest, squared hinge), as in the
  ComParE challenge baselines; complexity ``C ∈ {1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1}``.
* Random forest: ``RandomForestClassifier`` with 300 trees, ``max_depth ∈ {None, 20}`` ×
  ``min_samples_leaf ∈ {1, 5}``, ``max_features='sqrt'``.
* Both use ``class_weight='balanced'`` because the metric is UAR and IEMOCAP is unbalanced.

:func:`fit_with_validation` picks the grid point with the best UAR on the fold's
validation split (ties → the earlier grid point), then refits on train + validation. An
optional feature transformer (e.g. :class:`ser_keras.features.boaw.BagOfAudioWords`) is
fitted on the training split during selection and on train + validation for the final
model — test data only ever reaches ``predict``.
"""

import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from ser_keras.metrics import unweighted_average_recall

SVM_GRID = tuple({"C": c} for c in (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0))
RANDOM_FOREST_GRID = tuple(
    {"n_estimators": 300, "max_depth": depth, "min_samples_leaf": leaf} for depth in (None, 20) for leaf in (1, 5)
)
GRIDS = {"svm": SVM_GRID, "rf": RANDOM_FOREST_GRID}


def make_svm(C, random_state):
    """Standardise (training statistics) → linear SVM with complexity ``C``."""
    return make_pipeline(
        StandardScaler(), LinearSVC(C=C, class_weight="balanced", max_iter=20000, random_state=random_state)
    )


def make_random_forest(params, random_state, n_jobs=1):
    """Random forest with ``params`` (e.g. one entry of ``RANDOM_FOREST_GRID``)."""
    return make_pipeline(
        RandomForestClassifier(
            **{"max_features": "sqrt", "class_weight": "balanced", **params}, random_state=random_state, n_jobs=n_jobs
        )
    )


def make_classifier(kind, params, random_state, n_jobs=1):
    """``kind`` 'svm' or 'rf' with one grid point ``params``."""
    if kind == "svm":
        return make_svm(params["C"], random_state)
    if kind == "rf":
        return make_random_forest(params, random_state, n_jobs=n_jobs)
    raise ValueError(f"The 'kind' parameter of make_classifier must be 'svm' or 'rf'. Got {kind!r}.")


def _label_indices(y, labels, name):
    index = {label: position for position, label in enumerate(labels)}
    unknown = sorted({str(value) for value in y if value not in index})
    if unknown:
        raise ValueError(f"{name} holds labels {unknown} outside labels={list(labels)}.")
    return np.array([index[value] for value in y], dtype=np.int64)


def _fitted(model, inputs, targets):
    """``model.fit(inputs, targets)`` that leaves the process-wide warning filters as it found
    them; a fitted forest then predicts and sums its importances in the caller's thread.

    A forest's worker threads each run ``resetwarnings()`` inside ``catch_warnings``
    (``sklearn.utils.parallel``); two interleaving can leave the filters empty for good, and
    then every later forest warns once per tree and deprecations that Python hides reach
    the console."""
    with warnings.catch_warnings():
        model.fit(inputs, targets)
    if isinstance(model[-1], RandomForestClassifier):
        model[-1].set_params(n_jobs=1)  # predicting with one worker leaves no threads to race
    return model


def _join(first, second):
    if isinstance(first, np.ndarray) and isinstance(second, np.ndarray):
        return np.concatenate([first, second], axis=0)
    return list(first) + list(second)


def fit_with_validation(
    kind, X_train, y_train, X_val, y_val, *, random_state, labels, transformer=None, grid=None, n_jobs=1
):
    """Choose hyperparameters by validation UAR, then refit on train + validation.

    Returns ``(pipeline, params, validation_uar)``; ``pipeline.predict`` takes the same kind
    of input as ``X_train`` (feature matrix, or a list of frame matrices with a transformer)
    and returns class indices into ``labels``. A returned forest predicts in the caller's
    thread (``n_jobs`` 1; see :func:`_fitted`).
    """
    grid = tuple(grid) if grid is not None else GRIDS.get(kind)
    if not grid:
        raise ValueError(f"No hyperparameter grid for kind={kind!r}; use 'svm' or 'rf' or pass grid=.")
    train_targets = _label_indices(y_train, labels, "y_train")
    val_targets = _label_indices(y_val, labels, "y_val")
    if transformer is not None:
        selection_transformer = clone(transformer)
        train_features = selection_transformer.fit_transform(X_train)
        val_features = selection_transformer.transform(X_val)
    else:
        train_features, val_features = X_train, X_val

    def validation_uar(params, n_jobs):
        model = _fitted(make_classifier(kind, params, random_state, n_jobs=n_jobs), train_features, train_targets)
        return unweighted_average_recall(val_targets, model.predict(val_features), len(labels))

    if kind == "svm":
        # liblinear fits on one core and releases the GIL: the grid points share the cores.
        # Each fit is independent, so the chosen point is the same.
        uars = Parallel(n_jobs=n_jobs, prefer="threads")(delayed(validation_uar)(params, 1) for params in grid)
    else:  # a forest already spreads its trees over n_jobs
        uars = [validation_uar(params, n_jobs) for params in grid]
    best_params, best_uar = None, -np.inf
    for params, uar in zip(grid, uars):
        if uar > best_uar:
            best_params, best_uar = dict(params), uar
    all_inputs = _join(X_train, X_val)
    all_targets = np.concatenate([train_targets, val_targets])
    classifier = make_classifier(kind, best_params, random_state, n_jobs=n_jobs)
    if transformer is None:
        final = _fitted(classifier, all_inputs, all_targets)
    else:
        final_transformer = clone(transformer)
        _fitted(classifier, final_transformer.fit_transform(all_inputs), all_targets)
        final = Pipeline([("features", final_transformer), *classifier.steps])
    return final, best_params, float(best_uar)
