"""RunProgress.heartbeat: in a log (no bar), a unit that has trained for a minute says so after
an epoch, at most once a minute, with the epoch's learning rate and validation loss; the
SHORT trainer (Keras' fit) and the ELOR split-head trainer both carry it. Time is a fake
clock moved by hand, never slept."""

import io
import re
import time
import types

import keras
import pytest
from conftest import tiny_split_head_task
from test_console import _lld_windows, _small_classifier

from ser_keras import console
from ser_keras.cli import table1, wieser_table5
from ser_keras.models.elor import build_elor
from ser_keras.training.fit import train_frame_classifier
from ser_keras.training.split_heads import SplitHeadTrainer

STAMP = re.compile(r"\d\d:\d\d:\d\d   ")


@pytest.fixture
def clock(monkeypatch):
    """The console's clock (and only its clock), moved by hand: ``clock[0] = seconds``."""
    now = [0.0]
    monkeypatch.setattr(console, "time", types.SimpleNamespace(monotonic=lambda: now[0], strftime=time.strftime))
    return now


def _beats(stream):
    lines = stream.getvalue().splitlines()
    assert all(STAMP.match(line) for line in lines), lines
    return [STAMP.sub("", line) for line in lines]


def _advance(clock, seconds):
    """A callback that moves the clock by ``seconds`` at each epoch's end (before the heartbeat)."""
    return keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: clock.__setitem__(0, clock[0] + seconds))


def test_a_long_unit_beats_after_a_minute_then_at_most_once_a_minute(clock):
    stream = io.StringIO()
    progress = console.RunProgress(total=2, stream=stream)
    progress.unit_started("raw_seg_cnn", "Ses03")
    heartbeat = progress.heartbeat("raw_seg_cnn", "Ses03")
    logs = {"loss": 1.1, "learning_rate": 0.0025, "val_loss": 1.21349}
    for epoch, seconds in enumerate((30, 61, 90, 125, 150, 300)):
        clock[0] = seconds
        heartbeat.on_epoch_end(epoch, logs)
    assert _beats(stream) == [
        "raw_seg_cnn Ses03: epoch 2, lr 0.0025, val_loss 1.213, 61 s",
        "raw_seg_cnn Ses03: epoch 4, lr 0.0025, val_loss 1.213, 2 min",
        "raw_seg_cnn Ses03: epoch 6, lr 0.0025, val_loss 1.213, 5 min",
    ]


def test_the_minute_counts_from_the_units_start_and_each_unit_beats_on_its_own(clock):
    stream = io.StringIO()
    progress = console.RunProgress(total=2, stream=stream)
    progress.unit_started("elor", "Ses01F")
    clock[0] = 50
    progress.unit_started("lom", "Ses01F")  # on the other thread
    elor, lom = progress.heartbeat("elor", "Ses01F"), progress.heartbeat("lom", "Ses01F")
    clock[0] = 70
    elor.on_epoch_end(0, {"val_loss": 2.0})  # no learning rate in the split heads' logs
    lom.on_epoch_end(0, {"val_loss": 3.0})  # 20 s into its unit
    clock[0] = 111
    lom.on_epoch_end(1, {})
    assert _beats(stream) == ["elor Ses01F: epoch 1, val_loss 2.000, 70 s", "lom Ses01F: epoch 2, 61 s"]


@pytest.mark.parametrize("terminal, verbose", [(True, 1), (False, 0), (False, 2)])
def test_no_beat_under_a_bar_or_off_the_default_verbosity(clock, terminal, verbose):
    class Stream(io.StringIO):
        def isatty(self):
            return terminal

    stream = Stream()
    with console.RunProgress(total=1, stream=stream, verbose=verbose) as progress:
        progress.unit_started("raw_seg_cnn", "Ses01")
        clock[0] = 600
        progress.heartbeat("raw_seg_cnn", "Ses01").on_epoch_end(0, {"val_loss": 1.0})
        text = stream.getvalue()
    assert "epoch 1" not in text  # at verbose 2 the trainers print their own epoch lines


def test_the_short_trainer_beats_with_the_epochs_learning_rate(clock):
    stream = io.StringIO()
    progress = console.RunProgress(total=1, stream=stream)
    progress.unit_started("compare_lld_mlp", "Ses01")
    train_frame_classifier(
        _small_classifier(),
        _lld_windows(),
        _lld_windows(seed=1),
        max_epochs=2,
        callbacks=[_advance(clock, 61), progress.heartbeat("compare_lld_mlp", "Ses01")],
    )
    beats = _beats(stream)
    assert len(beats) == 2 and beats[1].endswith(", 2 min")
    assert re.fullmatch(r"compare_lld_mlp Ses01: epoch 1, lr 0\.1, val_loss \d+\.\d{3}, 61 s", beats[0])


def test_the_split_head_trainer_tells_its_callbacks_each_epoch(clock):
    config, data = tiny_split_head_task()
    told = []
    stream = io.StringIO()
    progress = console.RunProgress(total=1, stream=stream)
    progress.unit_started("elor", "Ses01F")
    trainer = SplitHeadTrainer(lambda: build_elor(config), learning_rate=0.01)
    history = trainer.fit(
        data,
        data,
        epochs=2,
        patience=5,
        callbacks=[
            keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: told.append((epoch, logs))),
            _advance(clock, 61),
            progress.heartbeat("elor", "Ses01F"),
        ],
    )
    assert [epoch for epoch, _ in told] == [0, 1]
    assert [logs["val_loss"] for _, logs in told] == history["val_loss"]
    assert [beat.split(", val_loss")[0] for beat in _beats(stream)] == ["elor Ses01F: epoch 1", "elor Ses01F: epoch 2"]


@pytest.mark.integration
@pytest.mark.parametrize(
    "script, unit",
    [
        (table1, ["--rows", "raw_seg_cnn", "--folds", "Ses01"]),
        (wieser_table5, ["--networks", "lom", "--folds", "Ses03M"]),
    ],
)
def test_the_replication_scripts_give_their_units_the_heartbeat(clock, tmp_path, capsys, script, unit):
    # Every reading of the console's clock is a minute later: every epoch of every unit beats.
    readings = iter(range(0, 10**9, 61))
    console.time.monotonic = lambda: float(next(readings))
    script.main(["--corpus", "synthetic:tiny", "--quick", "--out", str(tmp_path / "run"), *unit])
    beats = [line for line in capsys.readouterr().err.splitlines() if ": epoch " in line]
    network, fold = unit[1], unit[3]
    assert beats and all(re.match(rf"{STAMP.pattern}{network} {fold}: epoch \d+, ", line) for line in beats), beats
