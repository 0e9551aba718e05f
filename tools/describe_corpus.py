"""Runs ser_keras.cli.describe_corpus (installed as ``ser-keras-describe-corpus``); usage in its docstring."""

import sys

from ser_keras.cli.describe_corpus import main

if __name__ == "__main__":
    sys.exit(main())
