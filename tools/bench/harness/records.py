"""Benchmark result records ``{"name", "value", "unit", "target", "holds"}`` and their tables.

Not a paper section: the schema every benchmark of ``tools/bench/`` prints and writes as JSON,
and ``tools.bench.run_benchmarks`` collects into ``benchmarks.json`` / ``benchmarks.md``; with
it the command line the benchmarks share and the way one runs another.
"""

import math
import os
import sys

# The repository's root: the benchmarks are a folder of the checkout, not an installed package.
CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

RECORD_KEYS = ("name", "value", "unit", "target", "holds")
GB = 1e9
# Figures are shown with 4 significant digits: run-to-run noise is larger than that.
_SIGNIFICANT = 4


def _round(value):
    return float(f"{value:.{_SIGNIFICANT}g}")


def record(name, value, unit, *, at_least=None, at_most=None):
    """One result ``{"name", "value", "unit", "target", "holds"}``.

    ``at_least`` / ``at_most``: the target bound (at most one). ``holds`` is None when
    there is no target or no value (a skipped benchmark has ``value`` None).
    """
    if at_least is not None and at_most is not None:
        raise ValueError(f"Give at most one bound for {name!r}; got at_least={at_least!r} and at_most={at_most!r}.")
    if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
        raise ValueError(f"The value of {name!r} must be a finite number or None. Got {value!r}.")
    bound, sign = (at_least, ">=") if at_least is not None else (at_most, "<=")
    target = None if bound is None else f"{sign} {_round(bound):g}"
    holds = None
    if bound is not None and value is not None:
        holds = bool(value >= bound) if sign == ">=" else bool(value <= bound)
    return {
        "name": name,
        "value": None if value is None else _round(value),
        "unit": unit,
        "target": target,
        "holds": holds,
    }


def check_records(records):
    """Raise ValueError unless ``records`` is a list of well-formed result records."""
    if not isinstance(records, list):
        raise ValueError(f"Records must be a list. Got {type(records).__name__}.")
    for item in records:
        if not isinstance(item, dict) or tuple(item) != RECORD_KEYS:
            raise ValueError(f"A record must have exactly the keys {RECORD_KEYS} in order. Got {item!r}.")
        if item["holds"] not in (True, False, None):
            raise ValueError(f"'holds' must be true, false or null. Got {item['holds']!r} in {item['name']!r}.")
        if (item["holds"] is None) != (item["target"] is None or item["value"] is None):
            raise ValueError(f"'holds' must be null exactly when target or value is null: {item!r}.")
    return records


def format_table(records):
    """Plain-text table: name, value, unit, target and holds / MISSES / - (no target)."""
    rows = [("name", "value", "unit", "target", "result")]
    for item in records:
        value = "skipped" if item["value"] is None else f"{item['value']:g}"
        result = {True: "holds", False: "MISSES", None: "-"}[item["holds"]]
        rows.append((item["name"], value, item["unit"], item["target"] or "-", result))
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def markdown_table(records):
    """The same table in Markdown (``benchmarks.md``, the tables of ``docs/performance.md``)."""
    lines = ["| benchmark | value | unit | target | result |", "|---|---:|---|---|---|"]
    for item in records:
        value = "skipped" if item["value"] is None else f"{item['value']:g}"
        result = {True: "holds", False: "**misses**", None: "–"}[item["holds"]]
        lines.append(f"| {item['name']} | {value} | {item['unit']} | {item['target'] or '–'} | {result} |")
    return "\n".join(lines) + "\n"


def benchmark_parser(doc, *, corpus, quick_help):
    """The command line every benchmark tool shares: ``--corpus`` (default ``corpus``),
    ``--quick`` and ``--json OUT`` (what :func:`finish` writes); tools add their own flags."""
    import argparse

    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=corpus, help=f"corpus spec (default {corpus})")
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--json", metavar="OUT", help="write {records, details} to this JSON file")
    return parser


def finish(records, details, json_path=None):
    """Check ``records``, print their table and write ``{"records", "details"}`` to ``json_path``."""
    from ser_keras.io import write_json

    print(format_table(check_records(records)))
    if json_path:
        write_json(json_path, {"records": records, "details": details})


def tool_command(name, arguments, variables=None):
    """``(argv, environment)`` that run ``python -m tools.bench.<name> arguments`` in a fresh
    process from any folder: the checkout goes first on ``PYTHONPATH``, with ``variables`` set."""
    path = os.pathsep.join(filter(None, (CHECKOUT, os.environ.get("PYTHONPATH"))))
    return [sys.executable, "-m", f"tools.bench.{name}", *arguments], {
        **os.environ,
        **(variables or {}),
        "PYTHONPATH": path,
    }
