"""Runs ser_keras.cli.merge_runs (installed as ``ser-keras-merge-runs``); usage in its docstring."""

import sys

from ser_keras.cli.merge_runs import main

if __name__ == "__main__":
    sys.exit(main())
