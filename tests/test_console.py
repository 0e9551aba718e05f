"""ser_keras.console: importing ser_keras changes nothing in the process; ``console.quiet()``
(which the command line calls before TensorFlow loads) silences TensorFlow and Keras unless
SER_KERAS_DEBUG=1 or --verbose 2, and turns oneDNN on; RunProgress prints one plain line per
unit when stderr is not a terminal; the training loops print epoch lines with their real
limit only at verbose 2."""

import io
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_split_head_task

from ser_keras import console
from ser_keras.models.elor import build_elor
from ser_keras.training.fit import train_frame_classifier
from ser_keras.training.split_heads import SplitHeadTrainer

# Imports TensorFlow after console.quiet(), runs a tf.data map (TF 2.21 logs "NodeDef mentions
# attribute ..." for it), saves an .h5 (Keras' legacy-format notice), and meets a library
# deprecation while the warning filters are empty, as scikit-learn's forest threads leave them.
NOISY_PROGRAM = """
import os, sys, tempfile, warnings
from ser_keras import console
console.quiet()
import keras, numpy as np, tensorflow as tf
dataset = tf.data.Dataset.from_tensor_slices(np.zeros((4, 3), "float32")).map(lambda x: x + 1).batch(2)
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
model.predict(dataset, verbose=0)
model.save(os.path.join(tempfile.mkdtemp(), "model.h5"))
with warnings.catch_warnings():
    warnings.resetwarnings()
    warnings.warn_explicit("old library call", DeprecationWarning, keras.__file__, 1)
print(os.environ.get("TF_CPP_MIN_LOG_LEVEL"), os.environ.get("SER_KERAS_DEBUG"))
"""


def _run_noisy(*argv, debug=None):
    environment = {
        key: value for key, value in os.environ.items() if key not in ("TF_CPP_MIN_LOG_LEVEL", console.DEBUG_VARIABLE)
    }
    if debug is not None:
        environment[console.DEBUG_VARIABLE] = debug
    return subprocess.run(
        [sys.executable, "-c", NOISY_PROGRAM, *argv], capture_output=True, text=True, env=environment, check=True
    )


def test_quiet_silences_tensorflow_and_keras():
    done = _run_noisy()
    assert done.stderr == ""
    assert done.stdout.split() == ["3", "None"]  # spawned workers inherit the quiet level


@pytest.mark.parametrize("argv, debug", [((), "1"), (("--verbose", "2"), None), (("--verbose=2",), None)])
def test_debug_or_verbose_two_lets_everything_through(argv, debug):
    done = _run_noisy(*argv, debug=debug)
    assert "HDF5 file via" in done.stderr and "DeprecationWarning: old library call" in done.stderr
    assert done.stdout.split() == ["None", "1"]  # the decision reaches spawned workers


# Says what TensorFlow finds in the environment when it loads (ahead of every other finder;
# console.quiet's finder, put ahead of it, looks the spec up again through it).
TENSORFLOW_SPY = """
import os, sys
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow":
            print("tensorflow loads with", *map(os.environ.get, ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL")))
sys.meta_path.insert(0, Spy())
"""

# What importing a package may change: environment, warning display, import hooks, logging, fd 2.
PROCESS_STATE = """
import logging, os, sys, warnings
def process_state():
    absl = logging.getLogger("absl")
    return (dict(os.environ), warnings.showwarning, list(sys.meta_path), list(logging.getLogger().handlers),
            logging.getLogger("tensorflow").level, list(absl.filters), list(absl.handlers),
            os.fstat(2).st_ino, os.fstat(2).st_dev)
"""


def _run_python(program, **variables):
    """Run ``program`` in a fresh interpreter, in the environment of a new user's shell (none of
    TensorFlow's or this package's console variables) plus ``variables``."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS", console.DEBUG_VARIABLE)
    }
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env={**environment, **variables}, check=False
    )


def test_importing_ser_keras_changes_nothing_in_the_process():
    program = (
        TENSORFLOW_SPY
        + PROCESS_STATE
        + """
before = process_state()
import ser_keras
print("unchanged" if process_state() == before else f"changed: {before} -> {process_state()}")
import tensorflow
"""
    )
    done = _run_python(program)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["unchanged", "tensorflow loads with None None"]


@pytest.mark.parametrize("variables, onednn", [({}, "1"), ({"TF_ENABLE_ONEDNN_OPTS": "0"}, "0")])
def test_the_command_line_sets_tensorflows_environment_before_it_loads(variables, onednn):
    # The scripts import ser_keras.cli.<module>, whose imports load TensorFlow.
    done = _run_python(TENSORFLOW_SPY + "import ser_keras.cli.table1\n", **variables)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [f"tensorflow loads with {onednn} 3"]


def test_deprecations_of_this_package_still_show_when_quiet():
    shown = []
    quiet = console._QuietLibraryDeprecations(lambda *args: shown.append(args[0]))
    quiet("ours", DeprecationWarning, console.__file__, 1)
    quiet("a library's", DeprecationWarning, keras.__file__, 1)
    quiet("a library's advice", UserWarning, keras.__file__, 1)
    assert shown == ["ours", "a library's advice"]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--verbose", "2"], True),
        (["--verbose=2"], True),
        (["--verbose", "1"], False),
        (["--seed", "2"], False),
        ([], False),
    ],
)
def test_debug_requested_reads_verbose_two_from_the_command_line(argv, expected, monkeypatch):
    monkeypatch.delenv(console.DEBUG_VARIABLE, raising=False)
    assert console.debug_requested(argv) is expected


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_run_progress_off_a_terminal_prints_one_plain_line_per_unit():
    stream = io.StringIO()
    with console.RunProgress(total=3, title="table1", stream=stream) as progress:
        progress.unit_skipped("raw_subseg_cnn", "Ses01")
        progress.unit_started("raw_subseg_cnn", "Ses02")
        progress.unit_done("raw_subseg_cnn", "Ses02", "UAR 47.1 %, 6 epochs", seconds=71.2)
        progress.unit_done("raw_subseg_cnn", "Ses03", "UAR 50.0 %, 5 epochs", seconds=60)
    text = stream.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert len(lines) == 3 and progress.done == 3
    assert re.fullmatch(r"\d\d:\d\d:\d\d \[1/3\] raw_subseg_cnn Ses01: resumed", lines[0])
    assert lines[1].endswith("[2/3] raw_subseg_cnn Ses02: UAR 47.1 %, 6 epochs, 71 s (ETA 71 s)")
    assert lines[2].endswith("[3/3] raw_subseg_cnn Ses03: UAR 50.0 %, 5 epochs, 60 s")


def test_a_skipped_row_counts_its_folds_in_words():
    stream = io.StringIO()
    with console.RunProgress(total=3, stream=stream) as progress:
        progress.row_skipped("boaw_w2v2_svm", ["Ses01"], "skipped: no --wav2vec2 weights")
        progress.row_skipped("boaw_w2v2_rf", ["Ses01", "Ses02"], "skipped: no --wav2vec2 weights")
    lines = stream.getvalue().splitlines()
    assert "boaw_w2v2_svm: skipped: no --wav2vec2 weights (1 fold)" in lines[0]
    assert "boaw_w2v2_rf: skipped: no --wav2vec2 weights (2 folds)" in lines[1]


@pytest.fixture
def clock(monkeypatch):
    """RunProgress's clock, moved by hand: ``clock[0] += seconds``."""
    now = [100.0]
    monkeypatch.setattr(console.time, "monotonic", lambda: now[0])
    return now


def test_run_progress_paces_a_row_by_the_mean_unit_so_far_then_by_its_own_times(clock):
    stream = io.StringIO()
    with console.RunProgress(total=6, stream=stream) as progress:
        progress.expect({"raw_subseg_cnn": 2, "raw_seg_cnn": 2, "egemaps_lld_mlp": 1})
        progress.unit_done("compare_func_svm", "Ses01", "UAR 40.0 %", seconds=2)  # neither paced nor beside
        progress.unit_done("raw_subseg_cnn", "Ses01", "UAR 47.0 %", seconds=20)  # the one time known paces all
        progress.unit_done("raw_seg_cnn", "Ses01", "UAR 45.0 %", seconds=6)  # its own time from now on
        progress.unit_done("raw_seg_cnn", "Ses02", "UAR 45.0 %", seconds=8)
    lines = stream.getvalue().splitlines()
    assert "ETA" not in lines[0]
    assert lines[1].endswith("(ETA 80 s)")  # 1 SubSeg × 20 s + 2 Seg × 20 s + 1 MLP × 20 s
    assert lines[2].endswith("(ETA 39 s)")  # 20 s + 1 Seg × 6 s + 1 MLP × mean(20, 6) s
    assert lines[3].endswith("(ETA 31 s)")  # 20 s + 1 MLP × mean(20, 6, 8) s


def test_run_progress_costs_a_row_without_a_time_at_least_as_long_as_its_unit_has_run(clock):
    progress = console.RunProgress(total=4, stream=io.StringIO())
    progress.expect({"elor": 2, "ftr": 2}, shared=True)  # two threads on the paced rows
    progress.unit_started("elor", "Ses01F")
    progress.unit_started("ftr", "Ses01F")
    clock[0] += 3
    progress.unit_done("ftr", "Ses01F", "UAR 20.0 %", seconds=3)
    assert progress._seconds_left() == pytest.approx((2 * 3 - 3 + 3) / 2)  # ELoR at the mean unit so far
    clock[0] += 57
    assert progress._seconds_left() == pytest.approx((2 * 60 - 60 + 3) / 2)  # ELoR's unit has run 60 s
    progress.unit_done("elor", "Ses01F", "UAR 20.0 %", seconds=60)
    assert progress._seconds_left() == pytest.approx((60 + 3) / 2)


def test_run_progress_projects_a_unit_in_training_from_the_share_it_has_done(clock):
    progress = console.RunProgress(total=4, stream=io.StringIO())
    progress.expect({"raw_subseg_cnn": 2, "raw_seg_cnn": 2})
    progress.unit_started("raw_subseg_cnn", "Ses01")
    clock[0] += 10
    assert progress._seconds_left() is None  # no share told yet: nothing to pace by
    progress.unit_progress("raw_subseg_cnn", "Ses01", 0.25)  # 10 s for a quarter: 40 s a unit
    assert progress._seconds_left() == pytest.approx(2 * 40 - 10 + 2 * 40)
    clock[0] += 5  # no new share told: the projection holds, the time left shrinks
    assert progress._seconds_left() == pytest.approx(2 * 40 - 15 + 2 * 40)
    clock[0] += 25
    progress.unit_done("raw_subseg_cnn", "Ses01", "UAR 47.0 %", seconds=40)
    progress.unit_started("raw_subseg_cnn", "Ses02")
    clock[0] += 15  # time spent on the unit in training is not counted twice
    assert progress._seconds_left() == pytest.approx(40 - 15 + 2 * 40)
    clock[0] += 60  # overran its mean: counts as nearly done, not as negative time
    assert progress._seconds_left() == pytest.approx(2 * 40)


def test_run_progress_tells_the_longer_of_the_paced_rows_and_the_rows_beside_them_or_shares_them(clock):
    stream = io.StringIO()
    with console.RunProgress(total=8, stream=stream) as progress:
        progress.expect({"raw_seg_cnn": 2}, beside={"compare_func_svm": 3, "compare_func_rf": 3})
        progress.unit_done("compare_func_svm", "Ses01", "UAR 40.0 %", seconds=4)  # the networks' pace unknown
        progress.unit_done("raw_seg_cnn", "Ses01", "UAR 45.0 %", seconds=30)  # 30 s vs 5 × 4 s beside
        progress.unit_done("raw_seg_cnn", "Ses02", "UAR 45.0 %", seconds=30)  # networks done: 5 × 4 s beside
        for fold in ("Ses02", "Ses03"):
            progress.unit_done("compare_func_svm", fold, "UAR 40.0 %", seconds=4)
    lines = stream.getvalue().splitlines()
    assert "ETA" not in lines[0]
    assert lines[1].endswith("(ETA 30 s)") and lines[2].endswith("(ETA 20 s)") and lines[4].endswith("(ETA 12 s)")
    shared = console.RunProgress(total=8, stream=io.StringIO())
    shared.expect({"raw_seg_cnn": 3}, beside={"compare_func_svm": 5}, shared=True)
    shared.unit_done("compare_func_svm", "Ses01", "UAR 40.0 %", seconds=4)
    shared.unit_done("raw_seg_cnn", "Ses01", "UAR 45.0 %", seconds=30)
    assert shared._seconds_left() == pytest.approx((2 * 30 + 4 * 4) / 2)  # both threads on what is left
    shared.unit_done("raw_seg_cnn", "Ses02", "UAR 45.0 %", seconds=30)
    shared.unit_done("raw_seg_cnn", "Ses03", "UAR 45.0 %", seconds=30)
    assert shared._seconds_left() == pytest.approx(4 * 4)  # the other thread's own rows: one after another
    only_beside = console.RunProgress(total=2, stream=io.StringIO())
    only_beside.expect({}, beside={"compare_func_svm": 2})  # e.g. --rows of utterance-level rows alone
    only_beside.unit_done("compare_func_svm", "Ses01", "UAR 40.0 %", seconds=7)
    assert only_beside._seconds_left() == pytest.approx(7)


def test_run_progress_on_a_terminal_draws_a_bar_and_writes_units_above_it():
    stream = _Terminal()
    with console.RunProgress(total=2, title="table1", stream=stream) as progress:
        progress.unit_done("compare_func_svm", "Ses01", "UAR 44.4 %", seconds=3)
        progress.unit_done("compare_func_svm", "Ses02", "UAR 40.0 %", seconds=3)
    text = stream.getvalue()
    assert "\r" in text and "2/2" in text  # the bar
    assert re.search(r"\d\d:\d\d:\d\d compare_func_svm Ses01: UAR 44.4 %, 3 s\n", text)


def test_run_progress_is_silent_at_verbose_zero():
    stream = _Terminal()
    with console.RunProgress(total=1, stream=stream, verbose=0) as progress:
        progress.unit_done("elor", "Ses01F", "UAR 40.0 %", seconds=1)
    assert stream.getvalue() == "" and progress.done == 1


def _lld_windows(count=32, seed=0):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(count, 6)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((features, rng.integers(0, 4, count).astype("int32"))).batch(16)


def _small_classifier():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="softmax")])


def test_frame_classifier_prints_only_at_verbose_two_with_the_real_limit(capsys):
    train_frame_classifier(_small_classifier(), _lld_windows(), _lld_windows(seed=1), max_epochs=2, verbose=1)
    assert capsys.readouterr().out == ""
    train_frame_classifier(_small_classifier(), _lld_windows(), _lld_windows(seed=1), max_epochs=2, verbose=2)
    out = capsys.readouterr().out
    assert "epoch 1, LR 0.1, stops below 1e-6 or after epoch 2" in out and "epoch 2, LR 0.1," in out
    assert "100000" not in out and "Epoch" not in out


def test_split_heads_print_only_at_verbose_two_with_the_real_limit(capsys):
    config, data = tiny_split_head_task()
    trainer = SplitHeadTrainer(lambda: build_elor(config), learning_rate=0.01)
    trainer.fit(data, data, epochs=2, patience=5, verbose=1)
    assert capsys.readouterr().out == ""
    trainer.fit(data, data, epochs=2, patience=5, verbose=2)
    out = capsys.readouterr().out
    assert "epoch 1 of 2, stops after 5 epochs without a lower val_loss" in out and "epoch 2 of 2" in out


def test_the_package_imports_where_tensorflow_and_absl_are_missing():
    # The PyTorch peer of the benchmarks imports ser_keras in a venv without TensorFlow.
    code = (
        "import sys; sys.modules['absl'] = None; sys.modules['tensorflow'] = None; "
        "import ser_keras.console; print('imported')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != console.DEBUG_VARIABLE},
    )
    assert done.returncode == 0 and "imported" in done.stdout, done.stderr[-2000:]
