"""Runs ser_keras.cli.search_elor (installed as ``ser-keras-search-elor``); usage in its docstring."""

import sys

from ser_keras.cli.search_elor import main

if __name__ == "__main__":
    sys.exit(main())
