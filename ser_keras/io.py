"""Atomic file writing and JSON helpers shared by every run record, cache and model file.

Not a paper section: the reliability layer. Every file the toolkit writes goes through a
temporary sibling and ``os.replace`` so a killed process never leaves a half-written file.
"""

import contextlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def atomic_path(path, *, suffix=".tmp"):
    """Yield a temporary path next to ``path``; move it into place only on success.

    The temporary file lives in the same directory so ``os.replace`` is atomic. On any
    exception the temporary file is removed and ``path`` is left untouched. ``suffix``
    matters to writers that pick a format by extension (Keras: ``suffix=".h5"``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(handle)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _to_builtin(value):
    """Convert numpy scalars and arrays so ``json.dump`` accepts them."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serialisable: {value!r}")


def write_text(path, text):
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def write_json(path, obj):
    """Write ``obj`` as indented JSON atomically (numpy values converted)."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_to_builtin) + "\n")


def read_json(path):
    """Read a JSON file written by :func:`write_json`."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
