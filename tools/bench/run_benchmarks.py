"""Run every benchmark, each in a fresh process, and collect one table of figures and targets.

    python -m tools.bench.run_benchmarks --quick --out bench/      # a few minutes
    python -m tools.bench.run_benchmarks --out bench/              # full figures (tens of minutes)
    python -m tools.bench.run_benchmarks --out tools/bench/results --docs docs/performance.md

Run from the checkout's root (the benchmarks are a folder of the repository, not installed).
Writes ``DIR/benchmarks.json`` (a list of ``{"name", "value", "unit", "target", "holds"}``;
``holds`` is null where there is no target or the benchmark was skipped),
``DIR/benchmarks.md`` (the same table in Markdown, under a line naming the machine and the
code), ``DIR/details.json`` (every tool's details, including the GPU projection's method, the
``environment``: CPU, cores, GPUs, package versions, git commit, and the ``run``: date, command,
each benchmark's records) and one log per tool. Each benchmark runs as a subprocess so peak RSS
and thread pools are its own. ``--quick`` shortens every timed loop, streams a capped number of
batches for the memory figure and skips the end-to-end script timings (run them without
``--quick``). ``--docs PAGE`` also writes the page of figures (``docs/performance.md``); with
``--docs-only`` it is written from DIR's ``benchmarks.json`` and ``details.json`` and nothing runs.
The figures of ``docs/performance.md`` are kept in ``tools/bench/results/``.
"""

import argparse
import dataclasses
import datetime
import json
import os
import shlex
import subprocess
import sys
import time

from ser_keras import console
from tools.bench import harness
from tools.bench.harness.page import RunFacts, performance_page, run_heading

ORDER = ("pipeline", "torch", "memory", "features", "precision", "end_to_end", "gpu_projection")


def tool_arguments(name, args, out):
    """Command-line arguments of ``python -m tools.bench.<name>`` for this run."""
    arguments = ["--json", os.path.join(out, f"{name}.json")] + (["--quick"] if args.quick else [])
    if name in ("pipeline", "torch", "memory", "precision"):
        arguments += ["--corpus", args.corpus]
    if name == "torch" and args.torch_python:
        arguments += ["--torch-python", args.torch_python]
    if name == "gpu_projection" and os.path.exists(os.path.join(out, "pipeline.json")):
        arguments += ["--pipeline-json", os.path.join(out, "pipeline.json")]
    return arguments


def run_tool(name, arguments, out, timeout_s):
    """Run one benchmark; its records, or one 'failed' record when it fails or times out."""
    log_path = os.path.join(out, f"{name}.log")
    started = time.perf_counter()
    with open(log_path, "w") as log:
        try:
            command, environment = harness.tool_command(name, arguments)
            done = subprocess.run(
                command, stdout=log, stderr=subprocess.STDOUT, env=environment, timeout=timeout_s, check=False
            )
            failure = None if done.returncode == 0 else f"exit status {done.returncode}"
        except subprocess.TimeoutExpired:
            failure = f"timed out after {timeout_s:.0f} s"
    failed = f" - FAILED ({failure}; see {log_path})" if failure else ""
    print(f"  {name}: {time.perf_counter() - started:.0f} s{failed}", flush=True)
    if failure:
        return [harness.record(f"{name}_failed", None, failure)], None
    with open(os.path.join(out, f"{name}.json")) as handle:
        result = json.load(handle)
    return harness.check_records(result["records"]), result["details"]


def write_docs(out, docs):
    """Write the page of figures ``docs`` from ``out``'s ``benchmarks.json`` and ``details.json``."""
    from ser_keras.io import read_json, write_text

    paths = [os.path.join(out, name) for name in ("benchmarks.json", "details.json")]
    for path in paths:
        if not os.path.exists(path):
            raise ValueError(f"{path} does not exist: run the benchmarks with --out {out} first.")
    records, details = (read_json(path) for path in paths)
    write_text(docs, performance_page(harness.check_records(records), details, out=out.rstrip("/"), docs=docs))
    print(f"wrote {docs}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for benchmarks.json, benchmarks.md, details and logs")
    parser.add_argument("--quick", action="store_true", help="short runs (a few minutes in all)")
    parser.add_argument("--corpus", default="synthetic:full", help="corpus for the window benchmarks")
    parser.add_argument("--torch-python", help="interpreter with torch for the PyTorch peer")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(ORDER)}")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per benchmark (default 600 quick, 7200)")
    parser.add_argument("--docs", metavar="PAGE", help="also write the page of figures (docs/performance.md)")
    parser.add_argument(
        "--docs-only",
        action="store_true",
        help="run nothing: write --docs from the benchmarks.json and details.json in --out",
    )
    args = parser.parse_args(argv)
    # Set up as the ser-keras commands are (TensorFlow quiet when the environment is read at the end).
    console.quiet()
    if args.docs_only:
        if not args.docs:
            parser.error("--docs-only needs --docs PAGE")
        try:
            write_docs(args.out, args.docs)
        except ValueError as error:
            parser.exit(2, f"error: {error}\n")
        return
    names = ORDER if not args.only else tuple(name.strip() for name in args.only.split(","))
    unknown = sorted(set(names) - set(ORDER))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {', '.join(ORDER)}")
    os.makedirs(args.out, exist_ok=True)
    timeout_s = args.timeout or (600 if args.quick else 7200)
    records, details, sections, started = [], {}, {}, time.perf_counter()
    print(f"benchmarks{' (--quick)' if args.quick else ''} -> {args.out}", flush=True)
    for name in names:
        if name == "end_to_end" and args.quick:
            print("  end_to_end: skipped in --quick (run without --quick for the script wall times)")
            tool_records = [
                harness.record("table1_wall_time", None, "min", at_most=9),
                harness.record("table1_cores_busy", None, "cores", at_least=1.8),
                harness.record("wieser_table5_quick_wall_time", None, "min", at_most=15),
            ]
        else:
            tool_records, details[name] = run_tool(name, tool_arguments(name, args, args.out), args.out, timeout_s)
        sections[name] = [item["name"] for item in tool_records]
        records += tool_records
    print(f"all benchmarks: {time.perf_counter() - started:.0f} s\n")
    harness.finish(records, details)
    from ser_keras.io import write_json, write_text
    from ser_keras.runs import environment

    # Read after the benchmarks: it imports TensorFlow, which this process otherwise never does.
    details["environment"] = environment()
    command = "python -m tools.bench.run_benchmarks " + shlex.join(sys.argv[1:] if argv is None else argv)
    details["run"] = dataclasses.asdict(
        RunFacts(date=datetime.date.today().isoformat(), quick=args.quick, command=command, sections=sections)
    )
    heading = run_heading(details["environment"], args.quick)
    print(heading)
    write_json(os.path.join(args.out, "benchmarks.json"), records)
    write_json(os.path.join(args.out, "details.json"), details)
    write_text(os.path.join(args.out, "benchmarks.md"), f"{heading}\n\n{harness.markdown_table(records)}")
    if args.docs:
        write_docs(args.out, args.docs)


if __name__ == "__main__":
    sys.exit(main())
