"""Tests of the SHORT frame-classifier training recipe on tiny synthetic windows."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ser_keras.models.lld_mlp import build_lld_mlp
from ser_keras.models.raw_cnn import build_raw_subseg
from ser_keras.training.fit import pick_steps_per_execution, train_frame_classifier
from ser_keras.training.momentum import MomentumSGD
from ser_keras.training.schedules import HalvingSchedule


def sine_windows(count, seed, window=4000):
    """z-normalised windows whose class (0..3) is the frequency of a noisy sine."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, count).astype("int32")
    time = np.arange(window) / 16000
    frequencies = np.array([150.0, 400.0, 1000.0, 2500.0])[labels]
    phases = rng.uniform(0, 2 * np.pi, count)
    waves = np.sin(2 * np.pi * frequencies[:, None] * time + phases[:, None]) + 0.3 * rng.standard_normal(
        (count, window)
    )
    waves = (waves - waves.mean(axis=1, keepdims=True)) / waves.std(axis=1, keepdims=True)
    return tf.data.Dataset.from_tensor_slices((waves.astype("float32"), labels)).batch(32)


def test_two_epochs_of_raw_subseg_lower_the_loss_and_save_the_best_model(tmp_path):
    keras.utils.set_random_seed(0)
    model = build_raw_subseg()
    checkpoint = tmp_path / "models" / "raw_subseg.h5"
    result = train_frame_classifier(
        model,
        sine_windows(128, 1),
        sine_windows(64, 2),
        max_epochs=2,
        schedule=HalvingSchedule(initial_epochs=1),
        verbose=0,
        checkpoint_path=checkpoint,
    )
    history = result["history"]
    assert result["epochs_run"] == 2 and result["stopped_by"] == "max_epochs"
    assert history["loss"][1] < history["loss"][0]
    assert history["learning_rate"][0] == pytest.approx(0.1)
    assert result["best_epoch"] == int(np.argmin(history["val_loss"])) + 1
    assert result["best_val_loss"] == pytest.approx(min(history["val_loss"]))
    optimizer = model.optimizer.get_config()
    assert optimizer["momentum"] == 0.5 and optimizer["nesterov"] is False
    reloaded = keras.models.load_model(checkpoint, compile=False)
    inputs = next(iter(sine_windows(4, 3)))[0]
    np.testing.assert_array_equal(reloaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0))


def test_schedule_ends_training_at_the_floor_and_keeps_best_weights():
    keras.utils.set_random_seed(0)
    features = np.random.default_rng(0).normal(size=(64, 25, 4)).astype("float32")
    labels = np.random.default_rng(1).integers(0, 4, 64).astype("int32")
    train = tf.data.Dataset.from_tensor_slices((features, labels)).batch(32)
    model = build_lld_mlp(4, feature_mean=np.zeros(4), feature_variance=np.ones(4), hidden_layers=(8,))
    # Random labels: validation loss cannot keep dropping by 1.0 per epoch, so every epoch
    # after the first halves 0.1 -> 0.05 -> 0.025 < 0.03 and training stops after epoch 3.
    result = train_frame_classifier(
        model, train, train, schedule=HalvingSchedule(initial_epochs=1, min_delta=1.0, floor=0.03), verbose=0
    )
    assert result["stopped_by"] == "learning_rate_floor"
    assert result["epochs_run"] == 3 and result["halvings"] == 2
    assert result["final_learning_rate"] == pytest.approx(0.025)
    assert result["history"]["learning_rate"] == pytest.approx([0.1, 0.1, 0.05])
    best_loss = model.evaluate(train, verbose=0)[0]
    assert best_loss == pytest.approx(result["best_val_loss"], rel=1e-5)


def test_steps_per_execution_divides_every_given_step_count():
    assert pick_steps_per_execution(None, None) == 32
    assert pick_steps_per_execution(48) == 24
    assert pick_steps_per_execution(40) == 20
    assert pick_steps_per_execution(20, 8) == 4
    assert pick_steps_per_execution(37) == 1
    assert pick_steps_per_execution(30, None, most=4) == 3


def _random_lld_run(steps_per_execution, *, steps_per_epoch):
    """Three epochs of a small LLD MLP on a shuffled, repeated stream of 7 batches (so
    epochs cross the stream's ends) with a 5-batch validation set: summary and weights."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    features = rng.normal(size=(7 * 16, 25, 4)).astype("float32")
    labels = rng.integers(0, 4, len(features)).astype("int32")
    train = tf.data.Dataset.from_tensor_slices((features, labels)).shuffle(len(features), seed=1).batch(16).repeat()
    validation = tf.data.Dataset.from_tensor_slices((features[:80], labels[:80])).batch(16)
    model = build_lld_mlp(4, feature_mean=np.zeros(4), feature_variance=np.ones(4), hidden_layers=(8,))
    summary = train_frame_classifier(
        model,
        train,
        validation,
        steps_per_epoch=steps_per_epoch,
        max_epochs=3,
        verbose=0,
        steps_per_execution=steps_per_execution,
    )
    return summary, [keras.ops.convert_to_numpy(weight) for weight in model.weights]


@pytest.mark.parametrize("steps_per_epoch", [12, 10])
def test_several_steps_per_call_train_exactly_as_one_step_per_call(steps_per_epoch):
    one, one_weights = _random_lld_run(1, steps_per_epoch=steps_per_epoch)
    several, several_weights = _random_lld_run(None, steps_per_epoch=steps_per_epoch)
    assert several["steps_per_execution"] == steps_per_epoch > one["steps_per_execution"] == 1
    assert several["history"] == one["history"]
    for weight, reference in zip(several_weights, one_weights):
        np.testing.assert_array_equal(weight, reference)


def test_a_call_size_that_does_not_divide_the_epoch_overruns_it():
    """Why ``pick_steps_per_execution`` takes a divisor: Keras runs whole calls, so 8 steps
    per call on 12-step epochs train 16 steps per epoch and the history changes."""
    one, _ = _random_lld_run(1, steps_per_epoch=12)
    overrun, _ = _random_lld_run(8, steps_per_epoch=12)
    assert overrun["history"]["loss"] != one["history"]["loss"]


def test_mixed_precision_model_trains_and_the_schedule_reaches_the_loss_scaled_optimizer():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_lld_mlp(4, feature_mean=np.zeros(4), feature_variance=np.ones(4), hidden_layers=(8,))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    data = tf.data.Dataset.from_tensor_slices(
        (np.random.default_rng(0).normal(size=(32, 25, 4)).astype("float32"), np.zeros(32, "int32"))
    ).batch(16)
    result = train_frame_classifier(
        model, data, data, max_epochs=2, verbose=0, schedule=HalvingSchedule(initial_epochs=1, min_delta=10.0)
    )
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert result["final_learning_rate"] == pytest.approx(0.05)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.05)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_raw_lld_magnitudes_are_standardised_in_float32_under_mixed_precision(policy):
    # ComParE energies reach ~1e5: in float16 they overflow (inf - inf = NaN), in bfloat16 a
    # deviation of 3 from a mean of 1e5 vanishes. The standardisation must run in float32.
    from ser_keras.models.elor import FtrConfig, build_ftr

    mean, variance = np.full(4, 1e5), np.full(4, 4.0)
    frames = np.full((2, 25, 4), 1e5 + 3.0, np.float32)
    keras.mixed_precision.set_global_policy(policy)
    try:
        mlp = build_lld_mlp(4, feature_mean=mean, feature_variance=variance, hidden_layers=(8,))
        ftr = build_ftr(FtrConfig(num_functionals=4), functional_mean=mean, functional_variance=variance)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    standardised = keras.Model(mlp.input, mlp.get_layer("standardize").output)(frames)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(standardised), 1.5, rtol=1e-6)
    assert np.isfinite(keras.ops.convert_to_numpy(mlp(frames))).all()
    standardised = keras.Model(ftr.input, ftr.get_layer("is10_standardize").output)(frames[:, 0])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(standardised), 1.5, rtol=1e-6)


def test_bad_checkpoint_suffix_is_refused():
    model = build_lld_mlp(2, feature_mean=np.zeros(2), feature_variance=np.ones(2), hidden_layers=(4,))
    with pytest.raises(ValueError, match="must end in '.h5'"):
        train_frame_classifier(model, None, None, checkpoint_path="model.keras")


def test_missing_validation_data_is_refused_before_training():
    model = build_lld_mlp(2, feature_mean=np.zeros(2), feature_variance=np.ones(2), hidden_layers=(4,))
    with pytest.raises(ValueError, match="val_ds"):
        train_frame_classifier(model, [], None)


@pytest.mark.parametrize("momentum, nesterov", [(0.5, False), (0.9, True), (0.0, False)])
def test_fused_momentum_updates_give_keras_sgd_weights_bit_for_bit(momentum, nesterov):
    """The reference is Keras' own SGD: the same model, data and seed, 12 steps (with the
    learning rate changed between fits, as the halving schedule does)."""
    data = sine_windows(96, 3, window=400)

    def train(optimizer_class):
        keras.utils.set_random_seed(0)
        inputs = keras.Input((400,))
        hidden = keras.layers.Dense(64, activation="relu")(keras.layers.Reshape((400,))(inputs))
        model = keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(hidden))
        model.compile(
            optimizer=optimizer_class(learning_rate=0.1, momentum=momentum, nesterov=nesterov),
            loss="sparse_categorical_crossentropy",
            steps_per_execution=3,
        )
        start = model.get_weights()
        model.fit(data, epochs=2, verbose=0, shuffle=False)
        model.optimizer.learning_rate.assign(0.05)
        model.fit(data, epochs=2, verbose=0, shuffle=False)
        return start, model.get_weights()

    (start, fused), (_, reference) = train(MomentumSGD), train(keras.optimizers.SGD)
    assert not np.array_equal(fused[0], start[0])
    for weight, expected in zip(fused, reference):
        np.testing.assert_array_equal(weight, expected)
