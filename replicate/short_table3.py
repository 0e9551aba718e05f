"""Runs ser_keras.cli.short_table3 (installed as ``ser-keras-short-table3``); usage in its docstring."""

import sys

from ser_keras.cli.short_table3 import main

if __name__ == "__main__":
    sys.exit(main())
