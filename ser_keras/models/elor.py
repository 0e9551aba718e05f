"""The ELOR paper's four networks: ELoR, LoM, FTR and ELoR+FTR.

ELOR sections "ELoR network", "Architectures for comparison" and "Hyperparameter
optimization" (Fig. 2, Fig. 3, Tables 1-4).

Functional Keras graphs of built-in layers only, so a saved ``.h5`` reloads with plain
``keras.models.load_model``. Every network ends in the same two heads, one per emotional
dimension, named ``valence`` and ``arousal`` (the model outputs a dict with these keys):
Dense sigmoid -> Dropout -> Dense sigmoid -> Dropout -> Dense softmax over 5 classes.
The alternating head updates of the paper live in ``ser_keras.training.split_heads``;
heads are told apart there by layer name (``<head>`` and ``<head>_*``).

Our copy of the paper lacks Tables 1-4 (the tuned values), so every hyperparameter is a
field of a frozen config whose default is the centre of the search space the paper
describes (ELoR: uniform around Trigeorgis et al. 2016) or, where the paper names no
centre we can read, our stated choice. Type the paper's values in via ``from_dict``.
"""

import dataclasses
import math
from dataclasses import dataclass

import keras
import numpy as np

from ser_keras.data.labels import DIMENSIONS

HEADS = DIMENSIONS

# He et al.'s adaptation of Xavier's normalised initialisation (paper, Sect. 2.2): the
# Glorot-uniform fan average with the variance doubled for ReLU, i.e.
# U(+-sqrt(6 / fan_avg)) — not keras' 'he_uniform', which uses the fan-in only.
HE_SCALED_GLOROT = {"scale": 2.0, "mode": "fan_avg", "distribution": "uniform"}


def _positive_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")


def _positive_ints(name, values):
    if not values:
        raise ValueError(f"{name} must be a non-empty sequence of positive integers; got {values!r}.")
    for value in values:
        _positive_int(name, value)


@dataclass(frozen=True)
class HeadConfig:
    """Fields shared by all four networks: the two classification heads and SGD.

    ============== ============ ===========================================================
    field          default      meaning and source
    ============== ============ ===========================================================
    head_units     (256, 256)   widths of the two sigmoid hidden layers of each head; our
                                choice (Trigeorgis et al. use two recurrent layers of 256)
    dropout_rate   0.5          dropout after each hidden layer (Hinton et al.'s 0.5)
    l2_alpha       1e-4         alpha_w of the L2 term on every kernel (Keras ``L2``)
    learning_rate  0.01         SGD step size
    momentum       0.9          Nesterov momentum
    batch_size     32           mini-batch size
    num_classes    5            classes per head (IEMOCAP's 1-5 ratings -> labels 0-4)
    ============== ============ ===========================================================
    """

    head_units: tuple = (256, 256)
    dropout_rate: float = 0.5
    l2_alpha: float = 1e-4
    learning_rate: float = 0.01
    momentum: float = 0.9
    batch_size: int = 32
    num_classes: int = 5

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, list):
                object.__setattr__(self, field.name, tuple(value))
        _positive_ints("head_units", self.head_units)
        if not 0.0 <= self.dropout_rate < 1.0:
            raise ValueError(f"dropout_rate must be in [0, 1); got {self.dropout_rate!r}.")
        if self.l2_alpha < 0:
            raise ValueError(f"l2_alpha must be >= 0; got {self.l2_alpha!r}.")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0; got {self.learning_rate!r}.")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1); got {self.momentum!r}.")
        _positive_int("batch_size", self.batch_size)
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be >= 2; got {self.num_classes!r}.")

    @classmethod
    def from_dict(cls, values):
        """Config from a JSON-style dict (lists become tuples); unknown keys are an error."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown {cls.__name__} fields {unknown}; known: {sorted(known)}.")
        return cls(**values)

    def to_dict(self):
        """Plain dict for a JSON hyperparameter file (tuples become lists)."""
        return {
            key: list(value) if isinstance(value, tuple) else value for key, value in dataclasses.asdict(self).items()
        }


@dataclass(frozen=True)
class ConvTrunkConfig(HeadConfig):
    """Fields of the 1-D CNN trunk shared by ELoR, LoM and ELoR+FTR.

    ================== ============ =================================================
    field              default      meaning
    ================== ============ =================================================
    conv_filters       per network  filters of each Conv1D (stride 1)
    conv_kernel_sizes  per network  kernel length of each Conv1D
    pool_sizes         per network  max-pool size (= stride) after each Conv1D
    conv_padding       'valid'      Conv1D padding ('valid' or 'same')
    ================== ============ =================================================
    """

    conv_filters: tuple = (40, 40, 40)
    conv_kernel_sizes: tuple = (20, 40, 40)
    pool_sizes: tuple = (2, 10, 10)
    conv_padding: str = "valid"

    def __post_init__(self):
        super().__post_init__()
        for name in ("conv_filters", "conv_kernel_sizes", "pool_sizes"):
            _positive_ints(name, getattr(self, name))
        lengths = {len(self.conv_filters), len(self.conv_kernel_sizes), len(self.pool_sizes)}
        if len(lengths) != 1:
            raise ValueError(
                f"conv_filters {self.conv_filters}, conv_kernel_sizes {self.conv_kernel_sizes} and "
                f"pool_sizes {self.pool_sizes} must have one entry per conv block."
            )
        if self.conv_padding not in ("valid", "same"):
            raise ValueError(f"conv_padding must be 'valid' or 'same'; got {self.conv_padding!r}.")


@dataclass(frozen=True)
class ElorConfig(ConvTrunkConfig):
    """ELoR: raw 6 s waveform -> 3 conv blocks -> two heads (paper Fig. 2, Table 1).

    Defaults: ``input_length`` 96000 (6 s at 16 kHz). Conv blocks are the centre of the
    paper's search space, Trigeorgis et al.'s front end — conv1 40 filters x 20 + pool 2,
    conv2 40 filters x 40 + pool 10 — and conv3, which Trigeorgis et al. do not have,
    repeats conv2 (40 x 40 + pool 10): the centre of a range around the previous block.
    Flatten: 475 steps x 40 filters = 19,000 features; 9,992,066 parameters
    (98.7 % of them in the two first head layers, 19,000 x 256 each).
    """

    input_length: int = 96000

    def __post_init__(self):
        super().__post_init__()
        _positive_int("input_length", self.input_length)


@dataclass(frozen=True)
class LomConfig(ConvTrunkConfig):
    """LoM: 599 x 26 MFCCs, the coefficients as channels, 1-D conv over time (Fig. 3a).

    The paper centres this search on Barros et al. 2016, whose values our sources lack.
    Our choice: three blocks of 40 filters like ELoR, with kernels of 5 frames (50 ms)
    and pools of 2 (the time axis is already 10 ms per step). Flatten: 71 x 40 = 2,840;
    1,610,546 parameters. FTR: 944,650 parameters; ELoR+FTR: flatten 20,582, 10,802,050.
    """

    conv_filters: tuple = (40, 40, 40)
    conv_kernel_sizes: tuple = (5, 5, 5)
    pool_sizes: tuple = (2, 2, 2)
    frames: int = 599
    coefficients: int = 26

    def __post_init__(self):
        super().__post_init__()
        _positive_int("frames", self.frames)
        _positive_int("coefficients", self.coefficients)


@dataclass(frozen=True)
class FtrConfig(HeadConfig):
    """FTR: 1582 IS10 functionals, standardised, straight into the two heads (Fig. 3b)."""

    num_functionals: int = 1582

    def __post_init__(self):
        super().__post_init__()
        _positive_int("num_functionals", self.num_functionals)


@dataclass(frozen=True)
class ElorFtrConfig(ElorConfig):
    """ELoR+FTR: ELoR's flattened trunk concatenated with the IS10 vector (Fig. 3c)."""

    num_functionals: int = 1582

    def __post_init__(self):
        super().__post_init__()
        _positive_int("num_functionals", self.num_functionals)


def trunk_output_steps(length, config):
    """Time steps left after the conv blocks of ``config`` on an input of ``length`` steps."""
    for kernel, pool in zip(config.conv_kernel_sizes, config.pool_sizes):
        convolved = length if config.conv_padding == "same" else length - kernel + 1
        if convolved < pool:
            raise ValueError(
                f"conv kernel {kernel} + pool {pool} do not fit {length} steps; "
                f"shrink conv_kernel_sizes/pool_sizes {config.conv_kernel_sizes}/{config.pool_sizes} "
                f"or lengthen the input."
            )
        length = convolved // pool
    return length


def conv_trunk(inputs, config):
    """Conv blocks [Conv1D -> BatchNorm -> MaxPool -> ReLU] x n -> Flatten (paper Sect. 2.2)."""
    # Deviation: "L2 on all layers" is applied to conv and dense kernels, not to biases or
    # BatchNorm scales (Keras' kernel_regularizer convention).
    x = inputs
    for block, (filters, kernel, pool) in enumerate(
        zip(config.conv_filters, config.conv_kernel_sizes, config.pool_sizes), start=1
    ):
        x = keras.layers.Conv1D(
            filters,
            kernel,
            strides=1,
            padding=config.conv_padding,
            kernel_initializer=keras.initializers.VarianceScaling(**HE_SCALED_GLOROT),
            kernel_regularizer=keras.regularizers.L2(config.l2_alpha),
            name=f"conv{block}",
        )(x)
        x = keras.layers.BatchNormalization(name=f"conv{block}_batchnorm")(x)
        x = keras.layers.MaxPooling1D(pool, name=f"conv{block}_maxpool")(x)
        x = keras.layers.ReLU(name=f"conv{block}_relu")(x)
    return keras.layers.Flatten(name="flatten")(x)


def classification_head(features, name, config):
    """One head: [Dense sigmoid -> Dropout] per hidden width -> Dense softmax (float32)."""
    x = features
    for layer, units in enumerate(config.head_units, start=1):
        x = keras.layers.Dense(
            units,
            activation="sigmoid",
            kernel_initializer="glorot_uniform",
            kernel_regularizer=keras.regularizers.L2(config.l2_alpha),
            name=f"{name}_dense{layer}",
        )(x)
        x = keras.layers.Dropout(config.dropout_rate, name=f"{name}_dropout{layer}")(x)
    return keras.layers.Dense(
        config.num_classes,
        activation="softmax",
        kernel_initializer="glorot_uniform",
        kernel_regularizer=keras.regularizers.L2(config.l2_alpha),
        dtype="float32",
        name=name,
    )(x)


def _two_head_model(inputs, features, config, name):
    outputs = {head: classification_head(features, head, config) for head in HEADS}
    return keras.Model(inputs=inputs, outputs=outputs, name=name)


def _functional_standardizer(functional_mean, functional_variance, num_functionals):
    """Normalization layer holding the training fold's IS10 statistics in its config.

    Statistics live inside the model so a saved ``.h5`` standardises on its own; a
    zero variance is replaced by 1 (as scikit-learn's StandardScaler does) so a constant
    training feature cannot explode on test data.
    """
    mean = np.asarray(functional_mean, dtype=np.float32)
    variance = np.asarray(functional_variance, dtype=np.float32)
    if mean.shape != (num_functionals,) or variance.shape != (num_functionals,):
        raise ValueError(
            f"functional_mean/variance must have shape ({num_functionals},); got {mean.shape} and {variance.shape}."
        )
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(variance))) or np.any(variance < 0):
        raise ValueError("functional_mean/variance must be finite and the variance non-negative.")
    variance = np.where(variance > 0, variance, 1.0).astype(np.float32)
    # float32 also under mixed precision (as the LLD MLP's standardisation): raw IS10 functionals
    # overflow float16 and lose their deviations from the mean in bfloat16.
    return keras.layers.Normalization(axis=-1, mean=mean, variance=variance, dtype="float32", name="is10_standardize")


def _waveform_trunk(config):
    waveform = keras.Input(shape=(config.input_length,), name="waveform")
    trunk_output_steps(config.input_length, config)
    # Reshape to one channel in the graph so callers and saliency work on plain 1-D waveforms.
    channels = keras.layers.Reshape((config.input_length, 1), name="waveform_channel")(waveform)
    return waveform, conv_trunk(channels, config)


def build_elor(config=ElorConfig()):
    """ELoR network: waveform input of ``config.input_length`` samples."""
    waveform, features = _waveform_trunk(config)
    return _two_head_model(waveform, features, config, "elor")


def build_lom(config=LomConfig()):
    """LoM network: input ``(frames, coefficients)`` MFCCs from ``ser_keras.features.mfcc``."""
    mfccs = keras.Input(shape=(config.frames, config.coefficients), name="mfcc")
    trunk_output_steps(config.frames, config)
    return _two_head_model(mfccs, conv_trunk(mfccs, config), config, "lom")


def build_ftr(config=FtrConfig(), *, functional_mean, functional_variance):
    """FTR network: IS10 functionals, standardised with the training fold's statistics."""
    functionals = keras.Input(shape=(config.num_functionals,), name="is10")
    standardised = _functional_standardizer(functional_mean, functional_variance, config.num_functionals)(functionals)
    return _two_head_model(functionals, standardised, config, "ftr")


def build_elor_ftr(config=ElorFtrConfig(), *, functional_mean, functional_variance):
    """ELoR+FTR network: inputs ``(waveform, is10)``; flattened trunk ++ standardised IS10."""
    waveform, features = _waveform_trunk(config)
    functionals = keras.Input(shape=(config.num_functionals,), name="is10")
    standardised = _functional_standardizer(functional_mean, functional_variance, config.num_functionals)(functionals)
    joined = keras.layers.Concatenate(name="trunk_and_is10")([features, standardised])
    return _two_head_model([waveform, functionals], joined, config, "elor_ftr")


def flatten_size(config):
    """Features entering the heads of ``config``'s network (the paper's MLP input size)."""
    if isinstance(config, FtrConfig):
        return config.num_functionals
    if isinstance(config, LomConfig):
        return trunk_output_steps(config.frames, config) * config.conv_filters[-1]
    size = trunk_output_steps(config.input_length, config) * config.conv_filters[-1]
    return size + config.num_functionals if isinstance(config, ElorFtrConfig) else size


def parameter_count(model):
    """Total parameters of ``model`` (trainable and BatchNorm statistics)."""
    return int(sum(math.prod(variable.shape) for variable in model.weights))
