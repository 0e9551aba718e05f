"""replicate/table1.py --mlp-hparams: a tuning/search_short_mlp.py result replaces the LLD-MLP grid (SHORT §2.3)."""

import importlib.util
import json
from pathlib import Path

import keras
import pytest

from ser_keras.experiments.short import load_mlp_hparams

ROOT = Path(__file__).resolve().parent.parent


def _table1():
    spec = importlib.util.spec_from_file_location("table1_script", ROOT / "replicate" / "table1.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _search_folder(folder, *, network="short_mlp", source="compare", hidden=(24, 24), search_json=True):
    """A search --out folder as tuning/search_short_mlp.py leaves it (the parts table1 reads)."""
    folder.mkdir(parents=True)
    best = {"network": network, "hparams": {"hidden_layers": list(hidden)},
            "objective": {"name": "val_uar", "direction": "max", "value": 0.5}, "trial_id": "01", "trials": 2}
    (folder / "best_hparams.json").write_text(json.dumps(best))
    if search_json:
        (folder / "search.json").write_text(json.dumps({"network": network, "source": source, "fold": "Ses01",
                                                         "corpus": "synthetic:tiny", "corpus_sha256": None}))
    return folder / "best_hparams.json"


def test_searched_hidden_layers_train_the_mlp_and_are_recorded(tmp_path, tiny_root):
    best = _search_folder(tmp_path / "search", hidden=(24, 24))
    out = tmp_path / "run"
    _table1().main(["--corpus", "synthetic:tiny", "--quick", "--out", str(out), "--verbose", "0",
                    "--rows", "compare_lld_mlp", "--folds", "Ses01", "--mlp-hparams", str(best)])
    config = json.loads((out / "config.json").read_text())
    recorded = config["mlp_hparams"]["compare"]
    assert recorded["hidden_layers"] == [24, 24] and recorded["file"] == str(best.resolve())
    assert recorded["search"]["fold"] == "Ses01" and len(recorded["sha256"]) == 64
    model = keras.models.load_model(out / "models" / "compare_lld_mlp_Ses01.h5", compile=False)
    widths = [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert widths == [24, 24, 4]  # the quick grid alone would give one 256-unit layer
    part = json.loads((out / "parts" / "compare_lld_mlp" / "Ses01.json").read_text())
    assert part["chosen"] == [24, 24]
    assert "compare_lld_mlp: hidden layers [24, 24] from" in (out / "table.md").read_text()


@pytest.mark.parametrize("case, message", [
    ({"network": "elor"}, "network 'elor', not 'short_mlp'"),
    ({"source": "egemaps"}, "searched on egemaps LLDs, but no egemaps MLP row is run"),
    ({"search_json": False}, "search.json does not exist"),
    ({"hidden": ()}, "'hparams.hidden_layers' must be a non-empty list"),
])
def test_wrong_file_is_refused_naming_it(tmp_path, case, message):
    best = _search_folder(tmp_path / "search", **case)
    with pytest.raises(ValueError, match=message) as error:
        load_mlp_hparams([best], ("compare_lld_mlp", "compare_func_svm"))
    assert str(tmp_path / "search") in str(error.value)


def test_one_file_per_lld_set_and_rows_without_a_file_keep_the_grid(tmp_path):
    compare = _search_folder(tmp_path / "compare", hidden=(512,))
    egemaps = _search_folder(tmp_path / "egemaps", source="egemaps", hidden=(256, 256, 256))
    rows = ("compare_lld_mlp", "egemaps_lld_mlp")
    chosen = load_mlp_hparams([compare, egemaps], rows)
    assert {source: value["hidden_layers"] for source, value in chosen.items()} == {
        "compare": [512], "egemaps": [256, 256, 256]}
    assert set(load_mlp_hparams([egemaps], rows)) == {"egemaps"}
    with pytest.raises(ValueError, match="both compare searches"):
        load_mlp_hparams([compare, compare], rows)


def test_script_exits_with_the_error_before_any_training(tmp_path, tiny_root, capsys):
    best = _search_folder(tmp_path / "search", network="lom")
    with pytest.raises(SystemExit) as stop:
        _table1().main(["--corpus", "synthetic:tiny", "--quick", "--out", str(tmp_path / "run"), "--verbose", "0",
                        "--rows", "compare_lld_mlp", "--mlp-hparams", str(best)])
    assert stop.value.code == 2 and str(best) in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_reads_what_the_real_search_writes(tmp_path, tiny_root):
    spec = importlib.util.spec_from_file_location("search_short_mlp", ROOT / "tuning" / "search_short_mlp.py")
    search = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(search)
    assert search.main(["--quick", "--corpus", "synthetic:tiny", "--source", "egemaps", "--out",
                        str(tmp_path / "search"), "--verbose", "0"]) in (None, 0)
    best = json.loads((tmp_path / "search" / "best_hparams.json").read_text())
    chosen = load_mlp_hparams([tmp_path / "search" / "best_hparams.json"], ("egemaps_lld_mlp",))
    assert chosen["egemaps"]["hidden_layers"] == best["hparams"]["hidden_layers"]
    assert chosen["egemaps"]["search"]["fold"] == "Ses01" and chosen["egemaps"]["search"]["quick"] is True
