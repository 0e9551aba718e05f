"""openSMILE ComParE LLD + functionals extraction speed and the feature cache.

Extracts ComParE_2016 LLDs (+ deltas) and functionals for the first utterances of the
corpus that add up to ``--audio-seconds`` of audio, on 1 and on 2 worker processes
(no cache: extraction alone), then fills a fresh temporary cache and re-runs from it.
Targets: 2-worker speed-up >= 1.7x; cache-hit re-run >= 50x faster than extracting.
The real-time factor is extraction seconds per second of audio (lower is faster).

    python -m tools.bench.features --quick --json features.json
"""

import logging
import sys
import tempfile

from ser_keras import console
from tools.bench import harness


def pick_utterances(corpus_spec, audio_seconds):
    """The corpus' first utterances whose durations add up to ``audio_seconds``."""
    from ser_keras.data.corpus import load_corpus

    chosen, total = [], 0.0
    for utterance in load_corpus(corpus_spec).utterances:
        if total >= audio_seconds:
            break
        chosen.append(utterance)
        total += utterance.duration or 0.0
    return chosen


def measure(corpus, audio_seconds):
    utterances = pick_utterances(corpus, audio_seconds)
    with tempfile.TemporaryDirectory(prefix="ser_keras_bench_cache_") as cache_dir:
        figures = harness.feature_extraction_figures(utterances, cache_dir=cache_dir)
    records = [
        harness.record("compare_real_time_factor_1_worker", figures["real_time_factor"][1], "s/s audio"),
        harness.record("compare_real_time_factor_2_workers", figures["real_time_factor"][2], "s/s audio"),
        harness.record("compare_speedup_2_workers", figures["speedup"], "x", at_least=1.7),
        harness.record("feature_cache_hit_speedup", figures["cache_speedup"], "x", at_least=50),
    ]
    return records, {"corpus": corpus, **figures}


def main(argv=None):
    # Set up as the ser-keras commands are, before TensorFlow loads: oneDNN on, TensorFlow quiet.
    console.quiet()
    parser = harness.benchmark_parser(__doc__, corpus="synthetic:small", quick_help="less audio")
    parser.add_argument("--audio-seconds", type=float, help="audio to extract (default 1500, --quick 400)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    seconds = args.audio_seconds or (400.0 if args.quick else 1500.0)
    records, details = measure(args.corpus, seconds)
    print(
        f"{details['utterances']} utterances, {details['audio_s']:.0f} s of audio; seconds per run: "
        + ", ".join(f"{count} worker(s) {value:.1f}" for count, value in details["seconds"].items())
        + f", cache fill {details['cache_fill_s']:.1f}, cache hit {details['cache_hit_s']:.2f}"
    )
    harness.finish(records, details, args.json)


if __name__ == "__main__":
    sys.exit(main())
