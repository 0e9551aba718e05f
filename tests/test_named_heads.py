"""SplitHeadTrainer finds a model's two heads by name, whatever form its outputs take: a list
of layers named valence and arousal, or a dict with those keys (its layers named anything);
a head's layers are those only its output depends on. The paper's networks split as their
layer names say."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ser_keras.experiments.networks import NETWORKS
from ser_keras.models.elor import HEADS
from ser_keras.training.split_heads import SplitHeadTrainer, head_layers

FRAMES, COEFFICIENTS = 12, 6


def _by_name(model):
    """The split the paper's networks were built for: layers ``<head>`` and ``<head>_*`` are
    the head's, every other layer is trunk (ser_keras.models.elor names them so)."""

    def owner(layer):
        return next((head for head in HEADS if layer.name == head or layer.name.startswith(f"{head}_")), None)

    trunk = [v for layer in model.layers if owner(layer) is None for v in layer.trainable_variables]
    return {
        head: trunk + [v for layer in model.layers if owner(layer) == head for v in layer.trainable_variables]
        for head in HEADS
    }


@pytest.mark.parametrize("network", ["elor", "lom", "ftr", "elor_ftr"])
def test_the_paper_networks_split_as_their_layer_names_say(network):
    spec = NETWORKS[network]
    config = spec.config_class.from_dict(spec.quick_hparams)
    if spec.uses_functionals:
        trainer = SplitHeadTrainer(
            lambda: spec.builder(config, functional_mean=np.zeros(1582), functional_variance=np.ones(1582)),
            learning_rate=0.01,
        )
    else:
        trainer = SplitHeadTrainer(lambda: spec.builder(config), learning_rate=0.01)
    expected = _by_name(trainer.model)
    for head in HEADS:  # the same variables in the same order: the same updates as before
        assert [v.path for v in trainer.update_variables[head]] == [v.path for v in expected[head]]


def _frames_network(form):
    """One network on MFCC-like frames (open time axis), its heads returned as ``form``:
    "list" (layers valence, arousal), "dict" (the same layers by key) or "dict_renamed" (keys
    valence, arousal; layers v_out, a_out)."""
    frames = keras.Input(shape=(None, COEFFICIENTS))
    x = keras.layers.Conv1D(4, 3, activation="relu")(frames)
    x = keras.layers.GlobalAveragePooling1D()(x)
    names = {"valence": "v_out", "arousal": "a_out"} if form == "dict_renamed" else {head: head for head in HEADS}
    heads = {head: keras.layers.Dense(5, activation="softmax", name=names[head])(x) for head in ("valence", "arousal")}
    return keras.Model(frames, [heads["valence"], heads["arousal"]] if form == "list" else heads)


def _trained(form, data):
    keras.utils.set_random_seed(3)
    trainer = SplitHeadTrainer(lambda: _frames_network(form), learning_rate=0.05, seed=1)
    trainer.fit(data, epochs=2, verbose=0)
    return trainer


def test_heads_as_a_list_or_a_dict_train_alike():
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((16, FRAMES, COEFFICIENTS)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((inputs, {head: rng.integers(0, 5, 16) for head in HEADS})).batch(8)
    keras.utils.set_random_seed(3)
    untrained = SplitHeadTrainer(lambda: _frames_network("dict"), learning_rate=0.05).predict(data)
    reference = _trained("dict", data)  # the form the paper's networks take
    for form in ("list", "dict_renamed"):
        trainer = _trained(form, data)
        assert {head: [layer.name for layer in layers] for head, layers in head_layers(trainer.model).items()} == (
            {"valence": ["valence"], "arousal": ["arousal"]}
            if form == "list"
            else {"valence": ["v_out"], "arousal": ["a_out"]}
        )
        predicted, expected = trainer.predict(data), reference.predict(data)
        for head in HEADS:
            np.testing.assert_array_equal(predicted[head], expected[head])
    for head in HEADS:  # training moved both heads
        assert not np.allclose(untrained[head], reference.predict(data)[head])
