"""Analytic FLOP counts of the papers' networks (SHORT §2.3 raw CNNs and LLD MLP, ELOR §3 ELoR).

A Conv1D/Conv2D/Dense layer does one multiply-add per kernel weight per output position:
``2 × positions × kernel size`` FLOPs forward. Biases, activations, pooling, batch
normalisation and the window z-normalisation are elementwise and left out (< 1 % of every
model here). A training step costs the forward pass, the weight gradients (as much again)
and the input gradients (as much again), except for the first weighted layer, whose input
gradient nothing needs: ``3 × forward − forward(first layer)``. An ELOR split-head batch is
two such updates, each skipping the other head's backward pass.
"""

import math


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
            layer, (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose)):
        positions = math.prod(int(size) for size in layer.output.shape[1:-1])
        return 2 * positions * math.prod(int(size) for size in layer.kernel.shape)
    if any(variable.path.endswith("kernel") for variable in layer.weights):
        raise TypeError(f"Cannot count FLOPs of layer {layer.name!r} ({type(layer).__name__}).")
    return 0


def flops_by_layer(model):
    """``[(layer name, forward FLOPs per example), ...]`` for every layer with a kernel."""
    return [(layer.name, flops) for layer in _weighted_layers(model) if (flops := layer_forward_flops(layer))]


def forward_flops(model):
    """Forward FLOPs per example of ``model``."""
    return sum(flops for _, flops in flops_by_layer(model))


def training_flops(model):
    """Forward + backward FLOPs per example: ``3 × forward − forward(first weighted layer)``."""
    layers = flops_by_layer(model)
    if not layers:
        raise ValueError(f"Model {model.name!r} has no Conv/Dense layer to count.")
    return 3 * sum(flops for _, flops in layers) - layers[0][1]


def split_head_training_flops(model, heads=("valence", "arousal")):
    """FLOPs per example of one ELOR split-head batch: two updates, each a full forward
    pass and a backward pass through the trunk and one head."""
    head_forward = sum(flops for name, flops in flops_by_layer(model)
                       if any(name == head or name.startswith(f"{head}_") for head in heads))
    return 2 * training_flops(model) - 2 * head_forward
