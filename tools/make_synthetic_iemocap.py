"""Runs ser_keras.cli.make_synthetic_iemocap (installed as ``ser-keras-make-synthetic-iemocap``);
usage in its docstring."""

import sys

from ser_keras.cli.make_synthetic_iemocap import main

if __name__ == "__main__":
    sys.exit(main())
