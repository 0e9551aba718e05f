"""Peak RSS while streaming one epoch of shuffled 250 ms windows.

Loads the corpus into the int16 store and streams every 10 ms window once through
``window_dataset`` (``--quick``: the first ``--quick-batches`` batches). Target: peak RSS
<= 2 x the corpus' int16 bytes + 1.5 GB, i.e. O(audio), where materialising the windows
as float32 would take O(windows x 4000). Run it in a fresh process: the peak is the
process' own.

    python -m tools.bench.memory --quick --json memory.json
"""

import sys

from ser_keras import console
from tools.bench import harness

OVERHEAD_BYTES = 1.5e9


def measure(corpus, *, max_batches, batch_size=256):
    figures = harness.stream_epoch_figures(corpus, batch_size=batch_size, max_batches=max_batches)
    limit = 2 * figures["corpus_int16_bytes"] + OVERHEAD_BYTES
    gb = harness.GB
    records = [
        harness.record("stream_peak_rss", figures["peak_rss_bytes"] / gb, "GB", at_most=limit / gb),
        harness.record("corpus_int16_size", figures["corpus_int16_bytes"] / gb, "GB"),
        harness.record("stream_windows_streamed", figures["windows_streamed"], "windows"),
        harness.record("stream_rate", figures["windows_per_s"], "windows/s"),
        harness.record("materialised_epoch_size", figures["materialised_float32_bytes"] / gb, "GB"),
    ]
    return records, figures


def main(argv=None):
    # Set up as the ser-keras commands are, before TensorFlow loads: oneDNN on, TensorFlow quiet.
    console.quiet()
    parser = harness.benchmark_parser(
        __doc__, corpus="synthetic:full", quick_help="stream only the first --quick-batches batches"
    )
    parser.add_argument("--quick-batches", type=int, default=400, help="batches streamed with --quick (default 400)")
    args = parser.parse_args(argv)
    records, details = measure(args.corpus, max_batches=args.quick_batches if args.quick else None)
    if not details["full_epoch"]:
        print(f"--quick: streamed {details['windows_streamed']} of {details['windows_in_epoch']} windows.")
    harness.finish(records, details, args.json)


if __name__ == "__main__":
    sys.exit(main())
