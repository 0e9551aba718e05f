"""Replicate ELOR Fig. 4 and its correlations: guided-backpropagation saliency maps of the
predicted class per head (arousal, valence) of a trained ELoR network on the test speaker's
6 s slices (the paper: Ses03F), and the mean Pearson correlations input ↔ saliency per head
(paper 0.50 arousal, 0.53 valence) and arousal saliency ↔ valence saliency (paper 0.96).

    python replicate/wieser_fig4.py --quick                          # embedded corpus, small ELoR
    python replicate/wieser_fig4.py --models runs/table5 --fold Ses03F --examples 3

Each correlation is reported twice (the paper does not say which it computed): on the signals
as they are (signal vs signed saliency) and on their amplitude envelopes; per slice over its
real samples, then averaged over the fold's test slices (95 % interval over the fold's test speakers;
none with a single test speaker).
Writes fig4_<slice>_<head>.png (signal / positive saliency / signal coloured by saliency).
"""

from ser_keras.cli.analysis import analysis_parser, open_elor_analysis
from ser_keras.cli.common import interruptible, print_finished
from ser_keras.experiments.analysis_elor import (
    PAPER_CORRELATIONS,
    correlation_claims,
    elor_notes,
    mean_with_ci,
    saliency_correlations,
    saliency_maps,
    slice_signals,
)
from ser_keras.plots import save_saliency_figure
from ser_keras.results import ResultRow

QUICK_SLICES = 4


@interruptible
def main(argv=None):
    parser = analysis_parser(__doc__, "wieser_fig4", paper="elor")
    parser.add_argument("--examples", type=int, default=3, help="slices drawn as figures (default: 3)")
    parser.add_argument(
        "--max-slices",
        type=int,
        default=None,
        help=f"cap on test slices correlated (default: all; --quick: {QUICK_SLICES})",
    )

    def max_slices(args):
        return args.max_slices or (QUICK_SLICES if args.quick else None)

    args, analysis, started = open_elor_analysis(
        parser, argv, "wieser_fig4", settings=lambda args: {"max_slices": max_slices(args)}
    )
    data, fold, model, record = analysis.data, analysis.fold, analysis.model, analysis.record
    test = data.fold_slices(fold)[2][: max_slices(args)]
    signals, lengths = slice_signals(data, test)
    saliencies = saliency_maps(model, signals)
    correlations = saliency_correlations(signals, saliencies, lengths)
    rows, means = [], {}
    for row_id, values in correlations.items():
        mean, ci, speakers = mean_with_ci(values, [data.speaker_of(data.slice_ids[i]) for i in test])
        means[row_id] = mean
        base = row_id.replace("_envelope", "")
        pair = "arousal / valence saliency" if "arousal_valence" in row_id else "signal / saliency"
        what = f"envelopes of {pair}" if "envelope" in row_id else f"{pair} as signed signals"
        rows.append(
            ResultRow(
                row_id,
                f"ELoR {fold.name}, {what}",
                f"{len(test)} slices",
                "Pearson r",
                None if mean is None else round(mean, 4),
                ci95=None if ci is None else tuple(ci),
                ci_unit="speaker",
                ci_clusters=speakers,
                paper=PAPER_CORRELATIONS[base],
                status="ok" if mean is not None else "skipped: every map constant",
            )
        )
    figures = []
    for position in range(min(args.examples, len(test))):
        name = data.slice_ids[test[position]].replace("@", "_s")
        for head in saliencies:
            path = record.out / f"fig4_{name}_{head}.png"
            save_saliency_figure(
                path,
                signals[position, : lengths[position]],
                saliencies[head][position, : lengths[position]],
                title=f"{name}: saliency of the predicted {head} class",
            )
            figures.append(path.name)
    notes = elor_notes(analysis) + [
        "Rows *_envelope_*: Pearson r of amplitude envelopes (|analytic signal|); the paper's ids use the signals.",
        f"Figures: {', '.join(figures)}.",
    ]
    metrics = record.finish(
        rows,
        protocol=analysis.config.protocol.replace("-", "_"),
        claims=correlation_claims(means),
        label_view=f"dimensional_{data.view.source}",
        extra={
            "fold": fold.name,
            "slices": [data.slice_ids[i] for i in test],
            "per_slice": {k: v.tolist() for k, v in correlations.items()},
            "figures": figures,
        },
        table_title="ELOR Fig. 4 — saliency correlations (mean Pearson r over test slices)",
        notes=notes,
    )
    print_finished(record.out, metrics, started)
