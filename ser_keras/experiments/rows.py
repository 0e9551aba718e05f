"""The one registry of SHORT Table-1 rows (§2.2–2.4, Table 1) and the plug-in mechanism that
puts a user's model beside them.

A paper row names its system, classifier, published UAR, family (how a fold is computed:
``functionals``, ``boaw``, ``lld_mlp``, ``raw_cnn``) and source (the LLD set, feature
extractor or raw-CNN config). A plug-in row (:func:`register_row`) names an input kind and a
Keras model builder; it gets exactly what the paper rows get: the folds, the training recipe,
frame → utterance aggregation, metrics, CIs, ``.h5`` + sidecar, resume, budget label, and a
line in ``table.md`` marked as not from the paper.

Plug-ins are modules that call :func:`register_row` when imported
(:mod:`ser_keras.experiments.plugins` loads them).
"""

import dataclasses

import keras
import numpy as np

RECIPES = ("short_sgd_halving",)
# Plug-in input kinds → (family, source): what the model's input is, per 250 ms window or
# per utterance.
PLUGIN_INPUTS = {
    "raw_250ms": ("plugin_windows", "raw"),
    "lld_context:compare": ("plugin_windows", "compare"),
    "lld_context:egemaps": ("plugin_windows", "egemaps"),
    "functionals:compare": ("plugin_functionals", "compare_functionals"),
}


@dataclasses.dataclass(frozen=True)
class Row:
    """One Table-1 row. ``build(input_shape, num_classes)`` is set for plug-in rows only."""

    id: str
    system: str
    classifier: str
    paper: float | None
    family: str
    source: str | None = None
    origin: str = "paper"
    build: object = None
    recipe: object = "short_sgd_halving"
    plugin: str | None = None

    def spec(self):
        """The row's label fields for a :class:`~ser_keras.results.ResultRow`."""
        return {
            "id": self.id,
            "system": self.system,
            "classifier": self.classifier,
            "paper": self.paper,
            "origin": self.origin,
        }


TABLE1 = (
    Row("compare_func_svm", "ComParE LLD×F (functionals)", "SVM", 56.57, "functionals"),
    Row("compare_func_rf", "ComParE LLD×F (functionals)", "RF", 58.23, "functionals"),
    Row("boaw_compare_svm", "BoAW(ComParE LLD)", "SVM", 56.63, "boaw", "compare"),
    Row("boaw_compare_rf", "BoAW(ComParE LLD)", "RF", 57.71, "boaw", "compare"),
    Row("boaw_egemaps_svm", "BoAW(eGeMAPS)", "SVM", 55.40, "boaw", "egemaps"),
    Row("boaw_egemaps_rf", "BoAW(eGeMAPS)", "RF", 55.90, "boaw", "egemaps"),
    Row("boaw_w2v2_svm", "BoAW(wav2vec2)", "SVM", 53.7, "boaw", "wav2vec2"),
    Row("boaw_w2v2_rf", "BoAW(wav2vec2)", "RF", 56.0, "boaw", "wav2vec2"),
    Row("compare_lld_mlp", "ComParE LLD (250 ms)", "MLP", 45.88, "lld_mlp", "compare"),
    Row("egemaps_lld_mlp", "eGeMAPS (250 ms)", "MLP", 44.36, "lld_mlp", "egemaps"),
    Row("raw_subseg_cnn", "Raw SubSeg", "CNN-MLP", 57.48, "raw_cnn", "raw_subseg"),
    Row("raw_seg_cnn", "Raw Seg", "CNN-MLP", 52.32, "raw_cnn", "raw_seg"),
)
TABLE1_IDS = tuple(row.id for row in TABLE1)
ROWS = {row.id: row for row in TABLE1}
# The paper's best utterance-level system: the default reference of the paired comparisons.
DEFAULT_REFERENCE = "compare_func_rf"
# The paper's network rows, the heaviest fold first: the main thread's order (training FLOPs
# per window: Raw SubSeg ~4x Raw Seg, which is ~8x one ComParE MLP of the grid; the eGeMAPS MLP
# is ~5x lighter again).
HEAVIEST_FIRST = ("raw_subseg_cnn", "raw_seg_cnn", "compare_lld_mlp", "egemaps_lld_mlp")


def register_row(id, input, build, *, recipe="short_sgd_halving", system=None, classifier="plug-in"):
    """Add a plug-in Table-1 row.

    ``input``: one of :data:`PLUGIN_INPUTS`; ``build(input_shape, num_classes)`` returns an
    uncompiled ``keras.Model`` whose output is ``num_classes`` softmax probabilities (its input
    may leave axes open, e.g. ``(None, D)`` for LLD contexts of ``input_shape`` ``(25, D)``);
    ``recipe``: ``"short_sgd_halving"`` (SHORT's SGD + LR halving, as the paper's networks) or
    a callable ``recipe(model)`` that compiles the model itself (trained for the run's epoch
    budget, the best-validation-loss weights kept). Errors name the row.
    """
    if id in ROWS:
        raise ValueError(
            f"Plug-in row {id!r} clashes with a registered row of that id "
            f"({'paper' if ROWS[id].origin == 'paper' else 'another plug-in'})."
        )
    if input not in PLUGIN_INPUTS:
        raise ValueError(f"Plug-in row {id!r}: unknown input kind {input!r}; use one of {', '.join(PLUGIN_INPUTS)}.")
    if not callable(build):
        raise ValueError(f"Plug-in row {id!r}: build must be a callable (input_shape, num_classes) -> keras.Model.")
    if not (recipe in RECIPES or callable(recipe)):
        raise ValueError(f"Plug-in row {id!r}: recipe must be one of {RECIPES} or a callable that compiles the model.")
    family, source = PLUGIN_INPUTS[input]
    ROWS[id] = Row(
        id, system or id, classifier, None, family, source, origin="plugin", build=build, recipe=recipe, plugin=input
    )
    return ROWS[id]


def check_plugin_row(row, input_shape, num_classes):
    """Build a plug-in row's model once on ``input_shape`` and check it before any training."""
    try:
        model = row.build(tuple(input_shape), num_classes)
    except Exception as error:
        raise ValueError(
            f"Plug-in row {row.id!r}: build{(tuple(input_shape), num_classes)} failed: {type(error).__name__}: {error}"
        ) from error
    if not isinstance(model, keras.Model):
        raise ValueError(f"Plug-in row {row.id!r}: build returned {type(model).__name__}, not a keras.Model.")
    output = model.output_shape
    if not (isinstance(output, tuple) and output[1:] == (num_classes,)):
        raise ValueError(
            f"Plug-in row {row.id!r}: the model's output shape is {output}; expected "
            f"(None, {num_classes}) class probabilities."
        )
    try:
        probe = model(np.zeros((1, *input_shape), np.float32))
    except Exception as error:
        raise ValueError(
            f"Plug-in row {row.id!r}: the model does not take inputs of shape {tuple(input_shape)}: "
            f"{type(error).__name__}: {error}"
        ) from error
    if not np.allclose(np.sum(keras.ops.convert_to_numpy(probe)), 1.0, atol=1e-3):
        raise ValueError(f"Plug-in row {row.id!r}: the outputs do not sum to 1; end the model with a softmax.")
    return model
