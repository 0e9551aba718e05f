"""PNG figures of the analysis sections: SHORT Figs. 2-3 and ELOR Figs. 4-5.

Figures are drawn on matplotlib's Agg canvas without pyplot (no global state, no display)
and written atomically through :func:`ser_keras.io.atomic_path`.
"""

from collections.abc import Mapping

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ser_keras.data.audio import SAMPLE_RATE
from ser_keras.io import atomic_path


def _figure(width, height):
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path):
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=120)
    return path


def save_confusion_matrix(path, matrix, labels, *, title=""):
    """Row-normalised confusion matrix (rows: true class) with per-cell recall in percent."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (len(labels), len(labels)):
        raise ValueError(f"A confusion matrix for {len(labels)} labels must be square of that size. Got {matrix.shape}.")
    totals = matrix.sum(axis=1, keepdims=True)
    recall = 100 * np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    figure = _figure(4.2, 3.8)
    axes = figure.add_subplot()
    image = axes.imshow(recall, cmap="Blues", vmin=0, vmax=100)
    for (row, column), value in np.ndenumerate(recall):
        axes.text(column, row, f"{value:.1f}", ha="center", va="center", color="white" if value > 50 else "black")
    axes.set_xticks(range(len(labels)), labels)
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    figure.colorbar(image, ax=axes, label="recall (%)")
    return _save(figure, path)


def save_frequency_responses(path, curves, *, title=""):
    """One cumulative frequency response per entry of ``curves`` {label: (freqs_hz, response)}."""
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("curves must be a non-empty mapping {label: (freqs, response)}.")
    figure = _figure(5.5, 3.5)
    axes = figure.add_subplot()
    for label, (freqs, response) in curves.items():
        axes.plot(np.asarray(freqs) / 1000, response, label=label, linewidth=1)
    axes.set_xlabel("frequency (kHz)")
    axes.set_ylabel("cumulative response")
    axes.set_xlim(0, max(np.max(freqs) for freqs, _ in curves.values()) / 1000)
    axes.set_title(title)
    axes.legend(fontsize="small")
    return _save(figure, path)


def save_saliency_figure(path, signal, saliency, *, sample_rate=SAMPLE_RATE, title=""):
    """ELOR Fig. 4: the signal, its positive saliency, and the signal coloured by saliency.

    Colours run from blue (most negative) to red (most positive), symmetric around zero;
    a rainbow map so that the signal stays visible where the saliency is near zero.
    """
    signal, saliency = np.asarray(signal, np.float64), np.asarray(saliency, np.float64)
    if signal.ndim != 1 or signal.shape != saliency.shape:
        raise ValueError(f"signal and saliency must be 1-D of equal length. Got {signal.shape} and {saliency.shape}.")
    time = np.arange(len(signal)) / sample_rate
    figure = _figure(8, 6)
    top, middle, bottom = figure.subplots(3, 1, sharex=True)
    top.plot(time, signal, color="black", linewidth=0.5)
    top.set_ylabel("signal")
    top.set_title(title)
    middle.plot(time, np.maximum(saliency, 0), color="tab:red", linewidth=0.5)
    middle.set_ylabel("positive saliency")
    points = np.column_stack([time, signal])
    segments = np.stack([points[:-1], points[1:]], axis=1)
    limit = max(float(np.abs(saliency).max()), 1e-12)
    lines = LineCollection(segments, cmap="jet", norm=Normalize(-limit, limit), linewidth=0.7)
    lines.set_array(saliency[:-1])
    bottom.add_collection(lines)
    bottom.set_ylim(signal.min() - 1e-6, signal.max() + 1e-6)
    bottom.set_xlim(time[0], time[-1])
    bottom.set_ylabel("signal, coloured\nby saliency")
    bottom.set_xlabel("time (s)")
    figure.colorbar(lines, ax=bottom, label="saliency")
    return _save(figure, path)


def save_generalized_signals(path, signals, *, sample_rate=SAMPLE_RATE, title=""):
    """ELOR Fig. 5: each signal of ``signals`` {label: 1-D signal} in time (top) and frequency (bottom)."""
    if not isinstance(signals, Mapping) or not signals:
        raise ValueError("signals must be a non-empty mapping {label: signal}.")
    figure = _figure(2.6 * len(signals), 4.5)
    grid = figure.subplots(2, len(signals), squeeze=False)
    for column, (label, signal) in enumerate(signals.items()):
        signal = np.asarray(signal, np.float64)
        if signal.ndim != 1:
            raise ValueError(f"Signal {label!r} must be 1-D. Got shape {signal.shape}.")
        time_axes, frequency_axes = grid[0, column], grid[1, column]
        time_axes.plot(np.arange(len(signal)) / sample_rate, signal, linewidth=0.4)
        time_axes.set_title(str(label), fontsize="small")
        time_axes.set_xlabel("time (s)")
        magnitude = np.abs(np.fft.rfft(signal))
        decibels = 20 * np.log10(np.maximum(magnitude, 1e-12) / max(magnitude.max(), 1e-12))
        frequency_axes.plot(np.fft.rfftfreq(len(signal), 1.0 / sample_rate) / 1000, decibels, linewidth=0.4)
        frequency_axes.set_xlabel("frequency (kHz)")
        frequency_axes.set_ylim(-80, 5)
    grid[0, 0].set_ylabel("amplitude")
    grid[1, 0].set_ylabel("magnitude (dB)")
    figure.suptitle(title)
    return _save(figure, path)
