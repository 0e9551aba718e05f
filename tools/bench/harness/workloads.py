"""The papers' workloads as benchmarks: streaming SHORT's 250 ms windows (§2.3) and training
Raw SubSeg / Raw Seg, the LLD-context MLP and ELoR (ELOR §3) through the real tf.data pipelines.
"""

import os
import time

from tools.bench.harness.timing import (
    best,
    elor_training_rate,
    frame_training_rate,
    in_memory_dataset,
    peak_rss_bytes,
)


def stream_windows(dataset, *, max_batches=None, seconds=None):
    """Iterate a window dataset, stopping after ``max_batches`` batches or ``seconds`` if given.

    Returns ``(windows streamed, seconds taken, seconds to the first batch)``.
    """
    streamed, batches, first, started = 0, 0, None, time.perf_counter()
    for batch in dataset:
        streamed += int((batch[0] if isinstance(batch, tuple) else batch).shape[0])
        batches += 1
        if first is None:
            first = time.perf_counter() - started
        if batches == max_batches or (seconds is not None and time.perf_counter() - started >= seconds):
            break
    return streamed, time.perf_counter() - started, first or 0.0


def stream_epoch_figures(corpus_spec, *, batch_size=256, max_batches=None, seconds=None, seed=0, workers=2):
    """Load ``corpus_spec`` and stream one shuffled epoch of 250 ms windows (or the first
    ``max_batches`` batches / ``seconds``).

    Returns windows/s, the corpus' int16 bytes, peak RSS (call in a fresh process for a
    clean figure) and what materialising the epoch as float32 would take.
    """
    from ser_keras.data.corpus import load_corpus
    from ser_keras.data.windows import WINDOW, count_short, frame_counts, frame_index, load_store, window_dataset

    for name, value in (("max_batches", max_batches), ("seconds", seconds)):
        if value is not None and value <= 0:
            raise ValueError(f"'{name}' must be positive or None. Got {value!r}.")
    corpus = load_corpus(corpus_spec)
    started = time.perf_counter()
    store = load_store(corpus.utterances, workers=workers, progress=False)
    load_s = time.perf_counter() - started
    rss_loaded = peak_rss_bytes()
    owners, frames = frame_index(frame_counts(store.lengths))
    dataset = window_dataset(store, owners, frames, batch_size=batch_size, shuffle=True, seed=seed)
    streamed, elapsed, first = stream_windows(dataset, max_batches=max_batches, seconds=seconds)
    return {
        "corpus": corpus_spec,
        "utterances": store.num_utterances,
        "skipped": len(store.skipped),
        "short_utterances": count_short(store),
        "audio_hours": round(int(store.lengths.sum()) / 16000 / 3600, 3),
        "corpus_int16_bytes": int(store.samples.nbytes),
        "windows_in_epoch": len(owners),
        "windows_streamed": streamed,
        "full_epoch": streamed == len(owners),
        "batch_size": batch_size,
        "load_s": round(load_s, 2),
        "first_batch_s": round(first, 3),
        "stream_s": round(elapsed, 2),
        "windows_per_s": round(streamed / elapsed, 1),
        "peak_rss_after_load_bytes": rss_loaded,
        "peak_rss_bytes": peak_rss_bytes(),
        "materialised_float32_bytes": len(owners) * WINDOW * 4,
        "cpu_count": os.cpu_count(),
    }


def load_window_store(corpus_spec, *, workers=2):
    """The corpus' kept utterances as a :class:`~ser_keras.data.windows.WaveformStore`."""
    from ser_keras.data.corpus import load_corpus
    from ser_keras.data.windows import load_store

    return load_store(load_corpus(corpus_spec).utterances, workers=workers, progress=False)


def raw_cnn_rates(store, config, *, batch_size=256, steps=20, epochs=3, rounds=1, in_memory=True, seed=0):
    """Training windows/s of a SHORT raw CNN through ``window_dataset`` (shuffled 250 ms
    windows of ``store``) and, with ``in_memory``, on a pre-built random batch.

    The two sources alternate ``rounds`` times, each a fresh model trained ``epochs``
    timed epochs; the fastest epoch of each source counts. Returns
    ``{"pipeline": {"wall", "cpu"}, "in_memory": {"wall", "cpu"}}``.
    """
    import numpy as np

    from ser_keras.data.windows import WINDOW, frame_counts, frame_index, window_dataset
    from ser_keras.models.raw_cnn import build_raw_cnn

    owners, frames = frame_index(frame_counts(store.lengths))
    targets = np.random.default_rng(seed).integers(0, 4, store.num_utterances)
    sources = {
        "pipeline": window_dataset(
            store, owners, frames, targets, batch_size=batch_size, shuffle=True, seed=seed, repeat=True
        )
    }
    if in_memory:
        sources["in_memory"] = in_memory_dataset((WINDOW,), batch_size=batch_size, seed=seed)
    validation = in_memory_dataset((WINDOW,), batch_size=batch_size, seed=seed + 1)
    measured = {name: [] for name in sources}
    for _ in range(rounds):
        for name, dataset in sources.items():
            measured[name].append(
                frame_training_rate(
                    build_raw_cnn(config), dataset, validation, batch_size=batch_size, steps=steps, epochs=epochs
                )
            )
    return {name: best(values) for name, values in measured.items()}


def lld_mlp_rate(
    store, hidden_layers, *, num_features=130, max_utterances=600, batch_size=256, steps=20, epochs=3, seed=0
):
    """``(model, windows/s on both clocks)`` of the LLD-context MLP through ``context_dataset``.

    The LLD matrices are random (openSMILE on 7 h of audio takes far longer than the
    benchmark) but have the frame counts of the first ``max_utterances`` utterances.
    """
    import numpy as np

    from ser_keras.data.windows import context_dataset, frame_counts, frame_index
    from ser_keras.models.lld_mlp import LLD_CONTEXT, build_lld_mlp

    rng = np.random.default_rng(seed)
    counts = frame_counts(store.lengths[:max_utterances])
    matrices = [rng.standard_normal((count, num_features), dtype=np.float32) for count in counts]
    owners, frames = frame_index(counts)
    dataset = context_dataset(
        matrices,
        owners,
        frames,
        rng.integers(0, 4, len(counts)),
        batch_size=batch_size,
        shuffle=True,
        seed=seed,
        repeat=True,
    )
    model = build_lld_mlp(
        num_features,
        feature_mean=np.zeros(num_features),
        feature_variance=np.ones(num_features),
        hidden_layers=hidden_layers,
    )
    validation = in_memory_dataset((LLD_CONTEXT, num_features), batch_size=batch_size, seed=seed)
    rate = frame_training_rate(model, dataset, validation, batch_size=batch_size, steps=steps, epochs=epochs)
    return model, rate


def elor_rate(store, config=None, *, steps=3, rounds=2, seed=0):
    """``(model, samples/s on both clocks)`` of ELoR split-head training on 6 s slices from
    ``slice_dataset``."""
    import numpy as np
    import tensorflow as tf

    from ser_keras.data.windows import slice_dataset, slice_starts
    from ser_keras.models.elor import HEADS, ElorConfig, build_elor
    from ser_keras.training.split_heads import SplitHeadTrainer

    config = config or ElorConfig()
    owners, starts = slice_starts(store.lengths)
    full = len(owners) // config.batch_size * config.batch_size  # whole batches: one traced shape
    if full == 0:
        raise ValueError(f"The corpus gives {len(owners)} slices, fewer than one batch of {config.batch_size}.")
    rng = np.random.default_rng(seed)
    labels = {head: tf.constant(rng.integers(0, config.num_classes, config.batch_size), tf.int32) for head in HEADS}
    dataset = slice_dataset(store, owners[:full], starts[:full], batch_size=config.batch_size).map(
        lambda waveforms: (waveforms, labels)
    )
    trainer = SplitHeadTrainer(
        lambda: build_elor(config), learning_rate=config.learning_rate, momentum=config.momentum, seed=seed
    )
    rate = elor_training_rate(trainer, dataset, batch_size=config.batch_size, steps=steps, rounds=rounds)
    return trainer.model, rate
