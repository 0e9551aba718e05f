"""Short-segment handcrafted-feature MLP of SHORT §2.3 (ComParE LLD / eGeMAPS, 25-frame context).

Input: 25 consecutive 10 ms LLD frames (± 12 frames of context) of ``num_features``
descriptors, shape ``(context, num_features)``. The model standardises every descriptor with
training statistics (a built-in ``Normalization`` layer holding the mean and variance, so the
saved ``.h5`` is self-contained), flattens to ``context × num_features`` and applies ReLU
hidden layers and a softmax. SHORT only says that "the number of layers and hidden nodes was
decided based on the cross-validation set"; :data:`LLD_MLP_GRID` is the grid we choose from.
"""

import keras
import numpy as np

from ser_keras.models.arguments import check_num_classes, check_positive_int

#: Frames per short segment: the centre frame ± 12 (250 ms at a 10 ms shift).
LLD_CONTEXT = 25

# Deviation: the paper does not give its grid; depth {1, 2, 3} × width {256, 1024} keeps the
# validation search at six trainings per fold while spanning a 4× range of widths.
#: Hidden-layer sizes searched on the validation split, smallest first.
LLD_MLP_GRID = tuple((width,) * depth for depth in (1, 2, 3) for width in (256, 1024))


def lld_standardization(frames):
    """Per-descriptor mean and variance of training LLD frames ``(num_frames, num_features)``.

    Constant descriptors get variance 1 (as scikit-learn's StandardScaler does), so they map
    to 0 instead of being divided by a vanishing standard deviation.
    """
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 2 or frames.shape[0] == 0:
        raise ValueError(f"`frames` must be a non-empty (num_frames, num_features) array. Got shape {frames.shape}.")
    if not np.all(np.isfinite(frames)):
        raise ValueError("`frames` contains NaN or infinite values.")
    mean = frames.mean(axis=0)
    variance = frames.var(axis=0)
    variance[variance <= 1e-12] = 1.0
    return mean.astype(np.float32), variance.astype(np.float32)


def build_lld_mlp(
    num_features,
    *,
    feature_mean,
    feature_variance,
    context=LLD_CONTEXT,
    hidden_layers=LLD_MLP_GRID[0],
    num_classes=4,
):
    """Build the LLD-context MLP for inputs ``(batch, context, num_features)``.

    ``feature_mean`` / ``feature_variance``: per-descriptor training statistics, shape
    ``(num_features,)`` (see :func:`lld_standardization`). ``hidden_layers``: units per
    ReLU hidden layer, e.g. ``(1024, 1024)``. Output: float32 class posteriors.
    """
    check_positive_int("num_features", num_features)
    check_positive_int("context", context)
    check_num_classes(num_classes)
    hidden_layers = tuple(hidden_layers)
    if not hidden_layers:
        raise ValueError("`hidden_layers` must name at least one hidden layer. Got ().")
    for units in hidden_layers:
        check_positive_int("hidden_layers", units)
    statistics = []
    for name, value in (("feature_mean", feature_mean), ("feature_variance", feature_variance)):
        array = np.asarray(value, dtype=np.float32)
        if array.shape != (num_features,):
            raise ValueError(f"`{name}` must have shape ({num_features},) to match `num_features`. Got {array.shape}.")
        statistics.append(array)
    mean, variance = statistics
    if np.any(variance <= 0):
        raise ValueError("`feature_variance` must be positive for every descriptor.")

    frames = keras.Input(shape=(context, num_features), name="lld_frames")
    # float32 also under mixed precision: raw LLDs (energies up to ~1e5) overflow float16 and
    # lose their deviations from the mean in bfloat16; the standardised values do neither.
    x = keras.layers.Normalization(
        axis=-1, mean=mean.tolist(), variance=variance.tolist(), dtype="float32", name="standardize"
    )(frames)
    x = keras.layers.Flatten(name="flatten")(x)
    for index, units in enumerate(hidden_layers, start=1):
        x = keras.layers.Dense(int(units), activation="relu", name=f"hidden{index}")(x)
    x = keras.layers.Dense(num_classes, name="logits")(x)
    posteriors = keras.layers.Activation("softmax", dtype="float32", name="softmax")(x)
    depth_width = "x".join(str(units) for units in hidden_layers)
    return keras.Model(frames, posteriors, name=f"lld_mlp_{depth_width}")
