"""Relevance signals of raw-waveform CNNs (SHORT §3.2, after Muckenhirn et al. 2018).

A window's relevance signal is the guided-backpropagation gradient of one class output
w.r.t. the 250 ms input window, i.e. w.r.t. exactly what the network sees (windows
normalised in the data pipeline are passed here already normalised). An utterance's
relevance signal is the overlap-add of its window relevances divided by how many windows
cover each sample. Windows may be contiguous (a start per window) or spliced from 10 ms
frames with repeated edge frames by :func:`ser_keras.data.windows.splice` (a sample index per
window value).

ELOR's saliency maps (Fig. 4) are the same guided gradients; the correlation helpers below
give its input-saliency and arousal-valence Pearson correlations, on the signals as they
are and on their amplitude envelopes (the paper does not say which it correlated).
"""

import numpy as np
from scipy.signal import hilbert

from ser_keras.data.windows import FRAME_SHIFT, frame_counts, splice
from ser_keras.interpret.guided import guided_gradients, guided_model, is_guided


def _guided(model_or_guided):
    return model_or_guided if is_guided(model_or_guided) else guided_model(model_or_guided)


def window_relevance(model_or_guided, windows, class_index, *, output=None, batch_size=256):
    """Relevance of each window (N, W) for ``class_index`` (int, one per window, or 'predicted')."""
    windows = np.asarray(windows, dtype=np.float32)
    if windows.ndim != 2:
        raise ValueError(f"windows must have shape (N, W). Got {windows.shape}.")
    return guided_gradients(_guided(model_or_guided), windows, class_index, output=output, batch_size=batch_size)


def class_relevances(model_or_guided, windows, classes, *, output=None, batch_size=256):
    """Window relevances for every class in ``classes``: shape (len(classes), N, W).

    SHORT Table 3 tests a relevance-trained CNN on the relevance signals of all 4 classes
    and averages its 4 predictions; this gives those 4 inputs in one call.
    """
    guided = _guided(model_or_guided)
    return np.stack([window_relevance(guided, windows, c, output=output, batch_size=batch_size) for c in classes])


def spliced_window_positions(frames, length):
    """Sample index of every value of the spliced windows of ``frames`` (N,): shape (N, W).

    The context frames are :func:`ser_keras.data.windows.splice`'s, as in the data
    pipeline; values past the end of an utterance shorter than one frame are padding and
    get position -1.
    """
    frames = np.asarray(frames, dtype=np.int64)
    spliced = splice(frames, frame_counts(length)).numpy()
    positions = (spliced[:, :, None] * FRAME_SHIFT + np.arange(FRAME_SHIFT)).reshape(len(frames), -1)
    return np.where(positions < length, positions, -1)


def utterance_relevance(window_relevances, positions, length):
    """Overlap-add window relevances (N, W) into an utterance of ``length`` samples.

    ``positions``: the start sample of each contiguous window (N,), or the sample index of
    every window value (N, W) as from :func:`spliced_window_positions` (-1 = padding,
    ignored). Each sample is divided by the number of window values that cover it;
    samples nothing covers are 0.
    """
    window_relevances = np.asarray(window_relevances, dtype=np.float64)
    positions = np.asarray(positions, dtype=np.int64)
    if window_relevances.ndim != 2:
        raise ValueError(f"window_relevances must have shape (N, W). Got {window_relevances.shape}.")
    count, width = window_relevances.shape
    if positions.shape == (count,):
        positions = positions[:, None] + np.arange(width)
    if positions.shape != (count, width):
        raise ValueError(
            f"positions must have shape ({count},) (window starts) or ({count}, {width}). Got {positions.shape}."
        )
    inside = positions >= 0
    if positions.size and (positions.max() >= length or (positions < -1).any()):
        raise ValueError(
            f"Window positions {positions.min()}..{positions.max()} do not fit an utterance of {length} samples."
        )
    total = np.bincount(positions[inside], weights=window_relevances[inside], minlength=length)
    coverage = np.bincount(positions[inside], minlength=length)
    return np.divide(total, coverage, out=np.zeros(length), where=coverage > 0).astype(np.float32)


def utterance_class_relevances(model_or_guided, windows, positions, length, classes, *, output=None, batch_size=256):
    """Utterance-length relevance signals, one per class: shape (len(classes), length)."""
    per_class = class_relevances(model_or_guided, windows, classes, output=output, batch_size=batch_size)
    return np.stack([utterance_relevance(r, positions, length) for r in per_class])


def pearson_rows(first, second):
    """Pearson correlation of each row pair of two (N, ...) arrays: shape (N,).

    Rows with zero variance (e.g. an all-zero saliency) give NaN; average with np.nanmean.
    """
    first = np.asarray(first, dtype=np.float64)
    second = np.asarray(second, dtype=np.float64)
    if first.shape != second.shape or first.ndim < 2:
        raise ValueError(f"Need two (N, ...) arrays of equal shape. Got {first.shape} and {second.shape}.")
    first = first.reshape(len(first), -1)
    second = second.reshape(len(second), -1)
    first = first - first.mean(axis=1, keepdims=True)
    second = second - second.mean(axis=1, keepdims=True)
    scale = np.sqrt((first**2).sum(axis=1) * (second**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 0, (first * second).sum(axis=1) / scale, np.nan)


def amplitude_envelope(signals):
    """Magnitude of the analytic signal of each row of (N, T) signals: shape (N, T)."""
    return np.abs(hilbert(np.asarray(signals, dtype=np.float64), axis=-1))
