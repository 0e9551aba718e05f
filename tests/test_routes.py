"""Same-maths Conv1D routes (ser_keras.training.routes): the frame-pair kernel gradient
against a direct NumPy sum, and both routes against TensorFlow's own outputs and gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ser_keras.models.elor import ElorConfig, LomConfig, build_elor, build_lom
from ser_keras.models.raw_cnn import RAW_SEG, RAW_SUBSEG, build_raw_cnn
from ser_keras.training import execution
from ser_keras.training.routes import (
    conv1d_input_gradient,
    conv1d_kernel_gradient,
    frame_length,
    frame_pairs_compute,
    fused_batch_norm_computes,
    patch_matmul_computes,
    route_layers,
)
from ser_keras.training.split_heads import SplitHeadTrainer


def _pretend_cpu(monkeypatch, *, avx512):
    """This process's execution as on a CPU (no GPU) with, without, or of unknown AVX-512."""
    decided = execution.decide(gpus=[], tpu=False, cpu={"model": "a CPU", "avx512": avx512}, cpuinfo_flags=())
    monkeypatch.setattr(execution, "current", lambda: decided)


def _direct_kernel_gradient(x, upstream, kernel_size):
    """dW[j] = sum over n, t of x[n, t + j] (outer) dy[n, t], summed tap by tap in float64."""
    positions = upstream.shape[1]
    return np.stack([np.einsum("ntc,ntf->cf", x[:, tap : tap + positions], upstream) for tap in range(kernel_size)])


@pytest.mark.parametrize(
    "batch, length, in_channels, out_channels, kernel_size, frame",
    [
        (2, 50, 3, 4, 5, None),
        (3, 7, 2, 2, 7, None),  # kernel as long as the input: one output position
        (1, 9, 1, 3, 1, None),  # 1-tap kernel
        (2, 100, 4, 5, 2, None),
        (2, 64, 3, 3, 6, 11),  # a frame longer than the kernel: two frames meet
        (2, 64, 3, 3, 9, 2),  # a frame of 2: five frames meet
        (4, 203, 1, 6, 20, None),  # ELoR conv1's shape, shorter
    ],
)
def test_kernel_gradient_equals_the_direct_sum(batch, length, in_channels, out_channels, kernel_size, frame):
    rng = np.random.default_rng(kernel_size)
    x = rng.standard_normal((batch, length, in_channels))
    upstream = rng.standard_normal((batch, length - kernel_size + 1, out_channels))
    gradient = conv1d_kernel_gradient(tf.constant(x), tf.constant(upstream), kernel_size, frame).numpy()
    np.testing.assert_allclose(gradient, _direct_kernel_gradient(x, upstream, kernel_size), rtol=0, atol=1e-12)


@pytest.mark.parametrize("length, kernel_size", [(50, 5), (7, 7), (9, 1), (120, 40)])
def test_input_gradient_equals_the_direct_sum(length, kernel_size):
    rng = np.random.default_rng(length)
    kernel = rng.standard_normal((kernel_size, 3, 4))
    upstream = rng.standard_normal((2, length - kernel_size + 1, 4))
    # dx[n, t + j] += dy[n, t] @ kernel[j].T, tap by tap in float64.
    direct = np.zeros((2, length, 3))
    for tap in range(kernel_size):
        direct[:, tap : tap + upstream.shape[1]] += upstream @ kernel[tap].T
    gradient = conv1d_input_gradient(tf.constant(upstream), tf.constant(kernel)).numpy()
    np.testing.assert_allclose(gradient, direct, rtol=0, atol=1e-12)


def test_default_frame_is_a_quarter_of_the_kernel_in_whole_cache_lines():
    assert frame_length(40, 40) == 10
    assert frame_length(20, 1) == 16
    assert frame_length(5, 26) == 8
    assert frame_length(1, 16) == 1


def _gradients(model, x, weights):
    with tf.GradientTape() as tape:
        tape.watch(x)
        outputs = model(x)
        loss = tf.reduce_sum(outputs * weights)
    return outputs.numpy(), [gradient.numpy() for gradient in tape.gradient(loss, [x, *model.trainable_variables])]


@pytest.mark.parametrize(
    "route, padding, routed_layers",
    [
        ("frame_pairs", "valid", {"conv": "frame_pairs"}),
        ("frame_pairs", "same", {"conv": "frame_pairs"}),
        ("patch_matmul", "valid", {"conv": "patch_matmul", "strided": "patch_matmul"}),
        ("patch_matmul", "same", {"strided": "patch_matmul"}),
    ],
)
def test_routed_model_matches_tensorflow_outputs_and_gradients(route, padding, routed_layers):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((60, 3))
    x = keras.layers.Conv1D(4, 7, padding=padding, activation="relu", name="conv")(inputs)
    x = keras.layers.Conv1D(5, 4, strides=3, name="strided")(x)
    model = keras.Model(inputs, keras.layers.Flatten()(x))
    x = tf.random.normal((5, 60, 3), seed=1)
    weights = tf.random.normal((5, model.output.shape[-1]), seed=2)
    outputs, gradients = _gradients(model, x, weights)

    assert _routed_names(model, force=route) == routed_layers
    routed_outputs, routed_gradients = _gradients(model, x, weights)
    np.testing.assert_allclose(routed_outputs, outputs, rtol=1e-6, atol=1e-6)
    for routed, reference in zip(routed_gradients, gradients):
        np.testing.assert_allclose(routed, reference, rtol=1e-5, atol=1e-5)


def test_what_each_route_computes():
    def built(layer, length=50):
        keras.Model(inputs := keras.Input((length, 2)), layer(inputs))
        return layer

    assert frame_pairs_compute(built(keras.layers.Conv1D(2, 3, padding="same")))
    assert not frame_pairs_compute(built(keras.layers.Conv1D(2, 3, strides=2)))
    assert patch_matmul_computes(built(keras.layers.Conv1D(2, 3, strides=2)))
    assert not patch_matmul_computes(built(keras.layers.Conv1D(2, 3, padding="same")))
    for route_computes in (frame_pairs_compute, patch_matmul_computes):
        assert not route_computes(built(keras.layers.Conv1D(2, 3, dilation_rate=2)))
        assert not route_computes(built(keras.layers.Conv1D(2, 3, padding="causal")))
    assert fused_batch_norm_computes(built(keras.layers.BatchNormalization()))
    assert not fused_batch_norm_computes(built(keras.layers.BatchNormalization(axis=1)))
    assert not fused_batch_norm_computes(built(keras.layers.BatchNormalization(synchronized=True)))
    assert not fused_batch_norm_computes(built(keras.layers.BatchNormalization(renorm=True)))
    with pytest.raises(ValueError, match="`force` must be one of"):
        route_layers(keras.Sequential(), force="fast")


@pytest.mark.parametrize(
    "shape, scale, center", [((4, 300, 6), True, True), ((64, 5), True, True), ((3, 40, 5), False, False)]
)
def test_fused_batch_norm_matches_keras_and_float64_moments(shape, scale, center):
    rng = np.random.default_rng(len(shape))
    x = tf.constant(rng.standard_normal(shape) * 3 + 2, tf.float32)
    upstream = tf.constant(rng.standard_normal(shape), tf.float32)
    gamma = rng.uniform(0.5, 2.0, shape[-1])
    results = {}
    for route in (None, "fused_batch_norm"):
        keras.utils.set_random_seed(0)
        layer = keras.layers.BatchNormalization(scale=scale, center=center, momentum=0.9, name="bn")
        model = keras.Sequential([keras.Input(shape[1:]), layer])
        if scale:
            layer.gamma.assign(gamma)
        if route:
            assert _routed_names(model, force=route) == {"bn": route}

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                tape.watch(x)
                outputs = model(x, training=True)  # noqa: B023 - traced and called in this iteration
                loss = tf.reduce_sum(outputs * upstream)
            return outputs, tape.gradient(loss, [x, *model.trainable_variables])  # noqa: B023

        outputs, gradients = step()
        op_types = {op.type for op in step.get_concrete_function().graph.get_operations()}
        assert ("FusedBatchNormV3" in op_types) is (route is not None)
        statistics = [layer.moving_mean.numpy(), layer.moving_variance.numpy()]
        results[route] = [
            outputs.numpy(),
            *(gradient.numpy() for gradient in gradients),
            *statistics,
            model(x, training=False).numpy(),
        ]
    for routed, keras_own in zip(results["fused_batch_norm"], results[None]):
        np.testing.assert_allclose(routed, keras_own, rtol=1e-5, atol=1e-5 * np.abs(keras_own).max())
    # The moving statistics against float64 moments over every position: the population variance.
    values = x.numpy().astype(np.float64).reshape(-1, shape[-1])
    np.testing.assert_allclose(results["fused_batch_norm"][-3], 0.9 * 0.0 + 0.1 * values.mean(0), rtol=1e-5)
    np.testing.assert_allclose(results["fused_batch_norm"][-2], 0.9 * 1.0 + 0.1 * values.var(0), rtol=1e-6)


def test_fused_batch_norm_under_mixed_bfloat16_keeps_float32_statistics():
    x = tf.constant(np.random.default_rng(0).standard_normal((4, 50, 3)) * 2 + 1, tf.float32)
    results = {}
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        for route in (None, "fused_batch_norm"):
            layer = keras.layers.BatchNormalization(name="bn")
            model = keras.Sequential([keras.Input((50, 3)), layer])
            if route:
                _routed_names(model, force=route)
            outputs = tf.function(lambda: model(x, training=True))()  # noqa: B023 - called at once
            assert outputs.dtype == tf.bfloat16 and layer.moving_variance.dtype == "float32"
            results[route] = [
                outputs.numpy().astype(np.float32),
                layer.moving_mean.numpy(),
                layer.moving_variance.numpy(),
            ]
    finally:
        keras.mixed_precision.set_global_policy("float32")
    # Both compute in float32 from the same bfloat16 inputs; outputs differ by bfloat16 rounding only.
    np.testing.assert_allclose(results["fused_batch_norm"][0], results[None][0], atol=0.02)
    for routed, keras_own in zip(results["fused_batch_norm"][1:], results[None][1:]):
        np.testing.assert_allclose(routed, keras_own, rtol=1e-5)


def _routed_names(model, **options):
    return {layer.name: name for layer, name in route_layers(model, **options).items()}


@pytest.mark.parametrize(
    "avx512, short_routed",
    [
        (True, ("conv3", "conv4")),
        (None, ("conv3", "conv4")),  # a CPU whose vector instructions we cannot tell: the AVX-512 rule
        (False, ("conv2", "conv3", "conv4")),
    ],
)
def test_measured_rules_route_elors_long_convolutions_and_batch_norms_and_shorts_last_ones(
    monkeypatch, avx512, short_routed
):
    _pretend_cpu(monkeypatch, avx512=avx512)
    batch_norms = {f"conv{block}_batchnorm": "fused_batch_norm" for block in (1, 2, 3)}
    assert _routed_names(build_elor(ElorConfig())) == {"conv2": "frame_pairs", "conv3": "frame_pairs", **batch_norms}
    assert _routed_names(build_lom(LomConfig())) == batch_norms
    for config in (RAW_SUBSEG, RAW_SEG):
        assert _routed_names(build_raw_cnn(config)) == dict.fromkeys(short_routed, "patch_matmul")


def test_without_avx512_only_wide_convolutions_of_short_kernels_take_the_patch_matmul(monkeypatch):
    _pretend_cpu(monkeypatch, avx512=False)
    inputs = keras.Input((400, 128))
    wide = keras.layers.Conv1D(8, 10, strides=5, name="wide")(inputs)  # 79 positions
    long_kernel = keras.layers.Conv1D(8, 16, strides=5, name="long_kernel")(inputs)
    narrow = keras.layers.Conv1D(8, 10, strides=5, name="narrow")(keras.layers.Dense(64)(inputs))
    model = keras.Model(inputs, [wide, long_kernel, narrow])
    assert _routed_names(model) == {"wide": "patch_matmul"}


def test_a_network_inside_a_wrapper_model_is_routed_and_given_back(monkeypatch):
    from ser_keras.training.routes import routed_layers

    _pretend_cpu(monkeypatch, avx512=True)
    network = build_raw_cnn(RAW_SEG)
    ids = keras.Input((4000,))
    wrapper = keras.Model(ids, network(keras.layers.Identity()(ids)))  # like the device-input window gather
    with routed_layers(wrapper) as routed:
        assert {layer.name for layer in routed} == {"conv3", "conv4"}
        assert "call" in vars(network.get_layer("conv4"))
    assert "call" not in vars(network.get_layer("conv4"))


def test_routed_model_saves_as_plain_keras(tmp_path):
    config = ElorConfig(
        input_length=200, conv_filters=(3, 3), conv_kernel_sizes=(5, 3), pool_sizes=(2, 2), head_units=(4,)
    )
    model = build_elor(config)
    plain_config = model.get_config()
    assert _routed_names(model, force="frame_pairs") == {"conv1": "frame_pairs", "conv2": "frame_pairs"}
    assert model.get_config() == plain_config
    model.save(tmp_path / "elor.h5")
    reloaded = keras.models.load_model(tmp_path / "elor.h5")
    assert "call" not in vars(reloaded.get_layer("conv1"))
    x = np.random.default_rng(0).standard_normal((2, 200)).astype("float32")
    for head, posteriors in model.predict(x, verbose=0).items():
        np.testing.assert_array_equal(reloaded.predict(x, verbose=0)[head], posteriors)


ROUTED_CONFIG = ElorConfig(
    input_length=400,
    conv_filters=(4, 4, 4),
    conv_kernel_sizes=(20, 16, 5),
    pool_sizes=(2, 2, 2),
    head_units=(8,),
    dropout_rate=0.0,
    learning_rate=0.05,
)


def _weights_after_three_steps(**trainer_options):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((8, 400)).astype("float32"))
    labels = {head: tf.constant(rng.integers(0, 5, 8)) for head in ("valence", "arousal")}
    keras.utils.set_random_seed(1)
    trainer = SplitHeadTrainer(
        lambda: build_elor(ROUTED_CONFIG), learning_rate=ROUTED_CONFIG.learning_rate, seed=0, **trainer_options
    )
    for _ in range(3):
        trainer.train_step(x, labels)
    assert "call" not in vars(trainer.model.get_layer("conv2"))  # routed while the updates trace only
    return trainer.model.get_weights()


def _same_to_rounding_but_not_bitwise(weights, reference, rtol):
    # Bit-identical weights would mean the routes (conv2: 4 channels, kernel 16; the batch norms) never ran.
    assert any(not np.array_equal(ours, theirs) for ours, theirs in zip(weights, reference))
    for ours, theirs in zip(weights, reference):
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol / 10)


def test_split_head_training_through_the_routes_follows_tensorflows():
    weights = _weights_after_three_steps(routes=True)
    _same_to_rounding_but_not_bitwise(weights, _weights_after_three_steps(routes=False), rtol=1e-4)


def test_routes_under_a_mirrored_strategy():
    mirrored = _weights_after_three_steps(routes=True, strategy=tf.distribute.MirroredStrategy(["/cpu:0"]))
    _same_to_rounding_but_not_bitwise(mirrored, _weights_after_three_steps(routes=False), rtol=1e-4)
    for ours, theirs in zip(mirrored, _weights_after_three_steps(routes=True)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_bfloat16_kernel_gradient_keeps_its_dtype_and_follows_the_float64_sum():
    rng = np.random.default_rng(0)
    x, upstream = rng.standard_normal((2, 300, 8)), rng.standard_normal((2, 281, 8))
    gradient = conv1d_kernel_gradient(tf.constant(x, tf.bfloat16), tf.constant(upstream, tf.bfloat16), 20)
    assert gradient.dtype == tf.bfloat16
    reference = _direct_kernel_gradient(x, upstream, 20)
    # bfloat16 inputs and products: a few % of the gradient's scale.
    assert np.abs(gradient.numpy().astype(np.float64) - reference).max() < 0.05 * np.abs(reference).max()


def test_short_recipe_with_patch_matmuls_follows_tensorflows():
    from ser_keras.training.fit import train_frame_classifier

    rng = np.random.default_rng(0)
    windows = rng.standard_normal((16, 4000)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices((windows, rng.integers(0, 4, 16))).batch(8)
    weights = {}
    for routed in (False, True):
        keras.utils.set_random_seed(2)
        model = build_raw_cnn(RAW_SEG)
        initial = model.get_weights()
        summary = train_frame_classifier(model, dataset, dataset, max_epochs=2, verbose=0, routes=routed)
        assert "call" not in vars(model.get_layer("conv4"))  # routed while it trains only
        # The summary (and with it a model's sidecar) names the routed layers.
        assert {"conv3", "conv4"} <= set(summary["routes"]) if routed else summary["routes"] == {}
        weights[routed] = model.get_weights()
        assert not np.array_equal(weights[routed][-4], initial[-4])  # training moved the hidden layer
    _same_to_rounding_but_not_bitwise(weights[True], weights[False], rtol=1e-4)
