"""What a new user sees: the quick Table-1 run, and an analysis, written to a log file are
short, free of library noise and of terminal control codes, with one line per finished (row, fold)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ser_keras.experiments.analysis_short import TABLE3_IDS

ROOT = Path(__file__).resolve().parent.parent
NOISE = re.compile(r"oneDNN|cudart|absl|cpu_feature_guard|NodeDef|HDF5 file via|/100000")


def _quick_log(script, tmp_path):
    """What ``replicate/<script>.py --quick --corpus synthetic:tiny --out tmp_path/run`` writes to a log file."""
    log = tmp_path / "log"
    env = {
        key: value
        for key, value in os.environ.items()  # a new user's shell sets no TF logging
        if not key.startswith(("TF_CPP", "SER_KERAS_DEBUG"))
    }
    with open(log, "w") as handle:  # a file, not a terminal: `> log 2>&1`
        result = subprocess.run(
            [sys.executable, f"replicate/{script}.py", "--quick", "--corpus", "synthetic:tiny"]
            + ["--out", str(tmp_path / "run")],
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            check=False,
        )
    text = log.read_text()
    assert result.returncode == 0, text[-3000:]
    assert not [line for line in text.splitlines() if NOISE.search(line)]
    assert "\r" not in text and "\x1b" not in text
    return text


@pytest.mark.integration
def test_quick_table1_log_is_short_quiet_and_plain(tmp_path, corpus_cache):
    text = _quick_log("table1", tmp_path)
    lines = text.splitlines()
    # the run's own lines: the corpus is generated once per cache (here unless another test did first);
    # 60 unit lines, the table with its claims and what a reduced-budget table verifies, the files
    assert len([line for line in lines if "generating synthetic corpus" not in line]) <= 84, text
    assert sum(line.startswith("**What this table verifies.**") for line in lines) == 1
    units = [line for line in lines if re.match(r"\d\d:\d\d:\d\d \[\d+/60\] \S+ Ses0\d: UAR [\d.]+ %", line)]
    assert len(units) == 50  # 10 rows x 5 folds; the two wav2vec2 rows are skipped in one line each
    networks = [re.search(r"\] (\S+) Ses", line)[1] for line in units if re.search(r"_(cnn|mlp) Ses", line)]
    assert networks[0] == "raw_subseg_cnn"  # the heaviest row trains first
    assert sorted(set(networks)) == ["compare_lld_mlp", "egemaps_lld_mlp", "raw_seg_cnn", "raw_subseg_cnn"]
    assert len([line for line in lines if "skipped: no --wav2vec2 weights (5 folds)" in line]) == 2
    assert "Budget: **quick**" in text and "| paper's claim | on this run | on what |" in text


@pytest.mark.integration
def test_quick_short_table3_log_counts_its_units_as_table1_does(tmp_path, corpus_cache):
    text = _quick_log("short_table3", tmp_path)
    lines = text.splitlines()
    assert not [line for line in lines if "INFO ser_keras" in line]
    units = [line for line in lines if re.match(r"\d\d:\d\d:\d\d \[\d+/10\] \S+ Ses01: UAR [\d.]+ %", line)]
    names = [re.search(r"\] (\S+) ", line)[1] for line in units]
    # the Table-1 rows Table 3 builds on (on both threads), then its own on the main thread, on the one quick fold
    assert sorted(names[:4]) == ["compare_func_rf", "compare_func_svm", "raw_seg_cnn", "raw_subseg_cnn"]
    assert names[4:] == list(TABLE3_IDS)
    assert "[10/10] rel_seg_cnn" in units[-1] and any("(ETA " in line for line in units)
    assert len([line for line in lines if "generating synthetic corpus" not in line]) <= 40, text
