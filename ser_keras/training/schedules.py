"""Learning-rate halving of SHORT §2.3, with the exact rules of the Idiap training script.

SHORT: "The learning rate was halved, in the range 10^-1 to 10^-6, between successive epochs
whenever the validation-loss stopped reducing." The authors' code (idiap/RawSpeechClassification
``train.py``) makes this precise:

1. train ``min_epoch - 1 = 4`` epochs at the initial learning rate (0.1);
2. then train one epoch at a time; after each, ``diff = val_loss(previous epoch) -
   val_loss(this epoch)`` (absolute, against the *previous* epoch, not the best one); when
   ``diff < 0.002`` the learning rate is multiplied by 0.5 (the weights are kept, not rolled
   back);
3. stop once the learning rate has been halved below the floor (``min_lr``).

The rule lives in a pure state machine (:func:`after_epoch`) so it can be tested on a
scripted loss sequence; :class:`HalveLearningRateOnPlateau` applies it inside ``model.fit``.
"""

import dataclasses
import math
import numbers
from dataclasses import dataclass

import keras


@dataclass(frozen=True)
class HalvingSchedule:
    """Settings of the halving rule (defaults: the Idiap code, floor from the paper).

    initial_epochs: epochs trained before the first check (Idiap ``min_epoch - 1`` = 4).
    min_delta: smallest decrease of the validation loss, epoch over epoch, that keeps the
        learning rate (Idiap ``minValError`` = 0.002, absolute).
    factor: multiplier applied at each plateau (Idiap ``lrScale`` = 0.5).
    floor: training stops as soon as the learning rate falls below this value.
    """

    initial_epochs: int = 4
    min_delta: float = 0.002
    factor: float = 0.5
    # Deviation: the Idiap script stops below 1e-7; SHORT states the range 10^-1 … 10^-6,
    # and the paper wins.
    floor: float = 1e-6

    def __post_init__(self):
        if isinstance(self.initial_epochs, bool) or not isinstance(self.initial_epochs, numbers.Integral):
            raise TypeError(f"`initial_epochs` must be an int. Got {self.initial_epochs!r}.")
        if self.initial_epochs < 1:
            raise ValueError(f"`initial_epochs` must be at least 1. Got {self.initial_epochs}.")
        if not self.min_delta >= 0:
            raise ValueError(f"`min_delta` must be >= 0. Got {self.min_delta!r}.")
        if not 0 < self.factor < 1:
            raise ValueError(f"`factor` must lie strictly between 0 and 1. Got {self.factor!r}.")
        if not self.floor > 0:
            raise ValueError(f"`floor` must be positive. Got {self.floor!r}.")


@dataclass(frozen=True)
class HalvingState:
    """Where the halving rule stands after ``epochs_done`` epochs (epochs count from 1)."""

    learning_rate: float
    epochs_done: int = 0
    previous_val_loss: float = math.inf
    best_val_loss: float = math.inf
    best_epoch: int = 0
    halvings: int = 0
    stop: bool = False


def initial_state(learning_rate, schedule=HalvingSchedule()):
    """State before the first epoch; ``learning_rate`` must lie at or above the floor."""
    if not (isinstance(learning_rate, numbers.Real) and math.isfinite(learning_rate)):
        raise TypeError(f"`learning_rate` must be a finite number. Got {learning_rate!r}.")
    if learning_rate < schedule.floor:
        raise ValueError(f"`learning_rate` of {learning_rate} is below the schedule's floor {schedule.floor}.")
    return HalvingState(learning_rate=float(learning_rate))


def after_epoch(state, val_loss, schedule=HalvingSchedule()):
    """Apply the rule to the validation loss of the epoch just finished; return the new state.

    ``learning_rate`` of the result is the one to use for the next epoch; ``stop`` says that
    it fell below the floor and training ends. A NaN or infinite loss counts as no
    improvement (Idiap compares with ``<``, so a NaN would never halve).
    """
    if state.stop:
        raise ValueError("The schedule has already stopped; no further epoch can be recorded.")
    val_loss = float(val_loss)
    epochs_done = state.epochs_done + 1
    best_val_loss, best_epoch = state.best_val_loss, state.best_epoch
    if math.isfinite(val_loss) and val_loss < best_val_loss:
        best_val_loss, best_epoch = val_loss, epochs_done
    learning_rate, halvings, stop = state.learning_rate, state.halvings, False
    if epochs_done > schedule.initial_epochs:
        decrease = state.previous_val_loss - val_loss if math.isfinite(val_loss) else -math.inf
        if decrease < schedule.min_delta:
            learning_rate *= schedule.factor
            halvings += 1
            stop = learning_rate < schedule.floor
    return dataclasses.replace(
        state,
        learning_rate=learning_rate,
        epochs_done=epochs_done,
        previous_val_loss=val_loss,
        best_val_loss=best_val_loss,
        best_epoch=best_epoch,
        halvings=halvings,
        stop=stop,
    )


class HalveLearningRateOnPlateau(keras.callbacks.Callback):
    """Keras callback running :func:`after_epoch` on ``val_loss`` after every epoch.

    Sets the optimizer's learning rate for the next epoch, stops training at the floor and,
    with ``restore_best_weights`` (default), puts back the weights of the epoch with the
    lowest validation loss when training ends. Each epoch's ``logs`` (and so the History)
    gain ``learning_rate``: the rate used during that epoch. After training, ``state`` holds
    the final :class:`HalvingState`.
    """

    def __init__(self, schedule=HalvingSchedule(), *, restore_best_weights=True):
        super().__init__()
        if not isinstance(schedule, HalvingSchedule):
            raise TypeError(f"`schedule` must be a HalvingSchedule. Got {type(schedule).__name__}.")
        self.schedule = schedule
        self.restore_best_weights = restore_best_weights
        self.state = None
        self._best_weights = None

    def on_train_begin(self, logs=None):
        learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.state = initial_state(learning_rate, self.schedule)
        self._best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        if "val_loss" not in logs:
            raise ValueError(
                "HalveLearningRateOnPlateau needs `val_loss`; pass `validation_data` to fit. "
                f"Got logs with keys {sorted(logs)}."
            )
        logs["learning_rate"] = self.state.learning_rate
        previous = self.state
        self.state = after_epoch(previous, logs["val_loss"], self.schedule)
        if self.restore_best_weights and self.state.best_epoch == self.state.epochs_done:
            self._best_weights = self.model.get_weights()
        if self.state.learning_rate != previous.learning_rate:
            self.model.optimizer.learning_rate = self.state.learning_rate
        if self.state.stop:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        # Deviation: the Idiap script keeps the weights of the last epoch; we keep those of
        # the best validation epoch, the model the validation set selects (as for every row).
        if self.restore_best_weights and self._best_weights is not None:
            self.model.set_weights(self._best_weights)
