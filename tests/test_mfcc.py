"""Parity of ser_keras.features.mfcc with python_speech_features (LoM input, 599 x 26)."""

import numpy as np
import pytest
from python_speech_features import mfcc as reference_mfcc

from ser_keras.features.mfcc import mel_filterbank, mfcc

SAMPLE_RATE = 16000


def _signals():
    rng = np.random.default_rng(0)
    time = np.arange(96000) / SAMPLE_RATE
    tone = 0.5 * np.sin(2 * np.pi * 440.0 * time) + 0.1 * np.sin(2 * np.pi * 3100.0 * time)
    noise = rng.uniform(-1.0, 1.0, 96000)
    # Speech-like: half silence (exercises the eps floor of empty frames), then noise.
    padded = np.concatenate([np.zeros(48000), 0.3 * rng.standard_normal(48000)])
    short = rng.uniform(-1.0, 1.0, 12345)
    return {"tone": tone, "noise": noise, "padded": padded, "short": short}


@pytest.mark.parametrize("name", ["tone", "noise", "padded", "short"])
def test_mfcc_matches_python_speech_features(name):
    signal = _signals()[name]
    expected = reference_mfcc(signal, SAMPLE_RATE, numcep=26, nfilt=26, nfft=1024)
    got = mfcc(signal, SAMPLE_RATE)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_six_seconds_give_599_by_26():
    assert mfcc(np.zeros(96000) + 1e-3, SAMPLE_RATE).shape == (599, 26)


def test_non_default_settings_match_reference():
    signal = _signals()["noise"][:32000]
    expected = reference_mfcc(
        signal,
        SAMPLE_RATE,
        numcep=13,
        nfilt=40,
        nfft=512,
        lowfreq=100,
        highfreq=7000,
        preemph=0.9,
        ceplifter=0,
        appendEnergy=False,
    )
    got = mfcc(
        signal,
        SAMPLE_RATE,
        numcep=13,
        nfilt=40,
        nfft=512,
        lowfreq=100,
        highfreq=7000,
        preemph=0.9,
        ceplifter=0,
        append_energy=False,
    )
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_filterbank_matches_reference():
    from python_speech_features.base import get_filterbanks

    np.testing.assert_allclose(
        mel_filterbank(26, 1024, SAMPLE_RATE, 0, 8000), get_filterbanks(26, 1024, SAMPLE_RATE, 0, 8000)
    )


@pytest.mark.parametrize(
    "signal, kwargs, message",
    [
        (np.zeros((2, 100)), {}, "1-D"),
        (np.zeros(0), {}, "1-D"),
        (np.ones(1000), {"numcep": 30}, "numcep=30"),
        (np.ones(1000), {"highfreq": 9000}, "highfreq=9000"),
        (np.ones(1000), {"nfft": 256}, "nfft=256"),
    ],
)
def test_invalid_arguments_are_named(signal, kwargs, message):
    with pytest.raises(ValueError, match=message):
        mfcc(signal, SAMPLE_RATE, **kwargs)
