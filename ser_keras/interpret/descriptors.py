"""Measurable descriptors of a signal: ELOR Table 6 as numbers.

ELOR describes its generalized input signals in words (high frequencies, many
interruptions, higher amplitude peaks, longer periodic stretches, pauses of constant or
changing length). Each statement gets a number here, computed with numpy:

- spectral centroid (Hz): magnitude-weighted mean frequency of the whole signal;
- zero-crossing rate (crossings per second);
- peak amplitude, RMS, crest factor (peak / RMS: peaks relative to overall loudness);
- pauses: 25 ms frames every 10 ms whose energy is below ``pause_threshold_db`` relative
  to the loudest frame; runs of such frames strictly inside the signal are pauses
  (count, mean and std of length in seconds); ``active_fraction`` is the share of frames
  above the threshold (how much of the signal is "utterance");
- periodicity: maximum normalised autocorrelation at lags of 2-20 ms (pitch 50-500 Hz)
  over the whole signal, and ``periodic_fraction``, the share of 40 ms frames whose own
  maximum in that lag range exceeds 0.5.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ser_keras.data.audio import SAMPLE_RATE

PITCH_RANGE_HZ = (50.0, 500.0)
PERIODIC_THRESHOLD = 0.5


def _frames(signal, length, hop):
    if len(signal) < length:
        signal = np.pad(signal, (0, length - len(signal)))
    return sliding_window_view(signal, length)[::hop]


def spectral_centroid(signal, sample_rate=SAMPLE_RATE):
    """Magnitude-weighted mean frequency (Hz) of the signal's spectrum; 0 for silence."""
    magnitude = np.abs(np.fft.rfft(signal))
    total = magnitude.sum()
    freqs = np.fft.rfftfreq(len(signal), d=1.0 / sample_rate)
    return float((freqs * magnitude).sum() / total) if total > 0 else 0.0


def zero_crossing_rate(signal, sample_rate=SAMPLE_RATE):
    """Sign changes between neighbouring samples, per second."""
    signs = np.signbit(signal)
    return float(np.count_nonzero(signs[1:] != signs[:-1]) * sample_rate / len(signal))


def _max_autocorrelation(frames, sample_rate):
    """Max over pitch lags of each row's autocorrelation divided by its lag-0 value."""
    centred = frames - frames.mean(axis=-1, keepdims=True)
    size = centred.shape[-1]
    power = np.abs(np.fft.rfft(centred, n=2 * size, axis=-1)) ** 2
    autocorrelation = np.fft.irfft(power, axis=-1)[..., :size]
    low = int(round(sample_rate / PITCH_RANGE_HZ[1]))
    high = min(int(round(sample_rate / PITCH_RANGE_HZ[0])), size - 1)
    energy = autocorrelation[..., :1]
    normalised = np.divide(
        autocorrelation[..., low : high + 1],
        energy,
        out=np.zeros_like(autocorrelation[..., low : high + 1]),
        where=energy > 0,
    )
    return normalised.max(axis=-1)


def pause_statistics(signal, sample_rate=SAMPLE_RATE, *, pause_threshold_db=-30.0):
    """Pause count, mean and std pause length (s), and the active (non-pause) frame share."""
    hop, length = sample_rate // 100, sample_rate * 25 // 1000
    energy = np.mean(_frames(signal, length, hop) ** 2, axis=-1)
    if energy.max() <= 0:
        return {"pause_count": 0, "pause_mean_s": 0.0, "pause_std_s": 0.0, "active_fraction": 0.0}
    level_db = 10 * np.log10(np.maximum(energy, 1e-20) / energy.max())
    quiet = np.concatenate([[False], level_db < pause_threshold_db, [False]]).astype(np.int8)
    edges = np.diff(quiet)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    # Quiet runs touching either end are leading/trailing silence, not pauses.
    inside = (starts > 0) & (ends < len(energy))
    lengths = (ends - starts)[inside] * hop / sample_rate
    return {
        "pause_count": int(len(lengths)),
        "pause_mean_s": float(lengths.mean()) if len(lengths) else 0.0,
        "pause_std_s": float(lengths.std()) if len(lengths) else 0.0,
        "active_fraction": float(np.mean(level_db >= pause_threshold_db)),
    }


def periodicity(signal, sample_rate=SAMPLE_RATE):
    """Whole-signal maximum normalised autocorrelation at pitch lags, and the periodic frame share."""
    frames = _frames(signal, sample_rate * 40 // 1000, sample_rate // 100)
    return {
        "periodicity": float(_max_autocorrelation(np.asarray(signal, np.float64), sample_rate)),
        "periodic_fraction": float(np.mean(_max_autocorrelation(frames, sample_rate) > PERIODIC_THRESHOLD)),
    }


def describe_signal(signal, sample_rate=SAMPLE_RATE, *, pause_threshold_db=-30.0):
    """All descriptors of one 1-D signal as a flat dict of numbers."""
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 1 or len(signal) < 2:
        raise ValueError(f"signal must be 1-D with at least 2 samples. Got shape {signal.shape}.")
    peak = float(np.abs(signal).max())
    rms = float(np.sqrt(np.mean(signal**2)))
    return {
        "spectral_centroid_hz": spectral_centroid(signal, sample_rate),
        "zero_crossing_rate_hz": zero_crossing_rate(signal, sample_rate),
        "peak_amplitude": peak,
        "rms": rms,
        "crest_factor": peak / rms if rms > 0 else 0.0,
        **pause_statistics(signal, sample_rate, pause_threshold_db=pause_threshold_db),
        **periodicity(signal, sample_rate),
    }
