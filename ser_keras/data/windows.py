"""On-the-fly segmentation as tf.data pipelines: SHORT's 250 ms windows every 10 ms (§2.3)
and ELOR's 6 s slices with the > 3 s last-slice rule (§3.1).

All utterances live in one contiguous int16 array, each starting on a 10 ms frame boundary,
so the array is also the matrix of frame rows (O(audio) memory, one copy in NumPy and one
as a TF variable shared by every stream of the store). A window is never stored: each batch
gathers the 25 frame rows of every (utterance, frame) pair and z-normalises every window (std
floored at 1e-3) inside the pipeline; 6 s slices are gathered from the same variable. Utterance
indices travel with the windows so frame posteriors can be averaged per utterance. The LLD
MLP's ± 12-frame contexts are gathered the same way from the per-utterance LLD matrices.
"""

import concurrent.futures
import dataclasses
import logging

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from ser_keras.data.audio import AudioError, decoded_length, load_waveform, to_int16

logger = logging.getLogger(__name__)

FRAME_SHIFT = 160  # 10 ms at 16 kHz
CONTEXT_FRAMES = 12  # ± 12 frames → 25 × 160 = 4000 samples = 250 ms
WINDOW = (2 * CONTEXT_FRAMES + 1) * FRAME_SHIFT
SLICE = 96000  # ELOR: 6 s at 16 kHz
STD_FLOOR = 1e-3
SHUFFLE_CHUNK = 8192  # indices permuted per call of index_shuffle


def frame_layout(lengths):
    """Where each utterance starts in a frame-aligned store: ``(offsets, total samples)``.

    Every utterance starts on a 10 ms frame boundary and takes ``ceil(length / 160)`` frame
    rows (at least one), zero-padded at its end, so the flat samples reshape to the
    ``(rows, 160)`` frame matrix the windows pipeline gathers from without a copy.
    """
    rows = np.maximum(-(-np.asarray(lengths, np.int64) // FRAME_SHIFT), 1)
    offsets = np.concatenate([[0], np.cumsum(rows)[:-1]]).astype(np.int64) * FRAME_SHIFT
    return offsets, int(rows.sum()) * FRAME_SHIFT


@dataclasses.dataclass
class WaveformStore:
    """Every kept utterance's int16 samples in one frame-aligned array (see :func:`frame_layout`).

    ``kept`` indexes the utterances given to :func:`load_store`; ``skipped`` lists
    ``(utterance id, reason)`` for audio that could not be used.
    """

    samples: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray
    kept: np.ndarray
    skipped: list
    scale: float = 1.0 / 32768.0

    @property
    def num_utterances(self):
        return len(self.offsets)

    @property
    def frame_rows(self):
        """The samples as ``(rows, 160)`` 10 ms frame rows (a view, no copy)."""
        return self.samples.reshape(-1, FRAME_SHIFT)

    def signal(self, index):
        """Float32 waveform of the ``index``-th kept utterance."""
        start = self.offsets[index]
        return self.samples[start : start + self.lengths[index]].astype(np.float32) * self.scale

    @classmethod
    def from_signals(cls, signals):
        """Build a store from in-memory int16 or float (quantised to int16) signals."""
        lengths = np.array([len(s) for s in signals], dtype=np.int64)
        offsets, total = frame_layout(lengths)
        samples = np.zeros(total, np.int16)
        for signal, offset, length in zip(signals, offsets, lengths):
            signal = np.asarray(signal)
            samples[offset : offset + length] = signal if signal.dtype == np.int16 else to_int16(signal)
        return cls(samples, offsets, lengths, np.arange(len(lengths)), [])


def load_store(utterances, *, workers=2, progress=True):
    """Load ``utterances`` into a :class:`WaveformStore`, skipping unusable audio with a warning.

    Each utterance is decoded straight into its place in the store, laid out from the WAV
    headers first: loading holds one copy of the audio, never a list of per-file arrays
    beside the store (whose freed memory a 7 h corpus would keep resident).
    """
    expected = np.array([decoded_length(u.path) for u in utterances], dtype=np.int64)
    offsets, total = frame_layout(expected)
    samples = np.zeros(total, np.int16)  # pages of skipped utterances are never touched

    def read(index):
        path = utterances[index].path
        try:
            signal = load_waveform(path)
            if len(signal) != expected[index]:
                raise AudioError(f"{path}: decoded {len(signal)} samples but the header announces {expected[index]}.")
        except AudioError as error:
            return str(error)
        samples[offsets[index] : offsets[index] + len(signal)] = to_int16(signal)
        return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        errors = list(
            tqdm(
                pool.map(read, range(len(utterances))),
                total=len(utterances),
                desc="loading audio",
                leave=False,
                disable=None if progress else True,
            )
        )  # None: no bar when stderr is not a terminal
    kept = np.array([i for i, error in enumerate(errors) if error is None], dtype=np.int64)
    skipped = [(utterances[i].id, error) for i, error in enumerate(errors) if error is not None]
    for _, error in skipped:
        logger.warning("%s; the utterance is skipped", error)
    return WaveformStore(samples, offsets[kept], expected[kept], kept, skipped)


def count_short(store, *, minimum=WINDOW):
    """Kept utterances shorter than one 250 ms window (their windows are edge-repeated and,
    below one 10 ms frame, zero-padded); run records report this count."""
    return int(np.sum(np.asarray(store.lengths) < minimum))


def frame_counts(lengths):
    """10 ms frames per utterance (at least one: shorter audio is zero-padded to a frame)."""
    return np.maximum(np.asarray(lengths) // FRAME_SHIFT, 1)


def frame_index(counts, utterances=None, *, frame_step=1):
    """``(utterance, frame)`` int32 arrays of every ``frame_step``-th frame of the given utterances.

    ``counts`` are frames per utterance: :func:`frame_counts` of a store's lengths for raw
    windows, or the row counts of LLD matrices for :func:`context_dataset`.
    """
    counts = np.asarray(counts)
    utterances = np.arange(len(counts)) if utterances is None else np.asarray(utterances)
    counts = counts[utterances]
    owners = np.repeat(utterances, counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    frames = np.arange(counts.sum()) - np.repeat(starts, counts)
    keep = frames % frame_step == 0
    return owners[keep].astype(np.int32), frames[keep].astype(np.int32)


def splice(frames, counts):
    """Frame indices ``(B, 25)`` of ± 12 frames of context, edge frames repeated (Idiap code).

    ``frames`` (B,) and ``counts`` (frames per utterance: one, or one per window) may be
    tensors or NumPy arrays; the windows and LLD-context pipelines and the relevance
    overlap-add all take their context frames from here.
    """
    frames, counts = tf.cast(frames, tf.int64), tf.cast(counts, tf.int64)
    context = tf.range(-CONTEXT_FRAMES, CONTEXT_FRAMES + 1, dtype=tf.int64)
    return tf.clip_by_value(frames[:, None] + context[None, :], 0, counts[..., None] - 1)


# The corpus variable is filled in pieces of about this many bytes (see CorpusTensor).
_PIECE_BYTES = 64 * 2**20


class CorpusTensor:
    """The store's frame rows as one int16 TF variable: cuts z-normalised 250 ms windows
    (25 whole frame rows each) and ELOR's 6 s slices for a batch.

    A variable, not a constant: a graph constant of a 7 h corpus would exceed 2 GB. It is
    filled piece by piece in place, so building it holds one copy of the audio beside the
    store's, never the two or three that converting the whole array at once takes.
    """

    def __init__(self, store):
        rows = store.frame_rows
        step = max(1, _PIECE_BYTES // rows[:1].nbytes)
        with tf.device("/CPU:0"):
            self.rows = tf.Variable(tf.zeros(rows.shape, tf.int16), trainable=False, name="corpus_frames")
            for begin in range(0, len(rows), step):
                # scatter_update writes in place; a sliced assign copied the whole variable.
                piece = rows[begin : begin + step]
                self.rows.scatter_update(tf.IndexedSlices(piece, tf.range(begin, begin + len(piece))))
        self.row_starts = tf.constant(store.offsets // FRAME_SHIFT, tf.int64)
        self.frames = tf.constant(frame_counts(store.lengths), tf.int64)
        self.offsets = tf.constant(store.offsets, tf.int64)
        self.lengths = tf.constant(store.lengths, tf.int64)
        self.scale = store.scale

    def _normalise(self, values):
        values = tf.cast(values, tf.float32) * self.scale
        mean = tf.reduce_mean(values, axis=-1, keepdims=True)
        std = tf.maximum(tf.math.reduce_std(values, axis=-1, keepdims=True), STD_FLOOR)
        return (values - mean) / std

    def windows(self, owners, frames):
        owners, frames = tf.cast(owners, tf.int64), tf.cast(frames, tf.int64)
        spliced = splice(frames, tf.gather(self.frames, owners))
        # One gather of 25 frame rows per window instead of 4000 sample indices.
        rows = tf.gather(self.rows, tf.gather(self.row_starts, owners)[:, None] + spliced)
        return self._normalise(tf.reshape(rows, (-1, WINDOW)))

    def slices(self, owners, starts):
        owners, starts = tf.cast(owners, tf.int64), tf.cast(starts, tf.int64)
        position = starts[:, None] + tf.range(SLICE, dtype=tf.int64)[None, :]
        inside = position < tf.gather(self.lengths, owners)[:, None]
        index = tf.where(inside, tf.gather(self.offsets, owners)[:, None] + position, 0)
        values = tf.gather(tf.reshape(self.rows, [-1]), index)
        return tf.where(inside, tf.cast(values, tf.float32) * self.scale, 0.0)


def corpus_tensor(store):
    """One corpus tensor per store: the train, validation and test streams of every row
    (windows and slices alike) share it instead of building their own copy."""
    if "_tensor" not in store.__dict__:
        store.__dict__["_tensor"] = CorpusTensor(store)
    return store.__dict__["_tensor"]


def window_dataset(store, owners, frames, targets=None, *, batch_size=256, shuffle=False, seed=0, repeat=False):
    """Batches of z-normalised 250 ms windows ``(B, 4000)`` (with targets if given).

    ``owners``/``frames`` come from :func:`frame_index`; ``targets`` is indexed by store
    utterance. Shuffling uses a stateless index permutation (O(1) memory); with ``repeat``
    every pass gets a fresh permutation, for ``fit(steps_per_epoch=...)``.
    """
    cutter = corpus_tensor(store)
    owners_t, frames_t = tf.constant(owners, tf.int32), tf.constant(frames, tf.int32)
    count = len(owners)
    if count == 0:
        raise ValueError("No windows to stream: the selection holds no utterances.")
    order = index_order(count, shuffle, seed, repeat)
    targets_t = None if targets is None else tf.constant(np.asarray(targets), tf.int32)

    @tf.autograph.experimental.do_not_convert  # plain TF ops; AutoGraph cannot read closures
    def cut(index):
        owner, frame = tf.gather(owners_t, index), tf.gather(frames_t, index)
        windows = cutter.windows(owner, frame)
        return windows if targets_t is None else (windows, tf.gather(targets_t, owner))

    return batched_stream(order, batch_size, cut)


def window_id_dataset(owners, frames, targets=None, *, batch_size=256, shuffle=False, seed=0, repeat=False):
    """Batches of window ids ``(B, 2)`` int32, ``[utterance, frame]`` (with targets if given).

    The stream of :func:`window_dataset` (or :func:`context_dataset`) for the same arguments, in
    the same order, with ids where it has windows (contexts).
    """
    if len(owners) == 0:
        raise ValueError("No windows to stream: the selection holds no utterances.")
    window_ids = tf.constant(np.stack([owners, frames], axis=1), tf.int32)
    targets_t = None if targets is None else tf.constant(np.asarray(targets), tf.int32)

    @tf.autograph.experimental.do_not_convert  # plain TF ops; AutoGraph cannot read closures
    def look_up(index):
        batch = tf.gather(window_ids, index)
        return batch if targets_t is None else (batch, tf.gather(targets_t, batch[:, 0]))

    order = index_order(len(owners), shuffle, seed, repeat)
    return batched_stream(order, batch_size, look_up)


class ContextTensor:
    """Per-utterance LLD matrices (``frames × D``) back to back as one float32 TF variable:
    gathers the ± 12-frame contexts ``(B, 25, D)`` of SHORT's LLD MLP (§2.3, Fig. 1A) for a batch.

    Edge frames are repeated, as in the raw windows (:func:`splice`); a frame past the end of
    an utterance's LLD stream (the audio and LLD streams differ by a frame or two) reads its
    last row.
    """

    def __init__(self, matrices):
        counts = np.array([len(m) for m in matrices], dtype=np.int64)
        if np.any(counts == 0):
            raise ValueError("Every LLD matrix needs at least one frame.")
        with tf.device("/CPU:0"):
            self.rows = tf.Variable(np.concatenate(matrices).astype(np.float32), trainable=False, name="lld_rows")
        self.offsets = tf.constant(np.concatenate([[0], np.cumsum(counts)[:-1]]), tf.int64)
        self.counts = tf.constant(counts, tf.int64)

    @property
    def context_shape(self):
        """``(25, D)``: the shape of one context."""
        return 2 * CONTEXT_FRAMES + 1, self.rows.shape[1]

    def contexts(self, owners, frames):
        owners, frames = tf.cast(owners, tf.int64), tf.cast(frames, tf.int64)
        counts = tf.gather(self.counts, owners)
        spliced = splice(tf.minimum(frames, counts - 1), counts)
        return tf.gather(self.rows, tf.gather(self.offsets, owners)[:, None] + spliced)


def context_dataset(matrices, owners, frames, targets=None, *, batch_size=256, shuffle=False, seed=0, repeat=False):
    """Batches of ± 12-frame LLD contexts ``(B, 25, D)`` (SHORT §2.3, Fig. 1A).

    ``matrices``: a :class:`ContextTensor`, or the per-utterance ``frames × D`` LLD arrays to
    make one of. Pass one ContextTensor to every stream of a corpus: each made here copies
    every matrix into a new variable (84 MB for ComParE on the 0.45 h embedded corpus, 2.2 GB
    on IEMOCAP's 12 h). Contexts are gathered per batch exactly like the raw windows (edge
    frames repeated).
    """
    gatherer = matrices if isinstance(matrices, ContextTensor) else ContextTensor(matrices)
    owners_t, frames_t = tf.constant(owners, tf.int64), tf.constant(frames, tf.int64)
    targets_t = None if targets is None else tf.constant(np.asarray(targets), tf.int32)

    @tf.autograph.experimental.do_not_convert  # plain TF ops; AutoGraph cannot read closures
    def cut(index):
        owner = tf.gather(owners_t, index)
        contexts = gatherer.contexts(owner, tf.gather(frames_t, index))
        return contexts if targets_t is None else (contexts, tf.gather(targets_t, owner))

    order = index_order(len(owners), shuffle, seed, repeat)
    return batched_stream(order, batch_size, cut)


def batched_stream(order, batch_size, cut):
    """``order`` (a dataset of indices) in batches, each cut by ``cut`` in parallel, prefetched:
    the shape of every stream here.

    tf.data's autotuning is off. In TF 2.21 destroying an iterator that has autotuned for a
    minute or more blocks until its optimisation thread sleeps out its period (up to 60 s): a
    Table-1 run idled about a minute at the end of every network fold. Without it the
    parallel cut and the prefetch take TF's fixed defaults, which stream as fast.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    batches = order.batch(batch_size).map(cut, num_parallel_calls=tf.data.AUTOTUNE)
    return batches.prefetch(tf.data.AUTOTUNE).with_options(options)


def index_order(count, shuffle, seed, repeat):
    """Dataset of the indices ``0 .. count - 1`` in stream order: as given, or a stateless
    permutation of ``seed`` (a fresh one per pass with ``repeat``). The windows and LLD-context
    pipelines and the device-input path (``ser_keras.training.device_input``) all order from here."""
    indices = tf.data.Dataset.range(count)
    if not shuffle:
        return indices.repeat() if repeat else indices
    last = tf.constant(count - 1, tf.int64)

    def permuted(epoch):
        key = tf.stack([tf.constant(seed, tf.int64), epoch])
        # index_shuffle maps each index on its own, so shuffling a chunk of indices at once gives
        # the same order; one call per index capped the stream at about 27 k indices/s.
        chunks = indices.batch(SHUFFLE_CHUNK)
        return chunks.map(lambda i: tf.random.experimental.index_shuffle(i, key, last)).unbatch()

    epochs = tf.data.Dataset.range(2**31) if repeat else tf.data.Dataset.range(1)
    return epochs.flat_map(permuted)


def slice_starts(lengths, *, slice_length=SLICE):
    """ELOR slicing: ``(utterance, start)`` of every 6 s slice.

    Consecutive 6 s pieces; the last piece is kept only if it is longer than half a slice
    (> 3 s) and is zero-padded; an utterance shorter than 6 s gives one zero-padded slice.
    """
    owners, starts = [], []
    for utterance, length in enumerate(np.asarray(lengths)):
        full, rest = divmod(int(length), slice_length)
        count = max(1, full + (1 if rest > slice_length // 2 else 0))
        owners.extend([utterance] * count)
        starts.extend(range(0, count * slice_length, slice_length))
    return np.asarray(owners, np.int32), np.asarray(starts, np.int64)


def slice_dataset(store, owners, starts, *, batch_size=32):
    """Batches of raw 6 s slices ``(B, 96000)`` in order (ELOR: no further preprocessing)."""
    gatherer = corpus_tensor(store)
    owners_t, starts_t = tf.constant(owners, tf.int32), tf.constant(starts, tf.int64)
    return batched_stream(
        tf.data.Dataset.range(len(owners)),
        batch_size,
        lambda i: gatherer.slices(tf.gather(owners_t, i), tf.gather(starts_t, i)),
    )
