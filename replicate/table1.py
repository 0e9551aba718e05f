"""Runs ser_keras.cli.table1 (installed as ``ser-keras-table1``); usage in its docstring."""

import sys

from ser_keras.cli.table1 import main

if __name__ == "__main__":
    sys.exit(main())
