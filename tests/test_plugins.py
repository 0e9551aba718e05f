"""Your model beside the papers': a plug-in row and a plug-in ELOR network run
through table1.py / wieser_table5.py exactly like the paper's, and bad plug-ins fail with one
clear error before any training."""

import json
import subprocess
import sys
import textwrap

import keras
import pytest

from ser_keras.cli import table1, wieser_table5
from ser_keras.experiments import networks, rows

pytestmark = pytest.mark.integration


@pytest.fixture
def clean_registries():
    """The registries as the package defines them, restored after the test."""
    saved_rows, saved_networks = dict(rows.ROWS), dict(networks.NETWORKS)
    yield
    for registry, saved in ((rows.ROWS, saved_rows), (networks.NETWORKS, saved_networks)):
        registry.clear()
        registry.update(saved)
    sys.modules.pop("plugin_models", None)


def _h5_loads_in_a_fresh_process(path):
    code = f"import keras; m = keras.models.load_model({str(path)!r}, compile=False); print(m.count_params())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    return result.returncode == 0 and int(result.stdout.split()[-1]) > 0


def test_plugin_row_runs_like_a_paper_row(tmp_path, clean_registries):
    out = tmp_path / "t1"
    table1.main(["--quick", "--corpus", "synthetic:tiny", "--plugin", "plugin_models", "--out", str(out),
                 "--rows", "compare_func_rf,raw_subseg_cnn,tiny_window_cnn", "--verbose", "0"])
    metrics = json.loads((out / "metrics.json").read_text())
    row = next(r for r in metrics["rows"] if r["id"] == "tiny_window_cnn")
    assert row["origin"] == "plugin" and 0 <= row["value"] <= 100 and row["ci95"][0] <= row["value"] <= row["ci95"][1]
    comparison = next(c for c in metrics["comparisons"] if c["system"] == "tiny_window_cnn")
    assert comparison["reference"] == "compare_func_rf" and comparison["p_holm"] is not None
    table = (out / "table.md").read_text()
    assert "| tiny_window_cnn | tiny window CNN (test plug-in) |" in table and "not from the paper" in table
    assert "| tiny_window_cnn | " in table.split("### Paired comparisons against compare_func_rf")[1]
    assert "tiny_window_cnn" in (out / "comparisons.csv").read_text()
    sidecar = json.loads((out / "models" / "tiny_window_cnn_Ses01.json").read_text())
    assert sidecar["origin"] == "plugin" and sidecar["budget"]["name"] == "quick"
    assert metrics["fingerprint"]["settings"]["plugins"] == ["plugin_models"]
    assert _h5_loads_in_a_fresh_process(out / "models" / "tiny_window_cnn_Ses01.h5")


def test_plugin_network_runs_like_a_paper_network(tmp_path, clean_registries):
    out = tmp_path / "t5"
    wieser_table5.main(["--quick", "--corpus", "synthetic:tiny", "--plugin", "plugin_models", "--out", str(out),
                        "--networks", "elor,tiny_slice_cnn", "--folds", "Ses01F,Ses01M,Ses02F", "--verbose", "0"])
    metrics = json.loads((out / "metrics.json").read_text())
    mine = [r for r in metrics["rows"] if r["id"].startswith("tiny_slice_cnn_")]
    assert len(mine) == 4 and all(r["origin"] == "plugin" and r["value"] is not None for r in mine)
    assert any(c["system"] == "tiny_slice_cnn" and c["reference"] == "elor" for c in metrics["comparisons"])
    assert "Plug-in networks (not from the paper): TinySlice" in (out / "table.md").read_text()
    assert _h5_loads_in_a_fresh_process(out / "models" / "tiny_slice_cnn_Ses01F.h5")


def test_bad_plugins_fail_before_training_naming_the_plugin(tmp_path, clean_registries, capsys):
    with pytest.raises(SystemExit) as stop:
        table1.main(["--quick", "--corpus", "synthetic:tiny", "--plugin", "no_such_plugin_module", "--out",
                     str(tmp_path / "a")])
    assert stop.value.code == 2 and "Plug-in 'no_such_plugin_module' failed to import" in capsys.readouterr().err
    with pytest.raises(ValueError, match="clashes with a registered row"):
        rows.register_row("raw_subseg_cnn", "raw_250ms", lambda shape, n: None)
    with pytest.raises(ValueError, match="unknown input kind 'mel'"):
        rows.register_row("mine", "mel", lambda shape, n: None)
    with pytest.raises(ValueError, match="clashes with a registered network"):
        networks.register_network("ELoR", "raw", lambda config: None)

    def wrong_output(shape, num_classes):
        inputs = keras.Input(shape=shape)
        return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))

    rows.register_row("wrong_output", "raw_250ms", wrong_output)
    with pytest.raises(SystemExit) as stop:
        table1.main(["--quick", "--corpus", "synthetic:tiny", "--rows", "wrong_output", "--out", str(tmp_path / "b"),
                     "--verbose", "0"])
    error = capsys.readouterr().err
    assert stop.value.code == 2 and "Plug-in row 'wrong_output': the model's output shape is (None, 3)" in error
    assert not (tmp_path / "b" / "parts").exists()


def test_readme_example_runs_as_written(tmp_path):
    """The README's "Add your own model" block, written to a module and run as the README says."""
    readme = (__import__("pathlib").Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("## Add your own model")[1].split("```python\n")[1].split("```")[0]
    assert len(block.strip().splitlines()) <= 20
    (tmp_path / "my_rows.py").write_text(block)
    command = readme.split("## Add your own model")[1].split("```bash\n")[1].split("```")[0].strip()
    command = command.replace("python replicate/table1.py", f"{sys.executable} -m ser_keras.cli table1")
    result = subprocess.run(command + f" --out {tmp_path / 'run'} --verbose 0", shell=True, cwd=tmp_path,
                            capture_output=True, text=True, check=False,
                            env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert any(r["origin"] == "plugin" and r["value"] is not None for r in metrics["rows"])
    assert textwrap.dedent(block) == block
