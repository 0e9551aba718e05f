"""±12-frame context stacking of LLD frames for the short-segment MLP (SHORT §2.3).

Each 10 ms frame gets its 12 preceding and 12 following frames (25 × D = 250 ms); at the
utterance borders the edge frame is repeated, as the Idiap code does for raw windows.
:func:`context_indices` gives the frame indices only, so a data pipeline can gather
windows on the fly instead of storing 25 copies of every frame.
"""

import numpy as np

CONTEXT_FRAMES = 12


def context_indices(num_frames, context=CONTEXT_FRAMES):
    """Int array (num_frames, 2·context + 1): the frame indices of every window, edges repeated."""
    if num_frames < 1 or context < 0:
        raise ValueError(f"Need num_frames >= 1 and context >= 0. Got num_frames={num_frames!r}, "
                         f"context={context!r}.")
    offsets = np.arange(-context, context + 1)
    return np.clip(np.arange(num_frames)[:, None] + offsets[None, :], 0, num_frames - 1)


def stack_context(frames, context=CONTEXT_FRAMES):
    """(T, D) frames → (T, (2·context + 1) · D) flattened windows, oldest frame first."""
    frames = np.asarray(frames)
    if frames.ndim != 2:
        raise ValueError(f"stack_context expects a (frames × D) matrix. Got shape {frames.shape}.")
    windows = frames[context_indices(len(frames), context)]
    return windows.reshape(len(frames), -1)
