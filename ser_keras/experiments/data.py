"""A corpus prepared for one paper's protocol, with per-fold accessors: :class:`ShortData`
(SHORT §2.1–2.3: four-class labels, leave-one-session-out folds, 250 ms windows, openSMILE
LLD streams and functionals) and :class:`ElorData` (ELOR §3.1, §4: evaluator ratings, 6 s
slices, leave-one-speaker-out folds, MFCC / IS10 inputs).

Experiments (Table 1, Table 5), the analyses and the hyperparameter searches all take one of
these; none of them builds an experiment to get at its data. Preparing data trains nothing
and writes nothing except the feature cache.

Inputs are cut on the fly: raw windows and slices are gathered per batch from the
contiguous waveform store; LLD contexts from the per-utterance LLD matrices; MFCC matrices
(LoM) are computed per slice and held in memory; IS10 functionals (FTR) are extracted per
slice through the feature cache (namespace = corpus hash + "-slice6s").
"""

import functools

import numpy as np
import tensorflow as tf

from ser_keras.data.labels import categorical_view, dimensional_view
from ser_keras.data.protocols import default_protocol, make_folds
from ser_keras.data.windows import (
    SLICE,
    ContextTensor,
    batched_stream,
    context_dataset,
    corpus_tensor,
    frame_counts,
    frame_index,
    load_store,
    slice_dataset,
    slice_starts,
    window_dataset,
    window_id_dataset,
)
from ser_keras.experiments.reporting import row_seed
from ser_keras.features.cache import FeatureCache
from ser_keras.features.mfcc import mfcc
from ser_keras.features.opensmile_sets import FeatureSet, extract_signals, extract_utterance_sets
from ser_keras.models.elor import HEADS
from ser_keras.training.device_input import device_copy, device_corpus

LLD_SETS = {"compare": FeatureSet.ComParE_2016_LLD, "egemaps": FeatureSet.eGeMAPSv01b_LLD}
IS10_CHUNK = 512  # slices per extraction call: bounds the signals held in memory at once


def pick_fold(folds, name=None):
    """The fold called ``name`` (default: the first), with an error naming the choices."""
    if name is None:
        return folds[0]
    for fold in folds:
        if fold.name == name:
            return fold
    raise ValueError(f"Fold {name!r} not in this corpus; its folds are {[fold.name for fold in folds]}.")


class ShortData:
    """The corpus in SHORT's four-class (or ``labels``) view, its folds and input streams."""

    def __init__(
        self,
        corpus,
        *,
        labels="four_class",
        protocol=None,
        seed=0,
        validation_fraction=0.2,
        folds=None,
        workers=2,
        cache=None,
        verbose=1,
        wav2vec2=None,
    ):
        self.corpus, self.seed, self.workers, self.verbose = corpus, seed, workers, verbose
        self.cache = cache or FeatureCache()
        self.wav2vec2_path = wav2vec2
        view = categorical_view(corpus.utterances, labels)
        self.classes = view.classes
        self.store = load_store(view.utterances, workers=workers, progress=verbose > 0)
        self.utterances = [view.utterances[i] for i in self.store.kept]
        self.targets = np.asarray(view.targets, np.int64)[self.store.kept]
        self.dropped = view.dropped
        self.protocol = protocol or default_protocol(self.utterances)
        self.folds = make_folds(
            self.utterances,
            self.protocol,
            targets=self.targets,
            seed=seed,
            validation_fraction=validation_fraction,
            only=folds,
        )
        self._features = {}
        self._speakers = {u.id: u.speaker for u in self.utterances}

    @property
    def num_classes(self):
        return len(self.classes)

    def speaker_of(self, utterance_id):
        """The speaker of an utterance: the unit of every interval and paired test."""
        return self._speakers[utterance_id]

    def fold(self, name=None):
        return pick_fold(self.folds, name)

    def features(self, feature_set):
        """openSMILE features of every kept utterance, in utterance order (cached in HDF5)."""
        self.extract([feature_set])
        return self._features[feature_set]

    def extract(self, feature_sets):
        """Extract (or read from the cache) several openSMILE sets at once: each file is read
        once, and sets of one openSMILE config come from one run per utterance."""
        todo = [feature_set for feature_set in feature_sets if feature_set not in self._features]
        if todo:
            found = extract_utterance_sets(
                todo,
                self.utterances,
                cache=self.cache,
                cache_namespace=self.corpus.sha256,
                workers=self.workers,
                progress=self.verbose > 0,
            )
            for feature_set, by_id in found.items():
                self._features[feature_set] = [by_id[u.id] for u in self.utterances]

    def functionals(self):
        """``(utterances, 6373)`` ComParE functionals (SHORT §2.2)."""
        return np.stack(self.features(FeatureSet.ComParE_2016_functionals))

    def frame_features(self, source):
        """Per-utterance frame matrices of an LLD set ('compare', 'egemaps') or 'wav2vec2'."""
        if source == "wav2vec2":
            from ser_keras.features.wav2vec2 import load_wav2vec2, wav2vec2_frame_features

            if "wav2vec2" not in self._features:
                model = load_wav2vec2(self.wav2vec2_path)
                self._features["wav2vec2"] = [
                    wav2vec2_frame_features(model, self.store.signal(i)) for i in range(self.store.num_utterances)
                ]
            return self._features["wav2vec2"]
        return self.features(LLD_SETS[source])

    def window_stream(self, index, *, step, train, batch_size, window_ids=False):
        """250 ms raw windows of the utterances ``index`` (every ``step``-th frame):
        ``(dataset, owner utterance per window, steps per epoch)``. ``window_ids``: the
        stream carries ``(utterance, frame)`` ids instead, in the same order, for a model that
        cuts its windows on the device (``training.device_input``)."""
        owners, frames = frame_index(frame_counts(self.store.lengths), index, frame_step=step)
        cut = window_id_dataset if window_ids else functools.partial(window_dataset, self.store)
        data = cut(owners, frames, self.targets, batch_size=batch_size, shuffle=train, seed=self.seed, repeat=train)
        return data, owners, -(-len(owners) // batch_size)

    def context_tensor(self, source):
        """The LLD matrices of ``source`` as one :class:`~ser_keras.data.windows.ContextTensor`
        (made once): every host stream of LLD contexts reads it, and models that gather their
        contexts on the device take it."""
        key = f"{source}_contexts"
        if key not in self._features:
            self._features[key] = ContextTensor(self.frame_features(source))
        return self._features[key]

    def context_stream(self, source, index, *, step, train, batch_size, window_ids=False):
        """±12-frame LLD contexts of ``source`` (as :meth:`window_stream`; ``window_ids``: ids
        for a model that gathers the contexts of :meth:`context_tensor` itself)."""
        matrices = self.frame_features(source)
        owners, frames = frame_index([len(m) for m in matrices], index, frame_step=step)
        cut = window_id_dataset if window_ids else functools.partial(context_dataset, self.context_tensor(source))
        data = cut(owners, frames, self.targets, batch_size=batch_size, shuffle=train, seed=self.seed, repeat=train)
        return data, owners, -(-len(owners) // batch_size)


class ElorData:
    """The corpus rated by ``evaluator``, cut into 6 s slices, with its speaker folds and the
    inputs of the ELOR networks (raw slices, MFCC matrices, IS10 functionals)."""

    def __init__(
        self,
        corpus,
        *,
        evaluator="E2",
        protocol="leave-one-speaker-out",
        seed=0,
        validation_fraction=0.2,
        folds=None,
        workers=2,
        cache=None,
        verbose=1,
    ):
        self.corpus, self.seed, self.workers, self.verbose = corpus, seed, workers, verbose
        self.cache = cache or FeatureCache()
        view = dimensional_view(corpus.utterances, evaluator)
        if not view.utterances:
            raise ValueError(f"No utterance of {corpus.spec} has a {view.source} rating; ELOR needs valence/arousal.")
        self.view = view
        self.protocol = protocol
        self.store = load_store(view.utterances, workers=workers, progress=verbose > 0)
        self.utterances = [view.utterances[i] for i in self.store.kept]
        self.owners, self.starts = slice_starts(self.store.lengths)
        self.slice_ids = [f"{self.utterances[o].id}@{s // SLICE}" for o, s in zip(self.owners, self.starts)]
        self.targets = {head: np.asarray(view.targets(head), np.int64)[self.store.kept][self.owners] for head in HEADS}
        self.folds = make_folds(
            self.utterances, protocol, seed=seed, validation_fraction=validation_fraction, only=folds
        )
        self._features = {}
        self._speakers = {u.id: u.speaker for u in self.utterances}

    def fold(self, name=None):
        return pick_fold(self.folds, name)

    def speaker_of(self, slice_id):
        """The speaker of a 6 s slice (``utterance@index``) or of an utterance."""
        return self._speakers[slice_id.rsplit("@", 1)[0] if "@" in slice_id else slice_id]

    def fold_slices(self, fold, max_train_slices=None):
        """Slice indices ``(train, validation, test)`` of a fold (utterance folds expanded);
        ``max_train_slices`` keeps a seeded subsample of the training slices."""
        train, validation, test = (
            np.flatnonzero(np.isin(self.owners, part)) for part in (fold.train, fold.validation, fold.test)
        )
        if max_train_slices is not None and len(train) > max_train_slices:
            rng = np.random.default_rng(row_seed(self.seed, "train_subsample", fold.name))
            train = np.sort(rng.choice(train, size=max_train_slices, replace=False))
        return train, validation, test

    def _slice_signals(self, index):
        """Float slices of ``index`` in chunks of ``IS10_CHUNK`` (never all at once)."""
        for begin in range(0, len(index), IS10_CHUNK):
            chunk = index[begin : begin + IS10_CHUNK]
            batches = slice_dataset(self.store, self.owners[chunk], self.starts[chunk], batch_size=64)
            yield chunk, np.concatenate([batch.numpy() for batch in batches])

    def mfcc_features(self):
        """LoM input: ``(slices, 599, 26)`` float32 MFCCs, computed once per run."""
        if "mfcc" not in self._features:
            matrices = [
                mfcc(signal) for _, signals in self._slice_signals(np.arange(len(self.owners))) for signal in signals
            ]
            self._features["mfcc"] = np.stack(matrices).astype(np.float32)
        return self._features["mfcc"]

    def is10_features(self):
        """FTR input: ``(slices, 1582)`` IS10 functionals through the feature cache."""
        if "is10" not in self._features:
            feature_set, namespace = FeatureSet.IS10_functionals, f"{self.corpus.sha256}-slice6s"
            held = self.cache.contains(namespace, feature_set.cache_key)
            missing = np.array([i for i, key in enumerate(self.slice_ids) if key not in held], np.int64)
            for chunk, signals in self._slice_signals(missing):
                extract_signals(
                    feature_set,
                    {self.slice_ids[i]: s for i, s in zip(chunk, signals)},
                    cache=self.cache,
                    cache_namespace=namespace,
                    workers=self.workers,
                    progress=self.verbose > 0,
                )
            found = self.cache.get(namespace, feature_set.cache_key, self.slice_ids)
            self._features["is10"] = np.stack([found[key] for key in self.slice_ids]).astype(np.float32)
        return self._features["is10"]

    def functional_statistics(self, train):
        """Mean and variance of the IS10 functionals of the training slices ``train`` (the
        FTR input standardisation, fitted on training data only)."""
        functionals = self.is10_features()[train].astype(np.float64)
        return functionals.mean(axis=0), functionals.var(axis=0)

    def _held(self, name, array):
        """``array`` as a host variable, made once (held for every stream and fold)."""
        if f"{name}_tensor" not in self._features:
            with tf.device("/CPU:0"):
                self._features[f"{name}_tensor"] = tf.Variable(array, trainable=False, name=name)
        return self._features[f"{name}_tensor"]

    def slice_inputs(self, input_kind, *, strategy=None):
        """A function batch of slice indices → the input of a network of ``input_kind`` (raw 6 s
        slices, MFCC matrices, IS10 functionals, or the pair for ``raw+is10``).

        Without ``strategy`` it cuts from host tensors, as the map of :meth:`dataset` does; with
        one it cuts from their copies on that strategy's devices (``training.device_input``;
        on a machine without GPU or TPU the host tensors themselves), for a trainer that runs
        it inside its compiled steps on a stream of slice indices (``dataset(slice_ids=True)``).
        """
        place = functools.partial(device_copy, strategy=strategy, cache=self._features) if strategy else (lambda v: v)
        owners, starts = (
            place(self._held(name, table))
            for name, table in (("slice_owners", self.owners.astype(np.int64)), ("slice_starts", self.starts))
        )
        # The store's one corpus variable (shared with slice_dataset), made eagerly: a
        # variable cannot be created while tf.data traces the map function.
        corpus = None
        if "raw" in input_kind:
            corpus = device_corpus(self.store, strategy) if strategy else corpus_tensor(self.store)

        def waveforms(index):
            return corpus.slices(tf.gather(owners, index), tf.gather(starts, index))

        if input_kind == "raw":
            return waveforms
        if input_kind == "mfcc":
            matrices = place(self._held("mfcc", self.mfcc_features()))
            return lambda index: tf.gather(matrices, index)
        functionals = place(self._held("is10", self.is10_features()))
        if input_kind == "is10":
            return lambda index: tf.gather(functionals, index)
        return lambda index: (waveforms(index), tf.gather(functionals, index))

    def dataset(self, input_kind, index, *, batch_size, shuffle=False, seed=0, slice_ids=False):
        """``(inputs, {"valence", "arousal"})`` batches of the slices ``index``; ``input_kind``
        is a network's (``raw``, ``mfcc``, ``is10`` or ``raw+is10``).

        Shuffling permutes slice indices only (reshuffled every epoch), so raw slices are
        still cut per batch. ``slice_ids``: the stream carries the slice indices ``(B,)``
        instead of inputs, in the same order, for a trainer that cuts them on the device with
        :meth:`slice_inputs`.
        """
        inputs = tf.identity if slice_ids else self.slice_inputs(input_kind)
        labels = {head: tf.constant(self.targets[head], tf.int32) for head in HEADS}
        order = tf.data.Dataset.from_tensor_slices(np.asarray(index, np.int64))
        if shuffle:
            order = order.shuffle(len(index), seed=seed, reshuffle_each_iteration=True)

        @tf.autograph.experimental.do_not_convert  # plain TF ops; AutoGraph cannot read closures
        def cut(batch):
            return inputs(batch), {head: tf.gather(labels[head], batch) for head in HEADS}

        return batched_stream(order, batch_size, cut)
