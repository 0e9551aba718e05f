"""Tests of the SHORT raw-waveform CNN builders against the Idiap layer table."""

import keras
import numpy as np
import pytest

from ser_keras.models.raw_cnn import (
    FIRST_CONV_LAYER,
    RAW_SEG,
    RAW_SUBSEG,
    build_raw_seg,
    build_raw_subseg,
    minimum_window,
    time_steps,
)

# (layer name, time steps, channels) from the layer table of architectures.md.
SUBSEG_TABLE = [
    ("conv1", 398, 128),
    ("pool1", 199, 128),
    ("conv2", 38, 256),
    ("pool2", 12, 256),
    ("conv3", 5, 512),
    ("conv4", 3, 512),
]
SEG_TABLE = [("conv1", 38, 128), ("pool1", 19, 128), ("conv2", 8, 256), ("conv3", 3, 512), ("conv4", 1, 512)]


def conv_params(kernel, in_channels, filters):
    return kernel * in_channels * filters + filters


@pytest.mark.parametrize(
    "build, table, flat, params",
    [
        (
            build_raw_subseg,
            SUBSEG_TABLE,
            1536,
            conv_params(30, 1, 128)
            + conv_params(10, 128, 256)
            + conv_params(4, 256, 512)
            + conv_params(3, 512, 512)
            + (1536 * 10 + 10)
            + (10 * 4 + 4),
        ),
        (
            build_raw_seg,
            SEG_TABLE,
            512,
            conv_params(300, 1, 128)
            + conv_params(5, 128, 256)
            + conv_params(4, 256, 512)
            + conv_params(3, 512, 512)
            + (512 * 10 + 10)
            + (10 * 4 + 4),
        ),
    ],
)
def test_layer_shapes_and_parameter_count_follow_the_table(build, table, flat, params):
    model = build()
    assert model.input_shape == (None, 4000)
    for name, steps, channels in table:
        assert model.get_layer(name).output.shape == (None, steps, channels), name
    assert model.get_layer("flatten").output.shape == (None, flat)
    assert model.get_layer("hidden").units == 10
    assert model.output_shape == (None, 4)
    assert model.count_params() == params
    first = model.get_layer(FIRST_CONV_LAYER)
    assert isinstance(first, keras.layers.Conv1D)
    assert first.get_config()["padding"] == "valid"


def test_time_steps_and_kernels_in_milliseconds():
    assert [steps for _, steps, _ in SUBSEG_TABLE] == [steps for _, steps in time_steps(RAW_SUBSEG, 4000)]
    assert [steps for _, steps, _ in SEG_TABLE] == [steps for _, steps in time_steps(RAW_SEG, 4000)]
    assert RAW_SUBSEG.stages[0].kernel_size / 16 == pytest.approx(1.875)
    assert RAW_SEG.stages[0].kernel_size / 16 == pytest.approx(18.75)


def test_relus_are_separate_layers_and_softmax_is_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_raw_subseg(num_classes=3)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.get_layer("conv1").compute_dtype == "float16"
    assert model.get_layer("softmax").compute_dtype == "float32"
    assert model.output.dtype == "float32"
    relus = [
        layer.name
        for layer in model.layers
        if isinstance(layer, keras.layers.Activation) and layer.get_config()["activation"] == "relu"
    ]
    assert relus == ["conv1_relu", "conv2_relu", "conv3_relu", "conv4_relu", "hidden_relu"]


def test_posteriors_sum_to_one():
    probs = build_raw_seg(num_classes=5)(np.random.default_rng(0).standard_normal((2, 4000)).astype("float32"))
    np.testing.assert_allclose(np.sum(np.asarray(probs), axis=1), 1.0, rtol=1e-5)


def test_minimum_window_is_tight():
    assert minimum_window(RAW_SEG) == 4000
    assert minimum_window(RAW_SUBSEG) == 2520
    assert time_steps(RAW_SUBSEG, 2520)[-1] == ("conv4", 1)
    with pytest.raises(ValueError, match="at least 2520 samples"):
        build_raw_subseg(window=2519)


def test_too_short_window_names_kernel_and_window():
    with pytest.raises(ValueError, match="`kernel_size` of 300 in conv1 of raw_seg does not fit its input of 250"):
        build_raw_seg(window=250)


@pytest.mark.parametrize(
    "kwargs, error", [({"num_classes": 1}, ValueError), ({"num_classes": 4.0}, TypeError), ({"window": 0}, ValueError)]
)
def test_bad_arguments_are_refused(kwargs, error):
    with pytest.raises(error):
        build_raw_subseg(**kwargs)
