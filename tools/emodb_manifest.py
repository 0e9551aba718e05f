"""Runs ser_keras.cli.emodb_manifest (installed as ``ser-keras-emodb-manifest``); usage in its docstring."""

import sys

from ser_keras.cli.emodb_manifest import main

if __name__ == "__main__":
    sys.exit(main())
