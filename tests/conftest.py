"""Shared test fixtures: a private corpus cache, the tiny synthetic corpus, WAV/IEMOCAP writers
and the slice-by-hand oracle of one 250 ms window; unmarked tests get the ``unit`` tier."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

# Before any test module imports Keras or TensorFlow: TensorFlow's environment as the scripts
# set it (oneDNN on, logs quiet). A test file that imported keras first ran alone on other
# kernels than the fresh processes it compares with.
from ser_keras import console  # noqa: E402

console.quiet()

EVALUATION_HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"


def pytest_collection_modifyitems(items):
    """Every test that is neither ``integration`` nor ``slow`` is a ``unit`` test (setup.cfg)."""
    for item in items:
        if item.get_closest_marker("integration") is None and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.unit)


@pytest.fixture(scope="session", autouse=True)
def corpus_cache(tmp_path_factory):
    """Point SER_KERAS_CACHE at a session temp folder so no test touches ~/.cache."""
    path = tmp_path_factory.mktemp("ser_keras_cache")
    previous = os.environ.get("SER_KERAS_CACHE")
    os.environ["SER_KERAS_CACHE"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("SER_KERAS_CACHE", None)
    else:
        os.environ["SER_KERAS_CACHE"] = previous


@pytest.fixture(scope="session")
def tiny_root(corpus_cache):
    """The synthetic:tiny corpus folder, generated once per test session (treat as read-only)."""
    from ser_keras.data.synthetic import ensure_synthetic_corpus

    return Path(ensure_synthetic_corpus("tiny"))


@pytest.fixture
def tiny_copy(tiny_root, tmp_path):
    """A private copy of synthetic:tiny that a test may corrupt."""
    return Path(
        shutil.copytree(
            tiny_root, tmp_path / "IEMOCAP_full_release", ignore=shutil.ignore_patterns("MANIFEST.sha256", "COMPLETE")
        )
    )


def write_wav(path, signal=None, *, seconds=0.5, rate=16000, subtype="PCM_16", channels=1, seed=0):
    """Write a WAV (noise-like speech stand-in unless ``signal`` is given); return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if signal is None:
        rng = np.random.default_rng(seed)
        signal = 0.3 * rng.standard_normal((int(round(seconds * rate)), channels)).clip(-3, 3) / 3
    soundfile.write(path, np.asarray(signal), rate, subtype=subtype, format="WAV")
    return path


def write_dialog(root, dialog, text, *, wavs=(), session=None, seconds=0.5):
    """Write ``SessionN/dialog/EmoEvaluation/<dialog>.txt`` and a WAV for each turn in ``wavs``."""
    session = session or f"Session{int(dialog[3:5])}"
    evaluation = Path(root) / session / "dialog" / "EmoEvaluation" / f"{dialog}.txt"
    evaluation.parent.mkdir(parents=True, exist_ok=True)
    evaluation.write_text(EVALUATION_HEADER + text)
    wav_dir = Path(root) / session / "sentences" / "wav" / dialog
    wav_dir.mkdir(parents=True, exist_ok=True)
    for index, turn in enumerate(wavs):
        write_wav(wav_dir / f"{turn}.wav", seconds=seconds, seed=index)
    return evaluation


def naive_window(signal, frame):
    """One spliced 250 ms window cut by hand, independently of ser_keras.data.windows: the
    25 frames of 160 samples from ``frame - 12`` to ``frame + 12``, edge frames repeated, a
    sub-frame utterance zero-padded to one frame."""
    count = max(len(signal) // 160, 1)
    padded = np.pad(signal, (0, max(0, 160 - len(signal))))
    parts = [padded[min(max(frame + k, 0), count - 1) * 160 :][:160] for k in range(-12, 13)]
    return np.concatenate(parts)


def turn_block(name, code="neu", start=1.0, end=2.0, vad=(2.5, 2.5, 2.5), lines=()):
    """One EmoEvaluation block (turn line plus evaluator lines), ending in a blank line."""
    turn = f"[{start:.4f} - {end:.4f}]\t{name}\t{code}\t[{vad[0]:.4f}, {vad[1]:.4f}, {vad[2]:.4f}]\n"
    return turn + "".join(line + "\n" for line in lines) + "\n"


@pytest.fixture
def wav_writer():
    return write_wav


@pytest.fixture
def dialog_writer():
    return write_dialog


@pytest.fixture
def window_oracle():
    return naive_window


@pytest.fixture
def block():
    return turn_block


def tiny_split_head_task():
    """A tiny ELoR config and 16 random 64-sample slices with both heads' labels (2 batches)."""
    import tensorflow as tf

    from ser_keras.models.elor import HEADS, ElorConfig

    config = ElorConfig(
        input_length=64, conv_filters=(3, 3, 3), conv_kernel_sizes=(3, 3, 3), pool_sizes=(2, 2, 2), head_units=(4, 4)
    )
    rng = np.random.default_rng(0)
    data = tf.data.Dataset.from_tensor_slices(
        (rng.standard_normal((16, 64)).astype("float32"), {head: rng.integers(0, 5, 16) for head in HEADS})
    ).batch(8)
    return config, data
