"""Writes the wav2vec2 parity fixture: a tiny random Hugging Face Wav2Vec2Model and its outputs.

Dev-only, run once; the result is committed under tests/fixtures/wav2vec2_tiny/ and
tests/test_wav2vec2.py checks ser_keras.features.wav2vec2 against it. Needs torch and
transformers, which the project itself never imports, so run it from a separate venv:

    python3 -m venv /work/venv-ref
    /work/venv-ref/bin/pip install torch==2.13.0 transformers safetensors numpy
    /work/venv-ref/bin/python tools/make_wav2vec2_fixture.py [--out DIR]

The committed fixture was made with torch 2.13.0 (CPU) and transformers 5.23.0.

The tiny model keeps the base layout (7 convs with base kernels/strides, "group" norm,
post-LN encoder, even positional kernel) at hidden 32. Every parameter is re-drawn at random
(norm gains around 1, biases and weight-norm magnitudes non-trivial) so that a transposed or
mis-mapped tensor cannot hide behind HF's near-identity initialisation.

Writes: model.safetensors + config.json (save_pretrained) and reference.npz with
  signal              raw float32 16 kHz test signal (sinusoids + noise, odd length)
  input_values        the signal after Wav2Vec2FeatureExtractor(do_normalize=True)
  last_hidden_state   Wav2Vec2Model(input_values).last_hidden_state[0], eval mode
"""

import argparse
import os

import numpy as np
import torch
from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

SEED = 20240601
SAMPLE_RATE = 16000
SIGNAL_SAMPLES = 8123  # not a multiple of the 320-sample hop


def tiny_config() -> Wav2Vec2Config:
    return Wav2Vec2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32,) * 7,
        conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        conv_stride=(5, 2, 2, 2, 2, 2, 2),
        conv_bias=False,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
        feat_extract_norm="group",
        do_stable_layer_norm=False,
    )


def randomize(model: torch.nn.Module, generator: torch.Generator) -> None:
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if "layer_norm.weight" in name or name.endswith("original0") or name.endswith("weight_g"):
                parameter.copy_(1.0 + 0.2 * noise)
            elif parameter.ndim == 1:
                parameter.copy_(0.1 * noise)
            else:
                fan_in = parameter[0].numel()
                parameter.copy_(noise / np.sqrt(fan_in))


def test_signal() -> np.ndarray:
    rng = np.random.default_rng(SEED)
    t = np.arange(SIGNAL_SAMPLES) / SAMPLE_RATE
    tones = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 1330 * t + 0.5)
    return (tones + 0.05 * rng.standard_normal(SIGNAL_SAMPLES) + 0.02).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("tests", "fixtures", "wav2vec2_tiny"))
    args = parser.parse_args()

    torch.manual_seed(SEED)
    model = Wav2Vec2Model(tiny_config()).eval()
    randomize(model, torch.Generator().manual_seed(SEED))

    signal = test_signal()
    extractor = Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=SAMPLE_RATE,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=False,
    )
    input_values = extractor(signal, sampling_rate=SAMPLE_RATE, return_tensors="np").input_values
    with torch.no_grad():
        hidden = model(torch.from_numpy(input_values)).last_hidden_state[0].numpy()

    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    np.savez_compressed(
        os.path.join(args.out, "reference.npz"),
        signal=signal,
        input_values=input_values[0].astype(np.float32),
        last_hidden_state=hidden,
    )
    print(f"wrote {args.out}: {hidden.shape[0]} frames x {hidden.shape[1]} from {signal.size} samples")


if __name__ == "__main__":
    main()
