"""The command-line home of ser-keras: one table of subcommands behind the
``ser-keras`` dispatcher, the ``ser-keras-<name>`` commands and the scripts in ``replicate/``,
``tuning/`` and ``tools/``, which only call the ``main`` of their module here.

Each subcommand is a module ``ser_keras.cli.<module>`` with ``main(argv=None)``; its docstring
is its usage text. ``common`` (flags, logging, corpus) and ``search`` (the search flags) are
shared plumbing, not subcommands.

Importing this package sets the process up as a command (:func:`ser_keras.console.quiet`:
quiet TensorFlow, oneDNN on). It is the one place every entry passes through before
TensorFlow loads: the scripts and the installed commands import ``ser_keras.cli.<module>``,
whose imports load TensorFlow before its ``main`` runs.
"""

import ast
import importlib
import importlib.util
import re

from ser_keras import console

console.quiet()

# Subcommand modules by the folder their script lives in, in the order ``ser-keras list`` shows.
SUBCOMMANDS = {
    "replicate": (
        "table1",
        "wieser_table5",
        "short_fig2",
        "short_table3",
        "short_table4",
        "short_fig3",
        "wieser_fig4",
        "wieser_fig5",
    ),
    "tuning": ("search_elor", "search_lom", "search_ftr", "search_short_mlp", "project_budget"),
    "tools": ("describe_corpus", "make_synthetic_iemocap", "emodb_manifest", "merge_runs", "compare_runs", "report"),
}
MODULES = tuple(module for modules in SUBCOMMANDS.values() for module in modules)
# What each folder's commands are for, as ``ser-keras list`` heads them. The benchmarks are not
# commands: they live in the checkout's tools/bench/ (``python -m tools.bench.run_benchmarks``).
FOLDER_ROLES = {
    "replicate": "the papers' tables and figures",
    "tuning": "hyperparameter searches and their cost",
    "tools": "corpora and finished runs",
}


def command_name(module):
    """The subcommand's name on the command line: ``wieser_table5`` → ``wieser-table5``
    (installed as ``ser-keras-wieser-table5``)."""
    return module.replace("_", "-")


def module_of(command):
    """The module of a subcommand given either way (``wieser-table5`` or ``wieser_table5``);
    None if there is none."""
    module = command.replace("-", "_")
    return module if module in MODULES else None


def load_main(module):
    """The ``main(argv=None)`` of a subcommand module."""
    return importlib.import_module(f"{__name__}.{module}").main


def summary(module, width=88, package=__name__):
    """The first sentence of the docstring of a subcommand (or of ``package.module``), read from
    its source so that listing the commands does not import TensorFlow."""
    source = importlib.util.find_spec(f"{package}.{module}").origin
    with open(source, encoding="utf-8") as handle:
        docstring = ast.get_docstring(ast.parse(handle.read())) or ""
    first_paragraph = " ".join(docstring.split("\n\n")[0].split())
    # A sentence ends at a full stop before a capital, so "Fig. 2" does not end one.
    sentence = re.split(r"\.\s+(?=[A-Z])", first_paragraph)[0].rstrip(".")
    return sentence if len(sentence) <= width else sentence[: width - 3].rsplit(" ", 1)[0] + "..."
