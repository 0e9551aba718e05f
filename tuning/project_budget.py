"""Runs ser_keras.cli.project_budget (installed as ``ser-keras-project-budget``); usage in its docstring."""

import sys

from ser_keras.cli.project_budget import main

if __name__ == "__main__":
    sys.exit(main())
