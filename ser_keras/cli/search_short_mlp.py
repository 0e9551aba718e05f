"""Choose SHORT's LLD-MLP depth and width on the validation split (SHORT §2.3) with keras-tuner.

    python tuning/search_short_mlp.py --quick --corpus synthetic:tiny
    python tuning/search_short_mlp.py --corpus iemocap:/data/IEMOCAP_full_release --source egemaps

Search space: 1-3 hidden ReLU layers of 256/512/1024/2048 units (ser_keras.tuning.spaces).
Each trial trains with SHORT's SGD + LR-halving recipe on the first fold's training split
(or --fold; --outer-folds all: one search per fold, nested) and scores the utterance-level UAR
on its 20 % validation split. Writes best_hparams.json
({"hparams": {"hidden_layers": [...]}}), trials.csv and the resumable tuner/ folder.
"""

from ser_keras.cli.common import open_corpus
from ser_keras.cli.search import exit_on_error, prepare, search_folds, search_parser
from ser_keras.experiments.data import ShortData
from ser_keras.tuning.tasks import short_mlp_hypermodel


def main(argv=None):
    parser = search_parser(__doc__, network="short_mlp", default_trials=12, default_epochs=None)
    parser.add_argument(
        "--source",
        choices=("compare", "egemaps"),
        default="compare",
        help="LLD set: ComParE_2016 LLD+deltas (130) or eGeMAPS LLDs (23)",
    )
    args = parser.parse_args(argv)
    trials, epochs = prepare(args)
    corpus = open_corpus(parser, args.corpus)

    def search():
        data = ShortData(corpus, seed=args.seed, verbose=args.verbose)

        def hypermodel_of(fold):
            hypermodel, settings = short_mlp_hypermodel(
                data,
                fold,
                source=args.source,
                seed=args.seed,
                quick=args.quick,
                max_epochs=epochs,
                verbose=args.verbose,
            )
            return hypermodel, settings, None

        search_folds(args, data, hypermodel_of, trials=trials, epochs=epochs)

    return exit_on_error(search)
