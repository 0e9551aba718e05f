"""Summarise a corpus: utterances, hours, speakers, sessions, class counts, evaluator coverage.

python tools/describe_corpus.py --corpus emodb:../shared/data/emodb/wav --json
"""

import argparse
import json
import logging

from ser_keras.data.corpus import DEFAULT_CORPUS, load_corpus
from ser_keras.data.describe import describe_corpus, format_description


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--corpus",
        default=DEFAULT_CORPUS,
        help="synthetic:{tiny,small,full} | iemocap:PATH | emodb:PATH | manifest:PATH.csv "
        f"(default {DEFAULT_CORPUS})",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        summary = describe_corpus(load_corpus(args.corpus))
    except (ValueError, FileNotFoundError) as error:
        parser.exit(2, f"error: {error}\n")
    print(json.dumps(summary, indent=2) if args.json else format_description(summary))
