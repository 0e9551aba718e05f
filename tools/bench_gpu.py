"""Runs ser_keras.cli.bench_gpu (installed as ``ser-keras-bench-gpu``); usage in its docstring."""

import sys

from ser_keras.cli.bench_gpu import main

if __name__ == "__main__":
    sys.exit(main())
