"""Replicate SHORT Fig. 2: cumulative frequency response of the first conv layer of the Raw
SubSeg and Raw Seg CNNs, one curve per fold, 0-8 kHz.

    python replicate/short_fig2.py --quick                       # embedded corpus, one fold
    python replicate/short_fig2.py --models runs/table1          # the CNNs of a Table-1 run

Each filter's zero-padded DFT magnitude is divided by its own L2 norm and summed over filters
(Palaz et al. 2015). Prints, per model, the band (0-1, 1-4, 4-8 kHz) with the highest mean
response, the band levels (mean response per band / overall mean) and the response centroid,
and checks the paper's claims (SubSeg emphasises 1-4 kHz; Seg lower frequencies; folds alike).
Writes fig2_subseg.png and fig2_seg.png. Without --models the two CNN rows are trained first.
"""

from ser_keras.cli.analysis import analysis_parser, open_short_analysis, short_progress
from ser_keras.cli.common import interruptible, print_finished
from ser_keras.experiments.analysis_short import finish_short, value_row
from ser_keras.experiments.analysis_short_summaries import frequency_claims, frequency_summary
from ser_keras.interpret import DEFAULT_BANDS
from ser_keras.plots import save_frequency_responses

NAMES = {"subseg": "Raw SubSeg", "seg": "Raw Seg"}


@interruptible
def main(argv=None):
    parser = analysis_parser(__doc__, "short_fig2", paper="short")
    _, analysis, started = open_short_analysis(parser, argv, "short_fig2")
    summaries, rows, figures = {}, [], []
    with short_progress(analysis, (), responses=NAMES):
        responses = {kind: analysis.frequency_responses(kind) for kind in NAMES}
    for kind, name in NAMES.items():
        curves = responses[kind]
        path = analysis.record.out / f"fig2_{kind}.png"
        save_frequency_responses(
            path,
            {f"model {fold}": curve for fold, curve in curves.items()},
            title=f"{name}: cumulative frequency response of conv1",
        )
        figures.append(path.name)
        summary = summaries[kind] = frequency_summary(curves)
        rows.append(
            value_row(f"fig2_{kind}_centroid_hz", name, "Hz", summary["centroid_hz"], classifier="response centroid")
        )
        for (low, high), level in zip(DEFAULT_BANDS, summary["band_levels"]):
            rows.append(
                value_row(
                    f"fig2_{kind}_level_{low}_{high}hz",
                    name,
                    "relative level",
                    level,
                    classifier=f"mean response {low}-{high} Hz / overall mean",
                )
            )
        print(
            f"{name}: dominant band {summary['dominant_band_hz'][0]}-{summary['dominant_band_hz'][1]} Hz, "
            f"centroid {summary['centroid_hz']:.0f} Hz, per fold {summary['fold_dominant_bands']}"
        )
    metrics = finish_short(
        analysis,
        rows,
        claims=frequency_claims(summaries),
        extra={"frequency": summaries, "figures": figures},
        title="SHORT Fig. 2 — first-layer cumulative frequency response",
        notes=[
            "Band levels: mean response per bin inside the band divided by the mean over "
            "0-8 kHz (flat response = 1); the dominant band has the highest level.",
            f"Figures: {', '.join(figures)}.",
        ],
    )
    print_finished(analysis.record.out, metrics, started)
