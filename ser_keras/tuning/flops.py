"""Analytic FLOP counts of the papers' networks (SHORT §2.3 raw CNNs and LLD MLP, ELOR §3 ELoR),
for the cost of an ELOR search (:mod:`ser_keras.tuning.budget`).

A Conv1D/Conv2D/Dense layer does one multiply-add per kernel weight per output position:
``2 × positions × kernel size`` FLOPs forward. Biases, activations, pooling, batch
normalisation and the window z-normalisation are elementwise and left out (< 1 % of every
model here). A training step costs the forward pass, the weight gradients (as much again)
and the input gradients (as much again), except for the first weighted layer, whose input
gradient nothing needs: ``3 × forward − forward(first layer)``. An ELOR split-head batch is
two such updates, each skipping the other head's backward pass.

The per-layer formula and the two step rules are counted here once, for any ``[(layer
name, forward FLOPs)]`` list in forward order: :func:`ser_keras.tuning.budget.layer_flops`
makes one from an ELOR config without building it; the benchmarks in the checkout's
``tools/bench/`` make one from a built graph.
"""

from ser_keras.data.labels import DIMENSIONS


def kernel_flops(positions, kernel_size):
    """Forward FLOPs per example of a Conv/Dense kernel of ``kernel_size`` weights applied at
    ``positions`` output positions (1 for a Dense layer on a vector)."""
    return 2 * positions * kernel_size


def training_flops_of_layers(layers):
    """Forward + backward FLOPs per example of ``[(name, forward FLOPs)]`` in forward order:
    ``3 × forward − forward(first weighted layer)``."""
    return 3 * sum(flops for _, flops in layers) - layers[0][1]


def split_head_flops_of_layers(layers, heads=DIMENSIONS):
    """FLOPs per example of one ELOR split-head batch of ``[(name, forward FLOPs)]``: two
    updates, each a full forward pass and a backward pass through the trunk and one head
    (a head's layers are named ``<head>`` and ``<head>_*``)."""
    head_forward = sum(
        flops for name, flops in layers if any(name == head or name.startswith(f"{head}_") for head in heads)
    )
    return 2 * training_flops_of_layers(layers) - 2 * head_forward
