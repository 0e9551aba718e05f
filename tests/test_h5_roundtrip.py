"""The saved .h5 of every SHORT network reloads with plain Keras in a process without ser_keras."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from ser_keras.models.lld_mlp import build_lld_mlp
from ser_keras.models.raw_cnn import build_raw_seg, build_raw_subseg
from ser_keras.training.fit import load_h5, save_h5

RELOAD = """
import sys
import keras, numpy as np
folder = sys.argv[1]
for name in ("raw_subseg", "raw_seg", "lld_mlp"):
    model = keras.models.load_model(f"{folder}/{name}.h5")
    inputs = np.load(f"{folder}/{name}_in.npy")
    np.save(f"{folder}/{name}_reloaded.npy", model.predict(inputs, verbose=0))
if any(module.startswith("ser_keras") for module in sys.modules):
    raise SystemExit("ser_keras was imported")
"""


def test_models_reload_in_a_fresh_process_with_identical_predictions(tmp_path):
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    subseg = build_raw_subseg()
    subseg.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.5), loss="sparse_categorical_crossentropy")
    lld_mean, lld_variance = rng.normal(size=23), rng.uniform(0.5, 2.0, size=23)
    models = {
        "raw_subseg": (subseg, rng.standard_normal((5, 4000))),
        "raw_seg": (build_raw_seg(num_classes=3), rng.standard_normal((5, 4000))),
        "lld_mlp": (
            build_lld_mlp(23, feature_mean=lld_mean, feature_variance=lld_variance, hidden_layers=(16, 8)),
            rng.normal(size=(5, 25, 23)),
        ),
    }
    expected = {}
    for name, (model, inputs) in models.items():
        inputs = inputs.astype("float32")
        np.save(tmp_path / f"{name}_in.npy", inputs)
        expected[name] = model.predict(inputs, verbose=0)
        if name == "raw_subseg":
            model.save(tmp_path / f"{name}.h5")  # compiled model, plain Keras save
        else:
            save_h5(model, tmp_path / f"{name}.h5")
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", RELOAD, str(tmp_path)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in models:
        reloaded = np.load(tmp_path / f"{name}_reloaded.npy")
        assert np.array_equal(reloaded, expected[name]), name
    assert sorted(path.name for path in tmp_path.glob("*.h5")) == ["lld_mlp.h5", "raw_seg.h5", "raw_subseg.h5"]


@pytest.mark.reliability
@pytest.mark.parametrize("content", [b"", b"not an hdf5 file at all"])
def test_loading_a_corrupt_h5_names_the_file(tmp_path, content):
    path = tmp_path / "raw_subseg_cnn_Ses01.h5"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="raw_subseg_cnn_Ses01.h5: not a readable Keras .h5 model"):
        load_h5(path)


@pytest.mark.reliability
def test_loading_a_truncated_h5_names_the_file(tmp_path):
    path = tmp_path / "raw_seg_cnn_Ses02.h5"
    save_h5(build_raw_seg(), path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="raw_seg_cnn_Ses02.h5: not a readable"):
        load_h5(path)
