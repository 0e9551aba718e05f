"""Training recipes and utterance aggregation for the frame-level networks."""

from ser_keras.training.aggregate import utterance_decisions, utterance_posteriors
from ser_keras.training.fit import save_h5, train_frame_classifier
from ser_keras.training.precision import PRECISIONS, configure_precision
from ser_keras.training.schedules import (
    HalveLearningRateOnPlateau,
    HalvingSchedule,
    HalvingState,
    after_epoch,
    initial_state,
)
from ser_keras.training.split_heads import SplitHeadTrainer

__all__ = [
    "SplitHeadTrainer",
    "PRECISIONS",
    "HalveLearningRateOnPlateau",
    "HalvingSchedule",
    "HalvingState",
    "after_epoch",
    "configure_precision",
    "initial_state",
    "save_h5",
    "train_frame_classifier",
    "utterance_decisions",
    "utterance_posteriors",
]
