"""Parity of the Keras wav2vec2 encoder with Hugging Face on a tiny random checkpoint
(fixture written by tools/make_wav2vec2_fixture.py), key-name handling and input errors."""

import os
import shutil
import time

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from ser_keras.features.wav2vec2 import (
    Wav2Vec2Config,
    build_wav2vec2,
    fold_weight_norm,
    load_wav2vec2,
    normalize_signal,
    receptive_field,
    wav2vec2_frame_features,
)

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "wav2vec2_tiny")
CHECKPOINT = os.path.join(FIXTURE, "model.safetensors")
TOLERANCE = 1e-4
POS_CONV = "encoder.pos_conv_embed.conv."


@pytest.fixture(scope="module")
def reference():
    return dict(np.load(os.path.join(FIXTURE, "reference.npz")))


@pytest.fixture(scope="module")
def tiny_model():
    return load_wav2vec2(CHECKPOINT)


def write_checkpoint(directory, tensors, *, with_config=True):
    """A copy of the fixture with rewritten tensors, config.json beside it."""
    if with_config:
        shutil.copy(os.path.join(FIXTURE, "config.json"), directory / "config.json")
    path = directory / "model.safetensors"
    save_file(tensors, str(path))
    return path


def max_difference(model, reference):
    frames = wav2vec2_frame_features(model, reference["signal"])
    return np.abs(frames - reference["last_hidden_state"]).max()


def test_matches_hugging_face_on_raw_signal(tiny_model, reference):
    frames = wav2vec2_frame_features(tiny_model, reference["signal"])
    assert frames.dtype == np.float32
    assert frames.shape == reference["last_hidden_state"].shape == (25, 32)
    assert np.abs(frames - reference["last_hidden_state"]).max() < TOLERANCE


def test_matches_hugging_face_on_normalised_input(tiny_model, reference):
    frames = wav2vec2_frame_features(tiny_model, reference["input_values"], normalize=False)
    assert np.abs(frames - reference["last_hidden_state"]).max() < TOLERANCE


def test_normalisation_matches_feature_extractor(reference):
    normalised = normalize_signal(reference["signal"].astype(np.float64))
    np.testing.assert_allclose(normalised, reference["input_values"], atol=1e-5)


def test_normalisation_makes_quiet_input_equivalent(tiny_model, reference):
    # The first GroupNorm absorbs most level changes, but not for a very quiet signal (its
    # epsilon dominates), so do_normalize matters there and must be applied.
    quiet = reference["signal"] * 1e-2 - 0.2
    normalised = wav2vec2_frame_features(tiny_model, quiet)
    raw = wav2vec2_frame_features(tiny_model, quiet, normalize=False)
    assert np.abs(normalised - reference["last_hidden_state"]).max() < TOLERANCE
    assert np.abs(raw - reference["last_hidden_state"]).max() > 0.1


def test_prefixed_keys_and_head_weights(tmp_path, reference):
    tensors = {f"wav2vec2.{key}": value for key, value in load_file(CHECKPOINT).items()}
    tensors["quantizer.codevectors"] = np.zeros((1, 4, 8), np.float32)
    tensors["project_q.weight"] = np.zeros((8, 8), np.float32)
    tensors["lm_head.weight"] = np.zeros((5, 32), np.float32)
    model = load_wav2vec2(write_checkpoint(tmp_path, tensors))
    assert max_difference(model, reference) < TOLERANCE


@pytest.mark.parametrize("layout", ["weight_g_v", "folded"])
def test_positional_weight_norm_layouts(tmp_path, reference, layout):
    tensors = load_file(CHECKPOINT)
    magnitude = tensors.pop(POS_CONV + "parametrizations.weight.original0")
    direction = tensors.pop(POS_CONV + "parametrizations.weight.original1")
    if layout == "weight_g_v":
        tensors[POS_CONV + "weight_g"], tensors[POS_CONV + "weight_v"] = magnitude, direction
    else:
        tensors[POS_CONV + "weight"] = fold_weight_norm(magnitude, direction)
    model = load_wav2vec2(write_checkpoint(tmp_path, tensors))
    assert max_difference(model, reference) < TOLERANCE


def test_missing_file_is_named(tmp_path):
    missing = tmp_path / "nowhere.safetensors"
    with pytest.raises(FileNotFoundError, match="nowhere.safetensors"):
        load_wav2vec2(missing)


def test_invalid_file_is_named(tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"this is not a safetensors file")
    with pytest.raises(ValueError, match="broken.safetensors.*not a readable"):
        load_wav2vec2(broken)


def test_checkpoint_without_encoder_weights(tmp_path):
    path = write_checkpoint(tmp_path, {"lm_head.weight": np.zeros((2, 2), np.float32)})
    with pytest.raises(ValueError, match="no wav2vec2 encoder weights"):
        load_wav2vec2(path)


def test_missing_tensor_is_named(tmp_path):
    tensors = load_file(CHECKPOINT)
    del tensors["encoder.layers.1.attention.k_proj.bias"]
    with pytest.raises(ValueError, match="encoder.layers.1.attention.k_proj.bias"):
        load_wav2vec2(write_checkpoint(tmp_path, tensors))


def test_config_mismatch_is_reported(tmp_path):
    # Without config.json the base defaults (768 hidden) cannot take the tiny tensors.
    path = write_checkpoint(tmp_path, load_file(CHECKPOINT), with_config=False)
    with pytest.raises(ValueError, match="does config.json match"):
        load_wav2vec2(path)


def test_unused_encoder_tensor_is_reported(tmp_path):
    tensors = load_file(CHECKPOINT)
    tensors["encoder.layers.2.layer_norm.weight"] = np.ones(32, np.float32)
    with pytest.raises(ValueError, match="encoder.layers.2.layer_norm.weight"):
        load_wav2vec2(write_checkpoint(tmp_path, tensors))


@pytest.mark.parametrize(
    "setting", [{"do_stable_layer_norm": True}, {"feat_extract_norm": "layer"}, {"hidden_act": "relu"}]
)
def test_unsupported_variants_are_refused(setting):
    with pytest.raises(ValueError, match=next(iter(setting))):
        Wav2Vec2Config.from_hf_dict(setting)


def test_inconsistent_config_is_refused():
    with pytest.raises(ValueError, match="num_attention_heads 5"):
        Wav2Vec2Config(hidden_size=32, num_attention_heads=5)


def test_short_or_malformed_signal(tiny_model):
    with pytest.raises(ValueError, match="399 samples .* receptive field of 400"):
        wav2vec2_frame_features(tiny_model, np.zeros(399, np.float32))
    with pytest.raises(TypeError, match="1-D float"):
        wav2vec2_frame_features(tiny_model, np.zeros((2, 800), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        wav2vec2_frame_features(tiny_model, np.full(800, np.nan, np.float32))


def test_frames_every_20_ms_with_odd_positional_kernel():
    config = Wav2Vec2Config(
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        conv_dim=(8,) * 7,
        num_conv_pos_embeddings=5,
        num_conv_pos_embedding_groups=2,
    )
    model = build_wav2vec2(config)
    assert receptive_field(config.conv_kernel, config.conv_stride) == 400
    frames = wav2vec2_frame_features(model, np.random.default_rng(0).normal(size=16000).astype(np.float32))
    assert frames.shape == (49, 8)  # (16000 - 400) // 320 + 1


@pytest.mark.slow
def test_base_size_shape_and_speed():
    """Base-size graph with random weights: 768-dim frames; prints CPU seconds per audio second."""
    model = build_wav2vec2()
    assert model.count_params() == pytest.approx(94.4e6, rel=0.01)
    signal = np.random.default_rng(0).normal(size=5 * 16000).astype(np.float32)
    wav2vec2_frame_features(model, signal)  # warm-up
    start = time.process_time()
    frames = wav2vec2_frame_features(model, signal)
    cpu_seconds = time.process_time() - start
    assert frames.shape == (249, 768)
    print(f"wav2vec2-base: {cpu_seconds / 5:.2f} CPU s per second of audio")
