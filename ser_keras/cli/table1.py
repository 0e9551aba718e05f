"""Replicate SHORT Table 1: utterance-level and short-segment SER on IEMOCAP, 4 classes, UAR.

    python replicate/table1.py                                   # embedded synthetic corpus
    python replicate/table1.py --corpus iemocap:/data/IEMOCAP_full_release
    python replicate/table1.py --corpus emodb:../shared/data/emodb/wav --protocol leave-one-speaker-out

Rows: compare_func_{svm,rf}, boaw_{compare,egemaps,w2v2}_{svm,rf}, {compare,egemaps}_lld_mlp,
raw_{subseg,seg}_cnn. The BoAW(wav2vec2) rows need --wav2vec2 PATH (a local
facebook/wav2vec2-base .safetensors); without it they print "skipped". --mlp-hparams PATH (once
per LLD set) gives an MLP row the depth/width of a tuning/search_short_mlp.py search instead of
the validation grid (a per-fold search folder: each fold its own). --plugin FILE.py adds your rows
(README "Add your own model"). On the embedded corpus the default budget finishes in about 10 min on
2 CPU cores (two threads share the units: the utterance-level rows, then network folds, beside the
networks); real corpora get the full protocol.
"""

import time

from ser_keras.cli.common import (
    add_precision_flag,
    common_parser,
    interruptible,
    open_corpus,
    open_run,
    precision_budget,
    print_finished,
    setup_logging,
    split_list,
)
from ser_keras.console import RunProgress
from ser_keras.experiments.data import ShortData
from ser_keras.experiments.plugins import load_plugins
from ser_keras.experiments.rows import DEFAULT_REFERENCE, ROWS
from ser_keras.experiments.short import DEFAULT_MARGIN, ShortConfig, budget, load_mlp_hparams, run_table1
from ser_keras.runs import file_sha256
from ser_keras.seeding import seed_everything


@interruptible
def main(argv=None):
    parser = common_parser(__doc__, default_out="runs/table1")
    parser.add_argument(
        "--rows", default=None, help="comma-separated row ids (default: the paper's 12 and every plug-in row)"
    )
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="FILE.py|MODULE",
        help="a Python file, or a module from PYTHONPATH, that registers "
        "rows with ser_keras.register_row (repeatable; plug-ins installed under the "
        "entry-point group ser_keras.plugins load by themselves)",
    )
    parser.add_argument(
        "--reference",
        default=DEFAULT_REFERENCE,
        help=f"row every other row is compared with (paired tests; default: {DEFAULT_REFERENCE}, "
        "the paper's best utterance-level system)",
    )
    parser.add_argument(
        "--margin",
        type=float,
        default=DEFAULT_MARGIN,
        metavar="PP",
        help="non-inferiority margin of the claim that Raw SubSeg is on par with the reference, in "
        f"percentage points of UAR, fixed before the run (default {DEFAULT_MARGIN:g}: the spread "
        "of the paper's utterance-level systems; docs/statistics.md)",
    )
    parser.add_argument("--wav2vec2", default=None, help="local wav2vec2-base .safetensors for the BoAW(wav2vec2) rows")
    parser.add_argument(
        "--mlp-hparams",
        action="append",
        default=[],
        metavar="FILE|DIR",
        help="best_hparams.json of tuning/search_short_mlp.py (searched once, the paper's protocol) "
        "or the --out folder of a per-fold search: its depth/width replace the validation grid "
        "of the MLP row of its --source; repeat for compare and egemaps",
    )
    parser.add_argument(
        "--allow-foreign-hparams",
        action="store_true",
        help="accept hyperparameters from a --quick search or another corpus (said in the table)",
    )
    add_precision_flag(parser)
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    started = time.time()
    try:
        plugins = tuple(load_plugins(args.plugin))
    except ValueError as error:
        parser.exit(2, f"error: {error}\n")
    if args.margin < 0:
        parser.error(f"--margin is a distance in percentage points, >= 0; got {args.margin:g}")
    rows = split_list(args.rows) or tuple(ROWS)
    unknown = [r for r in (*rows, args.reference) if r not in ROWS]
    if unknown:
        parser.error(f"unknown row id(s) {unknown}; valid: {', '.join(ROWS)}")
    corpus = open_corpus(parser, args.corpus)
    run_budget = precision_budget(args, budget(corpus.kind, quick=args.quick))
    try:
        data = ShortData(
            corpus,
            labels=args.labels,
            protocol=args.protocol,
            seed=args.seed,
            folds=split_list(args.folds),
            verbose=args.verbose,
            wav2vec2=args.wav2vec2,
        )
        mlp_hparams, hparam_files = load_mlp_hparams(
            args.mlp_hparams,
            rows,
            folds=[f.name for f in data.folds],
            corpus=corpus,
            quick=args.quick,
            allow_foreign=args.allow_foreign_hparams,
        )
        config = ShortConfig(
            seed=args.seed,
            budget=run_budget.name,
            labels=args.labels,
            protocol=data.protocol,
            rows=rows,
            folds=split_list(args.folds),
            verbose=args.verbose,
            mlp_hparams=mlp_hparams,
            reference=args.reference,
            margin=args.margin,
            plugins=plugins,
            wav2vec2_sha256=file_sha256(args.wav2vec2) if args.wav2vec2 else None,
            **run_budget.settings,
        )
    except (ValueError, OSError) as error:  # bad files and RunIdentityError: one line, exit 2
        parser.exit(2, f"error: {error}\n")
    seed_everything(config.seed)
    record = open_run(
        parser,
        args,
        script="table1",
        corpus=corpus,
        label_view=args.labels,
        protocol=data.protocol,
        budget=run_budget,
        config=config,
        argv=argv,
        hparam_files=hparam_files,
        wav2vec2=args.wav2vec2,
    )
    try:
        with RunProgress(len(config.rows) * len(data.folds), title="table1", verbose=args.verbose) as progress:
            metrics = run_table1(data, config, record, progress=progress, tensorboard=args.tensorboard)
    except ValueError as error:
        parser.exit(2, f"error: {error}\n")
    print_finished(record.out, metrics, started)
