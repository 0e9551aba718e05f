"""Benchmark the SHORT windows pipeline: stream shuffled 250 ms windows (every 10 ms) over a corpus.

Prints windows/s, peak RSS and the corpus' int16 size; the memory figure shows the pipeline
stays O(audio) rather than O(windows x 4000). The measuring code is
``tools.bench.harness.stream_epoch_figures`` (shared with ``tools.bench.memory``).

    python -m tools.bench.windows --corpus synthetic:small --seconds 60 --json bench.json
"""

import argparse
import logging
import sys

from ser_keras import console
from tools.bench.harness import stream_epoch_figures

MIB = 2**20


def main(argv=None):
    # Set up as the ser-keras commands are, before TensorFlow loads: oneDNN on, TensorFlow quiet.
    console.quiet()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="synthetic:small", help="corpus spec (default synthetic:small)")
    parser.add_argument("--batch-size", type=int, default=256, help="windows per batch (default 256)")
    parser.add_argument("--seconds", type=float, default=None, help="stop streaming after this many seconds")
    parser.add_argument("--seed", type=int, default=0, help="shuffle seed")
    parser.add_argument("--json", metavar="OUT", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        figures = stream_epoch_figures(args.corpus, batch_size=args.batch_size, seconds=args.seconds, seed=args.seed)
    except (ValueError, FileNotFoundError) as error:
        parser.exit(2, f"error: {error}\n")
    print(
        f"corpus {figures['corpus']}: {figures['utterances']} utterances, {figures['audio_hours']} h, "
        f"int16 {figures['corpus_int16_bytes'] / MIB:.1f} MiB, {figures['windows_in_epoch']} windows/epoch"
    )
    print(
        f"streamed {figures['windows_streamed']} windows in {figures['stream_s']} s"
        f"{' (full epoch)' if figures['full_epoch'] else ' (capped)'}: {figures['windows_per_s']:.0f} windows/s"
    )
    print(
        f"peak RSS {figures['peak_rss_bytes'] / MIB:.0f} MiB (after loading "
        f"{figures['peak_rss_after_load_bytes'] / MIB:.0f} MiB); materialising the epoch would take "
        f"{figures['materialised_float32_bytes'] / 2**30:.1f} GiB"
    )
    if args.json:
        from ser_keras.io import write_json

        write_json(args.json, figures)


if __name__ == "__main__":
    sys.exit(main())
