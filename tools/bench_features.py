"""Runs ser_keras.cli.bench_features (installed as ``ser-keras-bench-features``); usage in its docstring."""

import sys

from ser_keras.cli.bench_features import main

if __name__ == "__main__":
    sys.exit(main())
