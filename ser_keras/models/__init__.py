"""Keras functional graph builders (built-in layers only) for both papers' networks."""

from ser_keras.models.elor import (
    ElorConfig,
    ElorFtrConfig,
    FtrConfig,
    LomConfig,
    build_elor,
    build_elor_ftr,
    build_ftr,
    build_lom,
)
from ser_keras.models.lld_mlp import LLD_CONTEXT, LLD_MLP_GRID, build_lld_mlp, lld_standardization
from ser_keras.models.raw_cnn import (
    FIRST_CONV_LAYER,
    RAW_CNN_CONFIGS,
    RAW_SEG,
    RAW_SUBSEG,
    ConvStage,
    RawCnnConfig,
    build_raw_cnn,
    build_raw_seg,
    build_raw_subseg,
    minimum_window,
    time_steps,
)

__all__ = [
    "ElorConfig",
    "ElorFtrConfig",
    "FtrConfig",
    "LomConfig",
    "build_elor",
    "build_elor_ftr",
    "build_ftr",
    "build_lom",
    "FIRST_CONV_LAYER",
    "LLD_CONTEXT",
    "LLD_MLP_GRID",
    "RAW_CNN_CONFIGS",
    "RAW_SEG",
    "RAW_SUBSEG",
    "ConvStage",
    "RawCnnConfig",
    "build_lld_mlp",
    "build_raw_cnn",
    "build_raw_seg",
    "build_raw_subseg",
    "lld_standardization",
    "minimum_window",
    "time_steps",
]
