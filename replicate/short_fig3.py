"""Runs ser_keras.cli.short_fig3 (installed as ``ser-keras-short-fig3``); usage in its docstring."""

import sys

from ser_keras.cli.short_fig3 import main

if __name__ == "__main__":
    sys.exit(main())
