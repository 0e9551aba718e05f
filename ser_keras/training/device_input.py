"""SHORT's 250 ms windows (§2.3) cut on the training device, inside the compiled train and
evaluation steps: the GPU-ready input path of issue 16.1.

On a GPU the host pipeline (``window_dataset``) cannot keep up: Raw SubSeg on an H100 would
need about 2 M windows/s, and this toolkit's CPU pipeline streams about 60 k. Here the int16
corpus is copied once onto the devices of the model's distribution strategy, the tf.data
stream carries only window ids ``(utterance, frame)`` (8 bytes per window instead of 16 kB of
float32 samples), and the gather of the 25 frame rows and the per-window z-normalisation run
in the step, with the very code of :meth:`~ser_keras.data.windows.CorpusTensor.windows`.

The gather is a training-time stage, not part of the paper's network: :func:`with_window_gather`
wraps the network as ``window ids -> WindowGather -> network``. The wrapper trains with the
unchanged SHORT recipe (``train_frame_classifier``) and shares every weight with the network,
which alone is saved (``.h5`` of built-in layers whose input is a normalised window).
"""

import keras
import numpy as np
import tensorflow as tf

from ser_keras.data.windows import WINDOW, CorpusTensor, corpus_tensor, index_order
from ser_keras.training.fit import save_h5, train_frame_classifier

WINDOW_IDS = "window_ids"


def _accelerators_visible():
    return bool(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))


class DeviceCorpus(CorpusTensor):
    """A store's :class:`CorpusTensor` copied onto the devices of ``strategy``.

    The fields, and so the ``windows`` / ``slices`` code, are those of the host corpus tensor;
    only their placement differs: variables created in the strategy's scope (on one GPU its
    memory; under a multi-device strategy one mirrored copy per replica). They are copied from
    the host variable, so building them holds no further copy of the audio in host memory and
    needs no int16 scatter kernel on the device.
    """

    def __init__(self, host, strategy):  # the host tensor is built; nothing of its __init__ to rerun
        with strategy.scope():
            self.rows = tf.Variable(host.rows, trainable=False, name="device_corpus_frames")
            self.row_starts, self.frames, self.offsets, self.lengths = (
                tf.Variable(table, trainable=False, name=f"device_corpus_{name}")
                for name, table in (("row_starts", host.row_starts), ("frames", host.frames),
                                    ("offsets", host.offsets), ("lengths", host.lengths)))
        self.scale = host.scale


def device_corpus(store, strategy=None):
    """The corpus tensor the steps of ``strategy`` (default: the current one) cut windows from.

    Without a GPU or TPU the host :func:`~ser_keras.data.windows.corpus_tensor` already lives
    on the training device and is returned as is; otherwise a :class:`DeviceCorpus`, built
    once per store and strategy.
    """
    host = corpus_tensor(store)
    if not _accelerators_visible():
        return host
    strategy = strategy or tf.distribute.get_strategy()
    copies = store.__dict__.setdefault("_device_tensors", {})
    if strategy not in copies:
        copies[strategy] = DeviceCorpus(host, strategy)
    return copies[strategy]


class WindowGather(keras.layers.Layer):
    """Window ids ``(B, 2)`` int32, ``[utterance, frame]`` → z-normalised 250 ms windows
    ``(B, 4000)`` cut from ``corpus`` (a corpus tensor). A training-time stage: never saved.
    """

    def __init__(self, corpus, **kwargs):
        # float32 windows also under a mixed-precision policy, as the host pipeline delivers them.
        super().__init__(dtype="float32", **kwargs)
        self.corpus = corpus

    def call(self, window_ids):
        return self.corpus.windows(window_ids[:, 0], window_ids[:, 1])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], WINDOW)


def with_window_gather(model, corpus):
    """``window ids -> WindowGather(corpus) -> model`` as one Keras model, built in the
    strategy of ``model``; it holds no weight of its own, so training it trains ``model``."""
    if tuple(model.input_shape) != (None, WINDOW):
        raise ValueError(f"The 'model' parameter of with_window_gather must take 250 ms windows of shape "
                         f"(None, {WINDOW}). Got input shape {model.input_shape!r}.")
    with model.distribute_strategy.scope():
        window_ids = keras.Input(shape=(2,), dtype="int32", name=WINDOW_IDS)
        outputs = model(WindowGather(corpus, name="window_gather")(window_ids))
        return keras.Model(window_ids, outputs, name=f"{model.name}_on_window_ids")


def window_id_dataset(owners, frames, targets=None, *, batch_size=256, shuffle=False, seed=0, repeat=False):
    """Batches of window ids ``(B, 2)`` int32, ``[utterance, frame]`` (with targets if given).

    The stream of :func:`~ser_keras.data.windows.window_dataset` for the same arguments, in the
    same order, with ids where it has windows.
    """
    if len(owners) == 0:
        raise ValueError("No windows to stream: the selection holds no utterances.")
    window_ids = tf.constant(np.stack([owners, frames], axis=1), tf.int32)
    targets_t = None if targets is None else tf.constant(np.asarray(targets), tf.int32)

    @tf.autograph.experimental.do_not_convert  # plain TF ops; AutoGraph cannot read closures
    def look_up(index):
        batch = tf.gather(window_ids, index)
        return batch if targets_t is None else (batch, tf.gather(targets_t, batch[:, 0]))

    order = index_order(len(owners), shuffle, seed, repeat)
    return order.batch(batch_size).map(look_up, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def train_frame_classifier_on_device(model, store, train_windows, validation_windows, targets, *, batch_size=256,
                                     seed=0, checkpoint_path=None, **recipe):
    """SHORT's recipe (:func:`~ser_keras.training.fit.train_frame_classifier`, unchanged) with
    the windows cut on the training device.

    ``train_windows`` / ``validation_windows``: ``(owners, frames)`` from ``frame_index``;
    ``targets`` are indexed by store utterance. The training ids are shuffled with ``seed``
    and repeat (``steps_per_epoch`` defaults to one pass), the validation ids stream in
    order: the streams ``ShortData.window_stream`` builds for the host path. The best-validation
    weights end up in ``model``, which ``checkpoint_path`` (``.h5``) receives alone.
    ``recipe``: any other keyword of ``train_frame_classifier``. Returns its summary.
    """
    if checkpoint_path is not None and not str(checkpoint_path).endswith(".h5"):
        raise ValueError(f"`checkpoint_path` must end in '.h5'. Got {str(checkpoint_path)!r}.")
    corpus = device_corpus(store, model.distribute_strategy)
    train = window_id_dataset(*train_windows, targets, batch_size=batch_size, shuffle=True, seed=seed, repeat=True)
    validation = window_id_dataset(*validation_windows, targets, batch_size=batch_size)
    recipe.setdefault("steps_per_epoch", -(-len(train_windows[0]) // batch_size))
    summary = train_frame_classifier(with_window_gather(model, corpus), train, validation, **recipe)
    if checkpoint_path is not None:
        save_h5(model, checkpoint_path)
    return summary
