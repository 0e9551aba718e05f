"""Smoke, resume and determinism tests of replicate/table1.py on synthetic:tiny (SHORT Table 1),
and ``--mlp-hparams``: a tuning/search_short_mlp.py result replaces the LLD-MLP grid (§2.3)."""

import csv
import json
import re
from pathlib import Path

import keras
import pytest

from ser_keras.cli import search_short_mlp, table1
from ser_keras.experiments.short import TABLE1_IDS, load_mlp_hparams

pytestmark = pytest.mark.integration


def _run(out, *extra):
    table1.main(["--corpus", "synthetic:tiny", "--quick", "--out", str(out), "--verbose", "0", *extra])
    return json.loads((out / "metrics.json").read_text())


def _comparable(metrics):
    return {key: value for key, value in metrics.items() if key != "wall_s"}


@pytest.fixture(scope="module")
def full_quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("table1") / "run"
    return out, _run(out)


def test_quick_run_writes_every_row_and_file(full_quick_run):
    out, metrics = full_quick_run
    assert [row["id"] for row in metrics["rows"]] == list(TABLE1_IDS)
    assert metrics["quick"] is True and metrics["protocol"] == "leave_one_session_out"
    assert metrics["folds"] == ["Ses01", "Ses02", "Ses03", "Ses04", "Ses05"]
    for row in metrics["rows"]:
        if row["id"].startswith("boaw_w2v2"):
            assert row["value"] is None and row["status"] == "skipped: no --wav2vec2 weights"
        else:
            assert 0.0 <= row["value"] <= 100.0
            assert row["ci95"][0] <= row["value"] <= row["ci95"][1]
    for name in ("config.json", "env.json", "results.csv", "predictions.csv", "table.md"):
        assert (out / name).stat().st_size > 0
    with open(out / "predictions.csv") as handle:
        header = next(csv.reader(handle))
    assert header == ["id", "row", "fold", "target", "prediction", "speaker"]
    table = (out / "table.md").read_text()
    assert "Budget: **quick**" in table and "56.57" in table
    assert metrics["budget"]["name"] == "quick" and (out / "table1.png").stat().st_size > 0
    for row_id in ("raw_subseg_cnn", "raw_seg_cnn", "compare_lld_mlp", "egemaps_lld_mlp"):
        for fold in metrics["folds"]:
            sidecar = json.loads((out / "models" / f"{row_id}_{fold}.json").read_text())
            assert sidecar["labels"] == ["ang", "hap", "neu", "sad"] and sidecar["fold"] == fold
            assert (out / "models" / f"{row_id}_{fold}.h5").stat().st_size > 0


@pytest.mark.reliability
def test_rerun_with_same_seed_is_identical_and_resume_reuses_parts(full_quick_run, tmp_path):
    out, metrics = full_quick_run
    rows = "compare_func_svm,raw_seg_cnn"
    again = _run(tmp_path / "again", "--rows", rows)
    assert [r for r in again["rows"]] == [r for r in metrics["rows"] if r["id"] in rows.split(",")]
    with pytest.raises(SystemExit):
        _run(tmp_path / "again", "--rows", rows)  # a finished run is not overwritten without --resume
    part = tmp_path / "again" / "parts" / "raw_seg_cnn" / "Ses02.json"
    stamp = part.stat().st_mtime_ns
    resumed = _run(tmp_path / "again", "--rows", rows, "--resume")
    assert part.stat().st_mtime_ns == stamp
    assert _comparable(resumed)["rows"] == _comparable(again)["rows"]


def test_rows_fitted_side_by_side_equal_each_row_run_alone(full_quick_run, tmp_path):
    # The full run fits its utterance-level rows on a second thread beside the networks; a run
    # of one row has nothing beside it.
    _, metrics = full_quick_run
    for row_id in ("boaw_egemaps_rf", "egemaps_lld_mlp"):
        alone = _run(tmp_path / row_id, "--rows", row_id)
        assert alone["rows"] == [row for row in metrics["rows"] if row["id"] == row_id]


def test_merging_runs_of_disjoint_folds_gives_the_single_run_values(full_quick_run, tmp_path, capsys):
    import shutil

    from ser_keras.cli import merge_runs

    out, metrics = full_quick_run
    halves = {"a": ["Ses01", "Ses02"], "b": ["Ses03", "Ses04", "Ses05"]}
    for name, folds in halves.items():  # each half as a run of its folds would leave it
        half = shutil.copytree(out, tmp_path / name)
        (half / "metrics.json").write_text(json.dumps({**metrics, "folds": folds}))
        for part in half.glob("parts/*/*.json"):
            if part.stem not in folds:
                part.unlink()
    merge_runs.main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "merged")])
    merged = json.loads((tmp_path / "merged" / "metrics.json").read_text())
    for key in ("rows", "claims", "comparisons", "folds", "fingerprint"):
        assert merged[key] == metrics[key], key
    with pytest.raises(SystemExit) as stop:
        merge_runs.main([str(tmp_path / "a"), str(tmp_path / "a"), "--out", str(tmp_path / "twice")])
    assert stop.value.code == 2 and "each fold must come from one run" in capsys.readouterr().err


# -- --mlp-hparams ----------------------------------------------------------------------


def _search_folder(folder, *, network="short_mlp", source="compare", hidden=(24, 24), search_json=True):
    """A search --out folder as tuning/search_short_mlp.py leaves it (the parts table1 reads)."""
    folder.mkdir(parents=True)
    best = {
        "network": network,
        "hparams": {"hidden_layers": list(hidden)},
        "objective": {"name": "val_uar", "direction": "max", "value": 0.5},
        "trial_id": "01",
        "trials": 2,
    }
    (folder / "best_hparams.json").write_text(json.dumps(best))
    if search_json:
        (folder / "search.json").write_text(
            json.dumps(
                {
                    "network": network,
                    "source": source,
                    "fold": "Ses01",
                    "corpus": "synthetic:tiny",
                    "corpus_sha256": None,
                }
            )
        )
    return folder / "best_hparams.json"


def test_searched_hidden_layers_train_the_mlp_and_are_recorded(tmp_path, tiny_root):
    best = _search_folder(tmp_path / "search", hidden=(24, 24))
    out = tmp_path / "run"
    table1.main(
        [
            "--corpus",
            "synthetic:tiny",
            "--quick",
            "--out",
            str(out),
            "--verbose",
            "0",
            "--rows",
            "compare_lld_mlp",
            "--folds",
            "Ses01",
            "--mlp-hparams",
            str(best),
        ]
    )
    config = json.loads((out / "config.json").read_text())
    recorded = config["mlp_hparams"]["compare"]
    assert recorded["hidden_layers"] == {"*": [24, 24]} and recorded["protocol"] == "once"
    file = recorded["provenance"]["files"]["*"]
    assert file["file"] == str(best.resolve()) and file["search"]["fold"] == "Ses01" and len(file["sha256"]) == 64
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["fingerprint"]["hyperparameter_files"] == {str(best.resolve()): file["sha256"]}
    model = keras.models.load_model(out / "models" / "compare_lld_mlp_Ses01.h5", compile=False)
    widths = [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert widths == [24, 24, 4]  # the quick grid alone would give one 256-unit layer
    part = json.loads((out / "parts" / "compare_lld_mlp" / "Ses01.json").read_text())
    assert part["chosen"] == [24, 24]
    assert "compare_lld_mlp hidden layers selected once on fold Ses01's training pool" in (out / "table.md").read_text()


@pytest.mark.parametrize(
    "case, message",
    [
        ({"network": "elor"}, "network 'elor', not 'short_mlp'"),
        ({"source": "egemaps"}, "searched on egemaps LLDs, but no egemaps MLP row is run"),
        ({"search_json": False}, "search.json does not exist"),
        ({"hidden": ()}, "'hparams.hidden_layers' must be a non-empty list"),
    ],
)
def test_wrong_file_is_refused_naming_it(tmp_path, case, message):
    best = _search_folder(tmp_path / "search", **case)
    with pytest.raises(ValueError, match=message) as error:
        load_mlp_hparams([best], ("compare_lld_mlp", "compare_func_svm"))
    assert str(tmp_path / "search") in str(error.value)


def test_one_file_per_lld_set_and_rows_without_a_file_keep_the_grid(tmp_path):
    compare = _search_folder(tmp_path / "compare", hidden=(512,))
    egemaps = _search_folder(tmp_path / "egemaps", source="egemaps", hidden=(256, 256, 256))
    rows = ("compare_lld_mlp", "egemaps_lld_mlp")
    chosen, files = load_mlp_hparams([compare, egemaps], rows)
    assert {source: value["hidden_layers"]["*"] for source, value in chosen.items()} == {
        "compare": [512],
        "egemaps": [256, 256, 256],
    }
    assert files == [compare.resolve(), egemaps.resolve()]
    assert set(load_mlp_hparams([egemaps], rows)[0]) == {"egemaps"}
    with pytest.raises(ValueError, match="both compare searches"):
        load_mlp_hparams([compare, compare], rows)


def test_script_exits_with_the_error_before_any_training(tmp_path, tiny_root, capsys):
    best = _search_folder(tmp_path / "search", network="lom")
    with pytest.raises(SystemExit) as stop:
        table1.main(
            [
                "--corpus",
                "synthetic:tiny",
                "--quick",
                "--out",
                str(tmp_path / "run"),
                "--verbose",
                "0",
                "--rows",
                "compare_lld_mlp",
                "--mlp-hparams",
                str(best),
            ]
        )
    assert stop.value.code == 2 and str(best) in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_reads_what_the_real_search_writes(tmp_path, tiny_root):
    assert search_short_mlp.main(
        [
            "--quick",
            "--corpus",
            "synthetic:tiny",
            "--source",
            "egemaps",
            "--out",
            str(tmp_path / "search"),
            "--verbose",
            "0",
        ]
    ) in (None, 0)
    best = json.loads((tmp_path / "search" / "best_hparams.json").read_text())
    chosen, _ = load_mlp_hparams([tmp_path / "search" / "best_hparams.json"], ("egemaps_lld_mlp",))
    assert chosen["egemaps"]["hidden_layers"]["*"] == best["hparams"]["hidden_layers"]
    search = chosen["egemaps"]["provenance"]["files"]["*"]["search"]
    assert search["fold"] == "Ses01" and search["quick"] is True


def test_the_readmes_statistics_example_runs_on_a_runs_predictions(full_quick_run, monkeypatch, capsys):
    # The README's worked example, verbatim but for the run folder, against what the run reported.
    out, metrics = full_quick_run
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    example = next(block for block in readme.split("```python\n")[1:] if "from ser_keras.stats import" in block)
    monkeypatch.chdir(out.parent)
    exec(example.split("```")[0].replace("runs/table1", out.name), {})  # noqa: S102 - the README's own code
    printed = capsys.readouterr().out.splitlines()
    row = next(r for r in metrics["rows"] if r["id"] == "raw_subseg_cnn")
    value = float(re.search(r"Interval\(value=(?:np\.float64\()?([0-9.]+)", printed[0]).group(1))
    assert value == pytest.approx(row["value"], abs=0.005)
    comparison = next(c for c in metrics["comparisons"] if c["system"] == "raw_subseg_cnn")
    assert f"p={comparison['p']}" in printed[1]


def test_a_reduced_budget_table_says_what_it_verifies_under_its_claims(full_quick_run):
    out, _ = full_quick_run
    table = (out / "table.md").read_text()
    claims_end = table.index("| Raw SubSeg above Raw Seg |")
    statement = table.index("**What this table verifies.** On the quick budget")
    assert claims_end < statement < table.index("### Paired comparisons against")
    assert "every 10th window for at most 2 epochs" in table
