"""keras-tuner chief/worker search on loopback and SIGKILL-then-resume, in real processes
(ser_keras.tuning.search). Each process runs the tiny FTR search of test_tuning.py."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_tuning import completed_trial_files, read_trials, tiny_ftr_hypermodel

from ser_keras.tuning.search import run_search

pytestmark = pytest.mark.integration  # searches in real chief, worker and killed processes

TESTS = Path(__file__).resolve().parent
DEADLINE_S = 240  # generous: three TensorFlow processes share 2 loaded cores

# argv: out, trials, hang_on_trial (0: never), replicas. Writes <out>/ready once its tuner has
# built the search space, and <out>/hanging when it stops for good inside trial hang_on_trial.
DRIVER = f"""
import sys, time
from pathlib import Path
out, trials, hang_on, replicas = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
import tensorflow as tf
if replicas > 1:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
sys.path.insert(0, {str(TESTS)!r})
from test_tuning import tiny_ftr_hypermodel
from ser_keras.tuning.search import make_strategy, run_search

hypermodel = tiny_ftr_hypermodel(epochs=1)
build, fit, fits = hypermodel.build, hypermodel.fit, []

def announcing_build(hp):
    model = build(hp)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ready").touch()
    return model

def hanging_fit(hp, model, **kwargs):
    fits.append(1)
    if len(fits) == hang_on:
        (out / "hanging").touch()
        time.sleep(3600)
    return fit(hp, model, **kwargs)

hypermodel.build, hypermodel.fit = announcing_build, hanging_fit
devices = [f"/cpu:{{i}}" for i in range(replicas)] if replicas > 1 else None
strategy = make_strategy("mirrored", devices) if replicas > 1 else None
if strategy is not None and strategy.num_replicas_in_sync != replicas:
    raise SystemExit(f"expected {{replicas}} replicas, got {{strategy.num_replicas_in_sync}}")
run_search(hypermodel, out=out, network="ftr", trials=trials, strategy=strategy, verbose=0)
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(out, *, trials, hang_on=0, replicas=1, tuner_id=None, port=None):
    env = {key: value for key, value in os.environ.items() if not key.startswith("KERASTUNER_")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if tuner_id is not None:
        env.update(KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(port))
    log = open(Path(out).parent / f"{Path(out).name}.log", "w")
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(out), str(trials), str(hang_on), str(replicas)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=TESTS.parent,
    )


def wait_for(paths, processes, deadline):
    while not all(Path(p).exists() for p in paths):
        dead = {name: p.returncode for name, p in processes.items() if p.poll() is not None}
        if dead or time.monotonic() > deadline:
            pytest.fail(
                f"waiting for {[str(p) for p in paths]}: exited {dead or 'none'}, {'timed out' if not dead else ''}"
            )
        time.sleep(0.2)


def stop_all(processes):
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()


def log_of(path):
    return Path(f"{path}.log").read_text()[-3000:]


@pytest.mark.slow  # 30-40 s idle, ~2 min on a loaded 2-core box (keras-tuner's chief polls its workers every 20 s)
def test_chief_and_two_workers_on_loopback_finish_and_agree_on_the_best_trial(tmp_path):
    port, deadline = free_port(), time.monotonic() + DEADLINE_S
    outs = {name: tmp_path / name for name in ("tuner0", "tuner1", "chief")}
    processes = {}
    try:
        # Workers first, each training on 2 mirrored CPU replicas; they wait for the chief's oracle.
        for name in ("tuner0", "tuner1"):
            processes[name] = start(outs[name], trials=4, replicas=2, tuner_id=name, port=port)
        wait_for([outs["tuner0"] / "ready", outs["tuner1"] / "ready"], processes, deadline)
        processes["chief"] = start(outs["chief"], trials=4, tuner_id="chief", port=port)
        for name, process in processes.items():
            try:
                process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"{name} still running at the deadline:\n{log_of(outs[name])}")
            assert process.returncode == 0, f"{name} exited {process.returncode}:\n{log_of(outs[name])}"
    finally:
        stop_all(processes)
    rows = read_trials(outs["chief"] / "trials.csv")
    assert len(rows) == 4 and all(row["status"] == "COMPLETED" for row in rows)
    ran = {name: json.loads((outs[name] / "trials_run" / f"{name}.json").read_text()) for name in ("tuner0", "tuner1")}
    ids = {name: {trial["trial_id"] for trial in trials} for name, trials in ran.items()}
    assert ids["tuner0"] and ids["tuner1"], "both workers must have run trials"
    assert not ids["tuner0"] & ids["tuner1"] and ids["tuner0"] | ids["tuner1"] == {row["trial_id"] for row in rows}
    assert not (outs["tuner0"] / "best_hparams.json").exists()  # workers leave the results to the chief
    # The chief's best is the best of what the workers measured, with that trial's values.
    reported = [trial for trials in ran.values() for trial in trials]
    best_reported = max(reported, key=lambda trial: trial["val_mean_accuracy"])
    best = json.loads((outs["chief"] / "best_hparams.json").read_text())
    assert best["objective"]["value"] == pytest.approx(best_reported["val_mean_accuracy"])
    best_row = next(row for row in rows if row["trial_id"] == best["trial_id"])
    assert float(best_row["score"]) == pytest.approx(best_reported["val_mean_accuracy"])
    assert best["hparams"]["learning_rate"] == pytest.approx(float(best_row["learning_rate"]))
    assert best["trials"] == 4


def test_a_search_killed_mid_trial_resumes_from_its_finished_trials(tmp_path):
    out, deadline = tmp_path / "search", time.monotonic() + DEADLINE_S
    processes = {"search": start(out, trials=3, hang_on=2)}
    try:
        wait_for([out / "hanging"], processes, deadline)  # trial 0 finished, trial 1 running
        processes["search"].send_signal(signal.SIGKILL)
        processes["search"].wait()
    finally:
        stop_all(processes)
    assert completed_trial_files(out) == 1
    finished = next(
        path for path in out.glob("tuner/trial_*/trial.json") if json.loads(path.read_text())["status"] == "COMPLETED"
    )
    before = json.loads(finished.read_text())
    result = run_search(tiny_ftr_hypermodel(epochs=1), out=out, network="ftr", trials=3, verbose=0)
    ran = json.loads((out / "trials_run" / "tuner0.json").read_text())
    assert len(ran) == 2 and before["trial_id"] not in {trial["trial_id"] for trial in ran}
    assert completed_trial_files(out) == 3 and result["trials"] == 3
    assert json.loads(finished.read_text()) == before
