"""Timing on two clocks, the matmul ceiling and timed training loops for the harness.

Not a paper section. On a shared machine absolute speeds move with the load, so the
targets are ratios measured in one process, and every timed figure is the best of several
rounds. Each rate is taken on two clocks: ``wall`` (samples per second) and ``cpu``
(samples per CPU-second of the process, all its threads, times the number of cores: what
the process would do with the machine to itself). Other processes' load moves the wall
figure much more than the CPU figure; a stall with idle cores shows only in the wall figure.
"""

import os
import resource
import sys
import time

MATMUL_SIZE = 4096


def peak_rss_bytes():
    """Peak resident set size of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


CLOCKS = ("wall", "cpu")


def clock():
    """Now on both clocks: ``{"wall": perf_counter, "cpu": process CPU time}``."""
    return {"wall": time.perf_counter(), "cpu": time.process_time()}


def elapsed(since):
    """Seconds on both clocks since ``since`` (a :func:`clock` reading)."""
    now = clock()
    return {name: now[name] - since[name] for name in CLOCKS}


def rates(samples, seconds):
    """``{"wall": samples/s, "cpu": samples per CPU-second x cores}`` for :func:`elapsed` seconds."""
    return {"wall": samples / seconds["wall"], "cpu": samples * (os.cpu_count() or 1) / max(seconds["cpu"], 1e-9)}


def best(measurements):
    """The best of several :func:`rates` results, per clock."""
    return {name: max(measurement[name] for measurement in measurements) for name in CLOCKS}


def best_rate(run_round, samples_per_round, *, rounds):
    """Best :func:`rates` of ``rounds`` calls of ``run_round()`` (each does the same work)."""
    if rounds < 1:
        raise ValueError(f"'rounds' must be >= 1. Got {rounds!r}.")
    measurements = []
    for _ in range(rounds):
        started = clock()
        run_round()
        measurements.append(rates(samples_per_round, elapsed(started)))
    return best(measurements)


def matmul_flops_per_s(size=MATMUL_SIZE, *, rounds=5):
    """Ceiling: FLOP/s (both clocks) of a ``size``² float32 TensorFlow matmul (best round)."""
    import tensorflow as tf

    a = tf.random.normal((size, size), seed=1)
    b = tf.random.normal((size, size), seed=2)
    # Reducing to a scalar forces the product to finish without copying it out.
    product = tf.function(lambda: tf.reduce_sum(tf.linalg.matmul(a, b)))
    product().numpy()
    return best_rate(lambda: product().numpy(), 2 * size**3, rounds=rounds)


def _epoch_timer(steps):
    import keras

    class EpochTimer(keras.callbacks.Callback):
        """Seconds (both clocks) from each epoch's start to its last training batch."""

        def __init__(self):
            super().__init__()
            self.seconds, self._started = [], None

        def on_epoch_begin(self, epoch, logs=None):
            self._started = clock()

        def on_train_batch_end(self, batch, logs=None):
            if batch == steps - 1:
                self.seconds.append(elapsed(self._started))

    return EpochTimer()


def frame_training_rate(model, train_ds, val_ds, *, batch_size, steps, epochs):
    """Examples/s (both clocks) of SHORT's training recipe (``train_frame_classifier``) on ``train_ds``.

    Runs ``epochs + 1`` epochs of ``steps`` batches; the first (tracing) is dropped and the
    fastest of the rest counts. ``train_ds`` must repeat; validation runs one batch and is
    not timed.
    """
    from ser_keras.training.fit import train_frame_classifier

    timer = _epoch_timer(steps)
    train_frame_classifier(
        model, train_ds, val_ds.take(1), steps_per_epoch=steps, max_epochs=epochs + 1, verbose=0, callbacks=[timer]
    )
    if len(timer.seconds) != epochs + 1:
        raise RuntimeError(f"Expected {epochs + 1} timed epochs, got {len(timer.seconds)}: the schedule stopped early.")
    return best([rates(batch_size * steps, seconds) for seconds in timer.seconds[1:]])


def in_memory_dataset(input_shape, *, batch_size, num_classes=4, seed=0):
    """``(inputs, labels)`` of one pre-built random batch, repeated: no input pipeline cost."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((batch_size, *input_shape), dtype=np.float32)
    labels = rng.integers(0, num_classes, batch_size).astype(np.int32)
    return tf.data.Dataset.from_tensors((inputs, labels)).repeat()


def elor_training_rate(trainer, dataset, *, batch_size, steps, rounds):
    """Samples/s (both clocks) of ELoR split-head training steps (two updates per batch) on ``dataset``.

    One untimed batch traces both head updates; then the fastest of ``rounds`` rounds of
    ``steps`` batches counts.
    """
    batches = iter(dataset.repeat())
    trainer.train_step(*next(batches))

    def run_round():
        for _ in range(steps):
            trainer.train_step(*next(batches))

    return best_rate(run_round, batch_size * steps, rounds=rounds)


def script_wall_time(script, arguments, *, log_path, timeout_s, environment=None):
    """``(wall seconds, CPU seconds)`` of ``python script arguments`` (user + system time of
    the script and every process it started, fork-server workers included: it runs under
    :mod:`~tools.bench.harness.reaper`, run by its path so that it needs no package on
    ``sys.path``; output to ``log_path``, environment variables
    ``environment`` if given); None if the script does not exist. A failing script raises
    RuntimeError with its last output."""
    import resource
    import signal
    import subprocess

    if not os.path.exists(script):
        return None

    def children_cpu():
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    started, cpu_before = time.perf_counter(), children_cpu()
    with open(log_path, "w") as log:
        # Its own session, so a timeout (or Ctrl-C) stops the script and its workers, not only the reaper.
        reaper = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reaper.py")
        process = subprocess.Popen(
            [sys.executable, reaper, sys.executable, script, *arguments],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
        try:
            returncode = process.wait(timeout=timeout_s)
        except BaseException:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
    if returncode != 0:
        with open(log_path) as log:
            tail = log.read()[-2000:]
        raise RuntimeError(f"{script} exited with {returncode}; the end of its output:\n{tail}")
    return time.perf_counter() - started, children_cpu() - cpu_before


def layer_training_rates(model, *, batch_size, rounds=3, steps=3):
    """Training FLOP/s (both clocks) of every weighted layer of ``model`` run alone.

    Each Conv/Dense layer gets a random input of its input shape and computes its forward
    pass, its weight gradients and (except the first layer, as in a real step) its input
    gradient. Where a model's efficiency falls short of the matmul ceiling, this shows
    whether the layers' kernels or what lies between them (activations, pooling, the
    optimizer, the input pipeline) lose the time. Returns ``[(layer name, training FLOPs
    per example, {"wall", "cpu"} FLOP/s), ...]`` in graph order.
    """
    import tensorflow as tf

    from tools.bench.harness.flops import flops_by_layer

    layers = dict((layer.name, layer) for layer in model.layers)
    profile = []
    for index, (name, forward) in enumerate(flops_by_layer(model)):
        layer = layers[name]
        inputs = tf.random.normal((batch_size, *layer.input.shape[1:]), seed=index)
        upstream = tf.random.normal((batch_size, *layer.output.shape[1:]), seed=index + 1)
        first = index == 0

        # Arguments, not captured tensors, so graph optimisation cannot fold any of it away.
        @tf.function
        def step(inputs, upstream, layer=layer, first=first):
            with tf.GradientTape() as tape:
                tape.watch(inputs)
                loss = tf.reduce_sum(layer(inputs) * upstream)
            return tape.gradient(loss, layer.trainable_weights if first else [inputs, *layer.trainable_weights])

        step(inputs, upstream)
        training = (2 if first else 3) * forward

        def run_round(step=step, inputs=inputs, upstream=upstream):
            for _ in range(steps):
                tf.nest.map_structure(lambda gradient: gradient.numpy(), step(inputs, upstream))

        per_example = best_rate(run_round, batch_size * steps, rounds=rounds)
        profile.append((name, training, {clock_name: training * rate for clock_name, rate in per_example.items()}))
    return profile
