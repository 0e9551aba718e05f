"""Runs ser_keras.cli.bench_torch (installed as ``ser-keras-bench-torch``); usage in its docstring."""

import sys

from ser_keras.cli.bench_torch import main

if __name__ == "__main__":
    sys.exit(main())
