"""Runs ser_keras.cli.wieser_fig4 (installed as ``ser-keras-wieser-fig4``); usage in its docstring."""

import sys

from ser_keras.cli.wieser_fig4 import main

if __name__ == "__main__":
    sys.exit(main())
