"""±12-frame context windows with repeated edge frames."""

import numpy as np
import pytest

from ser_keras.features.context import context_indices, stack_context


def test_indices_repeat_edge_frames():
    indices = context_indices(5, context=2)
    np.testing.assert_array_equal(indices[0], [0, 0, 0, 1, 2])
    np.testing.assert_array_equal(indices[2], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(indices[4], [2, 3, 4, 4, 4])


def test_stacking_gives_25_frames_per_window():
    frames = np.arange(30 * 130, dtype=np.float32).reshape(30, 130)
    stacked = stack_context(frames)
    assert stacked.shape == (30, 25 * 130)
    np.testing.assert_array_equal(stacked[15].reshape(25, 130), frames[3:28])
    np.testing.assert_array_equal(stack_context(frames[:1]).reshape(25, 130), np.repeat(frames[:1], 25, axis=0))
    with pytest.raises(ValueError, match="frames × D"):
        stack_context(np.zeros(5))
