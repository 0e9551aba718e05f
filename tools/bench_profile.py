"""Runs ser_keras.cli.bench_profile (installed as ``ser-keras-bench-profile``); usage in its docstring."""

import sys

from ser_keras.cli.bench_profile import main

if __name__ == "__main__":
    sys.exit(main())
