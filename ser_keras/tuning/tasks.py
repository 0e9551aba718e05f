"""Data of one search: the fold's training pool, its seeded 80:20 split, and the hypermodel.

ELOR "Hyperparamter optimization": the validation set is "20 % randomly chosen samples of
all samples considered ... in the respective cross-validation step"; we tune on one fold
(``--fold``, default the first) of the replicate scripts' protocol, with the fold's seeded
validation split. SHORT §2.3: the LLD MLP's depth and width are chosen on the fold's
validation split, scored like Table 1 (utterance-level UAR).
"""

import functools

import numpy as np

from ser_keras.data.windows import context_dataset, frame_index
from ser_keras.experiments.elor import QUICK_HPARAMS, ElorExperiment, ElorExperimentConfig
from ser_keras.experiments.short import LLD_SETS, ShortConfig, ShortExperiment
from ser_keras.models.elor import build_elor, build_ftr, build_lom
from ser_keras.models.lld_mlp import lld_standardization
from ser_keras.tuning.search import LldMlpHyperModel, MlpData, SplitHeadHyperModel
from ser_keras.tuning.spaces import SPACES

# --quick: every 10th training window and every 5th validation window (SHORT's quick budget).
QUICK_MLP = {"train_frame_step": 10, "eval_frame_step": 5}


def pick_fold(folds, name=None):
    """The fold called ``name`` (default: the first), with an error naming the choices."""
    if name is None:
        return folds[0]
    for fold in folds:
        if fold.name == name:
            return fold
    raise ValueError(f"Fold {name!r} not in this corpus; its folds are {[fold.name for fold in folds]}.")


def short_mlp_hypermodel(corpus, *, source="compare", fold=None, seed=0, quick=False, batch_size=256,
                         max_epochs=None, verbose=0):
    """LLD-MLP hypermodel on ``source`` ('compare' or 'egemaps') LLD contexts of one fold.

    Returns ``(hypermodel, settings)``; ``settings`` describes the data for ``search.json``.
    """
    if source not in LLD_SETS:
        raise ValueError(f"source must be one of {sorted(LLD_SETS)}; got {source!r}.")
    budget = {**(QUICK_MLP if quick else {"train_frame_step": 1, "eval_frame_step": 1}), "max_epochs": max_epochs}
    experiment = ShortExperiment(corpus, ShortConfig(seed=seed, verbose=verbose), record=None)
    chosen = pick_fold(experiment.folds, fold)
    matrices = experiment.frame_features(source)
    counts = [len(matrix) for matrix in matrices]
    mean, variance = lld_standardization(np.concatenate([matrices[i] for i in chosen.train]))
    train_owners, train_frames = frame_index(counts, chosen.train, frame_step=budget["train_frame_step"])
    train = context_dataset(matrices, train_owners, train_frames, experiment.targets, batch_size=batch_size,
                            shuffle=True, seed=seed, repeat=True)
    val_owners, val_frames = frame_index(counts, chosen.validation, frame_step=budget["eval_frame_step"])
    validation = context_dataset(matrices, val_owners, val_frames, experiment.targets, batch_size=batch_size)
    data = MlpData(train=train, train_steps=-(-len(train_owners) // batch_size), validation=validation,
                   validation_owners=np.searchsorted(chosen.validation, val_owners),
                   validation_targets=experiment.targets[chosen.validation], num_features=matrices[0].shape[1],
                   feature_mean=mean, feature_variance=variance, num_classes=len(experiment.classes))
    settings = {"corpus": corpus.spec, "corpus_sha256": corpus.sha256, "fold": chosen.name, "source": source,
                "protocol": experiment.protocol, "classes": list(experiment.classes),
                "train_utterances": len(chosen.train), "validation_utterances": len(chosen.validation),
                "train_windows": len(train_owners), "validation_windows": len(val_owners), **budget}
    return LldMlpHyperModel(data, max_epochs=budget["max_epochs"], verbose=verbose), settings


def elor_hypermodel(corpus, network, *, fold=None, seed=0, quick=False, epochs=30, patience=5, verbose=0):
    """Split-head hypermodel of ``network`` ('elor', 'lom' or 'ftr') on one fold's slices.

    Data preparation is Table 5's (``ElorExperiment``: E-2 ratings, 6 s slices, MFCC / IS10
    inputs, leave-one-speaker-out folds with a seeded 20 % validation split of the training
    speakers' utterances). Returns ``(hypermodel, settings, fixed)``: with ``quick``,
    ``fixed`` pins the layer sizes to Table 5's small ``--quick`` network (dropout, L2 and
    the optimiser are still searched); otherwise it is empty.
    """
    if network not in SPACES:
        raise ValueError(f"network must be one of {sorted(SPACES)}; got {network!r}.")
    space = SPACES[network]
    experiment = ElorExperiment(corpus, ElorExperimentConfig(seed=seed, networks=(network,), verbose=verbose),
                                record=None)
    chosen = pick_fold(experiment.folds, fold)
    train, validation, _ = experiment.fold_slices(chosen)
    if not len(train) or not len(validation):
        raise ValueError(f"Fold {chosen.name} has {len(train)} training and {len(validation)} validation slices; "
                         "a search needs both.")
    if network == "ftr":
        functionals = experiment.is10_features()[train].astype(np.float64)
        build_network = functools.partial(build_ftr, functional_mean=functionals.mean(axis=0),
                                          functional_variance=functionals.var(axis=0))
    else:
        build_network = {"elor": build_elor, "lom": build_lom}[network]

    def datasets(batch_size):
        return (experiment.dataset(network, train, batch_size=batch_size, shuffle=True, seed=seed),
                experiment.dataset(network, validation, batch_size=batch_size))

    hypermodel = SplitHeadHyperModel(space, build_network, datasets, epochs=epochs, patience=patience, seed=seed,
                                     verbose=int(verbose >= 2))
    fixed = space.values(QUICK_HPARAMS[network]) if quick else {}
    settings = {"corpus": corpus.spec, "corpus_sha256": corpus.sha256, "fold": chosen.name,
                "protocol": experiment.config.protocol, "rating_source": experiment.view.source,
                "train_slices": len(train), "validation_slices": len(validation), "patience": patience}
    return hypermodel, settings, fixed
