"""Write the embedded synthetic corpus (IEMOCAP release layout) into a folder.

    python tools/make_synthetic_iemocap.py --size small --seed 0 --out /tmp/synthetic-small

Prints the per-category turn counts, the hours of audio and the wall time. Scripts that take
``--corpus synthetic:SIZE`` do not need this: they generate into the cache on first use.
"""

import argparse
import collections
import logging
import time

from ser_keras.data.synthetic import CODES, SAMPLE_RATE, SIZES, generate_corpus, plan_corpus


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="empty or new folder to write into")
    parser.add_argument("--workers", type=int, default=None, help="rendering processes (default: up to 2)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    root = generate_corpus(args.out, size=args.size, seed=args.seed, workers=args.workers)
    wall = time.perf_counter() - started
    turns = plan_corpus(args.size, seed=args.seed)
    counts = collections.Counter(turn.code for turn in turns)
    hours = sum(turn.n_samples for turn in turns) / SAMPLE_RATE / 3600
    print(
        f"{root}: {len(turns)} turns, {hours:.2f} h of audio, "
        f"{len({turn.speaker for turn in turns})} speakers, written in {wall:.1f} s"
    )
    print("  " + "  ".join(f"{code} {counts[code]}" for code in CODES))
    four_class = {code: counts[code] for code in ("ang", "neu", "sad")} | {
        "hap (hap+exc)": counts["hap"] + counts["exc"]
    }
    print("  four-class view: " + ", ".join(f"{name} {count}" for name, count in four_class.items()))
