"""ELOR family builders and configs (ser_keras.models.elor) on tiny configurations."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ser_keras.experiments.networks import NETWORKS
from ser_keras.models.elor import (
    ElorConfig,
    ElorFtrConfig,
    FtrConfig,
    LomConfig,
    build_elor,
    build_elor_ftr,
    build_ftr,
    build_lom,
    flatten_size,
    parameter_count,
)

TRUNK = dict(conv_filters=(3, 4, 5), conv_kernel_sizes=(3, 3, 3), pool_sizes=(2, 2, 2), head_units=(6, 4))
TINY_ELOR = ElorConfig(input_length=100, **TRUNK)
TINY_LOM = LomConfig(frames=40, coefficients=26, **TRUNK)
TINY_FTR = FtrConfig(num_functionals=12, head_units=(6, 4))
TINY_ELOR_FTR = ElorFtrConfig(input_length=100, num_functionals=12, **TRUNK)


def _statistics(count=12):
    return {"functional_mean": np.linspace(-1, 1, count), "functional_variance": np.linspace(0.5, 2, count)}


def _tiny_models():
    return {
        "ELoR": build_elor(TINY_ELOR),
        "LoM": build_lom(TINY_LOM),
        "FTR": build_ftr(TINY_FTR, **_statistics()),
        "ELoR+FTR": build_elor_ftr(TINY_ELOR_FTR, **_statistics()),
    }


def test_default_configs_are_the_search_space_centre():
    config = ElorConfig()
    assert (config.input_length, config.conv_filters, config.conv_kernel_sizes, config.pool_sizes) == (
        96000,
        (40, 40, 40),
        (20, 40, 40),
        (2, 10, 10),
    )
    # (96000 - 19) // 2 = 47990; (47990 - 39) // 10 = 4795; (4795 - 39) // 10 = 475 steps x 40.
    assert flatten_size(config) == 19000
    assert flatten_size(ElorFtrConfig()) == 19000 + 1582
    assert flatten_size(LomConfig()) == 71 * 40
    assert flatten_size(FtrConfig()) == 1582


@pytest.mark.parametrize("name", [spec.paper_name for spec in NETWORKS.values()])
def test_builders_give_two_five_class_heads(name):
    model = _tiny_models()[name]
    rng = np.random.default_rng(0)
    inputs = {
        "ELoR": rng.standard_normal((3, 100)),
        "LoM": rng.standard_normal((3, 40, 26)),
        "FTR": rng.standard_normal((3, 12)),
        "ELoR+FTR": (rng.standard_normal((3, 100)), rng.standard_normal((3, 12))),
    }[name]
    outputs = model(inputs, training=False)
    assert set(outputs) == {"valence", "arousal"}
    for head in ("valence", "arousal"):
        assert tuple(outputs[head].shape) == (3, 5)
        assert outputs[head].dtype == "float32"
        np.testing.assert_allclose(np.sum(outputs[head], axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name, config", [("ELoR", TINY_ELOR), ("LoM", TINY_LOM), ("ELoR+FTR", TINY_ELOR_FTR)])
def test_flatten_size_matches_the_graph(name, config):
    model = _tiny_models()[name]
    heads_input = model.get_layer("valence_dense1").input
    assert heads_input.shape[-1] == flatten_size(config)


def test_elor_layer_order_initialisers_and_regularisers():
    model = build_elor(TINY_ELOR)
    names = [layer.name for layer in model.layers]
    block = [names.index(f"conv1{suffix}") for suffix in ("", "_batchnorm", "_maxpool", "_relu")]
    assert block == sorted(block) and block[-1] - block[0] == 3
    conv = model.get_layer("conv1")
    assert conv.strides == (1,)
    initializer = conv.kernel_initializer.get_config()
    assert (initializer["scale"], initializer["mode"], initializer["distribution"]) == (2.0, "fan_avg", "uniform")
    for head in ("valence", "arousal"):
        assert model.get_layer(f"{head}_dense1").activation.__name__ == "sigmoid"
        assert model.get_layer(f"{head}_dropout2").rate == 0.5
        assert model.get_layer(head).activation.__name__ == "softmax"
    kernels = [layer for layer in model.layers if hasattr(layer, "kernel")]
    assert len(kernels) == 3 + 2 * 3
    assert all(layer.kernel_regularizer.get_config()["l2"] == pytest.approx(1e-4) for layer in kernels)
    assert parameter_count(model) == model.count_params()


def test_ftr_standardises_with_training_statistics_and_floors_zero_variance():
    mean = np.arange(12, dtype=np.float32)
    variance = np.full(12, 4.0, dtype=np.float32)
    variance[3] = 0.0
    model = build_ftr(TINY_FTR, functional_mean=mean, functional_variance=variance)
    x = np.ones((2, 12), dtype=np.float32) * 5
    standardised = model.get_layer("is10_standardize")(x)
    expected = (x - mean) / np.where(variance > 0, 2.0, 1.0)
    np.testing.assert_allclose(standardised, expected, rtol=1e-6)


def test_config_json_round_trip_and_validation():
    config = ElorConfig(conv_filters=(8, 16, 32), learning_rate=0.003)
    restored = ElorConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert restored == config and isinstance(restored.conv_filters, tuple)
    with pytest.raises(ValueError, match="conv_filter_count"):
        ElorConfig.from_dict({"conv_filter_count": 3})
    with pytest.raises(ValueError, match="one entry per conv block"):
        ElorConfig(conv_filters=(40, 40))
    with pytest.raises(ValueError, match="dropout_rate"):
        FtrConfig(dropout_rate=1.0)
    with pytest.raises(ValueError, match="conv kernel 40"):
        build_elor(ElorConfig(input_length=30, conv_kernel_sizes=(3, 40, 40), head_units=(4, 4)))
    with pytest.raises(ValueError, match=r"shape \(1582,\)"):
        build_ftr(functional_mean=np.zeros(10), functional_variance=np.ones(10))


ROUND_TRIP = textwrap.dedent(
    """
    import sys
    import keras
    import numpy as np
    folder = sys.argv[1]
    for name, inputs in (("elor", "elor_x.npy"), ("elor_ftr", None)):
        model = keras.models.load_model(f"{folder}/{name}.h5", compile=False)
        x = (np.load(f"{folder}/{inputs}") if inputs
             else [np.load(f"{folder}/elor_x.npy"), np.load(f"{folder}/is10_x.npy")])
        outputs = model.predict(x, verbose=0)
        np.savez(f"{folder}/{name}_reloaded.npz", **outputs)
    assert not any(module.startswith("ser_keras") for module in sys.modules)
    """
)


def test_h5_reloads_bit_identically_without_ser_keras(tmp_path):
    rng = np.random.default_rng(0)
    waveforms = rng.uniform(-1, 1, (4, 100)).astype("float32")
    functionals = rng.standard_normal((4, 12)).astype("float32")
    np.save(tmp_path / "elor_x.npy", waveforms)
    np.save(tmp_path / "is10_x.npy", functionals)
    models = _tiny_models()
    expected = {
        "elor": models["ELoR"].predict(waveforms, verbose=0),
        "elor_ftr": models["ELoR+FTR"].predict([waveforms, functionals], verbose=0),
    }
    models["ELoR"].save(tmp_path / "elor.h5")
    models["ELoR+FTR"].save(tmp_path / "elor_ftr.h5")
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH="")
    result = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP, str(tmp_path)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name, outputs in expected.items():
        with np.load(tmp_path / f"{name}_reloaded.npz") as reloaded:
            for head in ("valence", "arousal"):
                np.testing.assert_array_equal(reloaded[head], outputs[head])
