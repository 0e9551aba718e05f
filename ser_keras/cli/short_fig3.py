"""Replicate SHORT Fig. 3: row-normalised confusion matrices of four systems — [a] ComParE
functionals on raw audio, [b] ComParE functionals on SubSeg relevance signals, [c] Raw SubSeg
CNN on raw audio, [d] SubSeg CNN on SubSeg relevance signals.

    python replicate/short_fig3.py --quick                           # embedded corpus, one fold
    python replicate/short_fig3.py --models runs/short_table3        # reuse a Table-3 run
    python replicate/short_fig3.py --compare-classifier rf

The paper does not say which ComParE classifier Fig. 3 shows; SVM by default (its Table-3
SubSeg-Rel row is the one discussed). Prints per-class recalls and the paper's claims (SubSeg
better for happy and sad, ComParE for neutral and angry; SubSeg's best class sad on raw and
happy on relevance; ComParE on SubSeg-Rel more even). Writes fig3_{a,b,c,d}_*.png.
"""

from ser_keras.cli.analysis import analysis_parser, open_short_analysis, short_progress
from ser_keras.cli.common import interruptible, print_finished
from ser_keras.data.labels import FOUR_CLASSES
from ser_keras.experiments.analysis_short import finish_short, value_row
from ser_keras.experiments.analysis_short_summaries import confusion_claims
from ser_keras.plots import save_confusion_matrix


@interruptible
def main(argv=None):
    parser = analysis_parser(__doc__, "short_fig3", paper="short")
    parser.add_argument(
        "--compare-classifier",
        choices=("svm", "rf"),
        default="svm",
        help="classifier of the ComParE panels [a], [b] (default: svm)",
    )
    args, analysis, started = open_short_analysis(parser, argv, "short_fig3")
    clf = args.compare_classifier
    systems = {
        "compare_raw": ("a", f"compare_func_{clf}", f"ComParE {clf.upper()} on raw audio"),
        "compare_rel": ("b", f"rel_subseg_compare_{clf}", f"ComParE {clf.upper()} on SubSeg-Rel"),
        "subseg_raw": ("c", "raw_subseg_cnn", "Raw SubSeg CNN on raw audio"),
        "subseg_rel": ("d", "rel_subseg_cnn", "SubSeg CNN on SubSeg-Rel"),
    }
    row_ids = [row_id for _, row_id, _ in systems.values()]
    with short_progress(analysis, row_ids):
        rows, predictions = analysis.rows(row_ids)
    recalls, figures = {}, []
    for key, (panel, row_id, title) in systems.items():
        matrix = analysis.confusion(row_id)
        # A class without test utterances has an all-zero row: its recall is unknown, not 0.
        recalls[key] = [float(recall) if row.sum() > 0 else None for recall, row in zip(matrix.diagonal(), matrix)]
        path = analysis.record.out / f"fig3_{panel}_{key}.png"
        save_confusion_matrix(path, matrix, analysis.classes, title=f"[{panel}] {title}")
        figures.append(path.name)
        for label, recall in zip(analysis.classes, recalls[key]):
            rows.append(
                value_row(
                    f"fig3_{key}_{label}_recall",
                    title,
                    "recall (%)",
                    None if recall is None else 100 * recall,
                    classifier=f"class {label}",
                )
            )
        print(
            f"[{panel}] {title}: "
            + ", ".join(
                f"{c} {'n/a' if r is None else f'{100 * r:.1f}'}" for c, r in zip(analysis.classes, recalls[key])
            )
        )
    four_class = set(FOUR_CLASSES) <= set(analysis.classes)
    claims = confusion_claims(recalls, list(analysis.classes)) if four_class else []
    metrics = finish_short(
        analysis,
        rows,
        predictions=predictions,
        claims=claims,
        extra={"recalls": recalls, "figures": figures},
        title="SHORT Fig. 3 — per-class recall (%) of four systems",
        notes=[f"Figures: {', '.join(figures)} (rows: true class, cells: % of the row)."]
        + ([] if four_class else ["Claims need the four-class view; not checked."]),
    )
    print_finished(analysis.record.out, metrics, started)
