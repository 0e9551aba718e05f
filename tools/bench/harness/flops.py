"""FLOP counts of a built Keras graph (SHORT §2.3 raw CNNs and LLD MLP, ELOR §3 ELoR), for the benchmarks.

Not a paper section. Each Conv1D/Conv2D/Dense layer of the graph is counted by the per-layer
formula of :mod:`ser_keras.tuning.flops` (``2 × positions × kernel size`` forward), and a
training step or an ELOR split-head batch by its step rules. The tuning budget counts the same
layers from an ELOR config without building the graph; ``tests/test_tuning_budget.py`` checks
the two against each other.
"""

import math

from ser_keras.data.labels import DIMENSIONS
from ser_keras.tuning.flops import kernel_flops, split_head_flops_of_layers, training_flops_of_layers


def _weighted_layers(model):
    """Layers in graph order, nested models flattened."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _weighted_layers(layer)
        else:
            yield layer


def layer_forward_flops(layer):
    """Forward FLOPs per example of one layer: ``2 × output positions × kernel size``.

    0 for layers without a kernel (activations, pooling, normalisation, reshapes). A layer
    with a kernel of a kind not counted here raises TypeError, so no compute is missed.
    """
    import keras

    if isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Dense)) and not isinstance(
        layer, (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose)
    ):
        return kernel_flops(
            math.prod(int(size) for size in layer.output.shape[1:-1]),
            math.prod(int(size) for size in layer.kernel.shape),
        )
    if any(variable.path.endswith("kernel") for variable in layer.weights):
        raise TypeError(f"Cannot count FLOPs of layer {layer.name!r} ({type(layer).__name__}).")
    return 0


def flops_by_layer(model):
    """``[(layer name, forward FLOPs per example), ...]`` for every layer with a kernel."""
    return [(layer.name, flops) for layer in _weighted_layers(model) if (flops := layer_forward_flops(layer))]


def forward_flops(model):
    """Forward FLOPs per example of ``model``."""
    return sum(flops for _, flops in flops_by_layer(model))


def _counted_layers(model):
    layers = flops_by_layer(model)
    if not layers:
        raise ValueError(f"Model {model.name!r} has no Conv/Dense layer to count.")
    return layers


def training_flops(model):
    """Forward + backward FLOPs per example of ``model``: ``3 × forward − forward(first weighted layer)``."""
    return training_flops_of_layers(_counted_layers(model))


def split_head_training_flops(model, heads=DIMENSIONS):
    """FLOPs per example of one ELOR split-head batch of ``model``: two updates, each a full
    forward pass and a backward pass through the trunk and one head."""
    return split_head_flops_of_layers(_counted_layers(model), heads)
