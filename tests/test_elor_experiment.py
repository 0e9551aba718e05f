"""ELOR Table-5 experiment pieces: dimensional view, hyperparameter files, slice folds,
input datasets, majority baseline and the paper's claims (no training here)."""

import dataclasses
import io
import json
import threading

import numpy as np
import pytest

from ser_keras import console
from ser_keras.data.corpus import Utterance, load_corpus
from ser_keras.data.labels import dimensional_view
from ser_keras.data.windows import SLICE
from ser_keras.experiments import elor_table5
from ser_keras.experiments.data import ElorData
from ser_keras.experiments.elor import ElorExperiment, ElorExperimentConfig, budget, load_hparams, merge_hparams
from ser_keras.experiments.elor_table5 import TABLE5_IDS, majority_parts, table5_claims
from ser_keras.experiments.networks import NETWORKS, network_id
from ser_keras.models.elor import HEADS, ElorConfig, ElorFtrConfig
from ser_keras.runs import RunRecord
from ser_keras.training.split_heads import SplitHeadTrainer


def _utterance(name, ratings=(), valence=None, arousal=None):
    return Utterance(id=name, path=f"/{name}.wav", speaker="s", ratings=ratings, valence=valence, arousal=arousal)


def test_dimensional_view_uses_the_evaluator_line_and_drops_unrated():
    rated = _utterance("a", ratings=(("E1", 5.0, 5.0, 3.0), ("E2", 1.0, 4.0, 2.0)), valence=3.0, arousal=4.5)
    unrated = _utterance("b", ratings=(("E1", 2.0, 2.0, 2.0),), valence=2.0, arousal=2.0)
    view = dimensional_view([rated, unrated], "E2")
    assert view.source == "A-E2" and [u.id for u in view.utterances] == ["a"]
    assert view.valence == (0,) and view.arousal == (3,) and view.dropped == {"no A-E2 rating": 1}
    fields = dimensional_view([rated, unrated], None)  # turn-line values, 4.5 rounds half up
    assert fields.source == "valence/arousal" and fields.valence == (2, 1) and fields.arousal == (4, 1)


def test_dimensional_view_of_a_manifest_uses_record_values():
    view = dimensional_view([_utterance("a", valence=2.0, arousal=5.0), _utterance("b", valence=3.0)])
    assert view.source == "valence/arousal" and view.evaluator is None
    assert view.targets("arousal") == (4,) and view.dropped == {"no valence/arousal rating": 1}
    with pytest.raises(ValueError, match="dimension"):
        view.targets("dominance")


def test_hparams_file_formats(tmp_path):
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"network": "ELoR", "hparams": {"conv_filters": [16, 16, 16], "l2_alpha": 0.001}}))
    assert load_hparams(one) == {"elor": {"conv_filters": [16, 16, 16], "l2_alpha": 0.001}}
    several = tmp_path / "several.json"
    several.write_text(json.dumps({"lom": {"head_units": [64, 64]}, "ELoR+FTR": {"dropout_rate": 0.3}}))
    assert load_hparams(several) == {"lom": {"head_units": [64, 64]}, "elor_ftr": {"dropout_rate": 0.3}}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"ftr": {"conv_filters": [8]}}))
    with pytest.raises(ValueError, match="conv_filters"):
        load_hparams(bad)
    bad.write_text(json.dumps({"cnn": {}}))
    with pytest.raises(ValueError, match="Unknown network 'cnn'"):
        load_hparams(bad)


def test_merge_hparams_elor_ftr_inherits_elor_and_quick_budget_is_small():
    quick = budget("synthetic", quick=True).settings
    merged = merge_hparams(quick["hparams"], {"elor": {"l2_alpha": 0.01}})
    assert merged["elor"]["l2_alpha"] == 0.01 and merged["elor_ftr"]["l2_alpha"] == 0.01
    assert merged["elor"]["conv_filters"] == (8, 8, 8)  # quick entry kept where not overridden
    own = merge_hparams({}, {"elor": {"l2_alpha": 0.01}, "elor_ftr": {"l2_alpha": 0.5}})
    assert own["elor_ftr"] == {"l2_alpha": 0.5}
    config = ElorExperimentConfig(**quick)
    assert isinstance(config.network_config("elor_ftr"), ElorFtrConfig)
    assert config.network_config("elor").conv_filters == (8, 8, 8) and config.max_train_slices == 64
    assert ElorExperimentConfig().network_config("elor") == ElorConfig()  # paper-centre defaults
    assert budget("iemocap", quick=False).settings == {} and budget("iemocap", quick=False).name == "full"
    with pytest.raises(ValueError, match="Unknown network"):
        ElorExperimentConfig(networks=("elor", "svm"))
    assert network_id("ELoR+FTR") == "elor_ftr" and TABLE5_IDS[:2] == ("elor_arousal_war", "elor_arousal_uar")


def _values(scores):
    """Row values from {network: (arousal WAR, arousal UAR, valence WAR, valence UAR)}."""
    return {
        f"{n}_{d}_{m}": scores[n][2 * i + j]
        for n in scores
        for i, d in enumerate(("arousal", "valence"))
        for j, m in enumerate(("war", "uar"))
    }


def test_point_claims_hold_on_the_paper_ordering_and_fail_when_broken():
    paper_like = {
        "elor": (60, 50, 50, 40),
        "lom": (55, 45, 48, 38),
        "ftr": (50, 40, 49, 39),
        "elor_ftr": (58, 48, 52, 42),
    }
    claims = table5_claims(_values(paper_like), NETWORKS)
    assert [c.verdict for c in claims] == ["as stated (point values, untested)"] * 2
    assert not any(c.tested for c in claims)
    broken = dict(paper_like, ftr=(56, 20, 60, 45))  # FTR valence above arousal; UAR < WAR still
    verdicts = {c.claim: c.holds for c in table5_claims(_values(broken), NETWORKS)}
    assert verdicts == {"WAR > UAR for every network": True, "Arousal > valence for every network": False}


def test_point_claims_cover_the_paper_networks_run_never_a_plug_in():
    claims = table5_claims(_values({"elor": (60, 50, 50, 40)}), ("elor",))
    assert [c.holds for c in claims] == [True, True]
    beside_plugin = _values({"elor": (60, 50, 50, 40), "mine": (10, 50, 60, 40)})
    assert [c.holds for c in table5_claims(beside_plugin, ("elor", "mine"))] == [True, True]
    assert [c.verdict for c in table5_claims({}, ())] == ["n/a", "n/a"]


@pytest.fixture(scope="module")
def tiny_data(tiny_root):
    """The prepared ELOR data of synthetic:tiny (training slices capped at 3 by fold_slices)."""
    return ElorData(load_corpus("synthetic:tiny"), verbose=0)


def test_slices_keep_utterance_labels_and_folds_are_speaker_disjoint(tiny_data):
    experiment = tiny_data
    assert len(experiment.folds) == 10
    view = experiment.view
    for index, owner in enumerate(experiment.owners):
        kept = view.utterances.index(experiment.utterances[owner])
        assert experiment.targets["arousal"][index] == view.arousal[kept]
    speakers = np.array([u.speaker for u in experiment.utterances])
    for fold in experiment.folds:
        train, validation, test = experiment.fold_slices(fold, max_train_slices=3)
        assert set(speakers[experiment.owners[test]]) == {fold.name}
        assert fold.name not in set(speakers[experiment.owners[np.concatenate([train, validation])]])
        assert len(train) <= 3 and not set(train) & set(validation)


def test_datasets_cut_slices_and_features_per_network(tiny_data):
    experiment = tiny_data
    index = np.array([0, 2, 1])
    expected = {"raw": (3, SLICE), "mfcc": (3, 599, 26), "is10": (3, 1582)}
    for input_kind, shape in expected.items():
        x, labels = next(iter(experiment.dataset(input_kind, index, batch_size=8)))
        assert tuple(x.shape) == shape
        assert labels["valence"].numpy().tolist() == experiment.targets["valence"][index].tolist()
    (waveform, functionals), _ = next(iter(experiment.dataset("raw+is10", index, batch_size=8)))
    store = experiment.store
    owner, start = experiment.owners[2], experiment.starts[2]
    signal = store.signal(owner)[start : start + SLICE]
    np.testing.assert_array_equal(waveform.numpy()[1, : len(signal)], signal)
    assert not np.any(waveform.numpy()[1, len(signal) :])  # zero padded
    np.testing.assert_array_equal(functionals.numpy(), experiment.is10_features()[index])


def test_shuffled_training_data_is_reshuffled_every_epoch(tiny_data):
    everything = np.arange(len(tiny_data.owners))
    dataset = tiny_data.dataset("is10", everything, batch_size=64, shuffle=True, seed=3)
    first, second = (next(iter(dataset))[0].numpy() for _ in range(2))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(np.sort(first, axis=0), np.sort(second, axis=0))


def test_majority_baseline_predicts_the_training_pool_majority(tiny_data):
    parts = majority_parts(tiny_data)
    fold = tiny_data.folds[0]
    pool = np.isin(tiny_data.owners, np.concatenate([fold.train, fold.validation]))
    counts = np.bincount(tiny_data.targets["arousal"][pool], minlength=5)
    part = parts["arousal"][fold.name]
    assert counts[part["majority"]] == counts.max() and set(part["predictions"]) == {part["majority"]}


def test_the_table5_eta_is_paced_by_measured_fold_times_and_builds_no_model(tiny_data, tmp_path, monkeypatch):
    clock = [0.0]  # the progress view's and the units' clock, moved by the stand-in units
    monkeypatch.setattr(console.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(elor_table5.time, "time", lambda: clock[0])
    fold_seconds = {"elor": 60.0, "ftr": 2.0}

    def stand_in(self, network, fold, **kwargs):
        clock[0] += fold_seconds[network]
        test = np.flatnonzero(np.isin(tiny_data.owners, fold.test))
        heads = {
            head: {"targets": tiny_data.targets[head][test].tolist(), "predictions": [0] * len(test)} for head in HEADS
        }
        return {"ids": [tiny_data.slice_ids[i] for i in test], **heads, "summary": "stand-in"}

    def no_build(*args, **kwargs):
        raise AssertionError("a model was built outside a unit")

    monkeypatch.setattr(ElorExperiment, "run_fold", stand_in)
    monkeypatch.setattr(ElorExperiment, "prepare_inputs", lambda self, networks: None)
    for network in fold_seconds:
        monkeypatch.setitem(NETWORKS, network, dataclasses.replace(NETWORKS[network], builder=no_build))
    # One thread, so the units come in the main thread's order: ELoR (the heavier) first.
    monkeypatch.setattr(
        elor_table5,
        "run_units",
        lambda networks, beside, folds, compute: {
            (network, fold): compute(network, fold, lambda: None) for network in networks for fold in folds
        },
    )
    quick = budget("synthetic", quick=True)
    config = ElorExperimentConfig(networks=("ftr", "elor"), **quick.settings)
    record = RunRecord(
        tmp_path,
        script="wieser_table5",
        fingerprint={"budget": quick.to_dict()},
        config={},
        corpus={"spec": "synthetic:tiny"},
    )
    folds = len(tiny_data.folds)
    stream = io.StringIO()
    with console.RunProgress(2 * folds, stream=stream) as progress:
        elor_table5.run_table5(tiny_data, config, record, progress=progress)
    lines = stream.getvalue().splitlines()
    assert all(" elor " in line for line in lines[:folds]) and all(" ftr " in line for line in lines[folds:])
    # Two threads share what is left: FTR costed at ELoR's mean until a fold of its own has finished.
    assert lines[0].endswith(f"(ETA {(folds - 1 + folds) * 60 / 2 / 60:.0f} min)")
    assert lines[folds].endswith(f"(ETA {(folds - 1) * 2 / 2:.0f} s)")
    assert progress.paced == {"elor": folds, "ftr": folds} and progress.shared


@pytest.mark.integration
def test_a_unit_that_finishes_leaves_the_checkpoint_folder_to_a_unit_about_to_train(tiny_data, tmp_path, monkeypatch):
    # Two units on two threads, the second held just before its first epoch until the first
    # has finished: the first must not remove the checkpoint folder the second writes into.
    config = ElorExperimentConfig(networks=("ftr",), **budget("synthetic", quick=True).settings)
    record = RunRecord(tmp_path, script="wieser_table5", fingerprint={"budget": "quick"}, config={})
    experiment = ElorExperiment(tiny_data, config, record)
    experiment.prepare_inputs(("ftr",))
    first, second = tiny_data.folds[:2]
    first_finished = threading.Event()
    fit = SplitHeadTrainer.fit

    def held_fit(self, *args, **kwargs):
        if kwargs["checkpoint_path"].stem.endswith(second.name):
            assert first_finished.wait(300)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(SplitHeadTrainer, "fit", held_fit)
    errors = []

    def unit(fold, finished=None):
        try:
            experiment.run_fold("ftr", fold)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            if finished is not None:
                finished.set()

    threads = [
        threading.Thread(target=unit, args=(second,)),
        threading.Thread(target=unit, args=(first, first_finished)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert (tmp_path / "checkpoints").is_dir() and not any((tmp_path / "checkpoints").iterdir())
    experiment.remove_checkpoint_folder()  # once, when no unit trains any more
    assert not (tmp_path / "checkpoints").exists()
