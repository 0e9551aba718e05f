"""Analytic FLOP counts of the papers' networks (SHORT §2.3 raw CNNs and LLD MLP, ELOR §3 ELoR).

A Conv1D/Conv2D/Dense layer does one multiply-add per kernel weight per output position:
``2 × positions × kernel size`` FLOPs forward. Biases, activations, pooling, batch
normalisation and the window z-normalisation are elementwise and left out (< 1 % of every
model here). A training step costs the forward pass, the weight gradients (as much again)
and the input gradients (as much again), except for the first weighted layer, whose input
gradient nothing needs: ``3 × forward − forward(first layer)``. An ELOR split-head batch is
two such updates, each skipping the other head's backward pass.

The per-layer formula and the two step rules are counted here once, for any ``[(layer
name, forward FLOPs)]`` list in forward order: :func:`flops_by_layer` makes one from a
built graph, :func:`ser_keras.tuning.budget.layer_flops` from an ELOR config without
building it.
"""

import math

from ser_keras.data.labels import DIMENSIONS


def _weighted_layers(model):
    """Layers in graph order, nested models flattened."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _weighted_layers(layer)
        else:
            yield layer


def kernel_flops(positions, kernel_size):
    """Forward FLOPs per example of a Conv/Dense kernel of ``kernel_size`` weights applied at
    ``positions`` output positions (1 for a Dense layer on a vector)."""
    return 2 * positions * kernel_size


def layer_forward_flops(layer):
    """Forward FLOPs per example of one layer: ``2 × output positions × kernel size``.

    0 for layers without a kernel (activations, pooling, normalisation, reshapes). A layer
    with a kernel of a kind not counted here raises TypeError, so no compute is missed.
    """
    import keras

    if isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Dense)) and not isinstance(
            layer, (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose)):
        return kernel_flops(math.prod(int(size) for size in layer.output.shape[1:-1]),
                            math.prod(int(size) for size in layer.kernel.shape))
    if any(variable.path.endswith("kernel") for variable in layer.weights):
        raise TypeError(f"Cannot count FLOPs of layer {layer.name!r} ({type(layer).__name__}).")
    return 0


def flops_by_layer(model):
    """``[(layer name, forward FLOPs per example), ...]`` for every layer with a kernel."""
    return [(layer.name, flops) for layer in _weighted_layers(model) if (flops := layer_forward_flops(layer))]


def forward_flops(model):
    """Forward FLOPs per example of ``model``."""
    return sum(flops for _, flops in flops_by_layer(model))


def training_flops_of_layers(layers):
    """Forward + backward FLOPs per example of ``[(name, forward FLOPs)]`` in forward order:
    ``3 × forward − forward(first weighted layer)``."""
    return 3 * sum(flops for _, flops in layers) - layers[0][1]


def split_head_flops_of_layers(layers, heads=DIMENSIONS):
    """FLOPs per example of one ELOR split-head batch of ``[(name, forward FLOPs)]``: two
    updates, each a full forward pass and a backward pass through the trunk and one head
    (a head's layers are named ``<head>`` and ``<head>_*``)."""
    head_forward = sum(flops for name, flops in layers
                       if any(name == head or name.startswith(f"{head}_") for head in heads))
    return 2 * training_flops_of_layers(layers) - 2 * head_forward


def _counted_layers(model):
    layers = flops_by_layer(model)
    if not layers:
        raise ValueError(f"Model {model.name!r} has no Conv/Dense layer to count.")
    return layers


def training_flops(model):
    """Forward + backward FLOPs per example of ``model`` (:func:`training_flops_of_layers`)."""
    return training_flops_of_layers(_counted_layers(model))


def split_head_training_flops(model, heads=DIMENSIONS):
    """FLOPs per example of one ELOR split-head batch of ``model`` (:func:`split_head_flops_of_layers`)."""
    return split_head_flops_of_layers(_counted_layers(model), heads)
