"""Benchmark the SHORT windows pipeline: stream shuffled 250 ms windows (every 10 ms) over a corpus.

Prints windows/s, peak RSS and the corpus' int16 size; the memory figure shows the pipeline
stays O(audio) rather than O(windows x 4000).

    python tools/bench_windows.py --corpus synthetic:small --seconds 60 --json bench.json
"""

import argparse
import json
import logging
import os
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def peak_rss_mib():
    """Peak resident set size of this process in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def run(corpus_spec, *, batch_size=256, seconds=None, seed=0, workers=2):
    """Load the corpus, stream one shuffled epoch (or ``seconds`` of it) and return the figures."""
    from ser_keras.data.corpus import load_corpus
    from ser_keras.data.windows import WINDOW, count_short, frame_counts, frame_index, load_store, window_dataset

    if seconds is not None and seconds <= 0:
        raise ValueError(f"The 'seconds' parameter must be positive. Got {seconds!r}.")
    corpus = load_corpus(corpus_spec)
    started = time.perf_counter()
    store = load_store(corpus.utterances, workers=workers, progress=False)
    load_s = time.perf_counter() - started
    rss_loaded = peak_rss_mib()
    owners, frames = frame_index(frame_counts(store.lengths))
    dataset = window_dataset(store, owners, frames, batch_size=batch_size, shuffle=True, seed=seed)
    streamed, started, first_batch_s = 0, time.perf_counter(), None
    for batch in dataset:
        streamed += int(batch.shape[0])
        if first_batch_s is None:
            first_batch_s = time.perf_counter() - started
        if seconds is not None and time.perf_counter() - started >= seconds:
            break
    elapsed = time.perf_counter() - started
    return {
        "corpus": corpus_spec, "utterances": store.num_utterances, "skipped": len(store.skipped),
        "short_utterances": count_short(store), "audio_hours": round(len(store.samples) / 16000 / 3600, 3),
        "corpus_int16_bytes": int(store.samples.nbytes), "windows_in_epoch": len(owners),
        "windows_streamed": streamed, "full_epoch": streamed == len(owners), "batch_size": batch_size,
        "load_s": round(load_s, 2), "first_batch_s": round(first_batch_s or 0.0, 3),
        "stream_s": round(elapsed, 2), "windows_per_s": round(streamed / elapsed, 1),
        "peak_rss_after_load_mib": round(rss_loaded, 1), "peak_rss_mib": round(peak_rss_mib(), 1),
        "materialised_float32_bytes": int(len(owners)) * WINDOW * 4, "cpu_count": os.cpu_count(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="synthetic:small", help="corpus spec (default synthetic:small)")
    parser.add_argument("--batch-size", type=int, default=256, help="windows per batch (default 256)")
    parser.add_argument("--seconds", type=float, default=None, help="stop streaming after this many seconds")
    parser.add_argument("--seed", type=int, default=0, help="shuffle seed")
    parser.add_argument("--json", metavar="OUT", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        figures = run(args.corpus, batch_size=args.batch_size, seconds=args.seconds, seed=args.seed)
    except (ValueError, FileNotFoundError) as error:
        parser.exit(2, f"error: {error}\n")
    print(f"corpus {figures['corpus']}: {figures['utterances']} utterances, {figures['audio_hours']} h, "
          f"int16 {figures['corpus_int16_bytes'] / 2 ** 20:.1f} MiB, {figures['windows_in_epoch']} windows/epoch")
    print(f"streamed {figures['windows_streamed']} windows in {figures['stream_s']} s"
          f"{' (full epoch)' if figures['full_epoch'] else ' (capped)'}: {figures['windows_per_s']:.0f} windows/s")
    print(f"peak RSS {figures['peak_rss_mib']:.0f} MiB (after loading {figures['peak_rss_after_load_mib']:.0f} MiB); "
          f"materialising the epoch would take {figures['materialised_float32_bytes'] / 2 ** 30:.1f} GiB")
    if args.json:
        from ser_keras.io import write_json

        write_json(args.json, figures)


if __name__ == "__main__":
    main()
