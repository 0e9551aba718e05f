"""Write one replication report (report.html and report.md) from finished run folders.

    python replicate/table1.py --quick --corpus synthetic:tiny --out runs/t1
    python replicate/wieser_table5.py --quick --corpus synthetic:tiny --out runs/t5
    ser-keras report runs/t1 runs/t5 --out runs/report      # or python tools/report.py ...

Reads the run folders of any replicate script (Tables 1, 3, 4, 5, Figs. 2-5) and
tools/compare_runs.py --out folders, and writes into --out: report.html (self-contained: CSS and
figures inline, no network, no script), report.md and figures/ (the PNGs report.md shows).
Per run: ours beside the paper with the interval and status, the claims' verdicts, the paired
comparisons, per-speaker and per-gender scores recomputed from predictions.csv with their
spread, the compute ledger of the (row, fold) units, provenance and the deviations that apply,
and every figure. Runs of different corpora (corpus sha256) are refused unless --mixed-corpora.
report.md is the same for the same run folders but for its "Generated" line.
"""

import argparse
from pathlib import Path

from ser_keras.report import write_report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="finished run folders, in the report's order")
    parser.add_argument("--out", type=Path, required=True, help="folder for report.html, report.md and figures/")
    parser.add_argument(
        "--mixed-corpora", action="store_true", help="report runs of different corpora together (refused by default)"
    )
    args = parser.parse_args(argv)
    try:
        written = write_report(args.runs, args.out, mixed_corpora=args.mixed_corpora)
    except ValueError as error:
        parser.exit(2, f"error: {error}\n")
    print("written: " + ", ".join(str(path) for path in written))
    return 0
