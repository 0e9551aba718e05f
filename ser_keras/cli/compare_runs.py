"""Compare two finished runs of one table row by row, with paired significance tests.

    python replicate/table1.py --out runs/f32
    python replicate/table1.py --mixed-precision --out runs/bf16
    python tools/compare_runs.py runs/f32 runs/bf16              # B = bf16 against A = f32
    python tools/compare_runs.py runs/f32 runs/bf16 --rows raw_subseg_cnn --out runs/f32_vs_bf16

For every row both runs predicted (Table 1 rows, Table 5 network heads, analysis rows):
the two scores on the test items both predicted, Δ = B − A with its t interval over speakers
and a speaker sign-flip p (ser_keras.stats), exact McNemar, and Holm over all rows and metrics. The runs must share
corpus content, label view and protocol; everything else that differs (precision, seed,
budget, hyperparameter files, code version) is listed above the table. ``--out`` also
writes ``comparison.md`` and ``comparisons.csv`` there.
"""

import argparse
from pathlib import Path

from ser_keras.experiments.run_comparison import compare_runs, run_comparison_markdown
from ser_keras.io import write_text
from ser_keras.runs import csv_text
from ser_keras.stats import comparisons_csv_rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_a", help="finished run folder A (the reference)")
    parser.add_argument("run_b", help="finished run folder B (Δ = B − A)")
    # Plain strings, not cli.common.split_list: common loads TensorFlow, which reading two
    # CSV files does not need (1.4 s instead of 12 s to start).
    parser.add_argument("--rows", default=None, help="comma-separated rows (default: all shared)")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the random sign flips with more than 12 speakers (default 0)"
    )
    parser.add_argument("--out", type=Path, default=None, help="folder for comparison.md and comparisons.csv")
    args = parser.parse_args(argv)
    rows = None if args.rows is None else [row.strip() for row in args.rows.split(",") if row.strip()]
    try:
        result = compare_runs(args.run_a, args.run_b, rows=rows, seed=args.seed)
    except ValueError as error:
        parser.exit(2, f"error: {error}\n")
    section = run_comparison_markdown(result)
    print(section, end="")
    if args.out is not None:
        write_text(args.out / "comparison.md", section)
        header, *lines = comparisons_csv_rows(result.comparisons)
        write_text(args.out / "comparisons.csv", csv_text(header, lines))
        print(f"written: {args.out / 'comparison.md'}, {args.out / 'comparisons.csv'}")
    return 0
