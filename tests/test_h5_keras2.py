"""Every paper network's saved .h5 loads with Keras 3 and with Keras 2 (tf_keras), predicting bit for bit.

Each reader runs in its own process that never imports ser_keras: plain ``keras.models.load_model``
and plain ``tf_keras.models.load_model``, ``compile=False``. Predictions are compared with
``np.array_equal`` against the model in this process: both readers run the same TensorFlow
kernels on the same float32 weights, so nothing but a wrong graph or misplaced weights can
change a bit. The weights are drawn at random per variable (BatchNorm statistics included),
so two same-shaped layers whose weights a reader swapped would show.
"""

import json
import os
import subprocess
import sys

import h5py
import keras
import numpy as np
import pytest

from ser_keras.models import h5_export
from ser_keras.models.elor import (
    ElorConfig,
    ElorFtrConfig,
    FtrConfig,
    LomConfig,
    build_elor,
    build_elor_ftr,
    build_ftr,
    build_lom,
)
from ser_keras.models.h5_export import (
    KERAS2_READER,
    KERAS3_READER,
    NoKeras2Form,
    keras2_model_config,
)
from ser_keras.models.lld_mlp import build_lld_mlp
from ser_keras.models.raw_cnn import build_raw_seg, build_raw_subseg
from ser_keras.training.fit import load_h5, save_h5

TRUNK = {"conv_filters": (3, 4, 5), "conv_kernel_sizes": (3, 3, 3), "pool_sizes": (2, 2, 2), "head_units": (6, 4)}
FUNCTIONALS = 12
EGEMAPS_LLDS, COMPARE_LLDS = 23, 130

LOAD = """
import importlib, json, sys
import numpy as np
reader, folder, names = sys.argv[1], sys.argv[2], sys.argv[3:]
keras = importlib.import_module(reader)
classes = {}
for name in names:
    model = keras.models.load_model(f"{folder}/{name}.h5", compile=False)
    with np.load(f"{folder}/{name}_inputs.npz") as stored:
        inputs = [stored[f"input{index}"] for index in range(len(stored.files))]
    outputs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    np.savez(f"{folder}/{name}_{reader}.npz", **(outputs if isinstance(outputs, dict) else {"output": outputs}))
    classes[name] = type(model).__module__
print(json.dumps({"version": keras.__version__, "classes": classes,
                  "ser_keras": sorted(module for module in sys.modules if module.startswith("ser_keras"))}))
"""


def _statistics(rng, count):
    return rng.normal(size=count), rng.uniform(0.5, 2.0, size=count)


def _paper_networks(rng):
    """{name: (model, inputs)}: every paper network, built small, on a batch of 4."""
    mean, variance = _statistics(rng, FUNCTIONALS)
    functionals = {"functional_mean": mean, "functional_variance": variance}
    networks = {
        "raw_subseg": (build_raw_subseg(), [rng.standard_normal((4, 4000))]),
        "raw_seg": (build_raw_seg(), [rng.standard_normal((4, 4000))]),
        "elor": (build_elor(ElorConfig(input_length=100, **TRUNK)), [rng.standard_normal((4, 100))]),
        "lom": (build_lom(LomConfig(frames=40, coefficients=26, **TRUNK)), [rng.standard_normal((4, 40, 26))]),
        "ftr": (
            build_ftr(FtrConfig(num_functionals=FUNCTIONALS, head_units=(6, 4)), **functionals),
            [rng.normal(size=(4, FUNCTIONALS))],
        ),
        "elor_ftr": (
            build_elor_ftr(ElorFtrConfig(input_length=100, num_functionals=FUNCTIONALS, **TRUNK), **functionals),
            [rng.standard_normal((4, 100)), rng.normal(size=(4, FUNCTIONALS))],
        ),
    }
    for name, count in (("egemaps_lld_mlp", EGEMAPS_LLDS), ("compare_lld_mlp", COMPARE_LLDS)):
        mean, variance = _statistics(rng, count)
        networks[name] = (
            build_lld_mlp(count, feature_mean=mean, feature_variance=variance, hidden_layers=(16, 8)),
            [rng.normal(size=(4, 25, count))],
        )
    # The precision --mixed-precision auto picks on a GPU.
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        networks["raw_subseg_mixed_float16"] = (build_raw_subseg(), [rng.standard_normal((4, 4000))])
    finally:
        keras.mixed_precision.set_global_policy(previous)
    return networks


def _randomise(model, rng):
    """Distinct random weights for every variable (BatchNorm variances positive)."""
    model.set_weights(
        [
            rng.uniform(0.5, 2.0, size=variable.shape)
            if "moving_variance" in variable.path
            else rng.normal(scale=0.3, size=variable.shape)
            for variable in model.weights
        ]
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The networks saved with ``save_h5``: (folder, {name: predictions}, {name: H5Format})."""
    folder = tmp_path_factory.mktemp("h5_keras2")
    rng = np.random.default_rng(11)
    expected, formats = {}, {}
    for name, (model, inputs) in _paper_networks(rng).items():
        _randomise(model, rng)
        inputs = [array.astype("float32") for array in inputs]
        np.savez(folder / f"{name}_inputs.npz", **{f"input{index}": array for index, array in enumerate(inputs)})
        outputs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
        expected[name] = outputs if isinstance(outputs, dict) else {"output": outputs}
        formats[name] = save_h5(model, folder / f"{name}.h5")
    return folder, expected, formats


def _stored_config(path):
    with h5py.File(path, "r") as handle:
        return json.loads(handle.attrs["model_config"])


def test_every_paper_network_is_saved_in_the_keras2_form(saved):
    folder, expected, formats = saved
    for name in expected:
        assert formats[name].model_config == "Keras 2", name
        assert formats[name].loads_with == (KERAS3_READER, KERAS2_READER), name
    layers = {layer["name"]: layer for layer in _stored_config(folder / "elor_ftr.h5")["config"]["layers"]}
    # As tf_keras itself writes them: an input's batch_input_shape, a dtype by name, one
    # [layer, node, tensor, kwargs] per tensor a layer is called on.
    assert layers["is10"]["config"]["batch_input_shape"] == [None, FUNCTIONALS]
    assert "optional" not in layers["is10"]["config"]
    assert layers["trunk_and_is10"]["inbound_nodes"] == [[["flatten", 0, 0, {}], ["is10_standardize", 0, 0, {}]]]
    assert layers["valence"]["config"]["dtype"] == "float32"
    assert layers["valence"]["config"]["kernel_initializer"]["config"] == {"seed": None}
    assert "quantization_config" not in layers["valence"]["config"]
    mixed = _stored_config(folder / "raw_subseg_mixed_float16.h5")["config"]["layers"]
    assert {layer["name"]: layer["config"]["dtype"] for layer in mixed}["conv1"] == "mixed_float16"


@pytest.mark.integration
@pytest.mark.parametrize("reader, major", [("keras", "3."), ("tf_keras", "2.")])
def test_every_paper_network_loads_and_predicts_bit_for_bit(saved, reader, major):
    folder, expected, _ = saved
    environment = {**os.environ, "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", LOAD, reader, str(folder), *expected],
        capture_output=True,
        text=True,
        env=environment,
        cwd=folder,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["version"].startswith(major) and report["ser_keras"] == []
    for name, outputs in expected.items():
        assert report["classes"][name].split(".")[0] == reader, name
        with np.load(folder / f"{name}_{reader}.npz") as reloaded:
            assert sorted(reloaded.files) == sorted(outputs), name
            for key, values in outputs.items():
                assert np.array_equal(reloaded[key], values), f"{name} {key}"


def test_a_model_without_a_keras2_form_keeps_the_keras3_file_and_says_so(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    written = save_h5(model, tmp_path / "sequential.h5")
    assert written.model_config == "Keras 3" and written.loads_with == (KERAS3_READER,)
    assert "Sequential" in written.why_keras3_only
    inputs = np.ones((2, 3), "float32")
    assert np.array_equal(
        load_h5(tmp_path / "sequential.h5").predict(inputs, verbose=0), model.predict(inputs, verbose=0)
    )


def test_a_keras3_only_setting_in_use_is_named(tmp_path):
    model = build_ftr(
        FtrConfig(num_functionals=FUNCTIONALS, head_units=(6,)),
        functional_mean=np.zeros(FUNCTIONALS),
        functional_variance=np.ones(FUNCTIONALS),
    )
    model.save(tmp_path / "keras3.h5")
    config = _stored_config(tmp_path / "keras3.h5")
    config["config"]["layers"][0]["config"]["optional"] = True
    with pytest.raises(NoKeras2Form, match="Layer 'is10' sets optional=True"):
        keras2_model_config(config)


@pytest.mark.reliability
def test_a_failed_rewrite_leaves_no_file(tmp_path, monkeypatch):
    def fail(config):
        raise RuntimeError("killed while converting")

    monkeypatch.setattr(h5_export, "keras2_model_config", fail)
    with pytest.raises(RuntimeError, match="killed while converting"):
        save_h5(build_raw_seg(), tmp_path / "raw_seg.h5")
    assert list(tmp_path.iterdir()) == []
