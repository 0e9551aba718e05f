"""Replicate SHORT Table 4: top-10 random-forest impurity importances on ComParE_2016
functionals of the raw waveform, of SubSeg relevance signals and of Seg relevance signals.

    python replicate/short_table4.py --quick                         # embedded corpus, one fold
    python replicate/short_table4.py --models runs/short_table3      # reuse a Table-3 run

Importances are those of each fold's final forest (refit on train + validation), averaged over
the folds. Prints per input the 0-based feature index, openSMILE name and group (after
Weninger et al. 2013, SHORT's grouping), the count per group, and the paper's claims (raw 9/10
spectral; SubSeg-Rel 8/10 cepstral; Seg-Rel 4/10 cepstral, 6/10 spectral). Writes
top_features.csv and top_features.md beside the run record.
"""

import csv
import io

from ser_keras.cli.analysis import analysis_parser, open_short_analysis, short_progress
from ser_keras.cli.common import interruptible, print_finished
from ser_keras.experiments.analysis_short import TABLE4_SOURCES, finish_short, value_row
from ser_keras.experiments.analysis_short_summaries import TABLE4_PAPER, importance_claims, importance_summary
from ser_keras.interpret import GROUPS
from ser_keras.io import write_text

INPUTS = {"raw": "raw waveform", "subseg_rel": "SubSeg-Rel", "seg_rel": "Seg-Rel"}


def _tables(summaries):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["input", "rank", "index", "name", "group", "importance"])
    lines = ["## SHORT Table 4 — top-10 RF importances (fold mean)", ""]
    for key, summary in summaries.items():
        lines += [
            f"### {INPUTS[key]}",
            "",
            "| rank | F-index | openSMILE name | group | importance |",
            "|---|---|---|---|---|",
        ]
        for feature in summary["top"]:
            writer.writerow(
                [
                    key,
                    feature["rank"],
                    feature["index"],
                    feature["name"],
                    feature["group"],
                    f"{feature['importance']:.6f}",
                ]
            )
            lines.append(
                f"| {feature['rank']} | {feature['index']} | {feature['name']} | {feature['group']} | "
                f"{feature['importance']:.5f} |"
            )
        counts = ", ".join(f"{group} {count}" for group, count in summary["group_counts"].items() if count)
        lines += ["", f"Groups: {counts}; spectral {summary['spectral']}/10, cepstral {summary['cepstral']}/10.", ""]
    return buffer.getvalue(), "\n".join(lines)


@interruptible
def main(argv=None):
    parser = analysis_parser(__doc__, "short_table4", paper="short")
    _, analysis, started = open_short_analysis(parser, argv, "short_table4")
    row_ids = list(TABLE4_SOURCES.values())
    with short_progress(analysis, row_ids):
        summaries = {key: importance_summary(analysis.importances(key)) for key in TABLE4_SOURCES}
        rows, predictions = analysis.rows(row_ids)
    paper = {(key, kind): count for key, kind, count in TABLE4_PAPER}
    for key, summary in summaries.items():
        for kind in ("spectral", "cepstral"):
            rows.append(
                value_row(
                    f"table4_{key}_{kind}_count",
                    f"ComParE functionals of {INPUTS[key]}",
                    "count of top 10",
                    summary[kind],
                    paper=paper.get((key, kind)),
                    classifier=f"RF, {kind} groups",
                )
            )
    table_csv, table_md = _tables(summaries)
    out = analysis.record.out
    write_text(out / "top_features.csv", table_csv)
    write_text(out / "top_features.md", table_md + "\n")
    print(table_md)
    metrics = finish_short(
        analysis,
        rows,
        predictions=predictions,
        claims=importance_claims(summaries),
        extra={"top_features": summaries, "groups": list(GROUPS)},
        title="SHORT Table 4 — RF feature importances: group counts and RF UAR",
        notes=[
            "Top-10 lists with names: top_features.md / top_features.csv; spectral = "
            "flux + harmonicity + slope + auditory + other spectral groups."
        ],
    )
    print_finished(out, metrics, started)
