import numpy as np
import pytest

from ser_keras.interpret.descriptors import describe_signal

RATE = 16000


def _tone(frequency, seconds, amplitude=1.0):
    return amplitude * np.sin(2 * np.pi * frequency * np.arange(int(seconds * RATE)) / RATE)


def test_tone_descriptors():
    d = describe_signal(_tone(1000, 1.0, amplitude=0.5))
    assert abs(d["spectral_centroid_hz"] - 1000) < 30
    assert abs(d["zero_crossing_rate_hz"] - 2000) < 5
    assert d["peak_amplitude"] == pytest.approx(0.5, abs=1e-3)
    assert d["crest_factor"] == pytest.approx(np.sqrt(2), rel=1e-3)
    assert d["pause_count"] == 0 and d["active_fraction"] == 1.0


def test_periodicity_separates_a_voiced_tone_from_noise():
    tone = describe_signal(_tone(200, 1.0))
    noise = describe_signal(np.random.default_rng(0).normal(size=RATE))
    assert tone["periodicity"] > 0.95 and tone["periodic_fraction"] > 0.9
    assert noise["periodicity"] < 0.2 and noise["periodic_fraction"] < 0.1
    assert noise["spectral_centroid_hz"] > 3000


def test_internal_pauses_are_counted_and_timed_but_edge_silence_is_not():
    burst, gap = _tone(300, 0.3), np.zeros(int(0.2 * RATE))
    signal = np.concatenate([np.zeros(RATE // 2), burst, gap, burst, gap, burst, gap, burst, np.zeros(RATE // 2)])
    d = describe_signal(signal)
    assert d["pause_count"] == 3
    assert d["pause_mean_s"] == pytest.approx(0.2, abs=0.03)
    assert d["pause_std_s"] < 0.01
    assert 0.35 < d["active_fraction"] < 0.5


def test_rejects_non_signals():
    with pytest.raises(ValueError, match="1-D"):
        describe_signal(np.zeros((2, 10)))
