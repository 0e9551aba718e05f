"""The metrics.json schema (ser_keras/schemas/metrics.schema.json) holds for the files the
scripts write, and it can fail: a malformed row, claim or budget is rejected."""

import copy
import json
from importlib import resources

import jsonschema
import pytest

from ser_keras.cli import table1, wieser_table5

SCHEMA = json.loads(resources.files("ser_keras").joinpath("schemas/metrics.schema.json").read_text())


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("schema")
    table1.main(
        [
            "--quick",
            "--corpus",
            "synthetic:tiny",
            "--rows",
            "compare_func_svm,compare_func_rf",
            "--out",
            str(root / "t1"),
            "--verbose",
            "0",
        ]
    )
    wieser_table5.main(
        [
            "--quick",
            "--corpus",
            "synthetic:tiny",
            "--networks",
            "ftr",
            "--folds",
            "Ses01F,Ses02M",
            "--out",
            str(root / "t5"),
            "--verbose",
            "0",
        ]
    )
    return {name: json.loads((root / name / "metrics.json").read_text()) for name in ("t1", "t5")}


@pytest.mark.integration
@pytest.mark.parametrize("name", ["t1", "t5"])
def test_written_metrics_follow_the_schema(written, name):
    jsonschema.validate(written[name], SCHEMA)
    assert written[name]["comparisons"] if name == "t1" else True


@pytest.mark.integration
@pytest.mark.parametrize(
    "break_it",
    [
        lambda m: m["rows"][0].pop("origin"),
        lambda m: m["rows"][0].update(value="55"),
        lambda m: m["claims"][0].update(verdict="maybe"),
        lambda m: m["budget"].update(name="medium"),
        lambda m: m.pop("fingerprint"),
        lambda m: m["comparisons"][0].update(p_holm=1.5),
    ],
)
def test_schema_rejects_malformed_metrics(written, break_it):
    metrics = copy.deepcopy(written["t1"])
    break_it(metrics)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(metrics, SCHEMA)
