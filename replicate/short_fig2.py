"""Runs ser_keras.cli.short_fig2 (installed as ``ser-keras-short-fig2``); usage in its docstring."""

import sys

from ser_keras.cli.short_fig2 import main

if __name__ == "__main__":
    sys.exit(main())
