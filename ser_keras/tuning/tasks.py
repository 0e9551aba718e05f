"""The hypermodel of one search on one fold's training pool, from prepared data.

ELOR "Hyperparamter optimization": the validation set is "20 % randomly chosen samples of
all samples considered ... in the respective cross-validation step"; a search tunes on one
fold's training pool with that fold's seeded 80:20 validation split — the paper's protocol
tunes once (one fold, values for every fold); the nested protocol runs one search per outer
fold (``--outer-folds``). SHORT §2.3: the LLD MLP's depth and width are chosen on the fold's
validation split, scored like Table 1 (utterance-level UAR). The data is Table 1's and
Table 5's own (:mod:`ser_keras.experiments.data`).
"""

import functools

import numpy as np

from ser_keras.data.windows import context_dataset, frame_index, window_id_dataset
from ser_keras.experiments.data import LLD_SETS
from ser_keras.experiments.networks import NETWORKS, searchable
from ser_keras.models.lld_mlp import lld_standardization
from ser_keras.training import execution
from ser_keras.training.device_input import with_context_gather
from ser_keras.tuning.search import LldMlpHyperModel, MlpData, SplitHeadHyperModel

# --quick: every 10th training window and every 5th validation window (SHORT's quick budget).
QUICK_MLP = {"train_frame_step": 10, "eval_frame_step": 5}


def short_mlp_hypermodel(
    data,
    fold,
    *,
    source="compare",
    seed=0,
    quick=False,
    batch_size=256,
    max_epochs=None,
    verbose=0,
    inputs_on_device=None,
):
    """LLD-MLP hypermodel on ``source`` ('compare' or 'egemaps') LLD contexts of ``fold`` of
    :class:`~ser_keras.experiments.data.ShortData` ``data``. ``inputs_on_device`` (default:
    as :mod:`~ser_keras.training.execution` decides, where TensorFlow sees a GPU or TPU):
    trials stream window ids and gather their contexts inside the compiled steps (as Table 1
    does).

    Returns ``(hypermodel, settings)``; ``settings`` describes the data for ``search.json``.
    """
    if source not in LLD_SETS:
        raise ValueError(f"source must be one of {sorted(LLD_SETS)}; got {source!r}.")
    budget = {**(QUICK_MLP if quick else {"train_frame_step": 1, "eval_frame_step": 1}), "max_epochs": max_epochs}
    matrices = data.frame_features(source)
    counts = [len(matrix) for matrix in matrices]
    mean, variance = lld_standardization(np.concatenate([matrices[i] for i in fold.train]))
    train_owners, train_frames = frame_index(counts, fold.train, frame_step=budget["train_frame_step"])
    on_device = execution.current().inputs_on_device if inputs_on_device is None else inputs_on_device
    cut = window_id_dataset if on_device else functools.partial(context_dataset, data.context_tensor(source))
    train = cut(train_owners, train_frames, data.targets, batch_size=batch_size, shuffle=True, seed=seed, repeat=True)
    val_owners, val_frames = frame_index(counts, fold.validation, frame_step=budget["eval_frame_step"])
    validation = cut(val_owners, val_frames, data.targets, batch_size=batch_size)
    contexts = data.context_tensor(source) if on_device else None
    mlp_data = MlpData(
        train=train,
        train_steps=-(-len(train_owners) // batch_size),
        validation=validation,
        validation_owners=np.searchsorted(fold.validation, val_owners),
        validation_targets=data.targets[fold.validation],
        num_features=matrices[0].shape[1],
        feature_mean=mean,
        feature_variance=variance,
        num_classes=data.num_classes,
        gather=(lambda network: with_context_gather(network, contexts)) if on_device else None,
    )
    settings = {
        "corpus": data.corpus.spec,
        "corpus_sha256": data.corpus.sha256,
        "fold": fold.name,
        "source": source,
        "protocol": data.protocol,
        "classes": list(data.classes),
        "train_utterances": len(fold.train),
        "validation_utterances": len(fold.validation),
        "train_windows": len(train_owners),
        "validation_windows": len(val_owners),
        **budget,
    }
    return LldMlpHyperModel(mlp_data, max_epochs=budget["max_epochs"], verbose=verbose), settings


def elor_hypermodel(
    data, network, fold, *, seed=0, quick=False, epochs=30, patience=5, verbose=0, inputs_on_device=None
):
    """Split-head hypermodel of ``network`` (one with a search space: 'elor', 'lom', 'ftr')
    on ``fold``'s slices of :class:`~ser_keras.experiments.data.ElorData` ``data``.
    ``inputs_on_device`` (default: as :mod:`~ser_keras.training.execution` decides, where
    TensorFlow sees a GPU or TPU): trials stream slice indices and cut their inputs inside the
    compiled steps (``ElorData.slice_inputs``).

    Returns ``(hypermodel, settings, fixed)``: with ``quick``, ``fixed`` pins the layer
    sizes to Table 5's small ``--quick`` network (dropout, L2 and the optimiser are still
    searched); otherwise it is empty.
    """
    if network not in searchable():
        raise ValueError(f"network must be one of {sorted(searchable())}; got {network!r}.")
    spec = NETWORKS[network]
    train, validation, _ = data.fold_slices(fold)
    if not len(train) or not len(validation):
        raise ValueError(
            f"Fold {fold.name} has {len(train)} training and {len(validation)} validation slices; a search needs both."
        )

    def build_network(config):
        return spec.build(config, data, train)

    on_device = execution.current().inputs_on_device if inputs_on_device is None else inputs_on_device

    def datasets(batch_size):
        return (
            data.dataset(spec.input_kind, train, batch_size=batch_size, shuffle=True, seed=seed, slice_ids=on_device),
            data.dataset(spec.input_kind, validation, batch_size=batch_size, slice_ids=on_device),
        )

    def input_stage(strategy):
        return data.slice_inputs(spec.input_kind, strategy=strategy)

    hypermodel = SplitHeadHyperModel(
        spec.space,
        build_network,
        datasets,
        epochs=epochs,
        patience=patience,
        seed=seed,
        verbose=int(verbose >= 2),
        input_stage=input_stage if on_device else None,
    )
    fixed = spec.space.values(spec.quick_hparams) if quick else {}
    settings = {
        "corpus": data.corpus.spec,
        "corpus_sha256": data.corpus.sha256,
        "fold": fold.name,
        "protocol": data.protocol,
        "rating_source": data.view.source,
        "train_slices": len(train),
        "validation_slices": len(validation),
        "patience": patience,
    }
    return hypermodel, settings, fixed
