"""Runs ser_keras.cli.bench_pipeline (installed as ``ser-keras-bench-pipeline``); usage in its docstring."""

import sys

from ser_keras.cli.bench_pipeline import main

if __name__ == "__main__":
    sys.exit(main())
