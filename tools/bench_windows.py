"""Runs ser_keras.cli.bench_windows (installed as ``ser-keras-bench-windows``); usage in its docstring."""

import sys

from ser_keras.cli.bench_windows import main

if __name__ == "__main__":
    sys.exit(main())
