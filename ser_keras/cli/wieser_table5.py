"""Replicate ELOR Table 5: WAR and UAR per dimension (valence, arousal) of ELoR, LoM, FTR and
ELoR+FTR on 6 s slices rated by evaluator E-2, 10-fold leave-one-speaker-out, pooled over folds.

    python replicate/wieser_table5.py --quick                    # embedded corpus, CPU smoke run
    python replicate/wieser_table5.py --corpus iemocap:/data/IEMOCAP_full_release --hparams best_hparams.json
    python tools/emodb_manifest.py --out runs/emodb_manifest.csv
    python replicate/wieser_table5.py --corpus manifest:runs/emodb_manifest.csv --quick --out runs/table5_emodb

Rows: {elor,lom,ftr,elor_ftr}_{arousal,valence}_{war,uar}, majority_{arousal,valence}_war and
chance_{arousal,valence}_uar; the paper's numbers are not in our copy ("n/a (not in source
text)"), its ordering claims are checked and printed as holds / does not hold.
`--quick` on the embedded corpus (synthetic:small: 350 E-2 turns → 352 slices) runs all 10
folds with small networks, 3 epochs and 64 training slices per fold: about 2 min on 2 CPU cores
(two threads share the units), much of it tf.function tracing of the 40 trainers.
Without --quick the paper-centre networks (ELoR: 10 M parameters, ~7 GFLOP per
slice) need a GPU. `--hparams FILE` takes tuned values (format: ser_keras/experiments/elor.py).
`--labels` does not apply (ELOR uses the evaluator's valence/arousal ratings).
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
from ser_keras.experiments.data import ElorData
from ser_keras.experiments.elor import ElorExperimentConfig, budget, load_hparams, merge_hparams
from ser_keras.experiments.elor_table5 import run_table5
from ser_keras.experiments.hparams import open_hparam_source
from ser_keras.experiments.networks import NETWORKS, PAPER_NETWORKS, network_id
from ser_keras.experiments.plugins import load_plugins
from ser_keras.runs import RunIdentityError
from ser_keras.seeding import seed_everything


@interruptible
def main(argv=None):
    parser = common_parser(__doc__, default_out="runs/table5")
    parser.add_argument(
        "--networks",
        default=None,
        help=f"comma-separated networks (default: the paper's four, {','.join(PAPER_NETWORKS)}, "
        "and every plug-in network)",
    )
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="FILE.py|MODULE",
        help="a Python file, or a module from PYTHONPATH, that registers "
        "networks with ser_keras.register_network (repeatable; plug-ins installed under the "
        "entry-point group ser_keras.plugins load by themselves)",
    )
    parser.add_argument(
        "--hparams",
        default=None,
        metavar="FILE|DIR",
        help="best_hparams.json of a tuning search (values chosen once on one fold, the paper's "
        "protocol), or the --out folder of a per-fold search (<fold>/best_hparams.json each)",
    )
    parser.add_argument(
        "--allow-foreign-hparams",
        action="store_true",
        help="accept hyperparameters from a --quick search or another corpus (said in the table)",
    )
    parser.add_argument("--evaluator", default="E2", help="evaluator whose A- lines give the labels (default: E2)")
    add_precision_flag(parser)
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    started = time.time()
    if args.labels != "four_class":
        parser.error("--labels does not apply: ELOR uses the evaluator's valence/arousal ratings")
    try:
        plugins = tuple(load_plugins(args.plugin))
        networks = tuple(network_id(name) for name in split_list(args.networks) or NETWORKS)
    except ValueError as error:
        parser.exit(2, f"error: {error}\n")
    corpus = open_corpus(parser, args.corpus)
    # The split-head loop has no loss scaling: its mixed policy is always bfloat16.
    run_budget = precision_budget(args, budget(corpus.kind, quick=args.quick), loss_scaling=False)
    settings = dict(run_budget.settings)
    protocol = args.protocol or "leave-one-speaker-out"
    try:
        data = ElorData(
            corpus,
            evaluator=args.evaluator,
            protocol=protocol,
            seed=args.seed,
            folds=split_list(args.folds),
            verbose=args.verbose,
        )
        fold_names = [fold.name for fold in data.folds]
        source, foreign, provenance = None, [], None
        if args.hparams:
            source, foreign = open_hparam_source(
                args.hparams, fold_names, corpus=corpus, quick=args.quick, allow_foreign=args.allow_foreign_hparams
            )
            provenance = source.provenance(foreign)
            if source.protocol == "once":
                settings["hparams"] = merge_hparams(settings.get("hparams", {}), load_hparams(source.files["*"].path))
            else:
                settings["hparams"] = merge_hparams(settings.get("hparams", {}), {})
                settings["fold_hparams"] = {fold: load_hparams(source.for_fold(fold).path) for fold in fold_names}
        config = ElorExperimentConfig(
            seed=args.seed,
            budget=run_budget.name,
            networks=networks,
            plugins=plugins,
            folds=split_list(args.folds),
            protocol=protocol,
            evaluator=args.evaluator,
            verbose=args.verbose,
            **settings,
        )
        for network in networks:
            for fold in fold_names:
                config.network_config(network, fold)
    except RunIdentityError as error:  # a foreign hyperparameter file: one line, exit 2
        parser.exit(2, f"error: {error}\n")
    except (ValueError, OSError) as error:
        parser.error(str(error))
    seed_everything(config.seed)
    record = open_run(
        parser,
        args,
        script="wieser_table5",
        corpus=corpus,
        label_view=f"dimensional_{data.view.source}",
        protocol=protocol,
        budget=run_budget,
        config=config,
        argv=argv,
        hparam_files=source.paths() if source else (),
        hparams_file=args.hparams,
    )
    try:
        with RunProgress(len(networks) * len(data.folds), title="wieser_table5", verbose=args.verbose) as progress:
            metrics = run_table5(
                data, config, record, progress=progress, hyperparameters=provenance, tensorboard=args.tensorboard
            )
    except ValueError as error:
        parser.exit(2, f"error: {error}\n")
    print_finished(record.out, metrics, started)
