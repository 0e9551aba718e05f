"""Runs ser_keras.cli.short_table4 (installed as ``ser-keras-short-table4``); usage in its docstring."""

import sys

from ser_keras.cli.short_table4 import main

if __name__ == "__main__":
    sys.exit(main())
