"""Runs ser_keras.cli.compare_runs (installed as ``ser-keras-compare-runs``); usage in its docstring."""

import sys

from ser_keras.cli.compare_runs import main

if __name__ == "__main__":
    sys.exit(main())
