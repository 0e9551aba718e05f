"""Replicate ELOR Fig. 5 and Table 6: generalized input signals x* = argmax_x a_c(x) - λ‖x‖²
of a trained ELoR network, one per label per head (5 arousal + 5 valence), found by gradient
ascent (Adam) on a 6 s input with the weights frozen, from a random start and from the mean
of the fold's training slices; plotted in time and frequency; summarised by measurable
descriptors (spectral centroid, zero-crossing rate, peak amplitude, RMS, crest factor, pause
count/length, periodicity) in a table ordered by label — the paper's Table 6 as numbers.

    python replicate/wieser_fig5.py --quick                          # embedded corpus, small ELoR
    python replicate/wieser_fig5.py --models runs/table5 --fold Ses03F --steps 500

a_c is the pre-softmax score of label c. Writes fig5_<head>_<start>.png, descriptors.csv and
descriptors.md; the paper's Table 6 statements are checked on the random-start signals.
"""

import csv
import io

from ser_keras.cli.analysis import analysis_parser, open_elor_analysis
from ser_keras.cli.common import interruptible, print_finished
from ser_keras.data.labels import TABLE_DIMENSIONS
from ser_keras.experiments.analysis_elor import (
    descriptor_claims,
    descriptor_table,
    elor_notes,
    generalized_inputs,
    training_mean_signal,
)
from ser_keras.io import write_text
from ser_keras.plots import save_generalized_signals
from ser_keras.results import ResultRow

QUICK = {"steps": 10, "mean_slices": 16}
COLUMNS = (
    "head",
    "start",
    "label",
    "activation_start",
    "activation_end",
    "spectral_centroid_hz",
    "zero_crossing_rate_hz",
    "peak_amplitude",
    "rms",
    "crest_factor",
    "pause_count",
    "pause_mean_s",
    "pause_std_s",
    "active_fraction",
    "periodicity",
    "periodic_fraction",
)


def _tables(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    lines = [
        "## ELOR Table 6 as numbers — descriptors of the generalized inputs",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in rows:
        cells = [row[c] if isinstance(row[c], (str, int)) else f"{row[c]:.4g}" for c in COLUMNS]
        writer.writerow(cells)
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return buffer.getvalue(), "\n".join(lines) + "\n"


@interruptible
def main(argv=None):
    parser = analysis_parser(__doc__, "wieser_fig5", paper="elor")
    parser.add_argument("--steps", type=int, default=None, help=f"ascent steps (default 300; --quick {QUICK['steps']})")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="Adam step on the waveform (default 1e-3)")
    parser.add_argument("--l2", type=float, default=1e-4, help="λ of the L2 penalty (default 1e-4)")

    def ascent(args):
        return {
            "steps": args.steps or (QUICK["steps"] if args.quick else 300),
            "learning_rate": args.learning_rate,
            "l2": args.l2,
        }

    args, analysis, started = open_elor_analysis(parser, argv, "wieser_fig5", settings=ascent)
    steps, fold, model, record = ascent(args)["steps"], analysis.fold, analysis.model, analysis.record
    mean_start = training_mean_signal(analysis.data, fold, limit=QUICK["mean_slices"] if args.quick else None)
    results = generalized_inputs(
        model,
        {"random": None, "train_mean": mean_start},
        steps=steps,
        learning_rate=args.learning_rate,
        l2=args.l2,
        seed=analysis.config.seed,
    )
    figures = []
    for (head, start), result in results.items():
        path = record.out / f"fig5_{head}_{start}.png"
        save_generalized_signals(
            path,
            {f"{head} = {label}": signal for label, signal in zip(result.classes, result.signals)},
            title=f"Generalized inputs, {head} head, {start.replace('_', ' ')} start",
        )
        figures.append(path.name)
    table = descriptor_table(results)
    rows = [
        ResultRow(
            f"fig5_{r['head']}_{r['start']}_label{r['label']}_activation",
            f"ELoR {fold.name}",
            f"{r['head']} = {r['label']}, {r['start']} start",
            "pre-softmax score",
            round(r["activation_end"], 4),
            status=f"ok: from {r['activation_start']:.4g}",
        )
        for r in table
    ]
    table_csv, table_md = _tables(table)
    write_text(record.out / "descriptors.csv", table_csv)
    write_text(record.out / "descriptors.md", table_md)
    print(table_md)
    notes = elor_notes(analysis) + [
        f"Ascent: {steps} Adam steps, learning rate {args.learning_rate}, λ = {args.l2}; random start N(0, 0.01²); "
        "train-mean start = sample-wise mean of the fold's training slices.",
        "Descriptor table: descriptors.md / descriptors.csv (rows ordered by head, start, label); "
        "pauses: 25 ms frames 30 dB below the loudest, strictly inside the signal.",
        f"Figures: {', '.join(figures)} (top: time, bottom: magnitude spectrum in dB).",
    ]
    metrics = record.finish(
        rows,
        protocol=analysis.config.protocol.replace("-", "_"),
        claims=descriptor_claims(table),
        label_view=f"dimensional_{analysis.data.view.source}",
        extra={"fold": fold.name, "heads": list(TABLE_DIMENSIONS), "descriptors": table, "figures": figures},
        table_title="ELOR Fig. 5 — generalized inputs: final target activation",
        notes=notes,
    )
    print_finished(record.out, metrics, started)
