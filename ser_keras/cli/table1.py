"""Replicate SHORT Table 1: utterance-level and short-segment SER on IEMOCAP, 4 classes, UAR.

    python replicate/table1.py                                   # embedded synthetic corpus
    python replicate/table1.py --corpus iemocap:/data/IEMOCAP_full_release
    python replicate/table1.py --corpus emodb:../shared/data/emodb/wav --protocol leave-one-speaker-out

Rows: compare_func_{svm,rf}, boaw_{compare,egemaps,w2v2}_{svm,rf}, {compare,egemaps}_lld_mlp,
raw_{subseg,seg}_cnn. The BoAW(wav2vec2) rows need --wav2vec2 PATH (a local
facebook/wav2vec2-base .safetensors); without it they print "skipped". --mlp-hparams PATH (once
per LLD set) gives an MLP row the depth/width of a tuning/search_short_mlp.py search instead of
the validation grid. On the embedded corpus the default budget finishes in about 10-15 min on
2 CPU cores; real corpora get the full protocol.
"""

import dataclasses
import time

from ser_keras.cli.common import common_parser, open_corpus, print_finished, setup_logging, split_list
from ser_keras.experiments.short import TABLE1_IDS, ShortConfig, budget, load_mlp_hparams, run_table1
from ser_keras.runs import RunRecord
from ser_keras.seeding import seed_everything


def main(argv=None):
    parser = common_parser(__doc__, default_out="runs/table1")
    parser.add_argument("--rows", default=",".join(TABLE1_IDS), help="comma-separated row ids (default: all 12)")
    parser.add_argument("--wav2vec2", default=None, help="local wav2vec2-base .safetensors for the BoAW(wav2vec2) rows")
    parser.add_argument("--mlp-hparams", action="append", default=[], metavar="PATH",
                        help="best_hparams.json of tuning/search_short_mlp.py: its searched depth/width replace the "
                             "validation grid of the MLP row of its --source; repeat for compare and egemaps")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    started = time.time()
    rows = split_list(args.rows)
    unknown = [r for r in rows if r not in TABLE1_IDS]
    if unknown:
        parser.error(f"unknown row id(s) {unknown}; valid: {', '.join(TABLE1_IDS)}")
    corpus = open_corpus(parser, args.corpus)
    try:
        config = ShortConfig(seed=args.seed, labels=args.labels, protocol=args.protocol, rows=rows,
                             folds=split_list(args.folds), verbose=args.verbose,
                             mlp_hparams=load_mlp_hparams(args.mlp_hparams, rows),
                             **budget(corpus.kind, quick=args.quick))
        seed_everything(config.seed)
        record = RunRecord(args.out, script="table1", corpus=corpus, resume=args.resume,
                           config={**dataclasses.asdict(config), "corpus": corpus.spec, "wav2vec2": args.wav2vec2})
        metrics = run_table1(corpus, config, record, wav2vec2=args.wav2vec2)
    except (FileExistsError, ValueError) as error:
        parser.exit(2, f"error: {error}\n")
    print_finished(record.out, metrics, started)
