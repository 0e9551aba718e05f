"""BoAW (openXBOW-equivalent) against hand-computed bags and naive reference loops."""

import numpy as np
import pytest

from ser_keras.features.boaw import (
    EMPTY_BAG_FILL,
    BagOfAudioWords,
    JavaRandom,
    nearest_codewords,
    random_plus_plus,
)

# Training frames 0..3 = [0,0], [0,0], [3,4], [0,0]. java.util.Random(10).nextInt(4) == 2, so
# random++ starts at [3,4]; every other frame is [0,0], the only choice with non-zero
# distance, so the codebook is [[3,4], [0,0]] whatever nextDouble() draws.
TRAIN = [np.array([[0, 0], [0, 0], [3, 4]], np.float32), np.array([[0, 0]], np.float32)]
TEST = [np.array([[0.1, 0.0], [2.9, 4.1], [3.0, 3.5]], np.float32), np.zeros((0, 2), np.float32)]


def test_java_random_matches_the_java_specification():
    assert JavaRandom(42).next_int() == -1170105035
    assert JavaRandom(42).next_int(10) == 0
    assert JavaRandom(0).next_double() == pytest.approx(0.730967787376657, abs=1e-15)
    assert JavaRandom(10).next_int(4) == 2


def test_hand_computed_codebook_counts_and_empty_bag():
    boaw = BagOfAudioWords(2).fit(TRAIN)
    np.testing.assert_array_equal(boaw.codebooks_[0], [[3, 4], [0, 0]])
    np.testing.assert_allclose(boaw.transform(TEST), [[2, 1], [EMPTY_BAG_FILL, EMPTY_BAG_FILL]], rtol=1e-6)


def test_hand_computed_log_and_normalisation():
    log_sum = BagOfAudioWords(2, log_weighting=True, normalize="sum").fit(TRAIN).transform(TEST)
    total = np.log10(3) + np.log10(2)
    np.testing.assert_allclose(log_sum, [[np.log10(3) / total, np.log10(2) / total], [0.5, 0.5]], rtol=1e-6)
    log_only = BagOfAudioWords(2, log_weighting=True).fit(TRAIN).transform(TEST)
    np.testing.assert_allclose(log_only[1], [np.log10(1.001)] * 2, rtol=1e-6)
    per_frame = BagOfAudioWords(2, normalize="frames").fit(TRAIN).transform(TEST)
    np.testing.assert_allclose(per_frame, [[2 / 3, 1 / 3], [EMPTY_BAG_FILL, EMPTY_BAG_FILL]], rtol=1e-6)
    unit = BagOfAudioWords(2, normalize="l2").fit(TRAIN).transform(TEST)
    np.testing.assert_allclose(unit[0], np.array([2, 1]) / np.sqrt(5), rtol=1e-6)


def test_hand_computed_idf_and_multiple_assignments():
    # Training bags [1, 2] and [0, 1]: word 0 in 1 of 2 bags, word 1 in both.
    idf = BagOfAudioWords(2, idf=True).fit(TRAIN)
    np.testing.assert_allclose(idf.idf_, [np.log10(2), 0.0])
    np.testing.assert_allclose(idf.transform(TEST[:1]), [[2 * np.log10(2), 0.0]], rtol=1e-6)
    both = BagOfAudioWords(2, assignments=2).fit(TRAIN).transform(TEST[:1])
    np.testing.assert_array_equal(both, [[3, 3]])


def test_per_subset_codebooks_concatenate_bins():
    rng = np.random.default_rng(0)
    bags = [rng.standard_normal((40, 6)).astype(np.float32) for _ in range(5)]
    boaw = BagOfAudioWords(7, subsets=[slice(0, 3), slice(3, 6)])
    histograms = boaw.fit_transform(bags)
    assert histograms.shape == (5, 14) and boaw.n_bins == 14
    assert [codebook.shape for codebook in boaw.codebooks_] == [(7, 3), (7, 3)]
    np.testing.assert_array_equal(histograms[:, :7].sum(axis=1), 40)
    np.testing.assert_array_equal(histograms[:, 7:].sum(axis=1), 40)
    np.testing.assert_allclose(boaw.transform(bags), histograms)


def test_input_and_output_standardisation_keep_training_statistics():
    rng = np.random.default_rng(1)
    bags = [np.column_stack([rng.normal(5, 2, 30), np.full(30, 7.0)]).astype(np.float32) for _ in range(6)]
    boaw = BagOfAudioWords(4, standardize_input=True, standardize_output=True)
    train_output = boaw.fit_transform(bags)
    frames = np.concatenate(bags)
    np.testing.assert_allclose(boaw.input_mean_, frames.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(boaw.input_scale_, [frames[:, 0].std(ddof=1), 1.0], rtol=1e-5)
    varying = train_output.std(axis=0, ddof=1) > 0
    np.testing.assert_allclose(train_output.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(train_output.std(axis=0, ddof=1)[varying], 1, rtol=1e-4)


def test_transform_of_test_data_leaves_the_fitted_state_alone():
    rng = np.random.default_rng(2)
    train = [rng.standard_normal((20, 3)).astype(np.float32) for _ in range(4)]
    boaw = BagOfAudioWords(5, standardize_input=True, idf=True, standardize_output=True).fit(train)
    state = {
        name: np.copy(value)
        for name, value in vars(boaw).items()
        if name.endswith("_") and isinstance(value, np.ndarray)
    }
    codebooks = [codebook.copy() for codebook in boaw.codebooks_]
    boaw.transform([rng.normal(50, 9, (30, 3)).astype(np.float32)])
    for name, value in state.items():
        np.testing.assert_array_equal(getattr(boaw, name), value)
    for before, after in zip(codebooks, boaw.codebooks_):
        np.testing.assert_array_equal(before, after)


def _naive_random_plus_plus(frames, size, seed):
    """openXBOW's randomSamplingPlusPlus, loop for loop."""
    rng = JavaRandom(seed)
    chosen = [rng.next_int(len(frames))]
    distances = [float(((frames[i] - frames[chosen[0]]) ** 2).sum()) for i in range(len(frames))]
    for _ in range(1, size):
        total = sum(distances)
        cumulative, running = [], 0.0
        for distance in distances:
            running += distance / total
            cumulative.append(running)
        cumulative[-1] = 1.0
        value = rng.next_double()
        index = next(i for i, c in enumerate(cumulative) if c > value)
        chosen.append(index)
        for i in range(len(frames)):
            distances[i] = min(distances[i], float(((frames[i] - frames[index]) ** 2).sum()))
    return chosen


def test_random_plus_plus_matches_the_naive_openxbow_loop():
    frames = np.random.default_rng(3).standard_normal((300, 4)).astype(np.float64)
    chosen = _naive_random_plus_plus(frames, 12, seed=10)
    np.testing.assert_allclose(random_plus_plus(frames, 12, seed=10), frames[chosen].astype(np.float32))


def test_vectorised_assignment_equals_naive_loop():
    rng = np.random.default_rng(4)
    frames, codebook = rng.standard_normal((257, 5)), rng.standard_normal((11, 5))
    for assignments in (1, 3):
        expected = []
        for frame in frames:
            distances = ((codebook - frame) ** 2).sum(axis=1)
            picks = []
            for _ in range(assignments):
                index = int(np.argmin(distances))  # first minimum, like openXBOW's strict '<'
                picks.append(index)
                distances[index] = np.inf
            expected.append(picks)
        np.testing.assert_array_equal(nearest_codewords(frames, codebook, assignments, chunk_size=16), expected)


def test_invalid_inputs_are_rejected():
    with pytest.raises(ValueError, match="at least 5 training frames"):
        BagOfAudioWords(5).fit(TRAIN)
    boaw = BagOfAudioWords(2).fit(TRAIN)
    with pytest.raises(ValueError, match="Fitted on 2 features"):
        boaw.transform([np.zeros((3, 4), np.float32)])
    with pytest.raises(ValueError, match="normalize"):
        BagOfAudioWords(2, normalize="max").fit(TRAIN)
    with pytest.raises(ValueError, match="not fitted"):
        BagOfAudioWords(2).transform(TEST)
