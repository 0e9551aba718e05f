"""Replicate SHORT Table 3: emotion recognition on relevance signals (UAR, 4 classes).

    python replicate/short_table3.py --quick                        # embedded corpus, one fold
    python replicate/short_table3.py --models runs/table1           # reuse a Table-1 run's CNNs
    python replicate/short_table3.py --corpus iemocap:/data/IEMOCAP_full_release

Relevance signals are guided-backpropagation gradients of a class score w.r.t. each 250 ms
window of the fold's Raw SubSeg / Raw Seg CNN, overlap-added per utterance. Training and
validation utterances use their ground-truth class; test utterances get all four class
signals and the classifier's scores on them are averaged. Rows: rel_{subseg,seg}_compare_
{svm,rf} (ComParE functionals of the utterance relevance → SVM/RF) and rel_{subseg,seg}_cnn
(the CNN architecture trained on relevance), plus the Table-1 rows they build on, each beside
the paper's number. Without --models the Table-1 CNN and ComParE rows are trained into --out.
"""

from ser_keras.cli.analysis import analysis_parser, open_short_analysis, short_progress
from ser_keras.cli.common import interruptible, print_finished
from ser_keras.experiments.analysis_short import TABLE3_IDS, finish_short

CONTEXT_ROWS = ("compare_func_svm", "compare_func_rf", "raw_subseg_cnn", "raw_seg_cnn")


@interruptible
def main(argv=None):
    parser = analysis_parser(__doc__, "short_table3", paper="short")
    _, analysis, started = open_short_analysis(parser, argv, "short_table3")
    row_ids = [*CONTEXT_ROWS, *TABLE3_IDS]
    with short_progress(analysis, row_ids):
        rows, predictions = analysis.rows(row_ids)
    metrics = finish_short(
        analysis,
        rows,
        predictions=predictions,
        title="SHORT Table 3 — UAR (%) on relevance signals, ours beside the paper's (Table-1 rows for context)",
        notes=[
            "Relevance signals scaled to peak 0.9 per signal before openSMILE / int16 storage "
            "(gradients have no natural scale; CNN windows are z-normalised anyway).",
            "Validation (model selection) uses ground-truth-class relevance, like training.",
        ],
    )
    print_finished(analysis.record.out, metrics, started)
