"""SHORT's network inputs (§2.3) gathered on the training device, inside the compiled train
and evaluation steps: the input path that keeps a GPU fed.

On a GPU the host pipeline (``window_dataset``) cannot keep up: Raw SubSeg on an H100 would
need about 2 M windows/s, and this toolkit's CPU pipeline streams about 60 k. Here the int16
corpus (for the LLD MLP: the float32 LLD matrices) is copied once onto the devices of the
model's distribution strategy, the tf.data stream carries only window ids ``(utterance, frame)``
(8 bytes per window instead of 16 kB of float32 samples), and the gather runs in the step, with
the very code of :meth:`~ser_keras.data.windows.CorpusTensor.windows` (25 frame rows,
z-normalised) or :meth:`~ser_keras.data.windows.ContextTensor.contexts` (± 12 LLD frames).

ELOR's 6 s slices take the same path through the split-head trainer's ``input_stage``
(``ElorData.slice_inputs`` cuts them from :func:`device_corpus` and gathers MFCC / IS10 rows from
:func:`device_copy` tables).

The gather is a training-time stage, not part of the paper's network: :func:`with_input_gather`
wraps the network as ``window ids -> WindowGather | ContextGather -> network``. The wrapper
trains with the unchanged SHORT recipe (``train_frame_classifier``) and shares every weight
with the network, which alone is saved (``.h5`` of built-in layers whose input is a normalised
window or an LLD context).
"""

import keras
import tensorflow as tf

from ser_keras.data.windows import (
    WINDOW,
    ContextTensor,
    CorpusTensor,
    corpus_tensor,
    window_id_dataset,
)
from ser_keras.training import execution
from ser_keras.training.fit import save_h5, train_frame_classifier

WINDOW_IDS = "window_ids"


def _on_devices(host, copy, strategy, cache, key="_device_tensors"):
    """``host`` where inputs stay on the host (no GPU or TPU: this process's
    :class:`~ser_keras.training.execution.Execution`), else ``copy(host, strategy)``, kept in
    ``cache`` (a dict, e.g. an object's ``__dict__``) under ``key`` so each strategy gets one copy."""
    if not execution.current().inputs_on_device:
        return host
    strategy = strategy or tf.distribute.get_strategy()
    copies = cache.setdefault(key, {})
    if strategy not in copies:
        copies[strategy] = copy(host, strategy)
    return copies[strategy]


def device_copy(host, strategy=None, *, cache):
    """A host ``tf.Variable`` (a lookup table: slice owners, MFCC matrices, ...) as the steps of
    ``strategy`` read it: itself without a GPU or TPU, otherwise one copy on the strategy's
    devices, made once per variable and strategy and kept in ``cache`` (a dict)."""
    name = host.name.split(":")[0]

    def copy(variable, strategy):
        with strategy.scope():
            return tf.Variable(variable, trainable=False, name=f"device_{name}")

    return _on_devices(host, copy, strategy, cache, key=f"_device_{name}")


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
                for name, table in (
                    ("row_starts", host.row_starts),
                    ("frames", host.frames),
                    ("offsets", host.offsets),
                    ("lengths", host.lengths),
                )
            )
        self.scale = host.scale


def device_corpus(store, strategy=None):
    """The corpus tensor the steps of ``strategy`` (default: the current one) cut windows from.

    Without a GPU or TPU the host :func:`~ser_keras.data.windows.corpus_tensor` already lives
    on the training device and is returned as is; otherwise a :class:`DeviceCorpus`, built
    once per store and strategy.
    """
    return _on_devices(corpus_tensor(store), DeviceCorpus, strategy, store.__dict__)


class DeviceContexts(ContextTensor):
    """A :class:`ContextTensor` copied onto the devices of ``strategy`` (as :class:`DeviceCorpus`):
    the same fields and ``contexts`` code, in variables created in the strategy's scope."""

    def __init__(self, host, strategy):  # the host tensor is built; nothing of its __init__ to rerun
        with strategy.scope():
            self.rows, self.offsets, self.counts = (
                tf.Variable(table, trainable=False, name=f"device_lld_{name}")
                for name, table in (("rows", host.rows), ("offsets", host.offsets), ("counts", host.counts))
            )


def device_contexts(host, strategy=None):
    """The context tensor the steps of ``strategy`` (default: the current one) gather from:
    ``host`` (a :class:`~ser_keras.data.windows.ContextTensor`) itself without a GPU or TPU,
    otherwise a :class:`DeviceContexts`, built once per host tensor and strategy."""
    return _on_devices(host, DeviceContexts, strategy, host.__dict__)


class _IdGather(keras.layers.Layer):
    """Window ids ``(B, 2)`` int32, ``[utterance, frame]`` → network inputs cut from a tensor on
    the device. A training-time stage: never saved. Subclasses name what they deliver, how
    they cut it and its shape."""

    #: What the layer outputs, for the refusal of :func:`with_input_gather`.
    delivers = ""

    def __init__(self, source, **kwargs):
        # float32 inputs also under a mixed-precision policy, as the host pipelines deliver them.
        super().__init__(dtype="float32", **kwargs)
        self.source = source

    def call(self, window_ids):
        return self.cut(window_ids[:, 0], window_ids[:, 1])


class WindowGather(_IdGather):
    """Window ids → z-normalised 250 ms windows ``(B, 4000)`` cut from ``corpus`` (a corpus tensor)."""

    delivers = "250 ms windows"

    def cut(self, owners, frames):
        return self.source.windows(owners, frames)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], WINDOW)


class ContextGather(_IdGather):
    """Window ids → ± 12-frame LLD contexts ``(B, 25, D)`` gathered from ``contexts`` (a context tensor)."""

    delivers = "± 12-frame LLD contexts"

    def cut(self, owners, frames):
        return self.source.contexts(owners, frames)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.source.context_shape)


def with_input_gather(model, gather):
    """``window ids -> gather -> model`` as one Keras model, built in the strategy of ``model``;
    ``gather`` (a :class:`WindowGather` or :class:`ContextGather`) holds no weight, so training
    the wrapper trains ``model``, whose input may leave axes open (``(None, None, D)``)."""
    expected, taken = tuple(gather.compute_output_shape((None, 2))), model.input_shape
    if not (
        isinstance(taken, tuple)
        and len(taken) == len(expected)
        and all(size in (None, wanted) for size, wanted in zip(taken, expected))
    ):
        raise ValueError(
            f"The 'model' parameter of with_input_gather must take {gather.delivers} of shape "
            f"{expected}. Got input shape {model.input_shape!r}."
        )
    with model.distribute_strategy.scope():
        window_ids = keras.Input(shape=(2,), dtype="int32", name=WINDOW_IDS)
        return keras.Model(window_ids, model(gather(window_ids)), name=f"{model.name}_on_window_ids")


def with_window_gather(model, corpus):
    """:func:`with_input_gather` of ``model`` (whose input is a 250 ms window) and
    ``WindowGather(corpus)``."""
    return with_input_gather(model, WindowGather(corpus, name="window_gather"))


def with_context_gather(model, contexts):
    """:func:`with_input_gather` of ``model`` (whose input is an LLD context) and a
    ``ContextGather`` of ``contexts`` (a host :class:`~ser_keras.data.windows.ContextTensor`),
    gathering from its copy on the devices of ``model``'s strategy."""
    return with_input_gather(
        model, ContextGather(device_contexts(contexts, model.distribute_strategy), name="context_gather")
    )


def train_frame_classifier_on_device(
    model, store, train_windows, validation_windows, targets, *, batch_size=256, seed=0, checkpoint_path=None, **recipe
):
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
