"""Ctrl-C and SIGTERM end a run with one line (how many units are done, the command that
resumes it) and exit 130 / 143 without a traceback; ``--resume`` then finishes the run with
the predictions of an uninterrupted one."""

import os
import re
import shlex
import signal
import subprocess
import sys
import threading

import pytest
from test_kill_resume import ROOT, _table1, _table1_command

from ser_keras import console
from ser_keras.cli import common

SAID = re.compile(r"interrupted( after (\d+) of (\d+) units)?; finished units are kept; resume with: (.+)")

# A run that gets the signal named by argv[1]; with argv[2] "counted", a progress view over
# five units of which two are done.
SIGNALLED_RUN = """
import contextlib, os, signal, sys
from ser_keras import console
number, counted = getattr(signal, sys.argv[1]), sys.argv[2] == "counted"
with console.plain_interrupts("python run.py --resume"), contextlib.ExitStack() as stack:
    if counted:
        progress = stack.enter_context(console.RunProgress(total=5))
        progress.unit_done("raw_seg_cnn", "Ses01", "UAR 40.0 %", seconds=3)
        progress.unit_done("raw_seg_cnn", "Ses02", "UAR 41.0 %", seconds=3)
    print("printed before the signal")  # block-buffered in a pipe: the exit must not lose it
    os.kill(os.getpid(), number)
    print("went on after the signal")
"""

# Python's own Ctrl-C handling, whatever the test run inherited: a shell without job control
# (`pytest ... &`, nohup) starts its background commands with SIGINT ignored, and an ignored
# signal rightly stays ignored.
DEFAULT_CTRL_C = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"


@pytest.fixture
def default_ctrl_c():
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, inherited)


@pytest.mark.parametrize(
    "name, counted, status, count",
    [
        ("SIGINT", "counted", 130, " after 2 of 5 units"),
        ("SIGTERM", "counted", 143, " after 2 of 5 units"),
        ("SIGINT", "uncounted", 130, ""),
    ],
)
def test_a_signal_ends_the_run_with_one_line_and_its_exit_status(name, counted, status, count):
    done = subprocess.run(
        [sys.executable, "-c", DEFAULT_CTRL_C + SIGNALLED_RUN, name, counted],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == status, done.stderr[-2000:]
    assert done.stdout == "printed before the signal\n"
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"interrupted{count}; finished units are kept; resume with: python run.py --resume"
    )


def test_a_signal_the_run_was_started_to_ignore_stays_ignored():
    program = "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)\n" + SIGNALLED_RUN
    done = subprocess.run(
        [sys.executable, "-c", program, "SIGINT", "counted"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["printed before the signal", "went on after the signal"]


def test_the_handlers_are_put_back_after_the_block(default_ctrl_c):
    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    with console.plain_interrupts("python run.py --resume"):
        assert all(signal.getsignal(number) is not handler for number, handler in before.items())
    assert {number: signal.getsignal(number) for number in before} == before


@pytest.mark.parametrize(
    "program, argv, expected",
    [
        (
            "replicate/table1.py",
            ["--quick", "--out", "runs/my run"],
            "python replicate/table1.py --quick --out 'runs/my run' --resume",
        ),
        ("replicate/table1.py", ["--resume", "--quick"], "python replicate/table1.py --resume --quick"),
        ("/usr/local/bin/ser-keras-table1", ["--quick"], "ser-keras-table1 --quick --resume"),
        ("ser-keras table1", ["--seed", "1"], "ser-keras table1 --seed 1 --resume"),  # the dispatcher's argv[0]
    ],
)
def test_the_resume_command_is_the_command_line_with_resume(monkeypatch, program, argv, expected):
    monkeypatch.setattr(common.shutil, "which", lambda name: sys.executable)
    monkeypatch.setattr(sys, "argv", [program, *argv])
    assert common.resume_command() == expected
    monkeypatch.setattr(sys, "argv", [program, "--other", "flags"])
    assert common.resume_command(argv) == expected  # a main given its argv


def test_the_resume_command_names_the_interpreter_where_python_is_another(monkeypatch):
    monkeypatch.setattr(common.shutil, "which", lambda name: None)
    monkeypatch.setattr(sys, "argv", ["replicate/table1.py", "--quick"])
    assert common.resume_command() == f"{shlex.quote(sys.executable)} replicate/table1.py --quick --resume"


@pytest.mark.integration
@pytest.mark.reliability
def test_ctrl_c_mid_run_says_one_line_and_its_resume_command_finishes_the_run(tmp_path, tiny_root):
    cache = tmp_path / "cache"  # empty: the openSMILE workers extract, and get the Ctrl-C too
    out = tmp_path / "interrupted"
    command, env = _table1_command(out, tiny_root, cache, "--verbose", "1")
    # A caught SIGINT is reset to the default in the child; one this runner ignores would stay ignored.
    caught = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:  # its own session: Ctrl-C on a terminal reaches every process of the run
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    finally:
        signal.signal(signal.SIGINT, caught)
    watchdog = threading.Timer(600, os.killpg, (process.pid, signal.SIGKILL))
    watchdog.start()
    try:
        before = []
        for line in process.stderr:
            before.append(line)
            if re.match(r"\d\d:\d\d:\d\d \[1/10\] ", line):
                os.killpg(process.pid, signal.SIGINT)
                break
        printed, after = process.communicate()
    finally:
        watchdog.cancel()
    console_text = "".join(before) + after + printed
    assert process.returncode == 130, console_text[-3000:]
    assert "Traceback" not in console_text and "leaked" not in console_text
    # After the Ctrl-C: units that finished meanwhile, then the one line.
    said = [line for line in after.splitlines() if not re.match(r"\d\d:\d\d:\d\d \[\d+/10\] ", line)]
    assert len(said) == 1 and SAID.fullmatch(said[0]), console_text[-3000:]
    count, total, resume = SAID.fullmatch(said[0]).group(2, 3, 4)
    assert int(count) < 10 and total == "10"
    assert not (out / "predictions.csv").exists()

    resume = shlex.split(resume)
    assert resume[-1] == "--resume" and resume[1].endswith("table1.py")
    program = sys.executable if resume[0] == "python" else resume[0]
    finished = subprocess.run(
        [program, *resume[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    reference = _table1(tmp_path / "reference", tiny_root, cache)
    assert reference.returncode == 0, reference.stderr[-3000:]
    assert (out / "predictions.csv").read_bytes() == (tmp_path / "reference" / "predictions.csv").read_bytes()
