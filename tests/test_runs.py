"""Run records: the files every script writes, refusal to overwrite, resumable parts; atomic IO."""

import csv

import numpy as np
import pytest
import tensorflow as tf

from ser_keras.data.corpus import Corpus, Utterance
from ser_keras.io import atomic_path, read_json, write_json
from ser_keras.results import Claim, ResultRow
from ser_keras.runs import Budget, RunRecord, describe_machine, environment, markdown_table, run_fingerprint

ROWS = [
    ResultRow(
        "short.table1.raw_subseg.uar", "Raw SubSeg", "CNN", "UAR", 55.25, ci95=(52.0, 58.5), paper=60.1, status="below"
    ),
    ResultRow("short.table1.boaw.uar", "BoAW", "SVM", "UAR", 50.0, status="n/a"),
]
CORPUS = Corpus("synthetic:tiny", "synthetic", "/c", (Utterance(id="u", path="/u.wav", speaker="s"),), "ab" * 32)
BUDGET = Budget("quick", {"max_epochs": 2}, "quick smoke-test budget: at most 2 epochs")


def _record(out, **kwargs):
    fingerprint = run_fingerprint(
        script="table1", corpus=CORPUS, label_view="four_class", protocol="p", budget=BUDGET, seed=3, settings={}
    )
    return RunRecord(
        out, script="replicate/table1.py", fingerprint=fingerprint, config={"seed": 3}, corpus=CORPUS, **kwargs
    )


def test_finish_writes_every_record_file(tmp_path):
    record = _record(tmp_path / "run")
    metrics = record.finish(
        ROWS,
        protocol="leave-one-session-out",
        predictions=[["u", "short.table1.boaw.uar", "Ses01", 1, np.int64(2), "s"]],
        claims=[Claim("raw beats BoAW", "holds", "on UAR")],
        label_view="four_class",
        table_title="Table 1",
        notes=["quick budget"],
    )
    out = tmp_path / "run"
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json",
        "env.json",
        "fingerprint.json",
        "metrics.json",
        "predictions.csv",
        "results.csv",
        "table.md",
    ]
    assert read_json(out / "config.json") == {"seed": 3}
    assert read_json(out / "fingerprint.json") == stored_fingerprint(out)
    env = read_json(out / "env.json")
    assert env["packages"]["numpy"] == np.__version__ and "git_sha" in env and env["cpu_count"] >= 1
    assert len(env["gpus"]) == len(tf.config.list_physical_devices("GPU"))
    assert set(env["cpu"]) == {"model", "avx512"}  # the routes the trainers take depend on it
    assert all(isinstance(name, str) for name in env["gpus"])
    # How this process trains, as the trainers decided it (ser_keras.training.execution).
    assert env["execution"]["device"] == ("gpu" if env["gpus"] else "cpu")
    assert env["execution"]["xla"] is bool(env["gpus"]) and env["execution"]["routes"] is not bool(env["gpus"])
    stored = read_json(out / "metrics.json")
    assert stored == metrics and stored["seed"] == 3 and stored["quick"] is True
    assert stored["corpus"] == {
        "spec": "synthetic:tiny",
        "sha256": "ab" * 32,
        "label_view": "four_class",
        "utterances": 1,
        "speaker_genders": {},
    }
    with open(out / "predictions.csv", newline="") as handle:
        assert list(csv.reader(handle)) == [
            ["id", "row", "fold", "target", "prediction", "speaker"],
            ["u", "short.table1.boaw.uar", "Ses01", "1", "2", "s"],
        ]
    with open(out / "results.csv", newline="") as handle:
        results = list(csv.DictReader(handle))
    assert results[0]["ci95_low"] == "52.0" and results[1]["paper"] == ""
    table = (out / "table.md").read_text()
    assert "## Table 1" in table and "| 55.25 | [52.00, 58.50] | 60.10 |" in table
    assert "n/a (not in source text)" in table and "| raw beats BoAW | holds | on UAR |" in table
    assert "- quick budget" in table and "Budget: **quick** — quick smoke-test budget: at most 2 epochs." in table
    assert stored["budget"] == {"name": "quick", "max_epochs": 2, "description": BUDGET.words}
    # The code version and the machine travel with the numbers into the table too.
    assert stored["finished_on"] == {
        "cpu": env["cpu"],
        "cpu_count": env["cpu_count"],
        "gpus": env["gpus"],
        "execution": env["execution"],
    }
    code = stored["fingerprint"]["code"]
    assert f"Code: ser-keras {code['ser_keras']}, source sha256 {code['source_sha256'][:12]}; finished on " in table
    assert set(code["packages"]) == {"tensorflow", "keras", "opensmile", "scikit-learn"}
    assert describe_machine(env) in table


def test_existing_results_need_resume_and_parts_are_reused(tmp_path):
    record = _record(tmp_path / "run")
    assert record.load_part("row", "Ses01") is None
    record.save_part("row", "Ses01", {"uar": 0.5})
    with pytest.raises(FileExistsError, match="pass --resume"):
        _record(tmp_path / "run")
    resumed = _record(tmp_path / "run", resume=True)
    assert resumed.load_part("row", "Ses01") == {"uar": 0.5} and resumed.load_part("row", "Ses02") is None
    resumed.clear_parts()
    _record(tmp_path / "run")  # nothing left to protect


def stored_fingerprint(out):
    return read_json(out / "metrics.json")["fingerprint"]


def test_environment_lists_packages():
    env = environment()
    assert set(env["packages"]) >= {"tensorflow", "keras", "numpy"} and env["python"].count(".") == 2


def test_describe_machine_names_the_cpu_its_vector_extensions_cores_and_gpus():
    env = {"cpu": {"model": "AMD EPYC", "avx512": False}, "cpu_count": 2, "gpus": []}
    assert describe_machine(env) == "AMD EPYC (no AVX-512), 2 CPU cores, no GPU"
    env = {"cpu": {"model": None, "avx512": None}, "cpu_count": 16, "gpus": ["NVIDIA H200", "NVIDIA H200"]}
    assert describe_machine(env) == "unknown CPU (vector extensions unknown), 16 CPU cores, NVIDIA H200, NVIDIA H200"
    assert "(AVX-512)" in describe_machine({"cpu": {"model": "Xeon", "avx512": True}, "cpu_count": 2, "gpus": []})


def test_markdown_table_without_rows():
    text = markdown_table(
        {"script": "s", "protocol": "p", "seed": 0, "budget": BUDGET.to_dict(), "wall_s": 1.0, "rows": []}
    )
    assert text.startswith("## s\n") and text.endswith("|---|---|---|---|---|---|---|---|\n")


def test_atomic_path_leaves_target_untouched_on_error(tmp_path):
    target = tmp_path / "out.json"
    write_json(target, {"a": np.float32(1.5), "b": np.arange(2)})
    assert read_json(target) == {"a": 1.5, "b": [0, 1]}
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert read_json(target) == {"a": 1.5, "b": [0, 1]} and sorted(tmp_path.iterdir()) == [target]
    with atomic_path(tmp_path / "model.h5", suffix=".h5") as tmp:
        assert tmp.suffix == ".h5" and tmp.parent == tmp_path
        tmp.write_bytes(b"x")
    assert (tmp_path / "model.h5").read_bytes() == b"x"
    with pytest.raises(TypeError, match="not JSON serialisable"):
        write_json(tmp_path / "bad.json", {"x": object()})
    assert not (tmp_path / "bad.json").exists()


@pytest.mark.parametrize(
    "clusters, header",
    [
        ((), "95 % CI"),
        ((1,), "95 % CI over 1 speaker"),
        ((10,), "95 % CI over 10 speakers"),
        ((3, 10), "95 % CI over speakers"),
    ],
)
def test_the_interval_column_names_its_speakers(tmp_path, clusters, header):
    metrics = _record(tmp_path / "run").finish(
        ROWS, protocol="leave-one-session-out", predictions=[], label_view="four_class", table_title="Table 1"
    )
    row = metrics["rows"][0]
    rows = [{**row, "id": f"r{i}", "ci_unit": "speaker", "ci_clusters": count} for i, count in enumerate(clusters)]
    table = markdown_table({**metrics, "rows": rows or [row]})
    assert f"| ours | {header} | paper |" in table
