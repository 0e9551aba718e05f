"""Tests of utterance-level averaging of frame posteriors."""

import numpy as np
import pytest

from ser_keras.training.aggregate import utterance_decisions, utterance_posteriors


def test_matches_naive_loop_with_shuffled_frames():
    rng = np.random.default_rng(0)
    num_utterances, num_classes = 7, 4
    index = rng.permutation(np.concatenate([np.arange(num_utterances), rng.integers(0, num_utterances, 50)]))
    probs = rng.dirichlet(np.ones(num_classes), size=index.size).astype(np.float32)
    expected = np.stack([probs[index == u].astype(np.float64).mean(axis=0) for u in range(num_utterances)])
    got = utterance_posteriors(probs, index, num_utterances)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_array_equal(utterance_decisions(probs, index, num_utterances), expected.argmax(axis=1))


def test_mean_not_majority_vote():
    # Two weak votes for class 0 lose against one confident vote for class 1.
    probs = np.array([[0.55, 0.45], [0.55, 0.45], [0.0, 1.0]])
    assert utterance_decisions(probs, np.zeros(3, dtype=int), 1).tolist() == [1]


def test_utterance_without_frames_is_named():
    with pytest.raises(ValueError, match=r"Utterances \[1\]"):
        utterance_posteriors(np.ones((2, 4)) / 4, np.array([0, 2]), 3)


@pytest.mark.parametrize(
    "probs, index, count, error",
    [
        (np.ones((3, 4)), np.array([0, 1]), 2, ValueError),
        (np.ones((3, 4)), np.array([0, 1, 2]), 2, ValueError),
        (np.ones((3, 4)), np.array([0.0, 1.0, 1.0]), 2, TypeError),
        (np.ones(3), np.array([0, 1, 1]), 2, ValueError),
    ],
)
def test_bad_inputs_are_refused(probs, index, count, error):
    with pytest.raises(error):
        utterance_posteriors(probs, index, count)
