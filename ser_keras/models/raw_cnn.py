"""Raw-waveform CNNs of SHORT §2.3: Raw SubSeg and Raw Seg (250 ms = 4000 samples in).

SHORT reuses "the same architecture and hyper-parameters" as Dubagunta et al. (ICASSP 2019);
the layer values below are those of the authors' public code (idiap/RawSpeechClassification,
``model_architecture.py``, the Flatten version used until 2024): four valid-padded Conv1D
layers with ReLU (max-pooling after the first two in SubSeg, after the first in Seg), Flatten,
Dense 10 ReLU, Dense softmax. Keras default initialisers (Glorot-uniform kernels, zero
biases), no batch norm, dropout or weight decay — as in the Idiap code.

Layer names are stable so analysis code can find them: ``conv1`` … ``conv4`` (linear
convolutions, each followed by ``conv<i>_relu``), ``pool<i>``, ``flatten``, ``hidden``,
``hidden_relu``, ``logits``, ``softmax``. The ReLUs are separate ``Activation`` layers, as
in the Idiap code, so guided backpropagation can locate every rectifier.
"""

from dataclasses import dataclass

import keras

from ser_keras.models.arguments import check_num_classes, check_positive_int

#: Name of the first convolution, whose filters SHORT Fig. 2 analyses.
FIRST_CONV_LAYER = "conv1"


@dataclass(frozen=True)
class ConvStage:
    """One valid-padded Conv1D + ReLU, optionally followed by non-overlapping max-pooling."""

    filters: int
    kernel_size: int
    strides: int
    pool_size: int | None = None


@dataclass(frozen=True)
class RawCnnConfig:
    """A raw-waveform CNN variant: its convolution stages and the hidden Dense width."""

    name: str
    stages: tuple[ConvStage, ...]
    hidden_units: int = 10


#: Kernel 30 samples = 1.875 ms (< 1 pitch period).
RAW_SUBSEG = RawCnnConfig(
    name="raw_subseg",
    stages=(
        ConvStage(filters=128, kernel_size=30, strides=10, pool_size=2),
        ConvStage(filters=256, kernel_size=10, strides=5, pool_size=3),
        ConvStage(filters=512, kernel_size=4, strides=2),
        ConvStage(filters=512, kernel_size=3, strides=1),
    ),
)

#: Kernel 300 samples = 18.75 ms (1-5 pitch periods).
RAW_SEG = RawCnnConfig(
    name="raw_seg",
    stages=(
        ConvStage(filters=128, kernel_size=300, strides=100, pool_size=2),
        ConvStage(filters=256, kernel_size=5, strides=2),
        ConvStage(filters=512, kernel_size=4, strides=2),
        ConvStage(filters=512, kernel_size=3, strides=1),
    ),
)

RAW_CNN_CONFIGS = {config.name: config for config in (RAW_SUBSEG, RAW_SEG)}


def minimum_window(config):
    """Smallest input length (samples) for which every layer of ``config`` has ≥ 1 step."""
    length = 1
    for stage in reversed(config.stages):
        if stage.pool_size is not None:
            length *= stage.pool_size
        length = (length - 1) * stage.strides + stage.kernel_size
    return length


def time_steps(config, window):
    """Output length of every convolution and pooling layer, as ``[(layer_name, steps), …]``.

    Raises ValueError when a kernel or pool does not fit what reaches it.
    """
    check_positive_int("window", window)
    steps = []
    length = window
    for index, stage in enumerate(config.stages, start=1):
        if length < stage.kernel_size:
            raise ValueError(
                f"`kernel_size` of {stage.kernel_size} in conv{index} of {config.name} does "
                f"not fit its input of {length} steps (window {window} samples); use a window "
                f"of at least {minimum_window(config)} samples."
            )
        length = (length - stage.kernel_size) // stage.strides + 1
        steps.append((f"conv{index}", length))
        if stage.pool_size is not None:
            if length < stage.pool_size:
                raise ValueError(
                    f"`pool_size` of {stage.pool_size} in pool{index} of {config.name} does "
                    f"not fit its input of {length} steps (window {window} samples); use a "
                    f"window of at least {minimum_window(config)} samples."
                )
            length //= stage.pool_size
            steps.append((f"pool{index}", length))
    return steps


def build_raw_cnn(config, *, num_classes=4, window=4000):
    """Build the raw-waveform CNN ``config`` for ``window``-sample inputs of shape ``(window,)``.

    Output: class posteriors ``(batch, num_classes)``, always float32 (also under a
    mixed-precision policy) so that the loss and utterance averaging stay exact.
    """
    if not isinstance(config, RawCnnConfig):
        raise TypeError(f"`config` must be a RawCnnConfig. Got {type(config).__name__}.")
    check_num_classes(num_classes)
    time_steps(config, window)  # validates that every kernel and pool fits

    waveform = keras.Input(shape=(window,), name="waveform")
    x = keras.layers.Reshape((window, 1), name="channels")(waveform)
    for index, stage in enumerate(config.stages, start=1):
        x = keras.layers.Conv1D(stage.filters, stage.kernel_size, strides=stage.strides, name=f"conv{index}")(x)
        x = keras.layers.Activation("relu", name=f"conv{index}_relu")(x)
        if stage.pool_size is not None:
            x = keras.layers.MaxPooling1D(stage.pool_size, name=f"pool{index}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(config.hidden_units, name="hidden")(x)
    x = keras.layers.Activation("relu", name="hidden_relu")(x)
    x = keras.layers.Dense(num_classes, name="logits")(x)
    posteriors = keras.layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(waveform, posteriors, name=config.name)


def build_raw_subseg(*, num_classes=4, window=4000):
    """Raw SubSeg CNN (first kernel 30 samples, stride 10)."""
    return build_raw_cnn(RAW_SUBSEG, num_classes=num_classes, window=window)


def build_raw_seg(*, num_classes=4, window=4000):
    """Raw Seg CNN (first kernel 300 samples, stride 100)."""
    return build_raw_cnn(RAW_SEG, num_classes=num_classes, window=window)
