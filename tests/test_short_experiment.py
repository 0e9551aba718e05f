"""ShortExperiment.run's two threads: who takes which unit; a failing unit on
either stops the other before its next unit, keeps the finished units and raises the error
(stand-in units); two networks trained at once on the two threads give the numbers of one
after the other (real training); the rows the run tells its progress view to pace the ETA by."""

import threading

import numpy as np
import pytest

from ser_keras.console import RunProgress
from ser_keras.data.corpus import load_corpus
from ser_keras.experiments import short
from ser_keras.experiments.data import ShortData
from ser_keras.experiments.reporting import row_seed
from ser_keras.experiments.rows import ROWS as ROWS_BY_ID
from ser_keras.experiments.rows import Row
from ser_keras.experiments.short import ShortConfig, ShortExperiment, budget
from ser_keras.experiments.units import UnitQueue
from ser_keras.models.lld_mlp import LLD_MLP_GRID
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
    assert {thread.startswith("second-thread") for family, _, thread in units if family == "functionals"} == {True}


def test_a_failing_network_unit_stops_the_utterance_level_rows_and_raises_its_own_error(tiny_short_data, tmp_path):
    units = []
    experiment, _ = _experiment(tiny_short_data, tmp_path, fail=("raw_cnn", "Ses01"), on_thread=units)
    with pytest.raises(ValueError, match="broken raw_cnn unit Ses01"):
        experiment.run(ROWS)
    # the utterance-level thread may not have started its first unit when the network failed
    assert [fold for family, fold, _ in units if family == "functionals"] in ([], ["Ses01"])


def test_the_eta_is_paced_by_the_network_rows_and_no_model_is_built_for_it(tiny_short_data, tmp_path, monkeypatch):
    rows = ("compare_func_svm", "egemaps_lld_mlp", "raw_seg_cnn", "tiny_window_cnn")
    config = ShortConfig(budget="quick", rows=rows, verbose=0, **budget("synthetic", quick=True).settings)
    record = RunRecord(tmp_path, script="table1", fingerprint={"budget": "quick"}, config={})
    progress = RunProgress(len(rows) * len(tiny_short_data.folds), verbose=0)
    experiment = ShortExperiment(tiny_short_data, config, record, progress=progress)
    experiment._extract_features = lambda rows: None

    def no_build(*args, **kwargs):
        raise AssertionError("a model was built outside a unit")

    for builder in ("build_raw_cnn", "build_lld_mlp"):
        monkeypatch.setattr(short, builder, no_build)
    monkeypatch.setitem(
        ROWS_BY_ID,
        "tiny_window_cnn",
        Row("tiny_window_cnn", "tiny", "plug-in", None, "plugin_windows", "raw", origin="plugin", build=no_build),
    )

    def stand_in(row, fold):
        return experiment._part(fold, tiny_short_data.targets[fold.test])

    experiment.families.update(functionals=stand_in, raw_cnn=stand_in, lld_mlp=stand_in, plugin_windows=stand_in)
    experiment.run(rows)
    folds = len(tiny_short_data.folds)
    assert progress.paced == {"raw_seg_cnn": folds, "egemaps_lld_mlp": folds, "tiny_window_cnn": folds}
    assert progress.beside == {"compare_func_svm": folds} and progress.shared
    assert progress.done == progress.total


def test_the_main_thread_takes_the_heaviest_network_units_and_the_second_the_rest_from_the_other_end():
    units = UnitQueue(["raw_subseg_cnn", "egemaps_lld_mlp"], ["compare_func_svm"], ["Ses01", "Ses02", "Ses03"])

    def claim(end):
        return getattr(units, f"claim_from_{end}_end")()

    assert claim("heavy") == ("raw_subseg_cnn", "Ses01")
    assert [claim("light") for _ in range(4)] == [
        ("compare_func_svm", "Ses01"),
        ("compare_func_svm", "Ses02"),
        ("compare_func_svm", "Ses03"),
        ("egemaps_lld_mlp", "Ses01"),
    ]
    assert [claim("heavy") for _ in range(3)] == [
        ("raw_subseg_cnn", "Ses02"),
        ("raw_subseg_cnn", "Ses03"),
        ("egemaps_lld_mlp", "Ses02"),
    ]
    assert [claim("light"), claim("heavy"), claim("light")] == [("egemaps_lld_mlp", "Ses03"), None, None]
    main_only = UnitQueue(["raw_subseg_cnn", "rel_cnn"], [], ["Ses01", "Ses02"], main_only=["rel_cnn"])
    assert main_only.claim_from_light_end() == ("raw_subseg_cnn", "Ses01")  # rel_cnn's units are not shared
    assert main_only.claim_from_light_end() == ("raw_subseg_cnn", "Ses02") and main_only.claim_from_light_end() is None
    assert main_only.claim_from_heavy_end() == ("rel_cnn", "Ses01")


def test_network_rows_train_resumed_then_heaviest_first_and_every_unit_once(tiny_short_data, tmp_path):
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
    _, _, parts = experiment.run(rows)
    folds = [fold.name for fold in tiny_short_data.folds]
    assert sorted((row, fold) for row, fold, _ in trained) == sorted(
        (row, fold) for row in ("compare_func_svm", "egemaps_lld_mlp", "raw_subseg_cnn") for fold in folds
    )
    main = [row for row, _, thread in trained if not thread.startswith("second-thread")]
    assert main == sorted(main, key=["raw_subseg_cnn", "egemaps_lld_mlp"].index)  # by work; raw_seg_cnn resumed
    second = [row for row, _, thread in trained if thread.startswith("second-thread")]
    assert second[: len(folds)] == ["compare_func_svm"] * len(folds)  # its own rows first, then the light end
    assert second == sorted(second, key=["compare_func_svm", "egemaps_lld_mlp", "raw_subseg_cnn"].index)
    assert set(parts) == {"compare_func_svm", "egemaps_lld_mlp", "raw_subseg_cnn", "raw_seg_cnn"}
    assert all(list(parts[row]) == folds for row in parts)


@pytest.mark.integration
def test_two_networks_training_at_once_give_the_numbers_of_one_after_the_other(tiny_short_data, tmp_path):
    # An MLP of a two-point grid builds its second network while the CNN on the other thread has
    # built and trains its own: its initial weights must still be those of a one-thread run.
    rows = ("egemaps_lld_mlp", "raw_seg_cnn")
    settings = {**budget("synthetic", quick=True).settings, "mlp_grid": LLD_MLP_GRID[:2]}
    config = ShortConfig(budget="quick", rows=rows, verbose=0, **settings)

    def experiment(out):
        record = RunRecord(out, script="table1", fingerprint={"budget": "quick"}, config={})
        run = ShortExperiment(tiny_short_data, config, record)
        run.folds = run.folds[:2]
        return run

    side_by_side, threads = experiment(tmp_path / "two_threads"), {}
    for family in ("lld_mlp", "raw_cnn"):

        def unit(row, fold, compute=side_by_side.families[family]):
            threads.setdefault(row.id, set()).add(threading.current_thread().name.startswith("second-thread"))
            return compute(row, fold)

        side_by_side.families[family] = unit
    _, _, together = side_by_side.run(rows)
    # each thread's first claim: the heavy row on the main thread, the light one beside it
    assert False in threads["raw_seg_cnn"] and True in threads["egemaps_lld_mlp"]
    one_by_one = experiment(tmp_path / "one_thread")
    for row in rows:
        for fold in one_by_one.folds:
            alone = one_by_one.part_of(ROWS_BY_ID[row], fold)
            assert alone["predictions"] == together[row][fold.name]["predictions"]
            np.testing.assert_equal(alone["validation_uar"], together[row][fold.name]["validation_uar"])
            assert alone["chosen"] == together[row][fold.name]["chosen"]


def test_a_nested_network_unit_gives_the_enclosing_unit_its_seeds_back(tiny_short_data, tmp_path):
    # e.g. a relevance row of short_table3.py that first trains the Table-1 CNN it reads
    config = ShortConfig(
        budget="quick", rows=("egemaps_lld_mlp",), verbose=0, **budget("synthetic", quick=True).settings
    )
    experiment = ShortExperiment(
        tiny_short_data, config, RunRecord(tmp_path, script="table1", fingerprint={"budget": "quick"}, config={})
    )
    fold, seen = tiny_short_data.folds[0], []

    def enclosing(row, fold):
        before = experiment._unit.seeds
        experiment.part_of(ROWS_BY_ID["raw_seg_cnn"], fold)
        seen.append((before, experiment._unit.seeds))
        return experiment._part(fold, tiny_short_data.targets[fold.test])

    def nested(row, fold):
        seen.append(experiment._unit.seeds.seed)
        return experiment._part(fold, tiny_short_data.targets[fold.test])

    experiment.families.update(lld_mlp=enclosing, raw_cnn=nested)
    experiment.part_of(ROWS_BY_ID["egemaps_lld_mlp"], fold)
    (nested_seed, (before, after)) = seen
    assert nested_seed == row_seed(0, "raw_seg_cnn", fold.name)
    assert after is before and before.seed == row_seed(0, "egemaps_lld_mlp", fold.name)


def test_every_context_stream_of_a_corpus_reads_one_context_tensor(tiny_short_data, monkeypatch):
    """Each ContextTensor copies every LLD matrix into a new variable (2.2 GB for ComParE on
    IEMOCAP): the train, validation and test streams of every fold read the corpus's one."""
    from ser_keras.data import windows

    made = []
    monkeypatch.setattr(
        windows.ContextTensor,
        "__init__",
        lambda self, matrices, init=windows.ContextTensor.__init__: (made.append(1), init(self, matrices))[1],
    )
    data = ShortData(tiny_short_data.corpus, verbose=0)
    for fold in data.folds[:2]:
        for index, train in ((fold.train, True), (fold.validation, False), (fold.test, False)):
            stream, owners, steps = data.context_stream("egemaps", index, step=4, train=train, batch_size=64)
            next(iter(stream))
    assert len(made) == 1
