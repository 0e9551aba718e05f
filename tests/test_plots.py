import numpy as np
import pytest
from PIL import Image

from ser_keras.plots import (
    save_confusion_matrix,
    save_frequency_responses,
    save_generalized_signals,
    save_saliency_figure,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _assert_png(path):
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_all_figures_are_written_as_png(tmp_path):
    rng = np.random.default_rng(0)
    save_confusion_matrix(tmp_path / "cm.png", [[5, 1, 0, 0], [1, 3, 1, 0], [0, 0, 4, 2], [0, 0, 0, 0]],
                          ["ang", "hap", "neu", "sad"], title="SubSeg")
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
