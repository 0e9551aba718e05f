"""Runs ser_keras.cli.bench_memory (installed as ``ser-keras-bench-memory``); usage in its docstring."""

import sys

from ser_keras.cli.bench_memory import main

if __name__ == "__main__":
    sys.exit(main())
