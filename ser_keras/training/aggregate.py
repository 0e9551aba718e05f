"""Utterance decisions from frame posteriors (SHORT §2.3: short-segment systems).

A short-segment network scores one 250 ms window per 10 ms frame; the utterance posterior
is the mean of its frames' posteriors and the decision is its argmax (Idiap ``test.py``).
"""

import numpy as np


def utterance_posteriors(frame_probs, utterance_index, num_utterances):
    """Mean frame posterior per utterance.

    frame_probs: ``(num_frames, num_classes)`` posteriors. utterance_index: ``(num_frames,)``
    integers in ``[0, num_utterances)`` saying which utterance each frame belongs to (frames
    may come in any order). Returns ``(num_utterances, num_classes)`` float64. Every
    utterance needs at least one frame.
    """
    frame_probs = np.asarray(frame_probs)
    utterance_index = np.asarray(utterance_index)
    if frame_probs.ndim != 2:
        raise ValueError(f"`frame_probs` must be (num_frames, num_classes). Got shape {frame_probs.shape}.")
    if utterance_index.shape != (frame_probs.shape[0],):
        raise ValueError(
            f"`utterance_index` must have shape ({frame_probs.shape[0]},), one entry per frame. "
            f"Got {utterance_index.shape}."
        )
    if not np.issubdtype(utterance_index.dtype, np.integer):
        raise TypeError(f"`utterance_index` must hold integers. Got dtype {utterance_index.dtype}.")
    if isinstance(num_utterances, bool) or not isinstance(num_utterances, (int, np.integer)) or num_utterances < 1:
        raise ValueError(f"`num_utterances` must be a positive int. Got {num_utterances!r}.")
    if utterance_index.size and (utterance_index.min() < 0 or utterance_index.max() >= num_utterances):
        raise ValueError(
            f"`utterance_index` must lie in [0, {num_utterances}). "
            f"Got values from {utterance_index.min()} to {utterance_index.max()}."
        )
    counts = np.bincount(utterance_index, minlength=num_utterances)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        raise ValueError(f"Utterances {empty[:10].tolist()} have no frames ({empty.size} in all).")
    num_classes = frame_probs.shape[1]
    # One bincount over (utterance, class) cells sums every column at once.
    cells = (utterance_index[:, None] * num_classes + np.arange(num_classes)).ravel()
    sums = np.bincount(cells, weights=frame_probs.astype(np.float64).ravel(), minlength=num_utterances * num_classes)
    return sums.reshape(num_utterances, num_classes) / counts[:, None]


def utterance_decisions(frame_probs, utterance_index, num_utterances):
    """Class index per utterance: argmax of :func:`utterance_posteriors`."""
    return np.argmax(utterance_posteriors(frame_probs, utterance_index, num_utterances), axis=1)
