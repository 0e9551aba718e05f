"""Waveform loading for both papers: 16 kHz mono float32 in [-1, 1] (ELOR §3, SHORT §2.1).

int16 PCM is scaled by 1/32768; 24-bit and float WAVs are accepted. Other sample rates are
resampled with a polyphase filter and stereo is down-mixed; each of these is reported once
per process, naming the first file, so a corpus at the wrong rate is never used silently.
Unreadable, empty, truncated or non-finite audio raises :class:`AudioError` naming the file.
"""

import logging
import math
import os

import numpy as np
import scipy.signal
import soundfile

SAMPLE_RATE = 16000
logger = logging.getLogger(__name__)
_reported = set()


class AudioError(ValueError):
    """A WAV file that cannot be used, with the file and the reason in the message."""


def _report_once(kind, message):
    if kind not in _reported:
        _reported.add(kind)
        logger.warning("%s (reported once per process)", message)


def read_wav(path):
    """Return ``(samples float32 (n, channels), sample_rate)`` or raise :class:`AudioError`."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise AudioError(f"{path}: file not found.")
    try:
        info = soundfile.info(path)
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError, TypeError) as error:
        raise AudioError(f"{path}: not a readable WAV file ({error}).") from error
    if info.frames > len(samples):
        raise AudioError(
            f"{path}: truncated WAV: the header announces {info.frames} samples but the file holds {len(samples)}."
        )
    if _header_frames(path, info) > len(samples):
        raise AudioError(
            f"{path}: truncated WAV: the data chunk announces {_header_frames(path, info)} "
            f"samples but the file holds {len(samples)}."
        )
    if len(samples) == 0:
        raise AudioError(f"{path}: empty WAV (0 samples); expected speech audio.")
    return samples, rate


def _header_frames(path, info):
    """Frames announced by the RIFF ``data`` chunk (libsndfile silently clips truncated files)."""
    if info.format != "WAV":
        return 0
    frame_bytes = info.channels * {"PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8, "PCM_U8": 1}.get(
        info.subtype, 0
    )
    if frame_bytes == 0:
        return 0
    with open(path, "rb") as handle:
        header = handle.read(4096)
    position = 12
    while position + 8 <= len(header):
        chunk, size = header[position : position + 4], int.from_bytes(header[position + 4 : position + 8], "little")
        if chunk == b"data":
            return size // frame_bytes if size < 0xFFFFFFFF else 0
        position += 8 + size + (size % 2)
    return 0


def load_waveform(path, *, sample_rate=SAMPLE_RATE):
    """Load ``path`` as mono float32 at ``sample_rate`` Hz, values in [-1, 1]."""
    samples, rate = read_wav(path)
    if not np.isfinite(samples).all():
        bad = int((~np.isfinite(samples)).sum())
        raise AudioError(f"{path}: {bad} NaN/Inf samples; expected finite audio.")
    if samples.shape[1] > 1:
        _report_once("stereo", f"{path}: {samples.shape[1]} channels down-mixed to mono by averaging")
    signal = samples.mean(axis=1, dtype=np.float32)
    if rate != sample_rate:
        _report_once("rate", f"{path}: resampled {rate} Hz -> {sample_rate} Hz with a polyphase filter")
        divisor = math.gcd(rate, sample_rate)
        signal = scipy.signal.resample_poly(signal, sample_rate // divisor, rate // divisor).astype(np.float32)
    return signal


def decoded_length(path, *, sample_rate=SAMPLE_RATE):
    """Samples :func:`load_waveform` returns for ``path``, read from the header alone (0 if
    the header is unreadable): lets a loader place every utterance before decoding any."""
    try:
        info = soundfile.info(os.fspath(path))
    except (RuntimeError, soundfile.LibsndfileError, TypeError):
        return 0
    # resample_poly returns ceil(n * up / down) samples.
    return -(-info.frames * sample_rate // info.samplerate)


def to_int16(signal):
    """Quantise a float waveform to int16 (the storage format of the windows pipeline)."""
    return np.clip(np.round(np.asarray(signal) * 32768.0), -32768, 32767).astype(np.int16)
