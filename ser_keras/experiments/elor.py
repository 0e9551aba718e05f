"""ELOR Table 5 experiment (§3–4): slices, folds, inputs and per-fold training of ELoR, LoM,
FTR and ELoR+FTR with E-2 valence/arousal heads.

Protocol (ELOR §3.1, §4): every utterance rated by the evaluator (E-2) is cut into 6 s
slices with the > 3 s last-slice rule; each slice keeps its utterance's valence and arousal
class (rating 1–5 → 0–4). Folds are leave-one-speaker-out over utterances, then expanded to
their slices; the validation set is a random 20 % of the training speakers' utterances.
Every network is trained with alternating split-head updates (``SplitHeadTrainer``), early
stopping on the validation loss. Scoring the pooled test predictions into Table 5 is
:mod:`ser_keras.experiments.elor_table5`.

Inputs are cut on the fly: raw slices are gathered per batch from the contiguous waveform
store; MFCC matrices (LoM) are computed per slice and held in memory; IS10 functionals (FTR)
are extracted per slice through the feature cache (namespace = corpus hash + "-slice6s").

Hyperparameter file (``--hparams``; written by the tuning scripts): JSON, either one network
``{"network": "elor", "hparams": {<ElorConfig fields>}}`` or several keyed by network
``{"elor": {...}, "lom": {...}, "ftr": {...}, "elor_ftr": {...}}``; network names are our ids
or the paper's (``ELoR+FTR``). Fields missing from an entry keep the config defaults (the
centre of the paper's search space). ELoR+FTR without an entry of its own takes ELoR's
values (paper: ELoR+FTR combines the tuned ELoR and FTR values; the trunk is ELoR's).
"""

import dataclasses
import logging

import keras
import numpy as np
import tensorflow as tf

from ser_keras.data.labels import DIMENSION_CLASSES, dimensional_view
from ser_keras.data.protocols import PROTOCOLS, make_folds
from ser_keras.data.windows import SLICE, corpus_tensor, load_store, slice_dataset, slice_starts
from ser_keras.experiments.reporting import row_seed
from ser_keras.features.cache import FeatureCache
from ser_keras.features.mfcc import mfcc
from ser_keras.features.opensmile_sets import FeatureSet, extract_signals
from ser_keras.io import read_json, write_json
from ser_keras.metrics import unweighted_average_recall, weighted_average_recall
from ser_keras.models.elor import (ElorConfig, ElorFtrConfig, FtrConfig, LomConfig, build_elor, build_elor_ftr,
                                   build_ftr, build_lom)
from ser_keras.training.fit import save_h5
from ser_keras.training.split_heads import SplitHeadTrainer

logger = logging.getLogger(__name__)

NETWORKS = ("elor", "lom", "ftr", "elor_ftr")
PAPER_NAMES = {"elor": "ELoR", "lom": "LoM", "ftr": "FTR", "elor_ftr": "ELoR+FTR"}
CONFIGS = {"elor": ElorConfig, "lom": LomConfig, "ftr": FtrConfig, "elor_ftr": ElorFtrConfig}
TABLE_DIMENSIONS = ("arousal", "valence")
RATING_LABELS = tuple(str(rating) for rating in range(1, DIMENSION_CLASSES + 1))
# Small networks for --quick smoke runs only (said in the output): the paper-centre ELoR
# needs about 7 GFLOP per slice forward, hours per fold on 2 CPU cores.
QUICK_HPARAMS = {
    "elor": {"conv_filters": (8, 8, 8), "conv_kernel_sizes": (10, 10, 10), "pool_sizes": (10, 10, 10),
             "head_units": (32, 32)},
    "lom": {"conv_filters": (8, 8, 8), "head_units": (32, 32)},
    "ftr": {"head_units": (32, 32)},
    "elor_ftr": {"conv_filters": (8, 8, 8), "conv_kernel_sizes": (10, 10, 10), "pool_sizes": (10, 10, 10),
                 "head_units": (32, 32)},
}
IS10_CHUNK = 512  # slices per extraction call: bounds the signals held in memory at once


@dataclasses.dataclass(frozen=True)
class ElorExperimentConfig:
    """Everything that decides a Table-5 run; written to ``config.json``.

    ``hparams`` maps network → config fields (see the module docstring); ``batch_size``
    None uses each network config's own; ``max_train_slices`` keeps a seeded subsample of
    each fold's training slices (``--quick`` only; None = all).
    """

    seed: int = 0
    quick: bool = False
    networks: tuple = NETWORKS
    protocol: str = "leave-one-speaker-out"
    folds: tuple | None = None
    validation_fraction: float = 0.2
    evaluator: str | None = "E2"
    epochs: int = 100
    patience: int = 10
    batch_size: int | None = None
    max_train_slices: int | None = None
    hparams: dict = dataclasses.field(default_factory=dict)
    workers: int = 2
    n_bootstrap: int = 1000
    verbose: int = 1

    def __post_init__(self):
        unknown = [n for n in self.networks if n not in NETWORKS]
        if unknown or not self.networks:
            raise ValueError(f"Unknown network(s) {unknown or self.networks!r}; choose from {', '.join(NETWORKS)}.")
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"The 'protocol' must be one of {PROTOCOLS}. Got {self.protocol!r}.")
        for name in ("epochs", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"The {name!r} must be >= 1. Got {getattr(self, name)!r}.")

    def network_config(self, network):
        """The network's config: defaults overridden by ``hparams[network]``."""
        return CONFIGS[network].from_dict(dict(self.hparams.get(network, {})))


def budget(corpus_kind, *, quick):
    """Overrides of :class:`ElorExperimentConfig` for the corpus and the ``--quick`` flag.

    ``--quick``: all folds, small networks, 3 epochs, 64 training slices per fold — a CPU
    smoke test (a few minutes on the embedded corpus). Otherwise the paper-centre networks
    with early stopping (100 epochs, patience 10; the embedded corpus: 30 and 5), which
    needs a GPU for the raw-waveform networks.
    """
    if quick:
        return {"quick": True, "epochs": 3, "patience": 2, "max_train_slices": 64, "hparams": QUICK_HPARAMS,
                "n_bootstrap": 200}
    if corpus_kind == "synthetic":
        return {"epochs": 30, "patience": 5}
    return {}


def network_id(name):
    """Our id for a network named by id or by the paper (``'ELoR+FTR'`` → ``'elor_ftr'``)."""
    by_paper = {paper.lower(): network for network, paper in PAPER_NAMES.items()}
    key = str(name).strip().lower()
    if key in NETWORKS or key in by_paper:
        return by_paper.get(key, key)
    raise ValueError(f"Unknown network {name!r}; use one of {', '.join(NETWORKS)} "
                     f"(or {', '.join(PAPER_NAMES.values())}).")


def load_hparams(path):
    """``{network: {field: value}}`` from a hyperparameter JSON file (module docstring)."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(data).__name__}.")
    if "network" in data:
        if not isinstance(data.get("hparams"), dict):
            raise ValueError(f"{path}: a one-network file needs an object under 'hparams'.")
        data = {data["network"]: data["hparams"]}
    hparams = {}
    for name, values in data.items():
        network = network_id(name)
        if not isinstance(values, dict):
            raise ValueError(f"{path}: hyperparameters of {name!r} must be an object, got {values!r}.")
        CONFIGS[network].from_dict(values)  # unknown or invalid fields fail here, naming the file's values
        hparams[network] = values
    return hparams


def merge_hparams(base, overrides):
    """``base`` entries updated field by field with ``overrides``; ELoR+FTR inherits ELoR's."""
    merged = {network: dict(base.get(network, {})) for network in NETWORKS}
    for network, values in overrides.items():
        merged[network].update(values)
    if "elor" in overrides and "elor_ftr" not in overrides:
        merged["elor_ftr"].update(overrides["elor"])
    return {network: values for network, values in merged.items() if values}


class ElorExperiment:
    """Slices, folds, inputs and the per-(network, fold) training of ELOR Table 5."""

    def __init__(self, corpus, config, record, *, cache=None):
        self.corpus, self.config, self.record = corpus, config, record
        self.cache = cache or FeatureCache()
        view = dimensional_view(corpus.utterances, config.evaluator)
        if not view.utterances:
            raise ValueError(f"No utterance of {corpus.spec} has a {view.source} rating; ELOR needs valence/arousal.")
        self.view = view
        self.store = load_store(view.utterances, workers=config.workers, progress=config.verbose > 0)
        self.utterances = [view.utterances[i] for i in self.store.kept]
        self.owners, self.starts = slice_starts(self.store.lengths)
        self.slice_ids = [f"{self.utterances[o].id}@{s // SLICE}" for o, s in zip(self.owners, self.starts)]
        self.targets = {d: np.asarray(view.targets(d), np.int64)[self.store.kept][self.owners]
                        for d in TABLE_DIMENSIONS}
        self.folds = make_folds(self.utterances, config.protocol, seed=config.seed,
                                validation_fraction=config.validation_fraction, only=config.folds)
        self._features = {}

    # -- slices and inputs ----------------------------------------------------------
    def fold_slices(self, fold):
        """Slice indices ``(train, validation, test)`` of a fold (utterance folds expanded)."""
        train, validation, test = (np.flatnonzero(np.isin(self.owners, part))
                                   for part in (fold.train, fold.validation, fold.test))
        limit = self.config.max_train_slices
        if limit is not None and len(train) > limit:
            rng = np.random.default_rng(row_seed(self.config.seed, "train_subsample", fold.name))
            train = np.sort(rng.choice(train, size=limit, replace=False))
        return train, validation, test

    def _slice_signals(self, index):
        """Float slices of ``index`` in chunks of ``IS10_CHUNK`` (never all at once)."""
        for begin in range(0, len(index), IS10_CHUNK):
            chunk = index[begin:begin + IS10_CHUNK]
            batches = slice_dataset(self.store, self.owners[chunk], self.starts[chunk], batch_size=64)
            yield chunk, np.concatenate([batch.numpy() for batch in batches])

    def mfcc_features(self):
        """LoM input: ``(slices, 599, 26)`` float32 MFCCs, computed once per run."""
        if "mfcc" not in self._features:
            matrices = [mfcc(signal) for _, signals in self._slice_signals(np.arange(len(self.owners)))
                        for signal in signals]
            self._features["mfcc"] = np.stack(matrices).astype(np.float32)
        return self._features["mfcc"]

    def is10_features(self):
        """FTR input: ``(slices, 1582)`` IS10 functionals through the feature cache."""
        if "is10" not in self._features:
            feature_set, namespace = FeatureSet.IS10_functionals, f"{self.corpus.sha256}-slice6s"
            held = self.cache.contains(namespace, feature_set.cache_key)
            missing = np.array([i for i, key in enumerate(self.slice_ids) if key not in held], np.int64)
            for chunk, signals in self._slice_signals(missing):
                extract_signals(feature_set, {self.slice_ids[i]: s for i, s in zip(chunk, signals)},
                                cache=self.cache, cache_namespace=namespace, workers=self.config.workers,
                                progress=self.config.verbose > 0)
            found = self.cache.get(namespace, feature_set.cache_key, self.slice_ids)
            self._features["is10"] = np.stack([found[key] for key in self.slice_ids]).astype(np.float32)
        return self._features["is10"]

    def _inputs(self, network):
        """A function batch-of-slice-indices → network input, with its data held as tensors."""
        # The store's one corpus variable (shared with slice_dataset), made eagerly: a
        # variable cannot be created while tf.data traces the map function.
        corpus = corpus_tensor(self.store) if network in ("elor", "elor_ftr") else None
        owners, starts = tf.constant(self.owners, tf.int64), tf.constant(self.starts, tf.int64)

        def waveforms(index):
            return corpus.slices(tf.gather(owners, index), tf.gather(starts, index))

        def held(name, array):
            if f"{name}_tensor" not in self._features:
                with tf.device("/CPU:0"):
                    self._features[f"{name}_tensor"] = tf.Variable(array, trainable=False, name=name)
            return self._features[f"{name}_tensor"]

        if network == "elor":
            return waveforms
        if network == "lom":
            matrices = held("mfcc", self.mfcc_features())
            return lambda index: tf.gather(matrices, index)
        functionals = held("is10", self.is10_features())
        if network == "ftr":
            return lambda index: tf.gather(functionals, index)
        return lambda index: (waveforms(index), tf.gather(functionals, index))

    def dataset(self, network, index, *, batch_size, shuffle=False, seed=0):
        """``(inputs, {"valence", "arousal"})`` batches of the slices ``index``.

        Shuffling permutes slice indices only (reshuffled every epoch), so raw slices are
        still cut per batch.
        """
        inputs = self._inputs(network)
        labels = {d: tf.constant(self.targets[d], tf.int32) for d in TABLE_DIMENSIONS}
        order = tf.data.Dataset.from_tensor_slices(np.asarray(index, np.int64))
        if shuffle:
            order = order.shuffle(len(index), seed=seed, reshuffle_each_iteration=True)

        @tf.autograph.experimental.do_not_convert  # plain TF ops; AutoGraph cannot read closures
        def cut(batch):
            return inputs(batch), {d: tf.gather(labels[d], batch) for d in TABLE_DIMENSIONS}

        return order.batch(batch_size).map(cut, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    # -- training ---------------------------------------------------------------------
    def _builder(self, network, net_config, train):
        if network in ("elor", "lom"):
            return lambda: (build_elor if network == "elor" else build_lom)(net_config)
        train_functionals = self.is10_features()[train].astype(np.float64)
        mean, variance = train_functionals.mean(axis=0), train_functionals.var(axis=0)
        builder = build_ftr if network == "ftr" else build_elor_ftr
        return lambda: builder(net_config, functional_mean=mean, functional_variance=variance)

    def run_fold(self, network, fold):
        """Train one network on one fold, save its .h5 + sidecar, return the fold part."""
        config, seed = self.config, row_seed(self.config.seed, network, fold.name)
        net_config = config.network_config(network)
        batch_size = config.batch_size or net_config.batch_size
        train, validation, test = self.fold_slices(fold)
        keras.utils.set_random_seed(seed)
        trainer = SplitHeadTrainer(self._builder(network, net_config, train), learning_rate=net_config.learning_rate,
                                   momentum=net_config.momentum, seed=seed)
        checkpoint = self.record.out / "checkpoints" / f"{network}_{fold.name}.npz"
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        validation_data = self.dataset(network, validation, batch_size=batch_size) if len(validation) else None
        history = trainer.fit(self.dataset(network, train, batch_size=batch_size, shuffle=True, seed=seed),
                              validation_data, epochs=config.epochs, patience=config.patience,
                              checkpoint_path=checkpoint, verbose=int(config.verbose >= 2))
        probabilities = trainer.predict(self.dataset(network, test, batch_size=batch_size))
        part = {"ids": [self.slice_ids[i] for i in test], "best_epoch": trainer.best_epoch,
                "epochs_run": len(history.get("loss_arousal", [])),
                "slices": {"train": len(train), "validation": len(validation), "test": len(test)}}
        scores = {}
        for dimension in TABLE_DIMENSIONS:
            targets, predicted = self.targets[dimension][test], probabilities[dimension].argmax(axis=1)
            part[dimension] = {"targets": targets.tolist(), "predictions": predicted.tolist(),
                               "probabilities": probabilities[dimension].tolist()}
            scores[dimension] = {"WAR": 100 * weighted_average_recall(targets, predicted),
                                 "UAR": 100 * unweighted_average_recall(targets, predicted, DIMENSION_CLASSES)}
        path = self.record.out / "models" / f"{network}_{fold.name}.h5"
        save_h5(trainer.model, path)
        part["model"] = path.name
        write_json(path.with_suffix(".json"), {
            "network": network, "paper_name": PAPER_NAMES[network], "fold": fold.name,
            "test_speakers": sorted({self.utterances[i].speaker for i in fold.test}),
            "labels": {d: list(RATING_LABELS) for d in TABLE_DIMENSIONS},
            "label_meaning": f"class k = {self.view.source} rating k+1",
            "inputs": [list(shape[1:]) for shape in _input_shapes(trainer.model)],
            "hparams": net_config.to_dict(), "config": dataclasses.asdict(config),
            "metrics": {"test": scores, "best_epoch": trainer.best_epoch,
                        "best_validation_loss": min(history["val_loss"]) if "val_loss" in history else None},
            "slices": part["slices"], "history": history})
        logger.info("%s %s: arousal WAR %.1f UAR %.1f, valence WAR %.1f UAR %.1f (best epoch %s)", network,
                    fold.name, scores["arousal"]["WAR"], scores["arousal"]["UAR"], scores["valence"]["WAR"],
                    scores["valence"]["UAR"], trainer.best_epoch)
        checkpoint.unlink(missing_ok=True)
        if not any(checkpoint.parent.iterdir()):
            checkpoint.parent.rmdir()
        return part

    def majority_parts(self):
        """Per dimension: each fold's test slices predicted as its training pool's majority class."""
        parts = {d: {} for d in TABLE_DIMENSIONS}
        for fold in self.folds:
            pool = np.flatnonzero(np.isin(self.owners, np.concatenate([fold.train, fold.validation])))
            test = np.flatnonzero(np.isin(self.owners, fold.test))
            for dimension in TABLE_DIMENSIONS:
                majority = int(np.bincount(self.targets[dimension][pool], minlength=DIMENSION_CLASSES).argmax())
                parts[dimension][fold.name] = {"ids": [self.slice_ids[i] for i in test], "majority": majority,
                                               "targets": self.targets[dimension][test].tolist(),
                                               "predictions": [majority] * len(test)}
        return parts


def _input_shapes(model):
    shapes = model.input_shape
    return shapes if isinstance(shapes, list) else [shapes]
