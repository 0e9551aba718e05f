"""Runs ser_keras.cli.bench_end_to_end (installed as ``ser-keras-bench-end-to-end``); usage in its docstring."""

import sys

from ser_keras.cli.bench_end_to_end import main

if __name__ == "__main__":
    sys.exit(main())
