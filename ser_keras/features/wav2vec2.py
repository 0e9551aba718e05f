"""wav2vec2.0-base encoder in Keras 3 for SHORT's BoAW(wav2vec2) frame features (SHORT Sec. 3, Table 1).

The graph mirrors Hugging Face ``Wav2Vec2Model`` as configured for ``facebook/wav2vec2-base``:

1. Feature encoder: 7 bias-free Conv1D layers (512 channels, kernels 10,3,3,3,3,2,2, strides
   5,2,2,2,2,2,2), GroupNorm (one group per channel) after the first only ("group"
   ``feat_extract_norm``), exact GELU after each. Receptive field 400 samples, hop 320 samples
   (20 ms at 16 kHz).
2. Feature projection: LayerNorm -> Dense(hidden).
3. Positional convolution: grouped Conv1D (kernel 128, 16 groups) whose weight-normalised
   kernel is folded into a plain kernel at load time, "same" padding minus the last frame for
   an even kernel, GELU; added to its input.
4. Encoder LayerNorm, then post-LN transformer layers (``do_stable_layer_norm=False``):
   ``x = LN(x + MHA(x)); x = LN(x + FFN(x))`` with a GELU FFN.

The output is ``last_hidden_state``: one ``hidden_size`` vector (768 for base) every 20 ms.
Only built-in Keras layers are used. The model is inference-only: dropout, LayerDrop and
SpecAugment masking act only in training, so the graph leaves them out.

Weights come from a Hugging Face ``.safetensors`` checkpoint that the user supplies, read with
``safetensors.numpy`` (no torch, no network). Keys may carry the ``wav2vec2.`` prefix of the
pre-training / CTC heads or none (a bare ``Wav2Vec2Model``); head weights (quantizer,
projections, ``lm_head``) are ignored. The positional-conv weight norm is accepted as
``weight_g``/``weight_v`` (old torch), ``parametrizations.weight.original0/1`` (new torch) or an
already folded ``weight``. The architecture is read from ``config.json`` beside the checkpoint
when present, otherwise the base defaults apply.

Input normalisation: the ``facebook/wav2vec2-base`` feature extractor has
``do_normalize=True``, so :func:`wav2vec2_frame_features` standardises each utterance to zero
mean and unit variance (``(x - mean) / sqrt(var + 1e-7)``) before the encoder, as Hugging
Face's ``Wav2Vec2FeatureExtractor`` does.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file

HF_PREFIX = "wav2vec2."
# Namespaces of the encoder proper; everything else in a checkpoint belongs to a head.
ENCODER_NAMESPACES = ("feature_extractor.", "feature_projection.", "encoder.")
CONV_LAYER_PREFIX = "feature_extractor.conv_layers."
NORMALIZE_EPSILON = 1e-7  # Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm


@dataclasses.dataclass(frozen=True)
class Wav2Vec2Config:
    """Architecture hyper-parameters; defaults are those of ``facebook/wav2vec2-base``."""

    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    conv_dim: tuple[int, ...] = (512,) * 7
    conv_kernel: tuple[int, ...] = (10, 3, 3, 3, 3, 2, 2)
    conv_stride: tuple[int, ...] = (5, 2, 2, 2, 2, 2, 2)
    conv_bias: bool = False
    num_conv_pos_embeddings: int = 128
    num_conv_pos_embedding_groups: int = 16
    layer_norm_eps: float = 1e-5

    def __post_init__(self):
        for name in ("conv_dim", "conv_kernel", "conv_stride"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        lengths = {len(self.conv_dim), len(self.conv_kernel), len(self.conv_stride)}
        if len(lengths) != 1 or not self.conv_dim:
            raise ValueError(
                "conv_dim, conv_kernel and conv_stride must be non-empty and of equal length. "
                f"Got {self.conv_dim!r}, {self.conv_kernel!r}, {self.conv_stride!r}."
            )
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} is not divisible by num_attention_heads {self.num_attention_heads}."
            )
        if self.hidden_size % self.num_conv_pos_embedding_groups:
            raise ValueError(
                f"hidden_size {self.hidden_size} is not divisible by "
                f"num_conv_pos_embedding_groups {self.num_conv_pos_embedding_groups}."
            )

    @classmethod
    def from_hf_dict(cls, hf_config: Mapping) -> Wav2Vec2Config:
        """Reads the fields we implement from a Hugging Face ``config.json`` dictionary.

        Raises ValueError for settings this graph does not implement (the wav2vec2-large
        "stable layer norm" variant, non-GELU activations, adapters) instead of silently
        computing something else.
        """
        unsupported = {
            "feat_extract_norm": ("group",),
            "do_stable_layer_norm": (False,),
            "feat_extract_activation": ("gelu",),
            "hidden_act": ("gelu",),
            "add_adapter": (False,),
        }
        for key, allowed in unsupported.items():
            if key in hf_config and hf_config[key] not in allowed:
                raise ValueError(
                    f"config.json sets {key}={hf_config[key]!r}; this wav2vec2-base graph supports only {allowed[0]!r}."
                )
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in hf_config.items() if k in fields})


def receptive_field(kernels: Sequence[int], strides: Sequence[int]) -> int:
    """Samples a conv stack needs for one output frame (400 for the base feature encoder)."""
    field = 1
    for kernel, stride in zip(reversed(kernels), reversed(strides)):
        field = (field - 1) * stride + kernel
    return field


def build_wav2vec2(config: Wav2Vec2Config = Wav2Vec2Config()) -> keras.Model:
    """Functional wav2vec2 encoder: waveform (batch, samples) -> (batch, frames, hidden).

    Each weighted layer is named after its Hugging Face module path (e.g.
    ``encoder.layers.3.attention``), which is how :func:`load_wav2vec2_weights` finds its
    checkpoint tensors.
    """
    waveform = keras.Input(shape=(None,), name="waveform")
    x = keras.layers.Reshape((-1, 1), name="add_channel_axis")(waveform)

    for i, (dim, kernel, stride) in enumerate(zip(config.conv_dim, config.conv_kernel, config.conv_stride)):
        x = keras.layers.Conv1D(
            dim,
            kernel,
            strides=stride,
            use_bias=config.conv_bias,
            name=f"{CONV_LAYER_PREFIX}{i}.conv",
        )(x)
        if i == 0:
            # torch GroupNorm default eps (1e-5), not Keras' 1e-3.
            x = keras.layers.GroupNormalization(groups=dim, epsilon=1e-5, name=f"{CONV_LAYER_PREFIX}0.layer_norm")(x)
        x = keras.layers.Activation("gelu", name=f"{CONV_LAYER_PREFIX}{i}.gelu")(x)

    x = _layer_norm(config, "feature_projection.layer_norm")(x)
    x = keras.layers.Dense(config.hidden_size, name="feature_projection.projection")(x)

    kernel = config.num_conv_pos_embeddings
    position = keras.layers.ZeroPadding1D(kernel // 2, name="encoder.pos_conv_embed.padding")(x)
    position = keras.layers.Conv1D(
        config.hidden_size,
        kernel,
        groups=config.num_conv_pos_embedding_groups,
        name="encoder.pos_conv_embed.conv",
    )(position)
    if kernel % 2 == 0:
        # Symmetric padding of an even kernel yields one frame too many; HF drops the last.
        position = keras.layers.Cropping1D((0, 1), name="encoder.pos_conv_embed.crop")(position)
    position = keras.layers.Activation("gelu", name="encoder.pos_conv_embed.gelu")(position)
    x = keras.layers.Add(name="encoder.add_position")([x, position])
    x = _layer_norm(config, "encoder.layer_norm")(x)

    head_dim = config.hidden_size // config.num_attention_heads
    for i in range(config.num_hidden_layers):
        prefix = f"encoder.layers.{i}"
        attended = keras.layers.MultiHeadAttention(config.num_attention_heads, head_dim, name=f"{prefix}.attention")(
            x, x
        )
        x = keras.layers.Add(name=f"{prefix}.attention_residual")([x, attended])
        x = _layer_norm(config, f"{prefix}.layer_norm")(x)
        hidden = keras.layers.Dense(
            config.intermediate_size,
            activation="gelu",
            name=f"{prefix}.feed_forward.intermediate_dense",
        )(x)
        hidden = keras.layers.Dense(config.hidden_size, name=f"{prefix}.feed_forward.output_dense")(hidden)
        x = keras.layers.Add(name=f"{prefix}.feed_forward.residual")([x, hidden])
        x = _layer_norm(config, f"{prefix}.final_layer_norm")(x)

    return keras.Model(waveform, x, name="wav2vec2_encoder")


def _layer_norm(config: Wav2Vec2Config, name: str) -> keras.layers.LayerNormalization:
    return keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name=name)


def read_checkpoint(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Encoder tensors of a safetensors checkpoint, keys without the ``wav2vec2.`` prefix."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"wav2vec2 checkpoint {path!r} does not exist or is not a file.")
    try:
        raw = load_file(path)
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(f"{path!r} is not a readable .safetensors checkpoint: {error}") from error
    tensors: dict[str, np.ndarray] = {}
    for key, value in raw.items():
        name = key[len(HF_PREFIX) :] if key.startswith(HF_PREFIX) else key
        if not name.startswith(ENCODER_NAMESPACES):
            continue
        if name in tensors:
            raise ValueError(f"{path!r} holds {name!r} both with and without the {HF_PREFIX!r} prefix.")
        tensors[name] = value.astype(np.float32)
    if not tensors:
        raise ValueError(
            f"{path!r} holds no wav2vec2 encoder weights (no key under {ENCODER_NAMESPACES}, "
            f"with or without the {HF_PREFIX!r} prefix)."
        )
    return tensors


def fold_weight_norm(magnitude: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """torch ``weight_norm(dim=2)``: ``g * v / ||v||`` with the norm over all axes but 2."""
    norm = np.sqrt(np.sum(np.square(direction), axis=(0, 1), keepdims=True))
    return magnitude * direction / norm


def _fold_positional_weight_norm(tensors: dict[str, np.ndarray]) -> tuple[str, ...]:
    """Adds the folded positional conv kernel to ``tensors`` under ``...conv.weight`` and
    returns the weight-norm keys it came from (none when the checkpoint is already folded)."""
    base = "encoder.pos_conv_embed.conv."
    for magnitude, direction in (
        ("weight_g", "weight_v"),
        ("parametrizations.weight.original0", "parametrizations.weight.original1"),
    ):
        if base + magnitude in tensors and base + direction in tensors:
            tensors[base + "weight"] = fold_weight_norm(tensors[base + magnitude], tensors[base + direction])
            return base + magnitude, base + direction
    return ()


def _torch_to_keras(layer: keras.layers.Layer) -> list[tuple[str, Callable]]:
    """Checkpoint keys feeding ``layer``, in ``layer.weights`` order, each with the conversion
    from the torch layout to the Keras one. The layer is named after its HF module path."""
    key = layer.name
    if isinstance(layer, keras.layers.MultiHeadAttention):
        heads, head_dim = layer.num_heads, layer.key_dim

        def in_projection(w):  # torch (out, in) -> Keras (in, heads, head_dim)
            return w.T.reshape(w.shape[1], heads, head_dim)

        def out_projection(w):  # torch (out, in) -> Keras (heads, head_dim, out)
            return w.T.reshape(heads, head_dim, w.shape[0])

        def head_bias(b):
            return b.reshape(heads, head_dim)

        pairs = []
        for projection in ("q_proj", "k_proj", "v_proj"):
            pairs += [(f"{key}.{projection}.weight", in_projection), (f"{key}.{projection}.bias", head_bias)]
        return pairs + [(f"{key}.out_proj.weight", out_projection), (f"{key}.out_proj.bias", _identity)]
    if isinstance(layer, (keras.layers.LayerNormalization, keras.layers.GroupNormalization)):
        return [(f"{key}.weight", _identity), (f"{key}.bias", _identity)]
    if isinstance(layer, keras.layers.Conv1D):
        # torch (out, in/groups, k) -> Keras (k, in/groups, out)
        kernel = (f"{key}.weight", lambda w: np.transpose(w, (2, 1, 0)))
        return [kernel, (f"{key}.bias", _identity)] if layer.use_bias else [kernel]
    if isinstance(layer, keras.layers.Dense):
        return [(f"{key}.weight", np.transpose), (f"{key}.bias", _identity)]
    raise TypeError(f"No checkpoint mapping for layer {layer.name!r} ({type(layer).__name__}).")


def _identity(value: np.ndarray) -> np.ndarray:
    return value


def load_wav2vec2_weights(model: keras.Model, tensors: dict[str, np.ndarray], *, source: str) -> None:
    """Copies checkpoint ``tensors`` (prefix-free HF keys) into ``model`` built by
    :func:`build_wav2vec2`; every encoder tensor must be used and every weight filled."""
    tensors = dict(tensors)
    consumed = set(_fold_positional_weight_norm(tensors))
    for layer in (layer for layer in model.layers if layer.weights):
        pairs = _torch_to_keras(layer)
        missing = [key for key, _ in pairs if key not in tensors]
        if missing:
            raise ValueError(f"{source!r} lacks {missing} needed by layer {layer.name!r}.")
        values = [convert(tensors[key]) for key, convert in pairs]
        for (key, _), value, weight in zip(pairs, values, layer.weights):
            if tuple(value.shape) != tuple(weight.shape):
                raise ValueError(
                    f"{source!r}: {key!r} has shape {tuple(value.shape)} after conversion but "
                    f"layer {layer.name!r} expects {tuple(weight.shape)}; does config.json "
                    "match the checkpoint?"
                )
        layer.set_weights(values)
        consumed.update(key for key, _ in pairs)
    unused = sorted(set(tensors) - consumed)
    if unused:
        raise ValueError(
            f"{source!r} has encoder weights the configured graph does not use, e.g. "
            f"{unused[:5]}; does config.json match the checkpoint?"
        )


def load_wav2vec2(path: str | os.PathLike) -> keras.Model:
    """Builds the encoder from ``config.json`` beside ``path`` (base defaults when absent) and
    loads the ``.safetensors`` weights at ``path``."""
    path = os.fspath(path)
    tensors = read_checkpoint(path)
    config_path = os.path.join(os.path.dirname(os.path.abspath(path)), "config.json")
    config = Wav2Vec2Config()
    if os.path.isfile(config_path):
        try:
            with open(config_path, encoding="utf-8") as handle:
                hf_config = json.load(handle)
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"{config_path!r} is not a readable JSON config: {error}") from error
        config = Wav2Vec2Config.from_hf_dict(hf_config)
    model = build_wav2vec2(config)
    load_wav2vec2_weights(model, tensors, source=path)
    return model


def normalize_signal(signal: np.ndarray) -> np.ndarray:
    """Zero-mean, unit-variance per utterance, as ``Wav2Vec2FeatureExtractor(do_normalize=True)``."""
    return (signal - signal.mean()) / np.sqrt(signal.var() + NORMALIZE_EPSILON)


def wav2vec2_frame_features(model: keras.Model, signal: np.ndarray, *, normalize: bool = True) -> np.ndarray:
    """``last_hidden_state`` frames (frames, hidden), float32, one every 20 ms, for a mono
    16 kHz ``signal``; ``normalize`` applies the base feature extractor's ``do_normalize``."""
    signal = np.asarray(signal)
    if signal.ndim != 1 or not np.issubdtype(signal.dtype, np.floating):
        raise TypeError(
            f"signal must be a 1-D float array of 16 kHz samples. Got dtype {signal.dtype} and shape {signal.shape}."
        )
    if not np.all(np.isfinite(signal)):
        raise ValueError("signal contains NaN or infinite samples.")
    needed = _receptive_field(model)
    if signal.shape[0] < needed:
        raise ValueError(
            f"signal of {signal.shape[0]} samples is shorter than the encoder's receptive "
            f"field of {needed} samples; pad or drop utterances shorter than that."
        )
    signal = signal.astype(np.float64)
    if normalize:
        signal = normalize_signal(signal)
    # predict_on_batch runs one compiled function that relaxes to any length after a few
    # calls; eager calls would re-trace the grouped positional conv on every utterance.
    return np.asarray(model.predict_on_batch(signal.astype(np.float32)[np.newaxis])[0])


def _receptive_field(model: keras.Model) -> int:
    convs = [
        layer
        for layer in model.layers
        if layer.name.startswith(CONV_LAYER_PREFIX) and isinstance(layer, keras.layers.Conv1D)
    ]
    return receptive_field([c.kernel_size[0] for c in convs], [c.strides[0] for c in convs])
