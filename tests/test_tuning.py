"""Search spaces, split-head / MLP trials, best_hparams.json, resume and the ELoR search CLI
(ser_keras.tuning) on tiny in-memory data and synthetic:tiny."""

import csv
import json
import math
import os
from pathlib import Path

import keras
import keras_tuner
import numpy as np
import pytest
import tensorflow as tf

from ser_keras.cli import search_elor
from ser_keras.models.elor import HEADS, ElorConfig, FtrConfig, LomConfig, build_ftr, trunk_output_steps
from ser_keras.tuning import search as search_module
from ser_keras.tuning.search import SplitHeadHyperModel, make_oracle, make_strategy, role, run_search
from ser_keras.tuning.spaces import ELOR_SPACE, FTR_SPACE, LOM_SPACE, Range, SearchSpace

SPACES = {space.network: space for space in (ELOR_SPACE, LOM_SPACE, FTR_SPACE)}

FEATURES = 6
TINY_FTR = FtrConfig(num_functionals=FEATURES)


def tiny_ftr_hypermodel(*, samples=48, epochs=2, seed=0):
    """FTR on random 6-dim features whose labels follow the features (learnable)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, FEATURES)).astype(np.float32)
    labels = {"valence": np.argmax(x[:, :5], axis=1), "arousal": np.argmax(x[:, 1:6], axis=1)}
    cut = samples * 3 // 4

    def datasets(batch_size):
        def part(rows):
            return tf.data.Dataset.from_tensor_slices((x[rows], {h: labels[h][rows] for h in HEADS})).batch(batch_size)

        return part(slice(0, cut)), part(slice(cut, None))

    def build(config):
        return build_ftr(config, functional_mean=np.zeros(FEATURES), functional_variance=np.ones(FEATURES))

    return SplitHeadHyperModel(FTR_SPACE, build, datasets, base_config=TINY_FTR, epochs=epochs, patience=2, seed=seed)


def read_trials(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def completed_trial_files(out):
    states = [json.loads(p.read_text())["status"] for p in Path(out, "tuner").glob("trial_*/trial.json")]
    return sum(state == "COMPLETED" for state in states)


# -- spaces -------------------------------------------------------------------------------


@pytest.mark.parametrize("space", list(SPACES.values()), ids=list(SPACES))
def test_every_range_is_centred_on_the_config_default(space):
    base = space.config_class()
    for tuned in space.ranges:
        default = getattr(base, tuned.field)
        default = default if tuned.index is None else default[tuned.index]
        if tuned.kind == "choice":
            values = list(tuned.values)
            assert values[len(values) // 2] == default, tuned.name
        elif tuned.kind == "log":
            assert math.isclose(math.sqrt(tuned.low * tuned.high), default, rel_tol=1e-9), tuned.name
        else:
            tolerance = 0.5 if tuned.kind == "int" else 1e-9
            assert (tuned.low + tuned.high) / 2 == pytest.approx(default, abs=tolerance), tuned.name


def test_elor_space_is_trigeorgis_centred():
    values = {r.name: (r.low, r.high) for r in ELOR_SPACE.ranges}
    assert values["conv_filters_1"] == (20, 60) and values["conv_kernel_sizes_1"] == (10, 30)
    assert values["pool_sizes_1"] == (1, 3) and values["conv_kernel_sizes_2"] == (20, 60)
    assert values["pool_sizes_2"] == (5, 15)


@pytest.mark.parametrize("space,length", [(ELOR_SPACE, 96000), (LOM_SPACE, 599)], ids=["elor", "lom"])
def test_the_largest_kernels_and_pools_still_fit_the_input(space, length):
    extreme = {r.name: r.high for r in space.ranges if r.kind == "int"}
    extreme.update({r.name: r.values[-1] for r in space.ranges if r.kind == "choice"})
    extreme.update({r.name: r.high for r in space.ranges if r.kind in ("float", "log")})
    config = space.config({**extreme, "momentum": 0.9, "dropout_rate": 0.5})
    assert trunk_output_steps(length, config) >= 1


def test_declared_defaults_rebuild_the_default_config_and_round_trip_through_json():
    hp = keras_tuner.HyperParameters()
    values = ELOR_SPACE.declare(hp)
    assert ELOR_SPACE.config(values) == ElorConfig()
    fields = json.loads(json.dumps(ELOR_SPACE.hparams(values)))
    assert ElorConfig.from_dict(fields) == ElorConfig()
    assert ELOR_SPACE.values(ElorConfig().to_dict()) == values
    assert LOM_SPACE.config(LOM_SPACE.declare(keras_tuner.HyperParameters())) == LomConfig()


def test_space_and_range_errors_name_the_offending_value():
    with pytest.raises(ValueError, match="'cubic'"):
        Range("dropout_rate", "cubic", 0, 1)
    with pytest.raises(ValueError, match="not_a_field"):
        SearchSpace("x", FtrConfig, (Range("not_a_field", "float", 0, 1),))
    with pytest.raises(ValueError, match="'head_units_1'"):
        FTR_SPACE.hparams({"dropout_rate": 0.5})


# -- trials ---------------------------------------------------------------------------------


def test_trial_runs_split_head_training_and_scores_the_restored_epoch(monkeypatch):
    steps = []

    class CountingTrainer(search_module.SplitHeadTrainer):
        def train_step(self, x, labels, after_update=None):
            order, losses = super().train_step(x, labels, after_update)
            steps.append(order)
            return order, losses

    monkeypatch.setattr(search_module, "SplitHeadTrainer", CountingTrainer)
    hypermodel = tiny_ftr_hypermodel(epochs=3)
    hp = keras_tuner.HyperParameters()
    keras.utils.set_random_seed(0)
    model = hypermodel.build(hp)
    metrics = hypermodel.fit(hp, model)
    batch_size = hypermodel.config(hp).batch_size
    train, validation = hypermodel.datasets(batch_size)
    assert len(steps) == metrics["epochs_run"] * int(train.cardinality())
    assert all(sorted(order) == sorted(HEADS) for order in steps)
    # The objective is measured on the weights the trainer restored (its best epoch).
    outputs = model.predict(validation.map(lambda x, y: x), verbose=0)
    truth = {h: np.concatenate([y[h].numpy() for _, y in validation]) for h in HEADS}
    accuracy = {h: float(np.mean(outputs[h].argmax(axis=1) == truth[h])) for h in HEADS}
    assert metrics["val_mean_accuracy"] == pytest.approx(np.mean(list(accuracy.values())))
    assert metrics["val_accuracy_valence"] == pytest.approx(accuracy["valence"])


def test_search_writes_best_hparams_trials_csv_and_resumes_with_a_larger_budget(tmp_path):
    out = tmp_path / "search"
    first = run_search(tiny_ftr_hypermodel(epochs=1), out=out, network="ftr", tuner="random", trials=2, verbose=0)
    rows = read_trials(out / "trials.csv")
    assert [row["status"] for row in rows] == ["COMPLETED"] * 2
    for row in rows:
        heads = [float(row[f"val_accuracy_{h}"]) for h in HEADS]
        assert float(row["val_mean_accuracy"]) == pytest.approx(np.mean(heads))
    best = max(rows, key=lambda row: float(row["score"]))
    assert first["trial_id"] == best["trial_id"] and first["trials"] == 2
    assert first["objective"] == {"name": "val_mean_accuracy", "direction": "max", "value": float(best["score"])}
    assert set(first["hparams"]) == {r.field for r in FTR_SPACE.ranges}
    assert first["hparams"]["learning_rate"] == pytest.approx(float(best["learning_rate"]))
    assert json.loads((out / "best_hparams.json").read_text()) == json.loads(json.dumps(first))
    # Rerun with a budget of 3: the two finished trials are kept, one more runs.
    second = run_search(tiny_ftr_hypermodel(epochs=1), out=out, network="ftr", tuner="random", trials=3, verbose=0)
    ran = json.loads((out / "trials_run" / "tuner0.json").read_text())
    assert len(ran) == 1 and ran[0]["trial_id"] not in {row["trial_id"] for row in rows}
    assert second["trials"] == 3 and completed_trial_files(out) == 3
    with pytest.raises(ValueError, match="tuner"):
        run_search(tiny_ftr_hypermodel(), out=out, network="ftr", tuner="bayesian", trials=3, verbose=0)


def test_fixed_values_are_pinned_and_hyperband_sets_the_epochs(tmp_path):
    epochs_seen = []

    class Recording(SplitHeadHyperModel):
        def fit(self, hp, model, *, epochs=None, **kwargs):
            epochs_seen.append(epochs)
            return super().fit(hp, model, epochs=epochs, **kwargs)

    base = tiny_ftr_hypermodel()
    hypermodel = Recording(FTR_SPACE, base.build_network, base.datasets, base_config=TINY_FTR, epochs=2, patience=1)
    result = run_search(
        hypermodel,
        out=tmp_path / "hb",
        network="ftr",
        tuner="hyperband",
        epochs=2,
        fixed={"head_units_1": 8, "head_units_2": 8},
        verbose=0,
    )
    assert list(result["hparams"]["head_units"]) == [8, 8]
    assert epochs_seen and all(epochs == 2 for epochs in epochs_seen)


def test_mirrored_strategy_and_mixed_bfloat16_trials_keep_float32_softmax(tmp_path):
    dtypes = []

    class Recording(SplitHeadHyperModel):
        def fit(self, hp, model, **kwargs):
            dtypes.append(
                (
                    model.get_layer("valence_dense1").compute_dtype,
                    {model.get_layer(head).compute_dtype for head in HEADS},
                )
            )
            return super().fit(hp, model, **kwargs)

    base = tiny_ftr_hypermodel()
    hypermodel = Recording(FTR_SPACE, base.build_network, base.datasets, base_config=TINY_FTR, epochs=1, patience=1)
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        result = run_search(
            hypermodel,
            out=tmp_path / "mirrored",
            network="ftr",
            tuner="random",
            trials=1,
            strategy=make_strategy("mirrored"),
            verbose=0,
        )
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert dtypes == [("bfloat16", {"float32"})]
    assert math.isfinite(result["objective"]["value"])


def test_factories_and_role_refuse_bad_values(monkeypatch):
    objective = search_module.SPLIT_HEAD_OBJECTIVE
    assert isinstance(
        make_oracle("bayesian", objective, trials=3, epochs=2), keras_tuner.oracles.BayesianOptimizationOracle
    )
    assert isinstance(make_oracle("hyperband", objective, trials=3, epochs=2), keras_tuner.oracles.HyperbandOracle)
    with pytest.raises(ValueError, match="'tpe'"):
        make_oracle("tpe", objective, trials=3, epochs=2)
    with pytest.raises(ValueError, match="'horovod'"):
        make_strategy("horovod")
    assert role() == "standalone"
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    with pytest.raises(ValueError, match="KERASTUNER_ORACLE_PORT"):
        role()
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "1")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    assert role() == "chief"


# -- scripts ----------------------------------------------------------------------------------


@pytest.mark.integration
def test_search_elor_quick_on_synthetic_tiny_writes_hparams_table5_accepts(tmp_path, tiny_root, capsys):
    out = tmp_path / "elor"
    status = search_elor.main(
        ["--quick", "--corpus", "synthetic:tiny", "--trials", "1", "--out", str(out), "--verbose", "0"]
    )
    assert status is None
    best = json.loads((out / "best_hparams.json").read_text())
    assert best["network"] == "elor" and best["trials"] == 1 and best["objective"]["name"] == "val_mean_accuracy"
    settings = json.loads((out / "search.json").read_text())
    assert settings["fold"] and settings["validation_slices"] > 0 and settings["quick"] is True
    from ser_keras.experiments.elor import load_hparams

    loaded = load_hparams(out / "best_hparams.json")
    assert ElorConfig.from_dict(loaded["elor"]).learning_rate == pytest.approx(best["hparams"]["learning_rate"])
    assert "best trial" in capsys.readouterr().out


@pytest.mark.integration
def test_search_script_errors_are_one_line(tmp_path, tiny_root, capsys):
    status = search_elor.main(
        ["--quick", "--corpus", "synthetic:tiny", "--fold", "Nobody", "--out", str(tmp_path / "x"), "--verbose", "0"]
    )
    assert status == 2 and "Nobody" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "x" / "tuner")
