"""ShortExperiment.run's two threads (issue 16.2): a failing unit on either stops the other
before its next unit, keeps the finished units and raises the error (no training here); the
work the run tells its progress view, which paces the ETA."""

import threading

import pytest

from ser_keras.data.corpus import load_corpus
from ser_keras.experiments.data import ShortData
from ser_keras.experiments.rows import ROWS as ROWS_BY_ID
from ser_keras.experiments.short import ShortConfig, ShortExperiment, budget
from ser_keras.runs import RunRecord

ROWS = ("compare_func_svm", "raw_seg_cnn")


@pytest.fixture(scope="module")
def tiny_short_data(tiny_root):
    return ShortData(load_corpus("synthetic:tiny"), verbose=0)


def _experiment(data, out, *, fail, on_thread):
    """An experiment whose functionals and raw-CNN units are stand-ins: the unit ``fail`` =
    (family, fold) raises once the other family has started a unit, and the units of the
    other family wait until it has (so the failure lands while the other thread is inside a
    unit, however the two threads are scheduled). ``on_thread`` collects (family, fold, thread
    name) of every unit started."""
    config = ShortConfig(budget="quick", rows=ROWS, verbose=0, **budget("synthetic", quick=True).settings)
    record = RunRecord(out, script="table1", fingerprint={"budget": "quick"}, config={})
    experiment = ShortExperiment(data, config, record)
    experiment._extract_features = lambda rows: None
    failed = threading.Event()
    started = {"functionals": threading.Event(), "raw_cnn": threading.Event()}

    def stand_in(family):
        def unit(row, fold):
            on_thread.append((family, fold.name, threading.current_thread().name))
            started[family].set()
            if (family, fold.name) == fail:
                other = next(name for name in started if name != family)
                assert started[other].wait(timeout=30)  # else the other thread could stop before its first unit
                failed.set()
                raise ValueError(f"broken {family} unit {fold.name}")
            if family != fail[0]:
                assert failed.wait(timeout=30)
            return experiment._part(fold, data.targets[fold.test])
        return unit

    experiment.families.update(functionals=stand_in("functionals"), raw_cnn=stand_in("raw_cnn"))
    return experiment, record


def test_a_failing_utterance_level_unit_stops_the_networks_at_their_next_unit(tiny_short_data, tmp_path):
    units = []
    experiment, record = _experiment(tiny_short_data, tmp_path, fail=("functionals", "Ses02"), on_thread=units)
    with pytest.raises(ValueError, match="broken functionals unit Ses02"):
        experiment.run(ROWS)
    assert [fold for family, fold, _ in units if family == "raw_cnn"] == ["Ses01"]  # not Ses02..Ses05
    assert [fold for family, fold, _ in units if family == "functionals"] == ["Ses01", "Ses02"]
    assert record.load_part("compare_func_svm", "Ses01") is not None and record.load_part("raw_seg_cnn", "Ses01")
    assert {thread.startswith("utterance-level-rows") for family, _, thread in units if family == "functionals"} == {True}


def test_a_failing_network_unit_stops_the_utterance_level_rows_and_raises_its_own_error(tiny_short_data, tmp_path):
    units = []
    experiment, _ = _experiment(tiny_short_data, tmp_path, fail=("raw_cnn", "Ses01"), on_thread=units)
    with pytest.raises(ValueError, match="broken raw_cnn unit Ses01"):
        experiment.run(ROWS)
    # the utterance-level thread may not have started its first unit when the network failed
    assert [fold for family, fold, _ in units if family == "functionals"] in ([], ["Ses01"])


def test_the_eta_is_paced_by_the_network_rows_training_flops(tiny_short_data, tmp_path):
    rows = ("compare_func_svm", "raw_subseg_cnn", "raw_seg_cnn", "egemaps_lld_mlp")
    config = ShortConfig(budget="quick", rows=rows, verbose=0, **budget("synthetic", quick=True).settings)
    record = RunRecord(tmp_path, script="table1", fingerprint={"budget": "quick"}, config={})
    experiment = ShortExperiment(tiny_short_data, config, record)
    work = experiment._expected_work([ROWS_BY_ID[row] for row in rows])
    assert set(work) == {"raw_subseg_cnn", "raw_seg_cnn", "egemaps_lld_mlp"}  # the SVM runs beside them
    assert {units for units, _ in work.values()} == {len(tiny_short_data.folds)}
    # Per window, Raw SubSeg trains ~4x the FLOPs of Raw Seg (benchmarks.flops), whose one network
    # is still ~40x the whole eGeMAPS MLP grid.
    assert work["raw_subseg_cnn"][1] > 2 * work["raw_seg_cnn"][1] > 20 * work["egemaps_lld_mlp"][1]
    for part_fold in tiny_short_data.folds:
        record.save_part("raw_seg_cnn", part_fold.name, experiment._part(part_fold, tiny_short_data.targets[part_fold.test]))
    assert "raw_seg_cnn" not in experiment._expected_work([ROWS_BY_ID["raw_seg_cnn"]])  # resumed: nothing left


def test_network_rows_train_resumed_then_heaviest_first_beside_the_utterance_level_rows(tiny_short_data, tmp_path):
    rows = ("compare_func_svm", "egemaps_lld_mlp", "raw_subseg_cnn", "raw_seg_cnn")  # the table's order
    config = ShortConfig(budget="quick", rows=rows, verbose=0, **budget("synthetic", quick=True).settings)
    record = RunRecord(tmp_path, script="table1", fingerprint={"budget": "quick"}, config={})
    experiment = ShortExperiment(tiny_short_data, config, record)
    experiment._extract_features = lambda rows: None
    trained = []

    def stand_in(row, fold):
        trained.append((row.id, fold.name, threading.current_thread().name))
        return experiment._part(fold, tiny_short_data.targets[fold.test])

    experiment.families.update(functionals=stand_in, raw_cnn=stand_in, lld_mlp=stand_in)
    for fold in tiny_short_data.folds:  # raw_seg_cnn: all folds in the run folder already
        record.save_part("raw_seg_cnn", fold.name, experiment._part(fold, tiny_short_data.targets[fold.test]))
    experiment.run(rows)
    networks = [row for row, _, thread in trained if not thread.startswith("utterance-level-rows")]
    folds = len(tiny_short_data.folds)
    assert networks == ["raw_subseg_cnn"] * folds + ["egemaps_lld_mlp"] * folds  # by work; raw_seg_cnn resumed
    beside = [row for row, _, thread in trained if thread.startswith("utterance-level-rows")]
    assert beside == ["compare_func_svm"] * folds
