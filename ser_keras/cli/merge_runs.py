"""Merge run folders that ran different folds (``--folds``) into one table.

    python replicate/table1.py --folds Ses01,Ses02 --out runs/a      # machine A
    python replicate/table1.py --folds Ses03,Ses04,Ses05 --out runs/b  # machine B
    python tools/merge_runs.py runs/a runs/b --out runs/table1

Every input must be a finished run of the same script, corpus and seed; each row is
rescored on the union of the folds' saved predictions (pooled UAR/WAR with bootstrap CI).
"""

import argparse
import sys

from ser_keras.experiments.merge import merge_runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="finished run folders")
    parser.add_argument("--out", required=True, help="folder for the merged run")
    args = parser.parse_args(argv)
    try:
        merged = merge_runs(args.runs, args.out)
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        parser.exit(2, f"error: {error}\n")
    sys.stdout.write((merged / "table.md").read_text(encoding="utf-8"))
