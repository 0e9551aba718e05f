"""Where a training step spends its time (the elementwise tax): TF profiler traces
of a few steps of SHORT's Raw SubSeg recipe (§2.3) and of ELOR's split-head ELoR step, TF ops
ranked by self time, and the variants timed against the published network that keep its maths.

Not a paper section. The trace covers the training steps of one epoch after a tracing epoch,
validation excluded. On a CPU each TF op runs on an inter-op thread and spreads its work over
the intra-op pool, so an op's event on its inter-op thread is its wall time; self time takes
off the ops nested in it (function calls). Op names carry the Keras layer (``conv1``,
``gradient_tape/.../conv1``, ``SGD``), so the time is also given per part of the network.
"""

import collections
import glob
import os
import re

# "StatefulPartitionedCall/raw_subseg_1/conv1_1/convolution:_FusedConv2D" → name, type.
_OP_EVENT = re.compile(r"^(?P<name>[^:]+):(?P<type>[A-Za-z0-9_]+)$")
_LAYER_COPY = re.compile(r"_\d+$")
# Scopes of function calls and of the control flow around them ("while/body/_1/while/cond/then/_175").
_CALL_WRAPPERS = ("StatefulPartitionedCall", "gradient_tape", "while", "body", "cond", "then", "else")
_LOOP_COUNTER = re.compile(r"^(_\d*)?$")  # "_175", or "" once _LAYER_COPY has stripped it

# Op types by what they do (oneDNN's ``_MklNative``/``_Mkl`` prefixes dropped); any other is "other".
OP_KINDS = {
    "weighted layers": (
        "Conv2D",
        "FusedConv2D",
        "Conv2DBackpropFilter",
        "Conv2DBackpropInput",
        "Conv2DBackpropFilterWithBias",
        "MatMul",
        "FusedMatMul",
        "BatchMatMulV2",
    ),
    "bias": ("BiasAdd", "BiasAddGrad"),
    "relu": ("Relu", "ReluGrad"),
    "max-pooling": ("MaxPool", "MaxPoolGrad", "MaxPoolV2", "MaxPoolGradV2"),
    "reshape / layout": ("ExpandDims", "Squeeze", "Reshape", "Transpose", "ToTf"),
    "optimizer": (
        "ResourceApplyKerasMomentum",
        "ResourceApplyMomentum",
        "AssignVariableOp",
        "AssignSubVariableOp",
        "AssignAddVariableOp",
        "ReadVariableOp",
    ),
    "softmax / loss": ("Softmax", "Log", "SparseSoftmaxCrossEntropyWithLogits", "Neg", "Sum", "Mean", "ArgMax"),
    "input": ("IteratorGetNext", "IteratorGetNextAsOptional", "OptionalGetValue", "OptionalHasValue"),
}
_KIND_OF = {op_type: kind for kind, op_types in OP_KINDS.items() for op_type in op_types}
_ONEDNN_PREFIX = re.compile(r"^_(MklNative|Mkl)?")


def op_kind(op_type, part=None):
    """What an op does: ``"optimizer"`` for any op of an SGD update (``part`` ``"sgd"``,
    ``"sgd_valence"``), ``"batch normalization"`` for any op of a BatchNormalization layer
    (ELoR's ``conv1_batchnorm``: moments, normalisation and their gradients), else a key of
    :data:`OP_KINDS` or ``"other"``."""
    if part is not None and part.lower().startswith("sgd"):
        return "optimizer"
    if part is not None and part.endswith("batchnorm"):
        return "batch normalization"
    return _KIND_OF.get(_ONEDNN_PREFIX.sub("", op_type), "other")


def trace_frame_training(model, train, validation, *, steps, logdir):
    """Train ``model`` with ``train_frame_classifier`` for two epochs of ``steps`` steps and
    trace the second one's training steps into ``logdir``.

    Returns ``(path of the .xplane.pb trace, wall seconds of the traced steps)``.
    """
    import time

    import keras
    import tensorflow as tf

    from ser_keras.training.fit import train_frame_classifier

    class TraceSecondEpoch(keras.callbacks.Callback):
        """The profiler runs from the second epoch's start to its validation."""

        def __init__(self):
            super().__init__()
            self.started = self.seconds = None

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                tf.profiler.experimental.start(str(logdir))
                self.started = time.perf_counter()

        def on_test_begin(self, logs=None):
            if self.started is not None and self.seconds is None:
                self.seconds = time.perf_counter() - self.started
                tf.profiler.experimental.stop()

    tracer = TraceSecondEpoch()
    train_frame_classifier(
        model, train, validation.take(1), steps_per_epoch=steps, max_epochs=2, verbose=0, callbacks=[tracer]
    )
    return _latest_trace(logdir), tracer.seconds


def trace_split_head_training(trainer, x, labels, *, steps, logdir):
    """Run ``steps`` ELOR split-head training steps of ``trainer`` on one batch ``(x, labels)``
    after an untraced step (which traces both head updates), tracing them into ``logdir``.

    Returns ``(path of the .xplane.pb trace, wall seconds of the traced steps)``.
    """
    import time

    import tensorflow as tf

    trainer.train_step(x, labels)
    tf.profiler.experimental.start(str(logdir))
    started = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(x, labels)
    seconds = time.perf_counter() - started
    tf.profiler.experimental.stop()
    return _latest_trace(logdir), seconds


def _latest_trace(logdir):
    traces = sorted(glob.glob(os.path.join(str(logdir), "**", "*.xplane.pb"), recursive=True), key=os.path.getmtime)
    if not traces:
        raise RuntimeError(f"The profiler wrote no .xplane.pb under {logdir}.")
    return traces[-1]


def op_self_times(xplane_path):
    """``[(op name, op type, self seconds)]`` of every TF op event in a profiler trace."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    with open(xplane_path, "rb") as handle:
        space.ParseFromString(handle.read())
    times = []
    for plane in space.planes:
        for line in plane.lines:
            ops = []
            for event in line.events:
                match = _OP_EVENT.match(plane.event_metadata[event.metadata_id].name)
                if match:
                    ops.append((event.offset_ps, event.offset_ps + event.duration_ps, match["name"], match["type"]))
            times += _self_times(sorted(ops, key=lambda op: (op[0], -op[1])))
    return times


def _self_times(ops):
    """Self seconds of ``(start, end, name, type)`` events of one thread, sorted by start:
    each op's duration less that of the ops nested directly inside it."""
    result, open_ops = [], []  # open_ops: [end, name, type, duration, nested duration]

    def close(op):
        result.append((op[1], op[2], (op[3] - op[4]) * 1e-12))

    for start, end, name, op_type in ops:
        while open_ops and open_ops[-1][0] <= start:
            close(open_ops.pop())
        if open_ops:
            open_ops[-1][4] += end - start
        open_ops.append([end, name, op_type, end - start, 0])
    while open_ops:
        close(open_ops.pop())
    return result


def network_part(op_name, layer_names):
    """The network layer an op belongs to (``conv1``), or the first scope of its name that
    is no call wrapper (``sgd``, ``compile_loss``) for ops outside the layers.

    Several steps per call run inside a ``while`` loop, whose scopes (``while/body/_1/
    while/cond/then/_175/...``) wrap every op of the step and are skipped too; before they
    were, the SGD update of such a step counted as "other"."""
    scopes = [_LAYER_COPY.sub("", scope) for scope in op_name.split("/")]
    layer = next((scope for scope in scopes if scope in layer_names), None)
    if layer is not None:
        return layer
    return next(
        (scope for scope in scopes if scope not in _CALL_WRAPPERS and not _LOOP_COUNTER.match(scope)), scopes[0]
    )


def rank(times, key, *, steps, top=None):
    """``[(key, milliseconds per step, share of all op time, count)]``, largest first.

    ``key`` maps ``(name, type)`` to what the time is summed by.
    """
    seconds, counts = collections.Counter(), collections.Counter()
    for name, op_type, self_seconds in times:
        group = key(name, op_type)
        seconds[group] += self_seconds
        counts[group] += 1
    total = sum(seconds.values()) or 1.0
    ranked = [(group, 1e3 * value / steps, value / total, counts[group]) for group, value in seconds.most_common()]
    return ranked[:top] if top else ranked


def conv2d_twin(config, *, num_classes=4, window=4000):
    """The published raw CNN rebuilt on a ``(1, window, 1)`` image: Conv2D ``(1, k)`` and
    MaxPooling2D ``(1, p)`` in place of Conv1D and MaxPooling1D (no ExpandDims/Squeeze around
    each convolution). Same maths and weight count, same flatten order; a benchmark variant,
    never saved or published. :func:`copy_weights_to_twin` gives it a network's weights.
    """
    import keras

    waveform = keras.Input(shape=(window,), name="waveform")
    x = keras.layers.Reshape((1, window, 1), name="channels")(waveform)
    for index, stage in enumerate(config.stages, start=1):
        x = keras.layers.Conv2D(stage.filters, (1, stage.kernel_size), strides=(1, stage.strides), name=f"conv{index}")(
            x
        )
        x = keras.layers.Activation("relu", name=f"conv{index}_relu")(x)
        if stage.pool_size is not None:
            x = keras.layers.MaxPooling2D((1, stage.pool_size), name=f"pool{index}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(config.hidden_units, name="hidden")(x)
    x = keras.layers.Activation("relu", name="hidden_relu")(x)
    x = keras.layers.Dense(num_classes, name="logits")(x)
    posteriors = keras.layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(waveform, posteriors, name=f"{config.name}_conv2d_twin")


def copy_weights_to_twin(network, twin):
    """Load ``network``'s weights into its :func:`conv2d_twin` (Conv1D kernels ``(k, c, f)``
    become ``(1, k, c, f)``)."""
    weights = [weight[None] if weight.ndim == 3 else weight for weight in network.get_weights()]
    twin.set_weights(weights)


def training_rates(builders, *, batch_size, steps, epochs, rounds):
    """Training windows/s (both clocks) of each ``{name: build()}`` network of 250 ms windows
    on one pre-built batch (no input pipeline), alternating round by round; best of the rounds."""
    from tools.bench.harness.timing import best, frame_training_rate, in_memory_dataset

    dataset = in_memory_dataset((4000,), batch_size=batch_size)
    measured = {name: [] for name in builders}
    for _ in range(rounds):
        for name, build in builders.items():
            measured[name].append(
                frame_training_rate(build(), dataset, dataset, batch_size=batch_size, steps=steps, epochs=epochs)
            )
    return {name: best(values) for name, values in measured.items()}


def evaluation_rates(model, batch_sizes, *, windows=4096, rounds=3):
    """Prediction windows/s (both clocks) of ``model`` over ``windows`` random windows for each
    evaluation batch size (a forward pass per window: the batch size changes no posterior)."""
    import numpy as np
    import tensorflow as tf

    from tools.bench.harness.timing import best_rate

    inputs = np.random.default_rng(0).standard_normal((windows, 4000), dtype=np.float32)
    rates = {}
    for batch_size in batch_sizes:
        dataset = tf.data.Dataset.from_tensor_slices(inputs).batch(batch_size).cache()
        model.predict(dataset, verbose=0)  # traces the step, fills the cache
        rates[batch_size] = best_rate(lambda dataset=dataset: model.predict(dataset, verbose=0), windows, rounds=rounds)
    return rates
