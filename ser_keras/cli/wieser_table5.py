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
folds with small networks, 3 epochs and 64 training slices per fold. Measured: 3.4 CPU-minutes
(user + sys), so an estimated 2-4 min on 2 idle cores (not measured); 20.5 min wall on our
shared 2-core machine at load average ~10. About half is tf.function tracing of the 40
trainers; IS10 is cached.
Without --quick the paper-centre networks (ELoR: 10 M parameters, ~7 GFLOP per
slice) need a GPU. `--hparams FILE` takes tuned values (format: ser_keras/experiments/elor.py).
`--labels` does not apply (ELOR uses the evaluator's valence/arousal ratings).
"""

import dataclasses
import time

from ser_keras.cli.common import common_parser, open_corpus, print_finished, setup_logging, split_list
from ser_keras.experiments.elor import NETWORKS, ElorExperimentConfig, budget, load_hparams, merge_hparams, network_id
from ser_keras.experiments.elor_table5 import run_table5
from ser_keras.runs import RunRecord
from ser_keras.seeding import seed_everything


def main(argv=None):
    parser = common_parser(__doc__, default_out="runs/table5")
    parser.add_argument("--networks", default=",".join(NETWORKS),
                        help=f"comma-separated networks (default: all: {','.join(NETWORKS)})")
    parser.add_argument("--hparams", default=None, help="best_hparams.json from the tuning scripts")
    parser.add_argument("--evaluator", default="E2", help="evaluator whose A- lines give the labels (default: E2)")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    started = time.time()
    if args.labels != "four_class":
        parser.error("--labels does not apply: ELOR uses the evaluator's valence/arousal ratings")
    try:
        networks = tuple(network_id(name) for name in split_list(args.networks))
        file_hparams = load_hparams(args.hparams) if args.hparams else {}
    except (ValueError, OSError) as error:
        parser.error(str(error))
    corpus = open_corpus(parser, args.corpus)
    settings = budget(corpus.kind, quick=args.quick)
    settings["hparams"] = merge_hparams(settings.get("hparams", {}), file_hparams)
    try:
        config = ElorExperimentConfig(seed=args.seed, networks=networks, folds=split_list(args.folds),
                                      protocol=args.protocol or "leave-one-speaker-out", evaluator=args.evaluator,
                                      verbose=args.verbose, **settings)
        for network in networks:
            config.network_config(network)
    except ValueError as error:
        parser.error(str(error))
    seed_everything(config.seed)
    try:
        record = RunRecord(args.out, script="wieser_table5", corpus=corpus, resume=args.resume,
                           config={**dataclasses.asdict(config), "corpus": corpus.spec, "hparams_file": args.hparams})
        metrics = run_table5(corpus, config, record)
    except (FileExistsError, ValueError) as error:
        parser.exit(2, f"error: {error}\n")
    print_finished(record.out, metrics, started)
