"""Runs ser_keras.cli.bench_gpu_projection (installed as ``ser-keras-bench-gpu-projection``); usage in its docstring."""

import sys

from ser_keras.cli.bench_gpu_projection import main

if __name__ == "__main__":
    sys.exit(main())
