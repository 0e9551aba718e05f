"""ser_keras.console (issues 17.1, 17.2): importing ser_keras silences TensorFlow and Keras
unless SER_KERAS_DEBUG=1 or --verbose 2; RunProgress prints one plain line per unit when
stderr is not a terminal."""

import os
import subprocess
import sys

import pytest

from ser_keras import console

# Imports TensorFlow after ser_keras, runs a tf.data map (TF 2.21 logs "NodeDef mentions
# attribute ..." for it), and saves an .h5 (Keras' legacy-format notice).
NOISY_PROGRAM = """
import os, sys, tempfile
import ser_keras
import keras, numpy as np, tensorflow as tf
dataset = tf.data.Dataset.from_tensor_slices(np.zeros((4, 3), "float32")).map(lambda x: x + 1).batch(2)
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
model.predict(dataset, verbose=0)
model.save(os.path.join(tempfile.mkdtemp(), "model.h5"))
print(os.environ.get("TF_CPP_MIN_LOG_LEVEL"), os.environ.get("SER_KERAS_DEBUG"))
"""


def _run_noisy(*argv, debug=None):
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("TF_CPP_MIN_LOG_LEVEL", console.DEBUG_VARIABLE)}
    if debug is not None:
        environment[console.DEBUG_VARIABLE] = debug
    return subprocess.run([sys.executable, "-c", NOISY_PROGRAM, *argv], capture_output=True, text=True,
                          env=environment, check=True)


def test_importing_ser_keras_silences_tensorflow_and_keras():
    done = _run_noisy()
    assert done.stderr == ""
    assert done.stdout.split() == ["3", "None"]  # spawned workers inherit the quiet level


@pytest.mark.parametrize("argv, debug", [((), "1"), (("--verbose", "2"), None), (("--verbose=2",), None)])
def test_debug_or_verbose_two_lets_everything_through(argv, debug):
    done = _run_noisy(*argv, debug=debug)
    assert "HDF5 file via" in done.stderr
    assert done.stdout.split() == ["None", "1"]  # the decision reaches spawned workers


@pytest.mark.parametrize("argv, expected", [(["--verbose", "2"], True), (["--verbose=2"], True),
                                            (["--verbose", "1"], False), (["--seed", "2"], False), ([], False)])
def test_debug_requested_reads_verbose_two_from_the_command_line(argv, expected, monkeypatch):
    monkeypatch.delenv(console.DEBUG_VARIABLE, raising=False)
    assert console.debug_requested(argv) is expected
