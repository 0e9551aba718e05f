"""Runs ser_keras.cli.report (installed as ``ser-keras-report``); usage in its docstring."""

import sys

from ser_keras.cli.report import main

if __name__ == "__main__":
    sys.exit(main())
