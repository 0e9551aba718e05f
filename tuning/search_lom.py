"""Runs ser_keras.cli.search_lom (installed as ``ser-keras-search-lom``); usage in its docstring."""

import sys

from ser_keras.cli.search_lom import main

if __name__ == "__main__":
    sys.exit(main())
