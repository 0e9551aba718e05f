"""Alternating split-head training of the ELOR networks (ELOR, "ELoR network", training).

Per mini-batch the two heads are updated one after the other on the same input, in an
order drawn at random per batch: loss of head A (cross-entropy + L2) -> gradients for the
shared trunk and head A only -> SGD step; then a fresh forward pass on the *updated*
network -> loss of head B -> step on the trunk and head B. This is training code, not
part of the model, so a saved ``.h5`` stays a plain Keras graph.

Choices the paper leaves open, stated here:

- One Nesterov-SGD optimizer per head (Keras' SGD, each update one op:
  :class:`~ser_keras.training.momentum.MomentumSGD`). The paper's "the two MLPs are updated
  successively" reads as two compiled Keras models sharing the CNN, each with its own
  optimizer, so the trunk's momentum is kept separately per update path.
- Both forward passes run BatchNorm in training mode, so its moving statistics move
  twice per batch, once per pass, as with two models sharing the trunk.
- The data term is the batch-mean cross-entropy (Keras convention) where the paper
  writes a sum over samples, so ``alpha_w`` is relative to the mean (a deviation).
- Early stopping watches the summed validation cross-entropy of both heads (no L2).
- Distribution-aware: the model and both optimizers live in ``strategy.scope()``, each
  half-step runs through ``strategy.run`` with losses scaled to the global batch
  (``tf.nn.compute_average_loss``), and datasets go through
  ``experimental_distribute_dataset``. Prediction runs the model in cross-replica context.

Data: ``tf.data`` elements ``(x, {"valence": int labels, "arousal": int labels})`` with
labels 0..num_classes-1; ``x`` a tensor, or a tuple ``(waveform, is10)`` for ELoR+FTR. With an
``input_stage`` (ELOR's GPU-ready input path), ``x`` is what that stage takes, e.g.
slice indices, and the stage cuts the network input inside each compiled step.
"""

import functools
import json
import os

import keras
import numpy as np
import tensorflow as tf

from ser_keras.io import atomic_path
from ser_keras.models.elor import HEADS
from ser_keras.training.momentum import MomentumSGD
from ser_keras.training.routes import routed_layers


def head_outputs(model, heads=HEADS):
    """``{head: symbolic output}`` of a functional two-head ``model``, its outputs matched to
    ``heads`` by name: a dict output's keys, or the names Keras gives a list's outputs (their
    layers' names). A ValueError names the outputs found when they are not exactly ``heads``."""
    try:
        output = model.output
    except AttributeError as error:  # a subclassed model that was never called has no graph
        raise ValueError(f"{model.name!r} is not a functional model (keras.Model(inputs, outputs)).") from error
    if isinstance(output, dict):
        named = dict(output)
    else:
        named = dict(zip(model.output_names, output if isinstance(output, (list, tuple)) else [output]))
    if sorted(named) != sorted(heads):
        raise ValueError(
            f"outputs named {sorted(named)}; expected two outputs named {heads[0]!r} and {heads[1]!r} "
            "(a list of layers of those names, or a dict with those keys)."
        )
    return {head: named[head] for head in heads}


def head_layers(model, heads=HEADS):
    """``{head: layers only that head's output depends on}`` (the rest is the shared trunk),
    read from the functional graph of ``model``; a ValueError names a head without a trainable
    layer of its own."""
    behind = {
        head: {id(layer) for layer in keras.Model(model.inputs, output).layers}
        for head, output in head_outputs(model, heads).items()
    }
    owned = {
        head: [layer for layer in model.layers if all((id(layer) in behind[each]) == (each == head) for each in heads)]
        for head in heads
    }
    for head, layers in owned.items():
        if not any(layer.trainable_variables for layer in layers):
            raise ValueError(
                f"no trainable layer feeds the {head!r} output alone, so it has no head to update; "
                f"layers: {[layer.name for layer in model.layers]}."
            )
    return owned


class SplitHeadTrainer:
    """Trains a two-head model with alternating, randomly ordered head updates.

    ``build_model`` is a zero-argument callable returning the (uncompiled) functional model; it
    is called inside ``strategy.scope()``. Its outputs are the heads, matched by name (a dict's
    keys or a list's output names, :func:`head_outputs`); a head's layers are those only its
    output depends on (:func:`head_layers`), every other trainable layer is shared trunk.
    ``seed`` drives the per-batch head order only; seed weights and dropout with
    ``keras.utils.set_random_seed`` before building.

    ``input_stage``: a function ``x -> model input`` run inside every compiled step (both
    half-steps, evaluation, prediction) before the model, e.g.
    :meth:`~ser_keras.experiments.data.ElorData.slice_inputs` cutting 6 s slices from slice
    indices on the training device. It is not part of ``model``, so a saved ``.h5`` still takes
    the network's own inputs.

    ``routes``: compute the layers that TensorFlow trains slowly on a CPU through same-maths
    routes in the training updates (:mod:`ser_keras.training.routes`: ELoR's long convolutions
    take their kernel gradients from frame-pair matmuls, batch norms run as the fused op).
    Default: on where no GPU is visible. ``routed`` names the layers the updates route
    (``{layer name: route}``, known once an update has been traced), for the model's sidecar.
    """

    def __init__(
        self,
        build_model,
        *,
        learning_rate,
        momentum=0.9,
        seed=0,
        heads=HEADS,
        strategy=None,
        input_stage=None,
        routes=None,
    ):
        if len(heads) != 2 or len(set(heads)) != 2:
            raise ValueError(f"heads must name two distinct outputs; got {heads!r}.")
        self.heads = tuple(heads)
        self.strategy = strategy or tf.distribute.get_strategy()
        with self.strategy.scope():
            self.model = build_model()
            self.update_variables = self._partition_variables()
            # A list-output model returns its heads by position, a dict-output one by name.
            self._positions = (
                None
                if isinstance(self.model.output, dict)
                else {head: list(self.model.output_names).index(head) for head in self.heads}
            )
            self.optimizers = {
                head: MomentumSGD(learning_rate, momentum=momentum, nesterov=True, name=f"sgd_{head}")
                for head in self.heads
            }
            for head in self.heads:
                self.optimizers[head].build(self.update_variables[head])
        self.routes = routes
        self.order_rng = np.random.default_rng(seed)
        self.input_stage = input_stage or (lambda x: x)
        self.best_epoch = None
        self.routed = {}
        self._updates = {
            head: tf.function(functools.partial(self._distributed_update, head), reduce_retracing=True)
            for head in self.heads
        }
        self._evaluate_batch = tf.function(self._distributed_evaluate, reduce_retracing=True)
        self._forward = tf.function(lambda x: self._outputs(x, training=False), reduce_retracing=True)

    def _outputs(self, x, *, training):
        """``{head: probabilities}`` of the model on ``x``."""
        outputs = self.model(self.input_stage(x), training=training)
        return outputs if self._positions is None else {head: outputs[at] for head, at in self._positions.items()}

    def _partition_variables(self):
        """Trunk + head variables per head, in the model's layer order (:func:`head_layers`)."""
        owned = head_layers(self.model, self.heads)
        owner = {id(layer): head for head, layers in owned.items() for layer in layers}
        head_variables = {head: [] for head in self.heads}
        trunk = []
        for layer in self.model.layers:
            (head_variables[owner[id(layer)]] if id(layer) in owner else trunk).extend(layer.trainable_variables)
        return {head: trunk + head_variables[head] for head in self.heads}

    def _replica_update(self, head, x, labels):
        variables = self.update_variables[head]
        with tf.GradientTape() as tape:
            outputs = self._outputs(x, training=True)
            per_example = keras.losses.sparse_categorical_crossentropy(labels[head], outputs[head])
            # Deviation: batch-mean cross-entropy (Keras convention), the paper sums over samples.
            data_loss = tf.nn.compute_average_loss(per_example)
            penalties = [variable.regularizer(variable) for variable in variables if variable.regularizer is not None]
            penalty = tf.add_n(penalties) if penalties else 0.0
            loss = data_loss + tf.nn.scale_regularization_loss(penalty)
        gradients = tape.gradient(loss, variables)
        self.optimizers[head].apply_gradients(zip(gradients, variables))
        return data_loss

    def _distributed_update(self, head, x, labels):
        # Routed while this update is traced (by all replicas) only: evaluation, prediction and
        # a saved model run TensorFlow's own ops.
        with routed_layers(self.model, self.routes) as routed:
            self.routed = {layer.name: route for layer, route in routed.items()}
            per_replica = self.strategy.run(functools.partial(self._replica_update, head), args=(x, labels))
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    def _replica_evaluate(self, x, labels):
        outputs = self._outputs(x, training=False)
        sums = {}
        for head in self.heads:
            target = tf.cast(labels[head], tf.int64)
            sums[f"loss_{head}"] = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(target, outputs[head]))
            hits = tf.equal(tf.argmax(outputs[head], axis=-1), target)
            sums[f"correct_{head}"] = tf.reduce_sum(tf.cast(hits, tf.float32))
        sums["count"] = tf.cast(tf.shape(labels[self.heads[0]])[0], tf.float32)
        return sums

    def _distributed_evaluate(self, x, labels):
        per_replica = self.strategy.run(self._replica_evaluate, args=(x, labels))
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    def draw_order(self):
        """The next batch's head order, from the seeded order generator."""
        return tuple(self.heads[index] for index in self.order_rng.permutation(len(self.heads)))

    def train_step(self, x, labels, after_update=None):
        """One batch: both heads updated in a freshly drawn order.

        ``after_update(head)`` is called after each half-step (tests snapshot variables
        there). Returns ``(order, {head: cross-entropy before its update})``.
        """
        order = self.draw_order()
        losses = {}
        for head in order:
            losses[head] = float(self._updates[head](x, labels))
            if after_update is not None:
                after_update(head)
        return order, losses

    def evaluate(self, dataset):
        """Mean cross-entropy and accuracy per head, and ``loss`` = sum of the two."""
        totals = None
        for x, labels in self.strategy.experimental_distribute_dataset(dataset):
            sums = {key: float(value) for key, value in self._evaluate_batch(x, labels).items()}
            totals = sums if totals is None else {key: totals[key] + sums[key] for key in totals}
        if not totals or totals["count"] == 0:
            raise ValueError("evaluate() got an empty dataset.")
        result = {}
        for head in self.heads:
            result[f"loss_{head}"] = totals[f"loss_{head}"] / totals["count"]
            result[f"accuracy_{head}"] = totals[f"correct_{head}"] / totals["count"]
        result["loss"] = sum(result[f"loss_{head}"] for head in self.heads)
        return result

    def predict(self, dataset):
        """Class probabilities per head, ``{head: array (samples, classes)}``.

        Elements may be ``x`` or ``(x, labels)`` with ``labels`` a dict.
        """
        batches = {head: [] for head in self.heads}
        for element in dataset:
            x = (
                element[0]
                if isinstance(element, tuple) and len(element) == 2 and isinstance(element[1], dict)
                else element
            )
            outputs = self._forward(x)
            for head in self.heads:
                batches[head].append(outputs[head].numpy())
        if not batches[self.heads[0]]:
            raise ValueError("predict() got an empty dataset.")
        return {head: np.concatenate(arrays) for head, arrays in batches.items()}

    def fit(
        self,
        train_dataset,
        validation_dataset=None,
        *,
        epochs,
        patience=10,
        checkpoint_path=None,
        verbose=1,
        tensorboard_dir=None,
        callbacks=(),
    ):
        """Train up to ``epochs`` epochs; returns the history dict of per-epoch lists.

        With ``validation_dataset``: early stopping after ``patience`` epochs without a
        lower summed validation loss, and the best epoch's weights are restored at the end
        (``best_epoch`` is 1-based). With ``checkpoint_path`` (``.npz``): after every epoch
        weights, optimizer slots, best weights, history and the order generator are
        written atomically, and a later ``fit`` with the same path resumes after the last
        finished epoch. Dropout and data-shuffling streams are not part of the checkpoint,
        so a resumed run is not bit-identical to an uninterrupted one. ``verbose=2`` prints
        a line per epoch ("epoch 7 of 30"), a step bar and the validation loss; 0 and 1
        print nothing (the run's progress view reports finished units). ``tensorboard_dir``:
        per-epoch scalars laid out as ``keras.callbacks.TensorBoard`` does:
        ``train/`` epoch_loss_<head>, epoch_learning_rate; ``validation/`` epoch_loss_<head>,
        epoch_accuracy_<head>, epoch_loss (the sum that early stopping watches). ``callbacks``:
        Keras callbacks whose ``on_epoch_end`` gets each epoch's record as its logs (``loss_<head>``,
        ``val_loss``, ...; e.g. the run's heartbeat); this loop has no other callback hooks.
        """
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1; got {epochs!r}.")
        state = {"epoch": 0, "best_loss": None, "best_epoch": None, "wait": 0, "stopped": False, "history": {}}
        best_weights = None
        if checkpoint_path is not None and os.path.exists(checkpoint_path):
            state, best_weights = self._load_checkpoint(checkpoint_path)
        history = state["history"]
        steps = int(train_dataset.cardinality())
        writers = (
            {run: tf.summary.create_file_writer(os.path.join(tensorboard_dir, run)) for run in ("train", "validation")}
            if tensorboard_dir
            else None
        )
        for epoch in range(state["epoch"] + 1, epochs + 1):
            if state["stopped"]:
                break
            if verbose >= 2:
                stopping = (
                    "" if validation_dataset is None else f", stops after {patience} epochs without a lower val_loss"
                )
                print(f"epoch {epoch} of {epochs}{stopping}", flush=True)
            progress = keras.utils.Progbar(steps if steps > 0 else None, verbose=1 if verbose >= 2 else 0)
            sums = {head: 0.0 for head in self.heads}
            batches = 0
            for x, labels in self.strategy.experimental_distribute_dataset(train_dataset):
                _, losses = self.train_step(x, labels)
                batches += 1
                for head in self.heads:
                    sums[head] += losses[head]
                progress.update(batches, [(f"loss_{head}", losses[head]) for head in self.heads])
            if batches == 0:
                raise ValueError("fit() got an empty training dataset.")
            record = {f"loss_{head}": sums[head] / batches for head in self.heads}
            if validation_dataset is not None:
                record.update({f"val_{key}": value for key, value in self.evaluate(validation_dataset).items()})
                if state["best_loss"] is None or record["val_loss"] < state["best_loss"]:
                    state.update(best_loss=record["val_loss"], best_epoch=epoch, wait=0)
                    best_weights = self.model.get_weights()
                else:
                    state["wait"] += 1
                    state["stopped"] = state["wait"] >= patience
                if verbose >= 2:
                    print(
                        f"val_loss {record['val_loss']:.4f} "
                        f"(best {state['best_loss']:.4f}, epoch {state['best_epoch']})"
                    )
            for key, value in record.items():
                history.setdefault(key, []).append(value)
            if writers:
                self._write_summaries(writers, epoch, record)
            state["epoch"] = epoch
            if checkpoint_path is not None:
                self._save_checkpoint(checkpoint_path, state, best_weights)
            for callback in callbacks:
                callback.on_epoch_end(epoch - 1, dict(record))  # Keras counts epochs from 0
        if best_weights is not None:
            self.model.set_weights(best_weights)
        self.best_epoch = state["best_epoch"]
        for writer in (writers or {}).values():
            writer.close()
        return history

    def _write_summaries(self, writers, epoch, record):
        """One epoch's TensorBoard scalars; steps count from 0 as in keras.callbacks.TensorBoard."""
        # Both heads' optimizers were built with the same rate and no schedule changes it.
        learning_rate = float(keras.ops.convert_to_numpy(self.optimizers[self.heads[0]].learning_rate))
        scalars = {
            "train": {key: value for key, value in record.items() if not key.startswith("val_")},
            "validation": {key[len("val_") :]: value for key, value in record.items() if key.startswith("val_")},
        }
        scalars["train"]["learning_rate"] = learning_rate
        for run, values in scalars.items():
            with writers[run].as_default():
                for name, value in values.items():
                    tf.summary.scalar(f"epoch_{name}", value, step=epoch - 1)
            writers[run].flush()

    def _save_checkpoint(self, path, state, best_weights):
        arrays = {f"weight_{index}": value for index, value in enumerate(self.model.get_weights())}
        for index, value in enumerate(best_weights or []):
            arrays[f"best_{index}"] = value
        for head, optimizer in self.optimizers.items():
            for index, variable in enumerate(optimizer.variables):
                arrays[f"optimizer_{head}_{index}"] = np.asarray(variable)
        record = dict(state, order_rng=self.order_rng.bit_generator.state)
        arrays["state"] = np.array(json.dumps(record))
        # A file handle, not a name: np.savez would append ".npz" to the temporary name.
        with atomic_path(path) as temporary, open(temporary, "wb") as handle:
            np.savez(handle, **arrays)

    def _load_checkpoint(self, path):
        with np.load(path) as stored:
            record = json.loads(str(stored["state"]))
            weight_count = len(self.model.weights)
            self.model.set_weights([stored[f"weight_{index}"] for index in range(weight_count)])
            best = [stored[f"best_{index}"] for index in range(weight_count)] if "best_0" in stored else None
            for head, optimizer in self.optimizers.items():
                for index, variable in enumerate(optimizer.variables):
                    variable.assign(stored[f"optimizer_{head}_{index}"])
        self.order_rng.bit_generator.state = record.pop("order_rng")
        return record, best
