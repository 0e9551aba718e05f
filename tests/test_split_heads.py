"""Alternating split-head training (ser_keras.training.split_heads) on tiny ELoR networks."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ser_keras.models.elor import ElorConfig, build_elor
from ser_keras.training.split_heads import SplitHeadTrainer

TINY = dict(
    input_length=64, conv_filters=(3, 3, 3), conv_kernel_sizes=(3, 3, 3), pool_sizes=(2, 2, 2), head_units=(4, 4)
)


def _trainer(seed=0, learning_rate=0.1, dropout_rate=0.5, **kwargs):
    config = ElorConfig(**TINY, dropout_rate=dropout_rate, learning_rate=learning_rate)
    keras.utils.set_random_seed(1)
    return SplitHeadTrainer(lambda: build_elor(config), learning_rate=config.learning_rate, seed=seed, **kwargs)


def _data(count=24, seed=0, valence=None, arousal=None):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((count, 64)).astype("float32")
    labels = {
        "valence": np.full(count, valence) if valence is not None else rng.integers(0, 5, count),
        "arousal": np.full(count, arousal) if arousal is not None else rng.integers(0, 5, count),
    }
    return x, labels


def _dataset(count=24, batch=8, **kwargs):
    return tf.data.Dataset.from_tensor_slices(_data(count, **kwargs)).batch(batch)


def _seed_with_first_order(order):
    for seed in range(50):
        if tuple(np.array(("valence", "arousal"))[np.random.default_rng(seed).permutation(2)]) == order:
            return seed
    raise RuntimeError(f"no seed below 50 draws {order} first")


def _snapshot(trainer):
    groups = {"trunk": [], "valence": [], "arousal": []}
    for layer in trainer.model.layers:
        head = next((h for h in ("valence", "arousal") if layer.name == h or layer.name.startswith(h + "_")), "trunk")
        groups[head].extend(np.array(v) for v in layer.trainable_variables)
    return groups


def _changed(before, after):
    return any(not np.array_equal(a, b) for a, b in zip(before, after))


def test_alternating_update_touches_trunk_and_one_head_per_half_step():
    trainer = _trainer(seed=_seed_with_first_order(("arousal", "valence")))
    x, labels = _data(8)
    snapshots = [_snapshot(trainer)]
    order, _ = trainer.train_step(
        tf.constant(x), labels, after_update=lambda head: snapshots.append(_snapshot(trainer))
    )
    assert order == ("arousal", "valence")
    before, after_arousal, after_valence = snapshots
    assert _changed(before["arousal"], after_arousal["arousal"])
    assert not _changed(before["valence"], after_arousal["valence"])
    assert _changed(before["trunk"], after_arousal["trunk"])
    assert not _changed(after_arousal["arousal"], after_valence["arousal"])
    assert _changed(after_arousal["valence"], after_valence["valence"])
    assert _changed(after_arousal["trunk"], after_valence["trunk"])


def test_second_head_loss_is_computed_on_the_updated_network():
    trainer = _trainer(seed=_seed_with_first_order(("arousal", "valence")), dropout_rate=0.0)
    x, labels = _data(8)
    x = tf.constant(x)
    expected = {}

    def valence_loss_now(head):
        if head == "arousal":
            probabilities = trainer.model(x, training=True)["valence"]
            expected["valence"] = float(
                tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels["valence"], probabilities))
            )

    _, losses = trainer.train_step(x, labels, after_update=valence_loss_now)
    assert losses["valence"] == pytest.approx(expected["valence"], rel=1e-5)


def test_seed_decides_the_order_and_both_orders_occur():
    first_orders = {_trainer(seed=seed).draw_order() for seed in range(8)}
    assert first_orders == {("valence", "arousal"), ("arousal", "valence")}
    one, same_seed = _trainer(seed=3), _trainer(seed=3)
    assert [one.draw_order() for _ in range(6)] == [same_seed.draw_order() for _ in range(6)]


def test_fit_predict_and_history():
    trainer = _trainer()
    history = trainer.fit(_dataset(), _dataset(seed=1), epochs=2, patience=5, verbose=0)
    assert set(history) == {
        "loss_valence",
        "loss_arousal",
        "val_loss_valence",
        "val_loss_arousal",
        "val_loss",
        "val_accuracy_valence",
        "val_accuracy_arousal",
    }
    assert all(len(values) == 2 for values in history.values())
    probabilities = trainer.predict(_dataset(count=10, batch=4))
    assert probabilities["valence"].shape == probabilities["arousal"].shape == (10, 5)
    np.testing.assert_allclose(probabilities["arousal"].sum(axis=1), 1.0, rtol=1e-5)


def test_early_stopping_restores_the_best_epoch():
    # Train towards class 0, validate on class 4: validation loss rises from epoch 1 on.
    trainer = _trainer(learning_rate=0.5)
    history = trainer.fit(
        _dataset(valence=0, arousal=0), _dataset(seed=1, valence=4, arousal=4), epochs=10, patience=2, verbose=0
    )
    assert len(history["val_loss"]) == 3
    assert trainer.best_epoch == 1
    assert trainer.evaluate(_dataset(seed=1, valence=4, arousal=4))["loss"] == pytest.approx(
        history["val_loss"][0], rel=1e-5
    )


def test_checkpoint_resumes_after_the_last_finished_epoch(tmp_path):
    checkpoint = tmp_path / "fold0" / "checkpoint.npz"
    first = _trainer()
    history = first.fit(_dataset(), _dataset(seed=1), epochs=2, checkpoint_path=checkpoint, verbose=0)
    assert checkpoint.exists() and not list(checkpoint.parent.glob(".*.tmp"))

    resumed = _trainer(seed=99)
    assert resumed.fit(_dataset(), _dataset(seed=1), epochs=2, checkpoint_path=checkpoint, verbose=0) == history
    for mine, theirs in zip(first.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    # The order generator continues from the checkpoint, not from seed 99.
    assert resumed.order_rng.bit_generator.state == first.order_rng.bit_generator.state

    longer = resumed.fit(_dataset(), _dataset(seed=1), epochs=3, checkpoint_path=checkpoint, verbose=0)
    assert len(longer["val_loss"]) == 3 and longer["val_loss"][:2] == history["val_loss"]


def test_mirrored_strategy_runs_the_same_loop():
    # One CPU replica under MirroredStrategy sees the whole batch, scales the loss by the
    # same global batch and all-reduces one gradient, so it must train what the default
    # strategy trains: same seeds and data, 2 epochs x 3 alternating steps, dropout on.
    # On CPU the weights come out bit-identical; the tolerance leaves room for float32
    # rounding on other devices only (a different head order moves weights by ~0.2).
    single = _trainer()
    mirrored = _trainer(strategy=tf.distribute.MirroredStrategy(["/cpu:0"]))
    expected = single.fit(_dataset(), _dataset(seed=1), epochs=2, verbose=0)
    history = mirrored.fit(_dataset(), _dataset(seed=1), epochs=2, verbose=0)
    assert history.keys() == expected.keys()
    for key in expected:
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-5, err_msg=key)
    initial = _trainer().model.get_weights()
    assert all(not np.array_equal(trained, start) for trained, start in zip(single.model.get_weights(), initial))
    for ours, theirs in zip(mirrored.model.get_weights(), single.model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_unknown_head_is_rejected():
    with pytest.raises(ValueError, match="'mood'"):
        _trainer(heads=("valence", "mood"))
