"""MFCC input of the LoM network (ELOR paper, "LoM network - feature learning only on MFCCs").

A vectorised numpy re-implementation of ``python_speech_features.mfcc`` so the toolkit
computes the paper's 599 x 26 MFCC matrix of a 6 s, 16 kHz sample (25 ms window, 10 ms
shift, 1024-point FFT, 26 mel filters, 26 coefficients) without that package at run
time; ``tests/test_mfcc.py`` checks parity against it. Same algorithm, step by step:
pre-emphasis, framing with zero padding of the last frame, rectangular window, power
spectrum, triangular mel filterbank with floor-quantised FFT bins, log, orthonormal
DCT-II, sinusoidal liftering, coefficient 0 replaced by the log frame energy.
"""

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from scipy.fft import dct


def _round_half_up(value):
    """Round like python_speech_features (0.5 goes up), so frame lengths match it."""
    return int(Decimal(value).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def _hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel):
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(nfilt, nfft, sample_rate, lowfreq, highfreq):
    """Triangular mel filters on the ``nfft // 2 + 1`` FFT bins, one row per filter."""
    mel_points = np.linspace(_hz_to_mel(lowfreq), _hz_to_mel(highfreq), nfilt + 2)
    bins = np.floor((nfft + 1) * _mel_to_hz(mel_points) / sample_rate)
    left, centre, right = bins[:-2, None], bins[1:-1, None], bins[2:, None]
    fft_bin = np.arange(nfft // 2 + 1)[None, :]
    # np.errstate: degenerate filters (equal neighbouring bins) are never selected by the
    # masks below, but numpy still evaluates the division for them.
    with np.errstate(divide="ignore", invalid="ignore"):
        rising = np.where((fft_bin >= left) & (fft_bin < centre), (fft_bin - left) / (centre - left), 0.0)
        falling = np.where((fft_bin >= centre) & (fft_bin < right), (right - fft_bin) / (right - centre), 0.0)
    return rising + falling


def _frames(signal, frame_length, frame_step):
    """Overlapping frames; the tail is zero-padded so the last frame covers the signal end."""
    if len(signal) <= frame_length:
        count = 1
    else:
        count = 1 + math.ceil((len(signal) - frame_length) / frame_step)
    padded = np.concatenate([signal, np.zeros((count - 1) * frame_step + frame_length - len(signal))])
    starts = np.arange(count)[:, None] * frame_step
    return padded[starts + np.arange(frame_length)[None, :]]


def mfcc(
    signal,
    sample_rate=16000,
    *,
    winlen=0.025,
    winstep=0.01,
    numcep=26,
    nfilt=26,
    nfft=1024,
    lowfreq=0,
    highfreq=None,
    preemph=0.97,
    ceplifter=22,
    append_energy=True,
):
    """MFCCs of a mono signal, shape ``(frames, numcep)`` float64.

    Defaults are the LoM settings of the paper; a 96,000-sample signal gives 599 x 26.
    Equal to ``python_speech_features.mfcc(signal, sample_rate, numcep=26, nfilt=26,
    nfft=1024)`` up to floating-point round-off.
    """
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 1 or signal.size == 0:
        raise ValueError(f"mfcc expects a non-empty 1-D signal; got shape {signal.shape}.")
    if numcep > nfilt:
        raise ValueError(f"numcep={numcep} exceeds nfilt={nfilt}; the DCT has only nfilt coefficients.")
    highfreq = highfreq or sample_rate / 2
    if not 0 <= lowfreq < highfreq <= sample_rate / 2:
        raise ValueError(
            f"Need 0 <= lowfreq < highfreq <= sample_rate / 2; got lowfreq={lowfreq}, "
            f"highfreq={highfreq}, sample_rate={sample_rate}."
        )
    frame_length = _round_half_up(winlen * sample_rate)
    frame_step = _round_half_up(winstep * sample_rate)
    if frame_length > nfft:
        raise ValueError(f"A frame of {frame_length} samples does not fit nfft={nfft}; raise nfft.")

    emphasised = np.append(signal[0], signal[1:] - preemph * signal[:-1])
    power = np.abs(np.fft.rfft(_frames(emphasised, frame_length, frame_step), nfft)) ** 2 / nfft
    eps = np.finfo(float).eps
    energy = power.sum(axis=1)
    energy = np.where(energy == 0, eps, energy)
    filter_energies = power @ mel_filterbank(nfilt, nfft, sample_rate, lowfreq, highfreq).T
    filter_energies = np.where(filter_energies == 0, eps, filter_energies)

    cepstra = dct(np.log(filter_energies), type=2, axis=1, norm="ortho")[:, :numcep]
    if ceplifter > 0:
        cepstra *= 1.0 + (ceplifter / 2.0) * np.sin(np.pi * np.arange(numcep) / ceplifter)
    if append_energy:
        cepstra[:, 0] = np.log(energy)
    return cepstra
