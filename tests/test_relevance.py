import keras
import numpy as np
import pytest

from ser_keras.interpret.guided import guided_gradients, guided_model
from ser_keras.interpret.relevance import (
    amplitude_envelope,
    class_relevances,
    pearson_rows,
    spliced_window_positions,
    utterance_class_relevances,
    utterance_relevance,
    window_relevance,
)


def test_overlap_add_of_constant_window_relevances_is_constant():
    starts = np.arange(0, 61, 7)
    result = utterance_relevance(np.full((len(starts), 40), 2.5), starts, 96)
    np.testing.assert_allclose(result, 2.5)


def test_overlap_add_divides_by_coverage_and_leaves_uncovered_samples_zero():
    relevances = np.array([[1.0, 1.0, 1.0], [3.0, 3.0, 3.0]])
    result = utterance_relevance(relevances, np.array([0, 2]), 6)
    np.testing.assert_allclose(result, [1.0, 1.0, 2.0, 3.0, 3.0, 0.0])


def test_spliced_positions_match_windows_cut_by_hand(window_oracle):
    signal = np.random.default_rng(0).normal(size=160 * 30 + 37)
    frames = np.array([0, 5, 29])
    positions = spliced_window_positions(frames, len(signal))
    for row, frame in zip(positions, frames):
        np.testing.assert_array_equal(signal[row], window_oracle(signal, frame))
    constant = utterance_relevance(np.ones(positions.shape), positions, len(signal))
    assert np.all(constant[: 30 * 160] == 1.0) and np.all(constant[30 * 160 :] == 0.0)


def test_spliced_positions_mark_padding_of_sub_frame_utterances():
    positions = spliced_window_positions(np.array([0]), 100)
    assert (positions[0, :100] == np.arange(100)).all() and (positions[0, 100:160] == -1).all()
    np.testing.assert_allclose(utterance_relevance(np.ones(positions.shape), positions, 100), 1.0)


def test_overlap_add_rejects_windows_outside_the_utterance():
    with pytest.raises(ValueError, match="do not fit an utterance of 10 samples"):
        utterance_relevance(np.ones((1, 5)), np.array([6]), 10)
    with pytest.raises(ValueError, match="positions must have shape"):
        utterance_relevance(np.ones((2, 5)), np.array([0, 1, 2]), 10)


def _tiny_cnn():
    keras.utils.set_random_seed(1)
    waveform = keras.Input((32,))
    x = keras.layers.Reshape((32, 1))(waveform)
    x = keras.layers.Conv1D(3, 4, strides=2)(x)
    x = keras.layers.Activation("relu")(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(waveform, keras.layers.Dense(4, activation="softmax")(x))


def test_class_relevances_are_guided_gradients_per_class():
    model = _tiny_cnn()
    windows = np.random.default_rng(2).normal(size=(5, 32)).astype(np.float32)
    guided = guided_model(model)
    per_class = class_relevances(guided, windows, range(4))
    assert per_class.shape == (4, 5, 32)
    np.testing.assert_allclose(per_class[2], guided_gradients(guided, windows, 2), atol=1e-6)
    np.testing.assert_allclose(window_relevance(model, windows, 2), per_class[2], atol=1e-6)
    starts = np.array([0, 8, 16, 24, 32])
    utterance = utterance_class_relevances(guided, windows, starts, 64, range(4))
    assert utterance.shape == (4, 64)
    np.testing.assert_allclose(utterance[1], utterance_relevance(per_class[1], starts, 64), atol=1e-6)


def test_pearson_rows_and_envelope():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 200))
    y = np.stack([2 * x[0] + 1, -x[1], rng.normal(size=200)])
    correlations = pearson_rows(x, y)
    np.testing.assert_allclose(correlations[:2], [1.0, -1.0], atol=1e-12)
    np.testing.assert_allclose(correlations[2], np.corrcoef(x[2], y[2])[0, 1], atol=1e-12)
    assert np.isnan(pearson_rows(x[:1], np.zeros((1, 200)))[0])
    t = np.arange(1600) / 16000
    envelope_shape = 1 + 0.5 * np.sin(2 * np.pi * 5 * t)
    envelope = amplitude_envelope((envelope_shape * np.sin(2 * np.pi * 1000 * t))[None])
    np.testing.assert_allclose(envelope[0, 100:-100], envelope_shape[100:-100], atol=0.02)
    with pytest.raises(ValueError, match="equal shape"):
        pearson_rows(x, y[:, :10])
