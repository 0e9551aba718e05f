"""Runs ser_keras.cli.bench_precision (installed as ``ser-keras-bench-precision``); usage in its docstring."""

import sys

from ser_keras.cli.bench_precision import main

if __name__ == "__main__":
    sys.exit(main())
