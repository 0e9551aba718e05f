"""Runs ser_keras.cli.search_short_mlp (installed as ``ser-keras-search-short-mlp``); usage in its docstring."""

import sys

from ser_keras.cli.search_short_mlp import main

if __name__ == "__main__":
    sys.exit(main())
