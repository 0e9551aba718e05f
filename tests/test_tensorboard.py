"""TensorBoard logs of the two training loops: per-epoch loss, accuracy and
learning rate, read back from the event files."""

import collections
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_split_head_task

from ser_keras.models.elor import build_elor
from ser_keras.training.fit import train_frame_classifier
from ser_keras.training.schedules import HalvingSchedule
from ser_keras.training.split_heads import SplitHeadTrainer


def _scalars(folder):
    """{tag: {step: value}} of every event file under ``folder``."""
    values = collections.defaultdict(dict)
    for path in Path(folder).glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                values[value.tag][event.step] = float(tf.make_ndarray(value.tensor))
    return values


def test_frame_classifier_logs_loss_accuracy_and_learning_rate(tmp_path):
    rng = np.random.default_rng(0)
    windows = tf.data.Dataset.from_tensor_slices(
        (rng.normal(size=(32, 6)).astype("float32"), rng.integers(0, 4, 32).astype("int32"))
    ).batch(16)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="softmax")])
    # Every epoch after the first misses a 10.0 decrease: the rate halves after epochs 2 and 3.
    result = train_frame_classifier(
        model,
        windows,
        windows,
        max_epochs=3,
        verbose=0,
        tensorboard_dir=tmp_path,
        schedule=HalvingSchedule(initial_epochs=1, min_delta=10.0),
    )
    train, validation = _scalars(tmp_path / "train"), _scalars(tmp_path / "validation")
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= set(train)
    assert {"epoch_loss", "epoch_accuracy"} <= set(validation)
    history = result["history"]
    assert history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05])  # the rate used in each epoch
    assert [train["epoch_learning_rate"][step] for step in range(3)] == pytest.approx(history["learning_rate"])
    assert [validation["epoch_loss"][step] for step in range(3)] == pytest.approx(history["val_loss"], rel=1e-5)


def test_split_heads_log_one_scalar_per_head_and_the_learning_rate(tmp_path):
    config, data = tiny_split_head_task()
    keras.utils.set_random_seed(1)
    history = SplitHeadTrainer(lambda: build_elor(config), learning_rate=0.01).fit(
        data, data, epochs=2, verbose=0, tensorboard_dir=str(tmp_path)
    )
    train, validation = _scalars(tmp_path / "train"), _scalars(tmp_path / "validation")
    assert set(train) == {"epoch_loss_valence", "epoch_loss_arousal", "epoch_learning_rate"}
    assert set(validation) == {
        "epoch_loss_valence",
        "epoch_loss_arousal",
        "epoch_accuracy_valence",
        "epoch_accuracy_arousal",
        "epoch_loss",
    }
    assert train["epoch_learning_rate"] == pytest.approx({0: 0.01, 1: 0.01})
    assert [validation["epoch_accuracy_arousal"][step] for step in (0, 1)] == pytest.approx(
        history["val_accuracy_arousal"]
    )
