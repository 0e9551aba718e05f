"""Merge run folders that ran different folds (``--folds``) into one run.

    python replicate/table1.py --folds Ses01,Ses02 --out runs/a      # machine A
    python replicate/table1.py --folds Ses03,Ses04,Ses05 --out runs/b  # machine B
    python tools/merge_runs.py runs/a runs/b --out runs/table1

Every input must be a finished run of the same identity (script, corpus, budget, seed,
settings, hyperparameter files, code version: its fingerprint.json); the folds must be
disjoint. The merge copies their fold parts and models and reruns the script with --resume
over all folds: it only scores, so the merged table is the one a single run would give.
Works for replicate/table1.py, wieser_table5.py and the analysis scripts.
"""

import argparse
import importlib

from ser_keras.experiments.merge import prepare_merge


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="finished run folders")
    parser.add_argument("--out", required=True, help="folder for the merged run (new or empty)")
    args = parser.parse_args(argv)
    try:
        script, script_argv = prepare_merge(args.runs, args.out)
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        parser.exit(2, f"error: {error}\n")
    print(f"merging into {args.out}: {script} {' '.join(script_argv)}")
    return importlib.import_module(f"ser_keras.cli.{script}").main(script_argv)
