"""Runs ser_keras.cli.wieser_fig5 (installed as ``ser-keras-wieser-fig5``); usage in its docstring."""

import sys

from ser_keras.cli.wieser_fig5 import main

if __name__ == "__main__":
    sys.exit(main())
