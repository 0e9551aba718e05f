"""Loading plug-ins: user code that puts its own models beside the papers' (not a paper section).

A plug-in is a Python file or module that, when imported, calls :func:`ser_keras.register_row`
(a Table-1 row) or :func:`ser_keras.register_network` (an ELOR Table-5 network).
``table1.py`` and ``wieser_table5.py`` load each ``--plugin``: a file (``--plugin my_rows.py``,
imported as the module ``ser_keras_plugin_my_rows``) or a module name importable from
``PYTHONPATH`` (``--plugin my_rows``); and every module installed under the entry-point group
:data:`PLUGIN_GROUP` (``[options.entry_points] ser_keras.plugins = name = package.module`` in
the plug-in's setup.cfg).
"""

import importlib
import importlib.util
import os
import re
import sys
from importlib import metadata
from pathlib import Path

PLUGIN_GROUP = "ser_keras.plugins"
# A plug-in file is imported under this prefix and its file name: one module per file, whatever
# the folder it is named from, and no clash with the modules of the process.
FILE_MODULE_PREFIX = "ser_keras_plugin_"


def load_plugins(plugins=()):
    """Load the plug-ins named (``--plugin``: file paths or module names) and those installed
    under the entry-point group :data:`PLUGIN_GROUP`; returns them as named. A missing file or
    an import error names the plug-in. Loading one twice imports it once."""
    loaded = []
    for entry_point in metadata.entry_points(group=PLUGIN_GROUP):
        _import(entry_point.value, entry_point.load)
        loaded.append(entry_point.value)
    for plugin in plugins:
        if is_plugin_file(plugin):
            _import(plugin, lambda path=plugin: _import_file(path))
        else:
            _import(plugin, lambda name=plugin: importlib.import_module(name))
        loaded.append(plugin)
    return loaded


def is_plugin_file(plugin):
    """Whether ``--plugin`` names a file (``*.py`` or a path) rather than a module."""
    return plugin.endswith(".py") or "/" in plugin or os.sep in plugin


def file_module_name(path):
    """The module name a plug-in file is imported as: ``my-rows.py`` → ``ser_keras_plugin_my_rows``."""
    return FILE_MODULE_PREFIX + re.sub(r"\W", "_", Path(path).stem)


def _import_file(path):
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise ValueError(
            f"Plug-in file {path!r} does not exist (a --plugin ending in .py or holding a '/' is read "
            "as a file; a module name is imported from PYTHONPATH)."
        )
    name = file_module_name(file)
    module = sys.modules.get(name)
    if module is not None:
        if Path(module.__file__).resolve() == file:
            return module
        raise ValueError(f"Plug-in files {module.__file__} and {file} share the name {file.name!r}; rename one.")
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as an import does: the module can find itself (dataclasses, pickling)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _import(name, load):
    try:
        load()
    except ValueError:
        raise
    except Exception as error:  # any failure inside a user's module becomes one clear line
        raise ValueError(f"Plug-in {name!r} failed to import: {type(error).__name__}: {error}") from error
