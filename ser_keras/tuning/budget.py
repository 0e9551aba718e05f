"""Compute cost of the ELOR networks' split-head training and of a tuning budget.

ELOR "Hyperparamter optimization": 70 TPE evaluations of ELoR took 49 computing days on one
GeForce GTX 1080. This module lists the Conv1D and Dense layers of a network from its config
and counts their floating-point operations with :mod:`ser_keras.tuning.flops` (2 FLOPs
per multiply-add of every kernel; the split-head step rule is described there), measures the
samples per second of ``SplitHeadTrainer.train_step`` on this machine, and projects a
search's GPU time from the two at an assumed fraction of a GPU's peak.
"""

import time

import keras
import numpy as np
import tensorflow as tf

from ser_keras.models.elor import HEADS, FtrConfig, LomConfig, build_elor, flatten_size
from ser_keras.tuning.flops import kernel_flops, split_head_flops_of_layers

#: Dense peak TFLOPS (vendor data sheets): FP32 on CUDA cores, TF32 on tensor cores.
GPU_PEAK_TFLOPS = {
    "GTX 1080 fp32": 8.87,
    "H100 SXM fp32": 66.9,
    "H100 SXM tf32 (dense)": 494.7,
}
SECONDS_PER_DAY = 86400.0


def _conv_layers(length, channels, config):
    """``(name, forward FLOPs)`` of each Conv1D of the trunk on ``length`` steps of ``channels`` channels."""
    layers = []
    for block, (filters, kernel, pool) in enumerate(
        zip(config.conv_filters, config.conv_kernel_sizes, config.pool_sizes), start=1
    ):
        positions = length if config.conv_padding == "same" else length - kernel + 1
        layers.append((f"conv{block}", kernel_flops(positions, kernel * channels * filters)))
        length, channels = positions // pool, filters
    return layers


def layer_flops(config):
    """``[(layer name, forward FLOPs per sample)]`` of every Conv1D and Dense of ``config``'s
    network, in forward order and named as in its graph: what
    ``tools.bench.harness.flops.flops_by_layer`` counts on the built model, without
    building it (about 0.2 s a graph, and :func:`mean_step_flops` counts 2000 configs)."""
    if isinstance(config, FtrConfig):
        layers = []
    elif isinstance(config, LomConfig):
        layers = _conv_layers(config.frames, config.coefficients, config)
    else:
        layers = _conv_layers(config.input_length, 1, config)
    widths = (flatten_size(config), *config.head_units, config.num_classes)
    for head in HEADS:
        names = [f"{head}_dense{index}" for index in range(1, len(config.head_units) + 1)] + [head]
        layers += [
            (name, kernel_flops(1, fan_in * fan_out)) for name, fan_in, fan_out in zip(names, widths[:-1], widths[1:])
        ]
    return layers


def forward_flops(config):
    """FLOPs of one forward pass of one sample (both heads)."""
    return sum(flops for _, flops in layer_flops(config))


def split_head_step_flops(config):
    """FLOPs per sample of one alternating split-head training step."""
    return split_head_flops_of_layers(layer_flops(config), HEADS)


def trial_flops(config, *, epochs, train_samples, validation_samples):
    """FLOPs of one trial: ``epochs`` epochs of training plus one validation pass each."""
    per_epoch = train_samples * split_head_step_flops(config) + validation_samples * forward_flops(config)
    return epochs * per_epoch


def mean_step_flops(space, *, draws=2000, seed=0):
    """Mean :func:`split_head_step_flops` over uniform draws from ``space`` (log ranges in log
    space), i.e. the expected cost of a random trial rather than of the centre."""
    rng = np.random.default_rng(seed)
    totals = []
    for _ in range(draws):
        values = {}
        for tuned in space.ranges:
            if tuned.kind == "choice":
                values[tuned.name] = tuned.values[rng.integers(len(tuned.values))]
            elif tuned.kind == "int":
                values[tuned.name] = int(rng.integers(tuned.low, tuned.high + 1))
            elif tuned.kind == "log":
                values[tuned.name] = float(np.exp(rng.uniform(np.log(tuned.low), np.log(tuned.high))))
            else:
                values[tuned.name] = float(rng.uniform(tuned.low, tuned.high))
        totals.append(split_head_step_flops(space.config(values)))
    return float(np.mean(totals))


def gpu_days(total_flops, peak_tflops, utilisation):
    """Days at ``utilisation`` x ``peak_tflops`` for ``total_flops``."""
    if not 0 < utilisation <= 1 or peak_tflops <= 0:
        raise ValueError(f"utilisation must be in (0, 1] and peak > 0; got {utilisation!r}, {peak_tflops!r}.")
    return total_flops / (utilisation * peak_tflops * 1e12) / SECONDS_PER_DAY


def measure_step_throughput(config, *, batch_size=32, steps=2, seed=0):
    """Samples per second of ``SplitHeadTrainer.train_step`` for ELoR ``config`` on random
    waveforms, after one untimed warm-up step (tracing)."""
    from ser_keras.training.split_heads import SplitHeadTrainer

    if steps < 1:
        raise ValueError(f"steps must be >= 1; got {steps!r}.")
    keras.utils.set_random_seed(seed)
    trainer = SplitHeadTrainer(
        lambda: build_elor(config), learning_rate=config.learning_rate, momentum=config.momentum, seed=seed
    )
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.uniform(-0.5, 0.5, (batch_size, config.input_length)).astype(np.float32))
    labels = {head: tf.constant(rng.integers(0, config.num_classes, batch_size)) for head in HEADS}
    trainer.train_step(x, labels)
    started = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(x, labels)
    return steps * batch_size / (time.perf_counter() - started)
