"""The tf.data windows/slices pipelines against naive numpy slicing (SHORT §2.3, ELOR §3.1)."""

import numpy as np
import pytest

from ser_keras.data.windows import (
    FRAME_SHIFT,
    SHUFFLE_CHUNK,
    SLICE,
    STD_FLOOR,
    WINDOW,
    ContextTensor,
    WaveformStore,
    context_dataset,
    corpus_tensor,
    count_short,
    frame_counts,
    frame_index,
    index_order,
    slice_dataset,
    slice_starts,
    splice,
    window_dataset,
    window_id_dataset,
)

# < one frame, < 250 ms, exactly one window, ragged, a few windows.
LENGTHS = (50, 1000, WINDOW, 4321, 8000)


def _store(lengths=LENGTHS, seed=0):
    rng = np.random.default_rng(seed)
    return WaveformStore.from_signals([0.2 * rng.standard_normal(n).clip(-4, 4) / 4 for n in lengths])


def _znorm(window):
    return (window - window.mean()) / max(window.std(), STD_FLOOR)


def _collect(dataset):
    batches = list(dataset.as_numpy_iterator())
    if isinstance(batches[0], tuple):
        return tuple(np.concatenate(part) for part in zip(*batches))
    return np.concatenate(batches)


def test_frame_counts_and_index():
    assert frame_counts(LENGTHS).tolist() == [1, 6, 25, 27, 50]
    owners, frames = frame_index([2, 3, 1], [0, 2])
    assert owners.tolist() == [0, 0, 2] and frames.tolist() == [0, 1, 0]
    owners, frames = frame_index([5, 3], frame_step=2)
    assert owners.tolist() == [0, 0, 0, 1, 1] and frames.tolist() == [0, 2, 4, 0, 2]


def test_splice_repeats_edge_frames():
    by_hand = [[min(max(f + k, 0), c - 1) for k in range(-12, 13)] for f, c in ((0, 5), (2, 5), (4, 5), (20, 40))]
    assert splice(np.array([0, 2, 4, 20]), np.array([5, 5, 5, 40])).numpy().tolist() == by_hand
    assert splice(np.array([0, 2, 4]), 5).numpy().tolist() == by_hand[:3]  # one count for all frames
    assert by_hand[0] == [0] * 13 + [1, 2, 3, 4] + [4] * 8


def test_windows_equal_naive_slicing_with_edge_repeat_and_padding(window_oracle):
    store = _store()
    owners, frames = frame_index(frame_counts(store.lengths))
    windows, targets = _collect(window_dataset(store, owners, frames, np.arange(len(LENGTHS)) * 10, batch_size=7))
    assert windows.shape == (len(owners), WINDOW)
    expected = np.stack([_znorm(window_oracle(store.signal(o), f)) for o, f in zip(owners, frames)])
    np.testing.assert_allclose(windows, expected, atol=2e-5)
    assert targets.tolist() == (owners * 10).tolist()
    # The sub-frame utterance: its 50 samples then zeros, that frame repeated 25 times.
    first = window_oracle(store.signal(0), 0)
    assert np.array_equal(first[50:FRAME_SHIFT], np.zeros(FRAME_SHIFT - 50))
    assert np.array_equal(first, np.tile(first[:FRAME_SHIFT], 25))
    # The centre of a window is its own frame; the first window repeats frame 0 twelve times before it.
    signal = store.signal(4)
    centre = window_oracle(signal, 30)[12 * FRAME_SHIFT : 13 * FRAME_SHIFT]
    assert np.array_equal(centre, signal[30 * FRAME_SHIFT : 31 * FRAME_SHIFT])
    assert np.array_equal(window_oracle(signal, 0)[: 13 * FRAME_SHIFT], np.tile(signal[:FRAME_SHIFT], 13))


def test_store_is_frame_aligned_and_its_frame_rows_are_a_view():
    signals = [np.full(n, 0.25) for n in LENGTHS]
    store = WaveformStore.from_signals(signals)
    rows = np.maximum(-(-np.array(LENGTHS) // FRAME_SHIFT), 1)
    assert store.offsets.tolist() == (np.concatenate([[0], np.cumsum(rows)[:-1]]) * FRAME_SHIFT).tolist()
    assert len(store.samples) == rows.sum() * FRAME_SHIFT
    assert np.shares_memory(store.frame_rows, store.samples) and store.frame_rows.shape == (rows.sum(), FRAME_SHIFT)
    for index, length in enumerate(LENGTHS):
        np.testing.assert_array_equal(store.signal(index), signals[index].astype(np.float32))
        end = store.offsets[index] + rows[index] * FRAME_SHIFT
        assert not store.samples[store.offsets[index] + length : end].any()  # zero padding to the frame
    assert (np.asarray(signals[0]) == 0.25).all()  # the caller's signals are left alone


def test_windows_and_slices_of_a_store_share_one_corpus_variable():
    store = _store()
    owners, frames = frame_index(frame_counts(store.lengths))
    window_dataset(store, owners, frames)
    slice_dataset(store, *slice_starts(store.lengths))
    tensor = corpus_tensor(store)
    assert corpus_tensor(store) is tensor
    corpus_variables = [v for v in vars(tensor).values() if hasattr(v, "assign")]
    assert len(corpus_variables) == 1 and tuple(corpus_variables[0].shape) == store.frame_rows.shape


def test_silent_window_uses_the_std_floor():
    store = WaveformStore.from_signals([np.zeros(500), np.full(400, 0.5)])
    owners, frames = frame_index(frame_counts(store.lengths))
    windows = _collect(window_dataset(store, owners, frames))
    assert np.isfinite(windows).all() and np.abs(windows).max() < 1e-3 + 1e-6


def test_count_short():
    assert count_short(_store()) == 2
    assert count_short(_store(), minimum=FRAME_SHIFT) == 1


def test_shuffle_with_repeat_is_a_fresh_permutation_per_pass():
    count = 10
    store = WaveformStore.from_signals([np.full(FRAME_SHIFT, 0.01 * (i + 1)) for i in range(count)])
    owners, frames = frame_index(frame_counts(store.lengths))
    dataset = window_dataset(store, owners, frames, np.arange(count), batch_size=4, shuffle=True, seed=5, repeat=True)
    _, order = _collect(dataset.take(8))  # 32 windows: three full passes and a bit
    passes = [order[i * count : (i + 1) * count].tolist() for i in range(3)]
    for one in passes:
        assert sorted(one) == list(range(count))
    assert passes[0] != passes[1] != passes[2] and passes[0] != list(range(count))
    again = _collect(
        window_dataset(store, owners, frames, np.arange(count), batch_size=4, shuffle=True, seed=5, repeat=True).take(8)
    )[1]
    assert again.tolist() == order.tolist()
    single = _collect(window_dataset(store, owners, frames, np.arange(count), shuffle=True, seed=5))[1]
    assert sorted(single.tolist()) == list(range(count))


@pytest.mark.parametrize("count", [1, 7, SHUFFLE_CHUNK, SHUFFLE_CHUNK + 3])
def test_shuffled_order_is_index_shuffle_of_each_index(count):
    # The stream permutes indices a chunk at a time (one call per index was too slow to feed a
    # GPU); the reference is one index_shuffle call per index, key (seed, pass).
    import tensorflow as tf

    last = tf.constant(count - 1, tf.int64)
    expected = []
    for epoch in range(2):
        key = tf.constant([5, epoch], tf.int64)
        expected += [
            int(tf.random.experimental.index_shuffle(tf.constant(i, tf.int64), key, last)) for i in range(count)
        ]
    streamed = [int(i) for i in index_order(count, True, 5, True).take(2 * count)]
    assert streamed == expected
    assert sorted(streamed[:count]) == list(range(count))


def test_every_stream_runs_without_tf_data_autotuning():
    # With autotuning, destroying an iterator after a minute of use blocked up to 60 s in TF
    # 2.21 (its optimisation thread sleeps out its period): a Table-1 run idled at every fold's end.
    store = _store()
    owners, frames = frame_index(frame_counts(store.lengths))
    matrices = [np.ones((count, 2), np.float32) for count in frame_counts(store.lengths)]
    slice_owners, starts = slice_starts(store.lengths)
    streams = [
        window_dataset(store, owners, frames, shuffle=True, repeat=True),
        window_id_dataset(owners, frames, shuffle=True, repeat=True),
        context_dataset(matrices, owners, frames, shuffle=True, repeat=True),
        slice_dataset(store, slice_owners, starts),
    ]
    for stream in streams:
        assert stream.options().autotune.enabled is False


def test_context_dataset_equals_naive():
    rng = np.random.default_rng(1)
    matrices = [rng.standard_normal((n, 3)).astype(np.float32) for n in (1, 7, 30)]
    counts = [len(m) for m in matrices]
    owners, frames = frame_index(counts)
    # A frame past the LLD stream's end (streams differ by a frame or two) reads its last row.
    owners, frames = np.append(owners, 1).astype(np.int32), np.append(frames, 8).astype(np.int32)
    contexts, targets = _collect(context_dataset(matrices, owners, frames, [7, 8, 9], batch_size=5))
    expected = [
        matrices[o][np.clip(np.minimum(f, counts[o] - 1) + np.arange(-12, 13), 0, counts[o] - 1)]
        for o, f in zip(owners, frames)
    ]
    np.testing.assert_array_equal(contexts, np.stack(expected))
    np.testing.assert_array_equal(contexts[np.flatnonzero((owners == 2) & (frames == 15))[0]], matrices[2][3:28])
    np.testing.assert_array_equal(contexts[0], np.repeat(matrices[0], 25, axis=0))  # a one-frame stream
    assert contexts.shape == (len(owners), 25, 3) and targets.tolist() == [[7, 8, 9][o] for o in owners]
    shared, _ = _collect(context_dataset(ContextTensor(matrices), owners, frames, [7, 8, 9], batch_size=5))
    np.testing.assert_array_equal(shared, contexts)  # a corpus's streams share one ContextTensor
    with pytest.raises(ValueError, match="at least one frame"):
        context_dataset([np.zeros((0, 3))], owners, frames)


@pytest.mark.parametrize(
    "length, count",
    [
        (1000, 1),
        (SLICE, 1),
        (SLICE + SLICE // 2, 1),
        (SLICE + SLICE // 2 + 1, 2),
        (2 * SLICE + SLICE // 2, 2),
        (2 * SLICE + SLICE // 2 + 1, 3),
        (3 * SLICE, 3),
    ],
)
def test_slice_counts_at_the_three_second_boundary(length, count):
    owners, starts = slice_starts([length])
    assert owners.tolist() == [0] * count
    assert starts.tolist() == [i * SLICE for i in range(count)]


def test_slice_dataset_zero_pads_and_keeps_order():
    store = _store((SLICE // 4, SLICE + SLICE // 2 + 10))
    owners, starts = slice_starts(store.lengths)
    assert owners.tolist() == [0, 1, 1]
    slices = _collect(slice_dataset(store, owners, starts, batch_size=2))
    assert slices.shape == (3, SLICE)
    for piece, owner, start in zip(slices, owners, starts):
        expected = store.signal(owner)[start : start + SLICE]
        np.testing.assert_array_equal(piece[: len(expected)], expected)
        assert not piece[len(expected) :].any()
    assert len(store.signal(1)[SLICE:]) < SLICE  # the last slice was really padded


def test_empty_selection_is_refused():
    with pytest.raises(ValueError, match="No windows to stream"):
        window_dataset(_store(), np.zeros(0, np.int32), np.zeros(0, np.int32))
