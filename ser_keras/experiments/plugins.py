"""Loading plug-ins: user modules that put their own models beside the papers' (issue 15).

A plug-in is a module that, when imported, calls :func:`ser_keras.register_row` (a Table-1
row) or :func:`ser_keras.register_network` (an ELOR Table-5 network). ``table1.py`` and
``wieser_table5.py`` import the modules named with ``--plugin MODULE`` and every module
installed under the entry-point group :data:`PLUGIN_GROUP` (``[options.entry_points]
ser_keras.plugins = name = package.module`` in the plug-in's setup.cfg).
"""

import importlib
from importlib import metadata

PLUGIN_GROUP = "ser_keras.plugins"


def load_plugins(modules=()):
    """Import the plug-in modules named (``--plugin``) and those installed under the
    entry-point group :data:`PLUGIN_GROUP`; returns the names loaded. An import error names
    the plug-in."""
    loaded = []
    for entry_point in metadata.entry_points(group=PLUGIN_GROUP):
        _import(entry_point.value, entry_point.load)
        loaded.append(entry_point.value)
    for module in modules:
        _import(module, lambda name=module: importlib.import_module(name))
        loaded.append(module)
    return loaded


def _import(name, load):
    try:
        load()
    except ValueError:
        raise
    except Exception as error:  # any failure inside a user's module becomes one clear line
        raise ValueError(f"Plug-in {name!r} failed to import: {type(error).__name__}: {error}") from error
