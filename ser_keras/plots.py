"""PNG figures of the analysis sections (SHORT Figs. 2-3, ELOR Figs. 4-5) and of the result
tables (SHORT Table 1, ELOR Table 5: ours with its 95 % CI beside the paper).

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
        raise ValueError(
            f"A confusion matrix for {len(labels)} labels must be square of that size. Got {matrix.shape}."
        )
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


# Result tables: rows as in metrics.json["rows"] (id, system, classifier, metric, value in %,
# ci95 [low, high] or None, paper or None, status); value None = a skipped row.
OURS_COLOUR, PAPER_COLOUR, BASELINE_COLOUR = "tab:blue", "tab:orange", "0.35"


def _result_rows(axes, labels, rows):
    """Draw ``rows`` top to bottom on horizontal ``axes``: ours as a dot with its CI bar and
    value, the paper as a diamond, a skipped row as its status. Returns the largest value drawn."""
    positions = np.arange(len(rows))[::-1]
    largest = 0.0
    for position, row in zip(positions, rows):
        if row.get("paper") is not None:
            axes.plot(row["paper"], position, "D", color=PAPER_COLOUR, markersize=6, zorder=3)
            largest = max(largest, row["paper"])
        if row.get("value") is None:
            axes.text(
                0.01,
                position,
                row.get("status", "skipped"),
                transform=axes.get_yaxis_transform(),
                va="center",
                fontsize="small",
                color=BASELINE_COLOUR,
                style="italic",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
            )
            continue
        low, high = row["ci95"] if row.get("ci95") is not None else (row["value"], row["value"])
        axes.errorbar(
            row["value"],
            position,
            xerr=[[row["value"] - low], [high - row["value"]]],
            fmt="o",
            color=OURS_COLOUR,
            capsize=3,
            markersize=5,
            zorder=4,
        )
        axes.annotate(
            f"{row['value']:.1f}",
            (row["value"], position),
            xytext=(0, 5),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize="small",
            color=OURS_COLOUR,
        )
        largest = max(largest, high)
    axes.set_yticks(positions, labels)
    axes.set_ylim(-0.7, len(rows) - 0.3)
    axes.grid(axis="x", alpha=0.3)
    return largest


def _result_legend(figure, rows, baselines):
    """One legend below the panels: ours with CI, the paper (if a row has its value), each
    ``baselines`` {label: linestyle}."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", color=OURS_COLOUR, label="ours (95 % CI)")]
    if any(row.get("paper") is not None for row in rows):
        handles.append(Line2D([], [], marker="D", color=PAPER_COLOUR, linestyle="none", label="paper"))
    handles += [
        Line2D([], [], color=BASELINE_COLOUR, linestyle=style, label=label) for label, style in baselines.items()
    ]
    figure.legend(handles=handles, fontsize="small", loc="outside lower center", ncols=len(handles), frameon=False)


def _titled(figure, title, subtitle):
    figure.suptitle(f"{title}\n{subtitle}" if subtitle else title, fontsize="medium")


def save_table1_figure(path, rows, *, num_classes, title="SHORT Table 1: ours vs the paper", subtitle=""):
    """SHORT Table 1 at a glance: one line per row (system · classifier), our score with its
    95 % CI, the paper's value, and chance (100 / ``num_classes`` %). ``subtitle``: the corpus
    and budget, e.g. "synthetic:tiny, QUICK budget, leave-one-session-out"."""
    if not rows:
        raise ValueError("save_table1_figure needs at least one row.")
    chance = 100.0 / num_classes
    figure = _figure(7.5, 1.4 + 0.36 * len(rows))
    axes = figure.add_subplot()
    largest = _result_rows(axes, [f"{row['system']} · {row['classifier']}" for row in rows], rows)
    axes.axvline(chance, color=BASELINE_COLOUR, linestyle="--", linewidth=1)
    axes.set_xlim(0, min(100.0, 1.12 * max(largest, chance) + 4))
    axes.set_xlabel(f"{' / '.join(sorted({row['metric'] for row in rows}))} (%)")
    _result_legend(figure, rows, {f"chance ({chance:.0f} %)": "--"})
    _titled(figure, title, subtitle)
    return _save(figure, path)


# Baseline "networks" of Table 5: (legend label, line style).
TABLE5_BASELINES = {"majority": ("majority class", ":"), "chance": ("chance", "--")}


def save_table5_figure(path, rows, *, title="ELOR Table 5: ours vs the paper", subtitle=""):
    """ELOR Table 5 at a glance: one panel per dimension (rows) and metric (columns) with each
    network's score, 95 % CI and the paper's value where it has one, and the baselines as
    lines: majority class (WAR panels) and chance (UAR panels). Row ids follow
    ``<network>_<dimension>_<war|uar>``; networks ``majority`` and ``chance`` are the baselines."""
    panels, baselines = {}, {}
    for row in rows:
        network, dimension, metric = row["id"].rsplit("_", 2)
        if network in TABLE5_BASELINES:
            baselines[dimension, metric] = (network, row)
        else:
            panels.setdefault((dimension, metric), []).append(row)
    if not panels:
        raise ValueError("save_table5_figure needs network rows with ids <network>_<dimension>_<war|uar>.")
    dimensions = list(dict.fromkeys(dimension for dimension, _ in panels))
    metrics = list(dict.fromkeys(metric for _, metric in panels))
    networks = list(dict.fromkeys(row["system"] for panel in panels.values() for row in panel))
    figure = _figure(5.2 * len(metrics), 0.9 + (0.5 + 0.42 * len(networks)) * len(dimensions))
    grid = figure.subplots(len(dimensions), len(metrics), squeeze=False, sharex=True, sharey=True)
    largest = 0.0
    for (dimension, metric), panel in panels.items():
        axes = grid[dimensions.index(dimension), metrics.index(metric)]
        by_system = {row["system"]: row for row in panel}
        ordered = [by_system.get(system, {"value": None, "status": "not run"}) for system in networks]
        largest = max(largest, _result_rows(axes, networks, ordered))
        if (dimension, metric) in baselines:
            kind, baseline = baselines[dimension, metric]
            axes.axvline(baseline["value"], color=BASELINE_COLOUR, linestyle=TABLE5_BASELINES[kind][1], linewidth=1)
            largest = max(largest, baseline["value"])
        axes.set_title(f"{dimension} {metric.upper()}", fontsize="medium")
        axes.set_xlabel(f"{metric.upper()} (%)")
        axes.xaxis.set_tick_params(labelbottom=True)  # sharex hides them on the upper panels
    grid[0, 0].set_xlim(0, min(100.0, 1.12 * largest + 4))  # one scale for every panel
    drawn = {kind for kind, _ in baselines.values()}
    _result_legend(
        figure,
        [row for panel in panels.values() for row in panel],
        {label: style for kind, (label, style) in TABLE5_BASELINES.items() if kind in drawn},
    )
    _titled(figure, title, subtitle)
    return _save(figure, path)
