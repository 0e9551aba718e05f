"""Runs ser_keras.cli.search_ftr (installed as ``ser-keras-search-ftr``); usage in its docstring."""

import sys

from ser_keras.cli.search_ftr import main

if __name__ == "__main__":
    sys.exit(main())
