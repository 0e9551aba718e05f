"""Compute cost of the ELOR networks' split-head training and of a tuning budget.

ELOR "Hyperparamter optimization": 70 TPE evaluations of ELoR took 49 computing days on one
GeForce GTX 1080. This module counts the floating-point operations of one training step
analytically (2 FLOPs per multiply-add of every Conv1D and Dense kernel; batch norm,
pooling, activations and biases, < 1 % for ELoR, are left out), measures the samples per
second of ``SplitHeadTrainer.train_step`` on this machine, and projects a search's GPU time
from the two at an assumed fraction of a GPU's peak.

Split-head step, per sample: two half-steps, each a forward pass of the whole network
(both heads are computed) and a backward pass through the trunk and one head. Backward =
weight gradients (one forward's worth) + input gradients (another), except that the first
layer on the data needs no input gradient.
"""

import time

import keras
import numpy as np
import tensorflow as tf

from ser_keras.models.elor import HEADS, ElorFtrConfig, FtrConfig, LomConfig, build_elor

#: Dense peak TFLOPS (vendor data sheets): FP32 on CUDA cores, TF32 on tensor cores.
GPU_PEAK_TFLOPS = {
    "GTX 1080 fp32": 8.87,
    "H100 SXM fp32": 66.9,
    "H100 SXM tf32 (dense)": 494.7,
}
SECONDS_PER_DAY = 86400.0


def _conv_layers(length, channels, config):
    """``(name, flops, path)`` of each Conv1D on ``length`` steps of ``channels`` channels."""
    layers = []
    for block, (filters, kernel, pool) in enumerate(
            zip(config.conv_filters, config.conv_kernel_sizes, config.pool_sizes), start=1):
        convolved = length if config.conv_padding == "same" else length - kernel + 1
        layers.append((f"conv{block}", 2 * kernel * channels * filters * convolved, "trunk"))
        length, channels = convolved // pool, filters
    return layers, length * channels


def layer_flops(config):
    """Forward FLOPs per sample of every kernel layer: ``[(name, flops, path)]``, path =
    ``'trunk'`` or a head name, in forward order."""
    if isinstance(config, FtrConfig):
        layers, features = [], config.num_functionals
    elif isinstance(config, LomConfig):
        layers, features = _conv_layers(config.frames, config.coefficients, config)
    else:
        layers, features = _conv_layers(config.input_length, 1, config)
        features += config.num_functionals if isinstance(config, ElorFtrConfig) else 0
    for head in HEADS:
        widths = (features, *config.head_units, config.num_classes)
        for index, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:]), start=1):
            layers.append((f"{head}_dense{index}", 2 * fan_in * fan_out, head))
    return layers


def forward_flops(config):
    """FLOPs of one forward pass of one sample (both heads)."""
    return sum(flops for _, flops, _ in layer_flops(config))


def split_head_step_flops(config):
    """FLOPs per sample of one alternating split-head training step (module docstring)."""
    layers = layer_flops(config)
    total = 0
    for head in HEADS:
        path = [(name, flops) for name, flops, owner in layers if owner in ("trunk", head)]
        backward = sum(2 * flops for _, flops in path) - path[0][1]  # no input gradient for the first layer
        total += forward_flops(config) + backward
    return total


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
    trainer = SplitHeadTrainer(lambda: build_elor(config), learning_rate=config.learning_rate,
                               momentum=config.momentum, seed=seed)
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.uniform(-0.5, 0.5, (batch_size, config.input_length)).astype(np.float32))
    labels = {head: tf.constant(rng.integers(0, config.num_classes, batch_size)) for head in HEADS}
    trainer.train_step(x, labels)
    started = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(x, labels)
    return steps * batch_size / (time.perf_counter() - started)
