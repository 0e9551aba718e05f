"""Command-line flags shared by the tuning scripts (``tuning/search_*.py``) and their run.

Not a paper section: the plumbing around the searches of ``ser_keras.tuning.search``. A
search runs on one fold's training pool (``--fold``; the papers' protocol: the values then
serve every fold) or, with ``--outer-folds all|LIST``, once per outer fold on that fold's
training pool only (nested, unbiased): ``OUT/<fold>/`` each, and ``OUT/summary.json``.
Several processes may take different outer folds of one ``--out``.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from ser_keras.cli.common import add_output_flags, open_corpus, setup_logging, split_list
from ser_keras.data.corpus import DEFAULT_CORPUS
from ser_keras.experiments.networks import NETWORKS
from ser_keras.io import read_json, write_json
from ser_keras.seeding import seed_everything
from ser_keras.training.precision import configure_precision
from ser_keras.tuning.search import TUNERS, make_strategy, role, run_search

# The split-head loop has no loss scaling, so its mixed policy is bfloat16 (float32's range);
# the MLP trains with model.fit, whose compile wraps float16 in a LossScaleOptimizer.
MIXED_POLICIES = {
    "elor": "mixed_bfloat16",
    "lom": "mixed_bfloat16",
    "ftr": "mixed_bfloat16",
    "short_mlp": "mixed_float16",
}


def search_parser(description, *, network, default_trials, default_epochs):
    """Parser with the flags every search script accepts."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--corpus",
        default=DEFAULT_CORPUS,
        help=f"synthetic:{{tiny,small,full}}, iemocap:PATH, emodb:PATH, manifest:PATH.csv (default: {DEFAULT_CORPUS})",
    )
    parser.add_argument(
        "--out",
        default=f"runs/search_{network}",
        help="search folder; rerunning with the same folder resumes (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the tuner and every trial (default: 0)")
    parser.add_argument("--quick", action="store_true", help="tiny budget for a CPU smoke run (2 trials, 1 epoch)")
    parser.add_argument(
        "--trials",
        type=int,
        default=None,
        help=f"trial budget (default: the paper's {default_trials}; ignored by hyperband)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"epoch cap per trial (default: {default_epochs}; hyperband: its longest trials)",
    )
    parser.add_argument("--tuner", choices=TUNERS, default="bayesian", help="keras-tuner oracle (default: bayesian)")
    parser.add_argument(
        "--fold",
        default=None,
        help="fold whose training pool is split 80:20 (default: the first); "
        "its values then serve every fold (the papers' protocol)",
    )
    parser.add_argument(
        "--outer-folds",
        default=None,
        metavar="all|LIST",
        help="nested protocol: one search per outer fold (all, or comma-separated names) on that "
        "fold's training pool only, into OUT/<fold>/; pass OUT to --hparams / --mlp-hparams",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue a stopped search (finished trials and folds are kept; rerunning the same "
        "command continues it too)",
    )
    parser.add_argument(
        "--distribute",
        choices=("mirrored",),
        default=None,
        help="train each trial with tf.distribute.MirroredStrategy over every local GPU",
    )
    parser.add_argument(
        "--mixed-precision",
        action="store_true",
        help=f"mixed precision on GPUs ({MIXED_POLICIES[network]}); softmax outputs stay float32",
    )
    add_output_flags(parser, progress="progress", logged="DIR/[<fold>/]trial_<id>")
    parser.set_defaults(network=network, default_trials=default_trials, default_epochs=default_epochs)
    return parser


def prepare(args):
    """Logging, seeds and the dtype policy, before any model is built; returns the budget."""
    setup_logging(args.verbose)
    for name in ("trials", "epochs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise SystemExit(f"error: --{name} must be >= 1; got {value}.")
    seed_everything(args.seed, deterministic=False)
    if args.mixed_precision:
        configure_precision(MIXED_POLICIES[args.network])
    trials = args.trials or (2 if args.quick else args.default_trials)
    epochs = args.epochs or (1 if args.quick else args.default_epochs)
    return trials, epochs


def search_folds(args, data, hypermodel_of, *, trials, epochs):
    """Run the search of ``args`` on ``data``: on ``--fold`` (one folder) or once per
    ``--outer-folds`` fold into ``OUT/<fold>/``; print where the results are.

    ``hypermodel_of(fold)`` returns ``(hypermodel, settings, fixed)``.
    """
    if args.outer_folds and args.fold:
        raise ValueError("--fold and --outer-folds exclude each other (one search, or one per outer fold).")
    names = [fold.name for fold in data.folds]
    if args.outer_folds:
        wanted = names if args.outer_folds == "all" else list(split_list(args.outer_folds))
        unknown = [name for name in wanted if name not in names]
        if unknown:
            raise ValueError(f"--outer-folds {unknown} not in this corpus; its folds are {names}.")
        targets = [(data.fold(name), Path(args.out) / name) for name in wanted]
    else:
        targets = [(data.fold(args.fold), Path(args.out))]
    for fold, out in targets:
        hypermodel, settings, fixed = hypermodel_of(fold)
        started = time.time()
        settings = {
            **settings,
            "quick": args.quick,
            "epochs": epochs,
            "outer_fold": bool(args.outer_folds),
            "budget": {"trials": trials, "epochs": epochs, "quick": args.quick},
        }
        result = run_search(
            hypermodel,
            out=out,
            network=args.network,
            tuner=args.tuner,
            trials=trials,
            epochs=epochs,
            seed=args.seed,
            strategy=make_strategy(args.distribute),
            settings=settings,
            fixed=fixed,
            verbose=args.verbose,
            tensorboard=f"{args.tensorboard}/{fold.name}" if args.tensorboard else None,
        )
        if result is None:
            print(f"{fold.name}: worker finished; results are written by the chief ({time.time() - started:.1f} s)")
            continue
        objective = result["objective"]
        print(
            f"{fold.name}: best trial {result['trial_id']} of {result['trials']}: {objective['name']} "
            f"{objective['value']:.4f} {json.dumps(result['hparams'])} -> {out}/best_hparams.json "
            f"({role()}; {time.time() - started:.1f} s)"
        )
    if args.outer_folds:
        write_summary(Path(args.out), names)


def write_summary(out, folds):
    """``OUT/summary.json``: every outer fold's best values and score found under ``out``
    (rescanned, so processes that took different folds each leave a complete summary)."""
    searched = {}
    for name in folds:
        best = out / name / "best_hparams.json"
        if best.exists():
            result = read_json(best)
            searched[name] = {
                "hparams": result["hparams"],
                "objective": result["objective"],
                "trials": result["trials"],
            }
    write_json(
        out / "summary.json",
        {
            "protocol": "per outer fold (nested)",
            "folds": searched,
            "missing": [name for name in folds if name not in searched],
        },
    )


def exit_on_error(main):
    """Run ``main`` and turn a ValueError into a one-line error and exit status 2."""
    try:
        return main()
    except ValueError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2


def run_elor_family_search(description, network, argv=None):
    """``main`` of ``tuning/search_{elor,lom,ftr}.py``: flags, data, search(es), summary."""
    from ser_keras.experiments.data import ElorData  # data preparation pulls in openSMILE
    from ser_keras.tuning.tasks import elor_hypermodel

    parser = search_parser(
        description, network=network, default_trials=NETWORKS[network].paper_trials, default_epochs=30
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=5,
        help="early stopping: epochs without a lower summed validation loss (default: 5)",
    )
    args = parser.parse_args(argv)
    trials, epochs = prepare(args)
    corpus = open_corpus(parser, args.corpus)

    def search():
        patience = 1 if args.quick else args.patience
        data = ElorData(corpus, seed=args.seed, verbose=args.verbose)
        search_folds(
            args,
            data,
            lambda fold: elor_hypermodel(
                data,
                network,
                fold,
                seed=args.seed,
                quick=args.quick,
                epochs=epochs,
                patience=patience,
                verbose=args.verbose,
            ),
            trials=trials,
            epochs=epochs,
        )

    return exit_on_error(search)
