"""Opening an analysis run, one way for both papers: the analysis flags (``--models`` and,
for ELOR, ``--fold`` / ``--evaluator``), the source run's fingerprint check, the analysis's
own run record.

``--models RUN`` analyses the saved models of an earlier Table-1 / Table-5 run. Its
fingerprint must agree with the analysis's own on the corpus and the budget (a model
trained on the embedded corpus, or with the quick budget, is never analysed and labelled as
something else); a mismatch exits 2 naming each differing key. The analysis inherits the
source run's seed, label view, protocol and folds, and reports its budget.

A SHORT analysis shows Table 1's console (:func:`short_progress`): one progress view over the
(row, fold) units it computes or resumes, imported ones counted as done.
"""

import contextlib
import time
from pathlib import Path

from ser_keras.cli.common import common_parser, open_corpus, open_run, setup_logging, split_list
from ser_keras.console import RunProgress
from ser_keras.runs import describe_differences, fingerprint_differences
from ser_keras.seeding import seed_everything

DEFAULT_ELOR_FOLD = "Ses03F"  # the paper analyses test speaker Ses03F


def analysis_parser(description, script, *, paper):
    """The common flags plus ``--models`` (and ``--fold``, ``--evaluator`` for ELOR)."""
    parser = common_parser(description, default_out=f"runs/{script}")
    source = "table1 / short_table3" if paper == "short" else "wieser_table5"
    parser.add_argument(
        "--models",
        default=None,
        metavar="RUN_DIR",
        help=f"analyse the models (and reuse the fold results) of an existing {source} run folder; "
        "its corpus and budget must match this run's, its seed, label view, protocol and folds "
        "are used. Without it the needed models are trained into --out first (said in the log).",
    )
    if paper == "elor":
        parser.add_argument(
            "--fold",
            default=DEFAULT_ELOR_FOLD,
            help=f"test speaker of the analysed fold (default: {DEFAULT_ELOR_FOLD}, the paper's)",
        )
        parser.add_argument("--evaluator", default="E2", help="evaluator whose ratings label the slices (default: E2)")
    return parser


def _source_fingerprint(parser, models):
    """The fingerprint of the ``--models`` run folder, or exit 2 saying why there is none."""
    from ser_keras.io import read_json

    folder = Path(models)
    if not (folder / "config.json").exists():
        parser.exit(2, f"error: --models {models} is not a run folder (no config.json)\n")
    if not (folder / "fingerprint.json").exists():
        parser.exit(
            2,
            f"error: --models {models} has no fingerprint.json (a run of an older ser-keras); "
            "rerun it to analyse its models\n",
        )
    return read_json(folder / "fingerprint.json")


def check_source_run(parser, models, corpus, budget):
    """Exit 2 unless the ``--models`` run has this analysis's ``corpus`` and ``budget``
    (the budget keys both share: an analysis adds its own, e.g. the relevance step)."""
    source = _source_fingerprint(parser, models)
    own = {"corpus": {"spec": corpus.spec, "sha256": corpus.sha256}, "budget": budget.to_dict()}
    shared_budget = {key for key in source["budget"] if key in own["budget"] and key != "description"}
    differences = fingerprint_differences(
        {"corpus": source["corpus"], "budget": {k: source["budget"][k] for k in shared_budget}},
        {"corpus": own["corpus"], "budget": {k: own["budget"][k] for k in shared_budget}},
    )
    if differences:
        parser.exit(
            2, f"error: --models {models} is a run of another corpus or budget: {describe_differences(differences)}\n"
        )


def _parse(parser, argv):
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    return args, time.time()


def open_short_analysis(parser, argv, script):
    """Parse ``argv`` and open the run: ``(args, ShortAnalysis, start time)``."""
    from ser_keras.experiments.analysis_short import (
        ShortAnalysis,
        ShortAnalysisConfig,
        analysis_budget,
        source_settings,
    )
    from ser_keras.experiments.data import ShortData

    args, started = _parse(parser, argv)
    corpus = open_corpus(parser, args.corpus)
    fixed = {"seed": args.seed, "labels": args.labels, "protocol": args.protocol, "folds": split_list(args.folds)}
    if args.models:
        _source_fingerprint(parser, args.models)
        source = source_settings(args.models)
        fixed.update({key: source[key] for key in ("seed", "labels", "protocol", "validation_fraction")})
        fixed["folds"] = fixed["folds"] or source["folds"]
    own_budget = analysis_budget(corpus.kind, quick=args.quick)
    try:
        data = ShortData(
            corpus,
            labels=fixed["labels"],
            protocol=fixed["protocol"],
            seed=fixed["seed"],
            validation_fraction=fixed.get("validation_fraction", 0.2),
            folds=fixed["folds"],
            verbose=args.verbose,
        )
    except ValueError as error:
        parser.exit(2, f"error: {error}\n")
    config = ShortAnalysisConfig(
        **{**fixed, "protocol": data.protocol}, budget=own_budget.name, verbose=args.verbose, **own_budget.settings
    )
    if args.models:
        check_source_run(parser, args.models, corpus, own_budget)
    seed_everything(config.seed)
    record = open_run(
        parser,
        args,
        script=script,
        corpus=corpus,
        label_view=config.labels,
        protocol=data.protocol,
        budget=own_budget,
        config=config,
        argv=argv,
        models=args.models,
    )
    return args, ShortAnalysis(data, config, record, source=args.models), started


@contextlib.contextmanager
def short_progress(analysis, row_ids, *, responses=()):
    """Within the block, ``analysis`` tells a :class:`~ser_keras.console.RunProgress` about the
    units of the rows it needs for ``row_ids`` and the Fig. 2 ``responses``
    (:meth:`~ser_keras.experiments.analysis_short.ShortAnalysis.planned_rows`). An analysis with
    no unit to compute or resume (Fig. 2 reading saved models) shows no progress at all."""
    rows = analysis.planned_rows(row_ids, responses=responses)
    if not rows:
        yield
        return
    total = len(rows) * len(analysis.folds)
    with RunProgress(total, title=analysis.record.script, verbose=analysis.config.verbose) as progress:
        analysis.report_to(progress, rows)
        yield


def open_elor_analysis(parser, argv, script, settings=None):
    """Parse ``argv`` and open the run: ``(args, ElorAnalysis, start time)``. ``settings(args)``
    returns the script's own settings (for ``config.json`` and the fingerprint)."""
    from ser_keras.experiments.analysis_elor import elor_config, open_elor

    args, started = _parse(parser, argv)
    recorded = settings(args) if settings else {}
    if args.labels != "four_class":
        parser.error("--labels does not apply: ELOR uses the evaluator's valence/arousal ratings")
    if args.models:
        _source_fingerprint(parser, args.models)
    corpus = open_corpus(parser, args.corpus)
    try:
        config, own_budget = elor_config(
            corpus.kind,
            fold=args.fold,
            seed=args.seed,
            quick=args.quick,
            evaluator=args.evaluator,
            source=args.models,
            verbose=args.verbose,
        )
    except (ValueError, TypeError) as error:
        parser.exit(2, f"error: {error}\n")
    if args.models:
        check_source_run(parser, args.models, corpus, own_budget)
    seed_everything(config.seed)
    record = open_run(
        parser,
        args,
        script=script,
        corpus=corpus,
        label_view=f"dimensional_{config.evaluator}",
        protocol=config.protocol,
        budget=own_budget,
        config=config,
        argv=argv,
        models=args.models,
        **recorded,
    )
    try:
        return args, open_elor(corpus, config, record, args.models), started
    except ValueError as error:
        parser.exit(2, f"error: {error}\n")
