"""tools/bench/elor_epoch.py: real epochs of the ELOR networks on one fold, and the Table-5
projection recomputed here from the budget, the fold and the corpus's folds."""

import json
import os
import tempfile

import pytest

from tools.bench import elor_epoch


def test_unit_times_separate_tracing_epochs_and_testing():
    def at(wall, cpu):
        return {"wall": wall, "cpu": cpu}

    times = elor_epoch.unit_times(at(0.0, 0.0), [at(10.0, 16.0), at(14.0, 24.0)], at(15.0, 25.0))
    cores = os.cpu_count()
    assert times["first_epoch_s"] == {"wall": 10.0, "cpu": 16.0 / cores}
    assert times["epoch_s"] == times["steady_epoch_s"] == {"wall": 4.0, "cpu": 8.0 / cores}
    assert times["tracing_s"]["wall"] == 6.0 and times["test_and_save_s"]["wall"] == 1.0
    one = elor_epoch.unit_times(at(0.0, 0.0), [at(10.0, 16.0)], at(15.0, 25.0))
    assert one["epoch_includes_tracing"] and one["epoch_s"] == one["first_epoch_s"] and one["tracing_s"] is None
    with pytest.raises(ValueError, match="no epoch end"):
        elor_epoch.unit_times(at(0.0, 0.0), [], at(1.0, 1.0))


def test_gpu_ratios_come_from_the_benchmark_figures_or_not_at_all(tmp_path):
    figures = [
        {"name": "projected_elor_search_h100", "value": 2.0, "unit": "hours", "target": None, "holds": None},
        {"name": "projected_elor_search_this_cpu", "value": 1000.0, "unit": "hours", "target": None, "holds": None},
    ]
    (tmp_path / "list.json").write_text(json.dumps(figures))
    (tmp_path / "tool.json").write_text(json.dumps({"records": figures, "details": {}}))
    (tmp_path / "none.json").write_text(json.dumps(figures[1:]))
    assert elor_epoch.gpu_ratios(tmp_path / "list.json") == ({"H100 SXM": 0.002}, None)
    assert elor_epoch.gpu_ratios(tmp_path / "tool.json")[0] == {"H100 SXM": 0.002}
    assert elor_epoch.gpu_ratios(tmp_path / "none.json") == ({}, None)
    assert elor_epoch.gpu_ratios(tmp_path / "missing.json") == ({}, None)


@pytest.mark.integration
def test_two_quick_epochs_on_a_fold_project_the_table(tiny_root, tmp_path, monkeypatch, capsys):
    from ser_keras.data.corpus import load_corpus
    from ser_keras.experiments.data import ElorData
    from ser_keras.experiments.elor import ElorExperimentConfig, budget
    from ser_keras.io import read_json

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    benchmarks = tmp_path / "benchmarks.json"
    benchmarks.write_text(
        json.dumps(
            [
                {"name": "projected_elor_search_a100", "value": 5.0, "unit": "hours", "target": None, "holds": None},
                {
                    "name": "projected_elor_search_this_cpu",
                    "value": 100.0,
                    "unit": "hours",
                    "target": None,
                    "holds": None,
                },
            ]
        )
    )
    out = tmp_path / "elor_epoch.json"
    argv = ["--corpus", "synthetic:tiny", "--fold", "Ses01M", "--networks", "elor,ELoR+FTR", "--epochs", "2"]
    elor_epoch.main([*argv, "--quick", "--benchmarks", str(benchmarks), "--json", str(out)])
    printed = capsys.readouterr().out
    details = read_json(out)["details"]

    # What the fold really trains on, and the budget a quick run on this corpus takes.
    data = ElorData(load_corpus("synthetic:tiny"), verbose=0)
    quick = ElorExperimentConfig(**budget("synthetic", quick=True).settings)
    train = data.fold_slices(data.fold("Ses01M"), quick.max_train_slices)[0]
    folds = len(data.folds)
    assert details["folds"] == folds == 10 and details["fold"] == "Ses01M"
    assert details["budget"]["max_epochs"] == quick.epochs
    for network in ("elor", "elor_ftr"):
        figures = details["networks"][network]
        assert figures["epochs_run"] == 2 and not figures["epoch_includes_tracing"]
        assert figures["slices"]["train"] == len(train) > 0
        for clock in ("wall", "cpu"):
            epoch = figures["epoch_s"][clock]
            assert epoch > 0 and figures["first_epoch_s"][clock] > 0 and figures["test_and_save_s"][clock] > 0
            assert figures["slices_per_s"][clock] == pytest.approx(len(train) / epoch)
            projected = figures["projection"][clock]
            assert projected["upper_bound_hours"] == pytest.approx(epoch * quick.epochs * folds / 3600)
            assert projected["typical_hours"] == pytest.approx(epoch * min(30, quick.epochs) * folds / 3600)
        assert figures["gpu_hours"]["A100 SXM"]["upper_bound_hours"] == pytest.approx(
            0.05 * figures["projection"]["cpu"]["upper_bound_hours"]
        )
        assert f"{len(train)} training slices per epoch" in printed
    assert details["total"]["upper_bound_hours"]["wall"] == pytest.approx(
        sum(details["networks"][n]["epoch_s"]["wall"] for n in ("elor", "elor_ftr")) * quick.epochs * folds / 3600
    )
    assert "assumed" in printed and "A100 SXM" in printed
    assert not list(scratch.glob("elor_epoch_*"))  # the run folder is gone

    # Without an ELoR projection in the figures there is no GPU estimate, and the tool says so.
    missing = str(tmp_path / "none.json")
    elor_epoch.main(
        ["--corpus", "synthetic:tiny", "--fold", "Ses01M", "--networks", "elor", "--quick", "--benchmarks", missing]
    )
    printed = capsys.readouterr().out
    assert "no GPU figure" in printed and "tracing included" in printed
