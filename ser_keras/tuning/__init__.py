"""keras-tuner searches replacing the papers' hyperparameter tuning (ELOR hyperopt/TPE,
SHORT's validation choice of the LLD-MLP size): spaces, trials, results and cost."""

from ser_keras.tuning.search import (
    MLP_OBJECTIVE,
    SPLIT_HEAD_OBJECTIVE,
    TUNERS,
    LldMlpHyperModel,
    MlpData,
    SearchTuner,
    SplitHeadHyperModel,
    make_oracle,
    make_strategy,
    role,
    run_search,
)
from ser_keras.tuning.spaces import ELOR_SPACE, FTR_SPACE, LOM_SPACE, Range, SearchSpace

__all__ = [
    "ELOR_SPACE",
    "FTR_SPACE",
    "LOM_SPACE",
    "MLP_OBJECTIVE",
    "SPLIT_HEAD_OBJECTIVE",
    "TUNERS",
    "LldMlpHyperModel",
    "MlpData",
    "Range",
    "SearchSpace",
    "SearchTuner",
    "SplitHeadHyperModel",
    "make_oracle",
    "make_strategy",
    "role",
    "run_search",
]
