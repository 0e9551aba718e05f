import keras
import numpy as np
import pytest

from ser_keras.interpret.maximize import maximize_activation


def _two_head_model():
    keras.utils.set_random_seed(3)
    waveform = keras.Input((64,))
    x = keras.layers.Reshape((64, 1))(waveform)
    x = keras.layers.Conv1D(4, 8, strides=2)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.MaxPooling1D(2)(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Flatten()(x)
    arousal = keras.layers.Dense(5, activation="softmax", name="arousal")(x)
    valence = keras.layers.Dense(5, activation="softmax", name="valence")(x)
    return keras.Model(waveform, {"arousal": arousal, "valence": valence})


def _logits(model, signals, head):
    features = keras.Model(model.input, model.get_layer(head).input)(signals)
    kernel, bias = model.get_layer(head).get_weights()
    return np.asarray(features) @ kernel + bias


def test_activation_maximisation_increases_the_target_logit():
    model = _two_head_model()
    result = maximize_activation(model, [0, 4], output="valence", steps=40, learning_rate=0.05, l2=1e-3)
    assert result.signals.shape == (2, 64)
    assert result.objective.shape == (41, 2) and result.activation.shape == (41, 2)
    assert np.all(result.objective[-1] > result.objective[0] + 1.0)
    np.testing.assert_allclose(
        result.activation[-1], _logits(model, result.signals, "valence")[[0, 1], [0, 4]], rtol=1e-4, atol=1e-4
    )
    penalty = 1e-3 * np.sum(result.signals**2, axis=1)
    np.testing.assert_allclose(result.objective[-1], result.activation[-1] - penalty, rtol=1e-4, atol=1e-4)


def test_given_start_is_used_and_weights_stay_frozen():
    model = _two_head_model()
    weights = [w.copy() for w in model.get_weights()]
    mean = np.full(64, 0.3, np.float32)
    result = maximize_activation(model, [2], output="arousal", start=mean, steps=1, learning_rate=1e-6)
    np.testing.assert_allclose(result.signals[0], mean, atol=1e-4)
    np.testing.assert_allclose(result.activation[0], _logits(model, mean[None], "arousal")[:, 2], rtol=1e-5)
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_invalid_requests_are_rejected():
    model = _two_head_model()
    with pytest.raises(ValueError, match="below 5"):
        maximize_activation(model, [5], output="arousal", steps=1)
    with pytest.raises(ValueError, match="start must have"):
        maximize_activation(model, [1], output="arousal", start=np.zeros(10), steps=1)
