"""Tests of the LLD-context MLP builder and its training-statistics standardisation."""

import keras
import numpy as np
import pytest

from ser_keras.models.lld_mlp import LLD_CONTEXT, LLD_MLP_GRID, build_lld_mlp, lld_standardization


def test_standardization_uses_training_statistics_and_guards_constant_features():
    frames = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0]])
    mean, variance = lld_standardization(frames)
    np.testing.assert_allclose(mean, [2.0, 5.0, 3.0])
    np.testing.assert_allclose(variance, [1.0, 1.0, 1.0])
    model = build_lld_mlp(3, feature_mean=mean, feature_variance=variance, hidden_layers=(8,))
    windows = np.broadcast_to(frames[:, None, :], (2, LLD_CONTEXT, 3)).astype("float32")
    standardized = keras.Model(model.input, model.get_layer("standardize").output)(windows)
    np.testing.assert_allclose(np.asarray(standardized)[:, 0, :], [[-1.0, 0.0, -1.0], [1.0, 0.0, 1.0]], atol=1e-6)


@pytest.mark.parametrize("hidden_layers", LLD_MLP_GRID)
def test_grid_entries_build_with_the_named_depth_and_width(hidden_layers):
    num_features = 23
    model = build_lld_mlp(
        num_features,
        feature_mean=np.zeros(num_features),
        feature_variance=np.ones(num_features),
        hidden_layers=hidden_layers,
    )
    assert model.input_shape == (None, 25, num_features)
    assert model.get_layer("flatten").output.shape == (None, 25 * num_features)
    dense = [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert dense == [*hidden_layers, 4]
    assert model.get_layer("softmax").compute_dtype == "float32"


def test_grid_is_small_and_covers_depth_one_to_three():
    assert len(LLD_MLP_GRID) <= 9
    assert sorted({len(layers) for layers in LLD_MLP_GRID}) == [1, 2, 3]


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"feature_mean": np.zeros(4)}, ValueError),
        ({"feature_variance": np.zeros(3)}, ValueError),
        ({"hidden_layers": ()}, ValueError),
        ({"hidden_layers": (0,)}, ValueError),
        ({"num_classes": 1}, ValueError),
    ],
)
def test_bad_arguments_are_refused(kwargs, error):
    arguments = {"feature_mean": np.zeros(3), "feature_variance": np.ones(3), **kwargs}
    with pytest.raises(error):
        build_lld_mlp(3, **arguments)


def test_lld_standardization_refuses_nan():
    with pytest.raises(ValueError, match="NaN"):
        lld_standardization([[1.0, np.nan]])
