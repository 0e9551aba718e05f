"""Tests of the Idiap learning-rate halving rule (pure state machine and Keras callback)."""

import math

import keras
import numpy as np
import pytest

from ser_keras.training.schedules import (
    HalveLearningRateOnPlateau,
    HalvingSchedule,
    after_epoch,
    initial_state,
)


def run(losses, learning_rate=0.1, schedule=HalvingSchedule()):
    state = initial_state(learning_rate, schedule)
    states = []
    for loss in losses:
        state = after_epoch(state, loss, schedule)
        states.append(state)
        if state.stop:
            break
    return states


def test_scripted_sequence_halves_on_small_decrease_against_previous_epoch():
    losses = [
        1.0,
        0.9,
        0.95,
        0.8,  # initial block: never halves, even when the loss rises
        0.7,  # decrease 0.1 -> keep 0.1
        0.699,  # decrease 0.001 < 0.002 -> 0.05
        0.6975,  # decrease 0.0015 -> 0.025
        0.6,  # keep
        0.5981,  # decrease 0.0019 -> 0.0125
        0.65,  # rise -> 0.00625
        0.62,
    ]  # 0.03 below the previous epoch (not the best) -> keep
    rates = [state.learning_rate for state in run(losses)]
    expected = [0.1] * 5 + [0.05, 0.025, 0.025, 0.0125, 0.00625, 0.00625]
    np.testing.assert_allclose(rates, expected)
    final = run(losses)[-1]
    assert final.best_epoch == 9 and final.best_val_loss == pytest.approx(0.5981)
    assert final.halvings == 4 and not final.stop


def test_decrease_of_exactly_min_delta_keeps_rate():
    schedule = HalvingSchedule(initial_epochs=1, min_delta=0.25)
    states = run([1.0, 0.75, 0.5], schedule=schedule)
    assert [s.learning_rate for s in states] == [0.1, 0.1, 0.1]


def test_stops_when_rate_falls_below_paper_floor():
    # Flat loss: every epoch after the initial block halves; 0.1 / 2**17 < 1e-6 <= 0.1 / 2**16.
    states = run([0.5] * 21)
    assert not states[19].stop and states[19].learning_rate == pytest.approx(0.1 / 2**16)
    assert states[20].stop and states[20].learning_rate == pytest.approx(0.1 / 2**17)
    assert states[20].halvings == 17
    with pytest.raises(ValueError, match="already stopped"):
        after_epoch(states[20], 0.5)


@pytest.mark.parametrize("floor", [1e-7, 1e-6, 3e-5])
def test_number_of_halvings_matches_idiap_lr_scale_count(floor):
    # Idiap train.py: lrScaleCount = ceil(log(minLr / rate) / log(lrScale)) halvings, then stop.
    schedule = HalvingSchedule(floor=floor)
    states = run([0.5] * 40, schedule=schedule)
    stopped = states[-1]
    assert stopped.stop
    assert stopped.halvings == math.ceil(math.log(floor / 0.1) / math.log(0.5))


def test_nan_loss_counts_as_no_improvement_and_never_becomes_best():
    states = run([1.0, float("nan")], schedule=HalvingSchedule(initial_epochs=1))
    assert states[1].learning_rate == 0.05
    assert states[1].best_epoch == 1


@pytest.mark.parametrize("kwargs", [{"initial_epochs": 0}, {"min_delta": -1.0}, {"factor": 1.0}, {"floor": 0.0}])
def test_invalid_schedule_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        HalvingSchedule(**kwargs)


def test_initial_rate_below_floor_is_refused():
    with pytest.raises(ValueError, match="below the schedule's floor"):
        initial_state(1e-7)


def _compiled_model():
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy")
    return model


def test_callback_sets_rate_stops_and_restores_best_weights():
    model = _compiled_model()
    callback = HalveLearningRateOnPlateau(HalvingSchedule(initial_epochs=1, floor=0.03))
    callback.set_model(model)
    callback.on_train_begin()
    weights_by_epoch = []
    for epoch, loss in enumerate([1.0, 0.5, 0.6, 0.7]):
        model.set_weights([np.full_like(w, epoch) for w in model.get_weights()])
        weights_by_epoch.append(model.get_weights())
        logs = {"val_loss": loss}
        callback.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    # Epoch 3 rises (0.1 -> 0.05), epoch 4 rises again (0.05 -> 0.025 < 0.03): stop.
    assert epoch == 3 and model.stop_training
    assert logs["learning_rate"] == pytest.approx(0.05)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.025)
    callback.on_train_end()
    for restored, best in zip(model.get_weights(), weights_by_epoch[1]):
        np.testing.assert_array_equal(restored, best)


def test_callback_without_validation_loss_says_what_is_missing():
    model = _compiled_model()
    callback = HalveLearningRateOnPlateau()
    callback.set_model(model)
    callback.on_train_begin()
    with pytest.raises(ValueError, match="validation_data"):
        callback.on_epoch_end(0, {"loss": 1.0})
