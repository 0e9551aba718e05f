"""SIGKILL replicate/table1.py during feature extraction, training and result writing, then
``--resume``: the run finishes with the metrics of an uninterrupted run and no cache or
result file is ever half-written."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

pytestmark = pytest.mark.integration  # runs replicate/table1.py five times in subprocesses

ROOT = Path(__file__).resolve().parent.parent
ROWS = "compare_func_svm,raw_seg_cnn"

# Runs table1.py with one fault injected: the process SIGKILLs itself in the named phase.
KILLER = r"""
import os, runpy, signal, sys
phase, script, *argv = sys.argv[1:]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if phase == "extraction":
    import h5py
    create = h5py.Group.create_dataset
    def create_then_die(self, name, *args, **kwargs):
        result = create(self, name, *args, **kwargs)
        if name == "ids":  # the shard's data is on disk, its ids/offsets are not
            die()
        return result
    h5py.Group.create_dataset = create_then_die
elif phase == "training":
    import keras
    from ser_keras.experiments import short
    train = short.train_frame_classifier
    calls = []
    class DieMidEpoch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                die()
    def train_then_die(*args, callbacks=(), **kwargs):
        calls.append(1)
        extra = (DieMidEpoch(),) if len(calls) == 2 else ()
        return train(*args, callbacks=(*callbacks, *extra), **kwargs)
    short.train_frame_classifier = train_then_die
elif phase == "writing":
    from ser_keras import io, runs
    write = io.write_text
    def write_half_then_die(path, text):
        if not str(path).endswith("metrics.json"):  # the first file of the final results
            return write(path, text)
        with io.atomic_path(path) as tmp:
            tmp.write_text(text[: len(text) // 2])
            die()
    runs.write_text = write_half_then_die
    io.write_text = write_half_then_die
sys.argv = [script, *argv]
runpy.run_path(script, run_name="__main__")
"""


def _table1_command(out, corpus, cache, *extra, phase=None):
    """``(command, environment)`` of a quick two-row table1.py run (``extra`` flags override)."""
    script = str(ROOT / "replicate" / "table1.py")
    args = ["--corpus", f"iemocap:{corpus}", "--quick", "--rows", ROWS, "--out", str(out), "--verbose", "0", *extra]
    command = [sys.executable, "-c", KILLER, phase, script, *args] if phase else [sys.executable, script, *args]
    return command, {**os.environ, "SER_KERAS_CACHE": str(cache)}


def _table1(out, corpus, cache, *extra, phase=None):
    command, env = _table1_command(out, corpus, cache, *extra, phase=phase)
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


def _metrics(out):
    metrics = json.loads((out / "metrics.json").read_text())
    metrics.pop("wall_s")
    return metrics


def _no_temporaries(folder):
    return [p for p in Path(folder).rglob("*") if p.name.startswith(".") and p.name.endswith((".tmp", ".h5"))]


@pytest.mark.reliability
def test_killed_runs_resume_to_the_uninterrupted_result(tmp_path, tiny_root):
    cache = tmp_path / "cache"  # empty feature cache: extraction really runs in the killed process
    out = tmp_path / "killed"
    for phase in ("extraction", "training", "writing"):
        killed = _table1(out, tiny_root, cache, *(("--resume",) if phase != "extraction" else ()), phase=phase)
        assert killed.returncode == -signal.SIGKILL, (phase, killed.stderr[-2000:])
        assert not (out / "metrics.json").exists(), phase
        for shard in (cache / "features").rglob("part-*.h5"):
            with h5py.File(shard, "r") as handle:  # every visible shard is complete
                assert {"data", "ids", "offsets"} <= set(handle)
    finished = _table1(out, tiny_root, cache, "--resume")
    assert finished.returncode == 0, finished.stderr[-2000:]
    reference = _table1(tmp_path / "reference", tiny_root, cache)
    assert reference.returncode == 0, reference.stderr[-2000:]
    assert _metrics(out) == _metrics(tmp_path / "reference")
    assert not _no_temporaries(out)
