import keras
import numpy as np
import pytest

from ser_keras.interpret.frequency import (
    band_fractions,
    band_levels,
    cumulative_frequency_response,
    dominant_band,
    first_conv_kernel,
    response_centroid,
)


def _windowed_sinusoid(frequency, taps=300, sample_rate=16000):
    t = np.arange(taps) / sample_rate
    return np.hanning(taps) * np.sin(2 * np.pi * frequency * t)


def test_windowed_2khz_sinusoid_peaks_at_2khz():
    kernel = _windowed_sinusoid(2000)[:, None, None]
    freqs, response = cumulative_frequency_response(kernel, nfft=1024)
    assert freqs[0] == 0 and freqs[-1] == 8000 and len(freqs) == 513
    assert abs(freqs[np.argmax(response)] - 2000) <= 16000 / 1024
    assert dominant_band(freqs, response) == (1000, 4000)


def test_filters_count_equally_whatever_their_gain():
    kernel = np.stack([_windowed_sinusoid(500), 100 * _windowed_sinusoid(6000)], axis=-1)[:, None, :]
    freqs, response = cumulative_frequency_response(kernel, nfft=512)
    low = response[np.argmin(np.abs(freqs - 500))]
    high = response[np.argmin(np.abs(freqs - 6000))]
    np.testing.assert_allclose(low, high, rtol=0.05)
    fractions = band_fractions(freqs, response)
    np.testing.assert_allclose(fractions.sum(), 1.0)
    np.testing.assert_allclose(fractions[0], fractions[2], rtol=0.05)
    assert 500 < response_centroid(freqs, response) < 6000


def test_first_conv_kernel_is_read_from_the_model():
    inputs = keras.Input((100,))
    x = keras.layers.Reshape((100, 1))(inputs)
    x = keras.layers.Conv1D(4, 30, strides=10, name="conv1")(x)
    x = keras.layers.Conv1D(2, 3, name="conv2")(x)
    model = keras.Model(inputs, x)
    kernel = first_conv_kernel(model)
    assert kernel.shape == (30, 1, 4)
    np.testing.assert_array_equal(kernel, model.get_layer("conv1").kernel.numpy())


def test_invalid_kernels_are_rejected():
    with pytest.raises(ValueError, match="2 input channels"):
        cumulative_frequency_response(np.ones((5, 2, 3)))
    with pytest.raises(ValueError, match="nfft=256"):
        cumulative_frequency_response(np.ones((300, 1, 3)), nfft=256)
    with pytest.raises(ValueError, match="no Conv1D"):
        first_conv_kernel(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))


def test_flat_response_favours_no_band_but_a_low_pass_filter_favours_low_frequencies():
    freqs = np.linspace(0, 8000, 513)
    np.testing.assert_allclose(band_levels(freqs, np.ones(513)), 1.0)
    np.testing.assert_allclose(band_fractions(freqs, np.ones(513)), [1 / 8, 3 / 8, 4 / 8], atol=0.01)
    low_pass = np.hanning(301)[:, None, None]  # a smoothing filter: a low-pass response
    freqs, response = cumulative_frequency_response(low_pass, nfft=1024)
    assert dominant_band(freqs, response) == (0, 1000)
    assert response_centroid(freqs, response) < 500
