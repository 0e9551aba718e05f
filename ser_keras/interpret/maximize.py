"""Generalized input signals by activation maximisation (ELOR "Network-driven visualizations").

x* = argmax_x a_c(x) - lambda * ||x||_2^2 (Erhan et al. 2009; Simonyan et al. 2013), found
by gradient ascent on the input with the trained weights frozen, from a random start or a
given one (e.g. the training mean). ``a_c`` is the pre-softmax score of class ``c`` by
default: the optimisation runs on a clone whose output softmax is linear (see
:func:`ser_keras.interpret.guided.gradient_model`), because maximising a softmax output can
be won by pushing the other classes down rather than class ``c`` up. The ascent uses Adam
(a scale-free step, so one learning rate suits waveforms and feature inputs alike); several
classes are optimised together as one batch, each signal for its own class.
"""

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from ser_keras.interpret.guided import gradient_model, select_output


@dataclass(frozen=True)
class Maximization:
    """Result of :func:`maximize_activation`.

    signals: (C, *input_shape), one per requested class.
    objective: (steps + 1, C), a_c(x) - lambda ||x||^2 at the start and after every step.
    activation: (steps + 1, C), a_c(x) alone.
    """

    classes: tuple
    signals: np.ndarray
    objective: np.ndarray
    activation: np.ndarray


def _start_signals(start, input_shape, count, init_scale, seed):
    if start is None:
        return np.random.default_rng(seed).normal(scale=init_scale, size=(count, *input_shape)).astype(np.float32)
    start = np.asarray(start, dtype=np.float32)
    if start.shape == tuple(input_shape):
        return np.repeat(start[None], count, axis=0)
    if start.shape == (count, *input_shape):
        return start.copy()
    raise ValueError(
        f"start must have the model's input shape {tuple(input_shape)} or ({count}, *that). Got {start.shape}."
    )


def maximize_activation(
    model,
    classes,
    *,
    output=None,
    start=None,
    steps=200,
    learning_rate=0.01,
    l2=1e-4,
    init_scale=0.01,
    seed=0,
    target="logit",
):
    """Gradient ascent on the input maximising each class in ``classes`` of ``output``.

    ``start``: None (Gaussian noise of standard deviation ``init_scale``), one signal of
    the model's input shape used for every class (e.g. the training mean), or one per class.
    """
    if len(model.inputs) != 1:
        raise ValueError(f"maximize_activation needs a single-input model; {model.name!r} has {len(model.inputs)}.")
    if steps < 1 or learning_rate <= 0 or l2 < 0:
        raise ValueError(f"Need steps >= 1, learning_rate > 0, l2 >= 0. Got {steps}, {learning_rate}, {l2}.")
    classes = tuple(int(c) for c in classes)
    frozen = gradient_model(model, guided=False, target=target)
    num_classes = select_output(frozen, frozen.outputs, output).shape[-1]
    bad = [c for c in classes if not 0 <= c < num_classes]
    if not classes or bad:
        raise ValueError(f"classes must be non-empty indices below {num_classes}. Got {classes}.")
    input_shape = tuple(model.inputs[0].shape[1:])
    if None in input_shape:
        raise ValueError(f"The input shape {input_shape} must be fully known to optimise an input.")

    signal = keras.Variable(_start_signals(start, input_shape, len(classes), init_scale, seed))
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    class_index = tf.constant(classes, dtype=tf.int32)
    penalty_axes = tuple(range(1, 1 + len(input_shape)))

    @tf.function
    def evaluate():
        scores = select_output(frozen, frozen(signal.value, training=False), output)
        activation = tf.gather(scores, class_index, axis=1, batch_dims=1)
        return activation - l2 * tf.reduce_sum(tf.square(signal.value), axis=penalty_axes), activation

    @tf.function
    def ascend():
        with tf.GradientTape() as tape:
            objective, activation = evaluate()
            loss = -tf.reduce_sum(objective)
        optimizer.apply_gradients([(tape.gradient(loss, signal.value), signal)])
        return objective, activation

    objectives, activations = [], []
    for _ in range(steps):
        objective, activation = ascend()
        objectives.append(objective.numpy())
        activations.append(activation.numpy())
    objective, activation = evaluate()
    objectives.append(objective.numpy())
    activations.append(activation.numpy())
    return Maximization(classes, signal.numpy(), np.array(objectives), np.array(activations))
