"""Training recipe for SHORT's frame-level networks (§2.3): SGD + learning-rate halving.

Idiap ``train.py`` recipe: SGD with momentum 0.5 (not Nesterov, no weight decay), initial
learning rate 0.1, sparse categorical cross-entropy, accuracy as metric; the learning rate
is halved on validation plateaus until it leaves 10^-1 … 10^-6 (``schedules.py``). The batch
size (256 in the recipe) is the dataset's: it is set where the tf.data pipeline batches.

Multi-GPU: build the model inside ``strategy.scope()``; compiling here happens in the
strategy the model was built under, so the optimizer's variables are mirrored too.

Console: only ``verbose=2`` prints, Keras' step bar under one line per epoch
that names the real limit ("epoch 7, LR 0.0125, stops below 1e-6"); a run's progress view
(``ser_keras.console.RunProgress``) reports finished units instead.
"""

import math

import keras

from ser_keras.io import atomic_path
from ser_keras.models.h5_export import write_h5
from ser_keras.training import execution
from ser_keras.training.momentum import MomentumSGD
from ser_keras.training.routes import routed_layers
from ser_keras.training.schedules import HalveLearningRateOnPlateau, HalvingSchedule

# The halving schedule always ends training (every epoch that keeps the rate must lower
# the validation loss by ≥ min_delta); this bound only gives ``fit`` a finite epoch count,
# and is never shown (see _EpochProgbar).
_UNLIMITED_EPOCHS = 100_000

# Why several steps per call: the GPU path needs them. Each call costs a Python round trip
# (≈ 1 ms), while a GPU trains a Raw Seg batch in far less, so one step per call would
# leave it idle. On this 2-core CPU it measured neutral (within run-to-run noise). Same
# batches, same updates, same order: the weights are bitwise those of one step per call.
_MOST_STEPS_PER_EXECUTION = 32


def pick_steps_per_execution(*step_counts, most=_MOST_STEPS_PER_EXECUTION):
    """The largest ``n <= most`` that divides every step count given (``None``: a finite
    dataset, which ends a call early by itself).

    Keras runs ``n`` steps per call even where an epoch's ``steps_per_epoch`` (or
    ``validation_steps``) is not a multiple of ``n``, so the epoch would overrun its
    steps; a divisor keeps the epochs exactly as they are with one step per call.
    """
    counts = [count for count in step_counts if count is not None]
    return max(n for n in range(1, most + 1) if all(count % n == 0 for count in counts))


class _EpochProgbar(keras.callbacks.ProgbarLogger):
    """Keras' step progress bar, each epoch headed by a line with the learning rate and the
    real limit (the schedule's floor, and ``max_epochs`` when given)."""

    def __init__(self, halving, max_epochs):
        super().__init__()
        self.halving = halving
        self.max_epochs = max_epochs

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs = 1  # else Keras heads the epoch "Epoch 7/100000", the bound, not a limit
        super().on_epoch_begin(epoch, logs)
        limit = f"stops below {_short_float(self.halving.schedule.floor)}"
        if self.max_epochs:
            limit += f" or after epoch {self.max_epochs}"
        print(f"epoch {epoch + 1}, LR {_short_float(self.halving.state.learning_rate)}, {limit}", flush=True)


def _short_float(value):
    """0.0125 → '0.0125', 1e-06 → '1e-6'."""
    return f"{value:g}".replace("e-0", "e-")


def train_frame_classifier(
    model,
    train_ds,
    val_ds,
    *,
    learning_rate=0.1,
    momentum=0.5,
    schedule=HalvingSchedule(),
    max_epochs=None,
    steps_per_epoch=None,
    validation_steps=None,
    jit_compile=None,
    verbose=1,
    checkpoint_path=None,
    tensorboard_dir=None,
    callbacks=(),
    routes=None,
    steps_per_execution=None,
):
    """Compile ``model`` with the SHORT recipe and train it until the schedule stops.

    train_ds / val_ds: datasets (or anything ``model.fit`` takes) yielding ``(inputs, labels)``
    batches with integer labels. An infinite (repeated) dataset needs ``steps_per_epoch`` /
    ``validation_steps``. max_epochs: optional hard cap (e.g. for ``--quick`` runs).
    jit_compile: XLA; ``None`` turns it on only when a GPU is visible (on CPU it slowed
    training down; :mod:`ser_keras.training.execution` decides). verbose: 2 prints the epoch
    lines and Keras' step bar; 0 and 1 print nothing. checkpoint_path: where the
    best-validation model is written as ``.h5`` once training ends. The model ends up holding
    the best-validation weights.
    tensorboard_dir: where ``keras.callbacks.TensorBoard`` logs each epoch:
    ``train/`` epoch_loss, epoch_accuracy, epoch_learning_rate (the rate used in that epoch);
    ``validation/`` epoch_loss, epoch_accuracy.
    routes: compute the layers that TensorFlow trains slowly on a CPU through same-maths
    routes (:mod:`ser_keras.training.routes`; the raw CNNs' conv3 and conv4 as patch matmuls,
    on an AVX2-only CPU conv2 too) while it trains; ``None`` turns them on only when no GPU is visible.
    steps_per_execution: training (and evaluation) steps per call of the compiled step;
    ``None`` picks the largest divisor of ``steps_per_epoch`` and ``validation_steps`` up to
    32 (:func:`pick_steps_per_execution`). Any divisor of the epoch's steps gives the weights
    of one step per call; another value overruns each epoch.

    Returns a JSON-ready dict: ``epochs_run``, ``best_epoch`` (1-based; 0 and ``best_val_loss``
    None when no epoch had a finite validation loss), ``best_val_loss``,
    ``final_learning_rate`` (the rate after the last epoch's update), ``halvings``,
    ``stopped_by`` (``'learning_rate_floor'`` or ``'max_epochs'``), ``steps_per_execution``,
    ``routes`` (``{layer name: route}`` of the layers trained through a route) and ``history`` (per-epoch
    lists: loss, accuracy, val_loss, val_accuracy, learning_rate).
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model. Got {type(model).__name__}.")
    if max_epochs is not None and (isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1):
        raise ValueError(f"`max_epochs` must be a positive int or None. Got {max_epochs!r}.")
    if checkpoint_path is not None and not str(checkpoint_path).endswith(".h5"):
        raise ValueError(f"`checkpoint_path` must end in '.h5'. Got {str(checkpoint_path)!r}.")
    if val_ds is None:
        raise ValueError("`val_ds` is required: the learning-rate schedule runs on the validation loss.")
    if jit_compile is None:
        jit_compile = execution.current().xla
    if steps_per_execution is None:
        steps_per_execution = pick_steps_per_execution(steps_per_epoch, validation_steps)

    with model.distribute_strategy.scope():
        model.compile(
            optimizer=MomentumSGD(learning_rate=learning_rate, momentum=momentum, nesterov=False),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            jit_compile=jit_compile,
            steps_per_execution=steps_per_execution,
        )
    halving = HalveLearningRateOnPlateau(schedule)
    progress = [_EpochProgbar(halving, max_epochs)] if verbose >= 2 else []
    # Ahead of the halving callback, so the learning rate it logs is the epoch's, not the next one's.
    board = [keras.callbacks.TensorBoard(log_dir=str(tensorboard_dir), write_graph=False)] if tensorboard_dir else []
    with routed_layers(model, routes) as routed:
        history = model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=max_epochs or _UNLIMITED_EPOCHS,
            steps_per_epoch=steps_per_epoch,
            validation_steps=validation_steps,
            shuffle=False,  # the tf.data pipeline shuffles; Keras ignores (and warns about) this for datasets
            callbacks=[*board, halving, *callbacks, *progress],
            verbose=1 if progress else 0,
        )
    state = halving.state
    if checkpoint_path is not None:
        save_h5(model, checkpoint_path)
    return {
        "epochs_run": state.epochs_done,
        "best_epoch": state.best_epoch,
        "best_val_loss": state.best_val_loss if math.isfinite(state.best_val_loss) else None,
        "final_learning_rate": state.learning_rate,
        "halvings": state.halvings,
        "stopped_by": "learning_rate_floor" if state.stop else "max_epochs",
        "steps_per_execution": steps_per_execution,
        "routes": {layer.name: route for layer, route in routed.items()},
        "history": {key: [float(value) for value in values] for key, values in history.history.items()},
    }


def save_h5(model, path):
    """Save ``model`` (without optimizer state) as a legacy ``.h5`` file, atomically; return its
    :class:`~ser_keras.models.h5_export.H5Format` (a Functional graph of built-in layers, as every
    paper network is, loads with Keras 3 and with Keras 2's tf_keras)."""
    # Keras picks the file format from the extension, so the temporary name ends in '.h5'.
    with atomic_path(path, suffix=".h5") as tmp:
        return write_h5(model, tmp)


def load_h5(path):
    """Load a saved ``.h5`` model for analysis (uncompiled, Keras safe mode: no Lambda code).

    A missing, truncated or corrupt file raises ``ValueError`` naming it instead of an h5py
    traceback.
    """
    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"{path}: not a readable Keras .h5 model ({type(error).__name__}: {error}). "
            "Delete it and rerun the fold with --resume."
        ) from error
