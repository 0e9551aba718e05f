"""Runs ser_keras.cli.wieser_table5 (installed as ``ser-keras-wieser-table5``); usage in its docstring."""

import sys

from ser_keras.cli.wieser_table5 import main

if __name__ == "__main__":
    sys.exit(main())
