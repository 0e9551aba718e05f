"""Waveform loading: int16 scaling, formats, resampling, down-mixing, quantisation."""

import logging

import numpy as np
import pytest

from ser_keras.data import audio
from ser_keras.data.audio import SAMPLE_RATE, AudioError, load_waveform, read_wav, to_int16


@pytest.fixture(autouse=True)
def fresh_reports(monkeypatch):
    """Each test sees the 'reported once per process' notices afresh."""
    monkeypatch.setattr(audio, "_reported", set())


def test_int16_is_scaled_by_1_over_32768(tmp_path, wav_writer):
    values = np.array([-32768, -1, 0, 1, 16384, 32767], np.int16)
    path = wav_writer(tmp_path / "a.wav", values)
    signal = load_waveform(path)
    assert signal.dtype == np.float32
    np.testing.assert_array_equal(signal, values.astype(np.float32) / 32768.0)


def test_to_int16_round_trips_and_clips():
    values = np.array([-32768, -5, 0, 7, 32767], np.int16)
    assert np.array_equal(to_int16(values / 32768.0), values)
    assert to_int16([1.5, -1.5]).tolist() == [32767, -32768]


def test_resampling_keeps_a_tone_and_its_duration(tmp_path, wav_writer, caplog):
    rate = 22050
    time = np.arange(rate) / rate
    path = wav_writer(tmp_path / "tone.wav", 0.5 * np.sin(2 * np.pi * 440 * time), rate=rate)
    with caplog.at_level(logging.WARNING, logger="ser_keras.data.audio"):
        signal = load_waveform(path)
    assert len(signal) == SAMPLE_RATE
    spectrum = np.abs(np.fft.rfft(signal))
    assert np.argmax(spectrum) == 440  # 1 s at 16 kHz: bin k = k Hz
    assert "resampled 22050 Hz -> 16000 Hz" in caplog.text and str(path) in caplog.text


def test_read_wav_reports_missing_file(tmp_path):
    with pytest.raises(AudioError, match=r"absent\.wav: file not found"):
        read_wav(tmp_path / "absent.wav")


def test_flac_and_other_formats_still_load(tmp_path):
    import soundfile

    path = tmp_path / "x.flac"
    soundfile.write(path, np.full(320, 0.25), SAMPLE_RATE, subtype="PCM_16")
    np.testing.assert_allclose(load_waveform(path), 0.25, atol=1 / 32768)
