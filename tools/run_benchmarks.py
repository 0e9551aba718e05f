"""Runs ser_keras.cli.run_benchmarks (installed as ``ser-keras-run-benchmarks``); usage in its docstring."""

import sys

from ser_keras.cli.run_benchmarks import main

if __name__ == "__main__":
    sys.exit(main())
