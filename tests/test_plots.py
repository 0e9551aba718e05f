import numpy as np
import pytest
from PIL import Image

from ser_keras.plots import (
    save_confusion_matrix,
    save_frequency_responses,
    save_generalized_signals,
    save_saliency_figure,
    save_table1_figure,
    save_table5_figure,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _assert_png(path):
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_all_figures_are_written_as_png(tmp_path):
    rng = np.random.default_rng(0)
    save_confusion_matrix(
        tmp_path / "cm.png",
        [[5, 1, 0, 0], [1, 3, 1, 0], [0, 0, 4, 2], [0, 0, 0, 0]],
        ["ang", "hap", "neu", "sad"],
        title="SubSeg",
    )
    freqs = np.linspace(0, 8000, 513)
    save_frequency_responses(tmp_path / "fr.png", {"M-1": (freqs, np.exp(-freqs / 2000)), "M-2": (freqs, freqs)})
    signal = rng.normal(size=1600)
    save_saliency_figure(tmp_path / "sal.png", signal, signal * rng.uniform(size=1600), title="arousal")
    save_generalized_signals(tmp_path / "gen.png", {f"arousal={c}": rng.normal(size=800) for c in range(5)})
    for name in ("cm.png", "fr.png", "sal.png", "gen.png"):
        _assert_png(tmp_path / name)


def test_failed_figure_leaves_no_file(tmp_path):
    with pytest.raises(ValueError, match="equal length"):
        save_saliency_figure(tmp_path / "sal.png", np.zeros(10), np.zeros(9))
    with pytest.raises(ValueError, match="square"):
        save_confusion_matrix(tmp_path / "cm.png", np.zeros((3, 3)), ["a", "b"])
    assert list(tmp_path.iterdir()) == []


def _row(row_id, system, classifier, metric, value, paper=None, ci95=None, status="ok"):
    return {
        "id": row_id,
        "system": system,
        "classifier": classifier,
        "metric": metric,
        "value": value,
        "ci95": ci95 if ci95 is not None or value is None else [value - 5, value + 5],
        "paper": paper,
        "status": status,
    }


def test_table1_figure_with_a_skipped_row(tmp_path):
    rows = [
        _row("compare_func_svm", "ComParE LLD×F (functionals)", "SVM", "UAR", 44.4, paper=56.57),
        _row(
            "boaw_w2v2_svm", "BoAW(wav2vec2)", "SVM", "UAR", None, paper=53.7, status="skipped: no --wav2vec2 weights"
        ),
        _row("raw_seg_cnn", "Raw Seg", "CNN-MLP", "UAR", 25.0, ci95=[25.0, 25.0], paper=52.32),
    ]
    _assert_png(
        save_table1_figure(tmp_path / "table1.png", rows, num_classes=4, subtitle="synthetic:tiny, QUICK budget")
    )


def test_table5_figure_with_baselines_and_rows_without_paper_values(tmp_path):
    rows = []
    for dimension in ("arousal", "valence"):
        for metric in ("war", "uar"):
            rows += [
                _row(f"{network}_{dimension}_{metric}", name, f"{dimension} head", metric.upper(), value)
                for network, name, value in (("elor", "ELoR (raw)", 41.0), ("elor_ftr", "ELoR+FTR", 38.0))
            ]
        rows.append(_row(f"lom_{dimension}_uar", "LoM (MFCC)", f"{dimension} head", "UAR", None, status="skipped"))
        rows.append(_row(f"majority_{dimension}_war", "majority class", f"{dimension} (baseline)", "WAR", 35.0))
        rows.append(
            _row(
                f"chance_{dimension}_uar",
                "chance (5 classes)",
                f"{dimension} (baseline)",
                "UAR",
                20.0,
                paper=20.0,
                ci95=None,
            )
        )
    _assert_png(save_table5_figure(tmp_path / "table5.png", rows, subtitle="synthetic:tiny, QUICK budget"))


def test_result_figures_refuse_empty_rows(tmp_path):
    with pytest.raises(ValueError, match="at least one row"):
        save_table1_figure(tmp_path / "table1.png", [], num_classes=4)
    with pytest.raises(ValueError, match="network rows"):
        save_table5_figure(tmp_path / "table5.png", [_row("chance_arousal_uar", "chance", "arousal", "UAR", 20.0)])
    assert list(tmp_path.iterdir()) == []
