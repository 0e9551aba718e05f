"""Run every benchmark, each in a fresh process, and collect one table of figures and targets.

    python tools/run_benchmarks.py --quick --out bench/      # a few minutes
    python tools/run_benchmarks.py --out bench/              # full figures (tens of minutes)

Writes ``DIR/benchmarks.json`` (a list of ``{"name", "value", "unit", "target", "holds"}``;
``holds`` is null where there is no target or the benchmark was skipped),
``DIR/benchmarks.md`` (the same table in Markdown, under a line naming the machine and the
code), ``DIR/details.json`` (every tool's details, including the GPU projection's method, and
the ``environment``: CPU, cores, GPUs, package versions, git commit) and one log per tool. Each benchmark runs
as a subprocess so peak RSS and thread pools are its own. ``--quick`` shortens every timed
loop, streams a capped number of batches for the memory figure and skips the end-to-end
script timings (run them without ``--quick``).
"""

import argparse
import json
import os
import subprocess
import sys
import time

from ser_keras import benchmarks

ORDER = ("pipeline", "torch", "memory", "features", "precision", "end_to_end", "gpu_projection")


def tool_arguments(name, args, out):
    """Command-line arguments of ``ser-keras bench-<name>`` for this run."""
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
            done = subprocess.run([sys.executable, "-m", "ser_keras.cli", f"bench_{name}", *arguments],
                                  stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s, check=False)
            failure = None if done.returncode == 0 else f"exit status {done.returncode}"
        except subprocess.TimeoutExpired:
            failure = f"timed out after {timeout_s:.0f} s"
    print(f"  {name}: {time.perf_counter() - started:.0f} s" + (f" - FAILED ({failure}; see {log_path})" if failure else ""),
          flush=True)
    if failure:
        return [benchmarks.record(f"{name}_failed", None, failure)], None
    with open(os.path.join(out, f"{name}.json")) as handle:
        result = json.load(handle)
    return benchmarks.check_records(result["records"]), result["details"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for benchmarks.json, benchmarks.md, details and logs")
    parser.add_argument("--quick", action="store_true", help="short runs (a few minutes in all)")
    parser.add_argument("--corpus", default="synthetic:full", help="corpus for the window benchmarks")
    parser.add_argument("--torch-python", help="interpreter with torch for the PyTorch peer")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(ORDER)}")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per benchmark (default 600 quick, 7200)")
    args = parser.parse_args(argv)
    names = ORDER if not args.only else tuple(name.strip() for name in args.only.split(","))
    unknown = sorted(set(names) - set(ORDER))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {', '.join(ORDER)}")
    os.makedirs(args.out, exist_ok=True)
    timeout_s = args.timeout or (600 if args.quick else 7200)
    records, details, started = [], {}, time.perf_counter()
    print(f"benchmarks{' (--quick)' if args.quick else ''} -> {args.out}", flush=True)
    for name in names:
        if name == "end_to_end" and args.quick:
            print("  end_to_end: skipped in --quick (run without --quick for the script wall times)")
            records += [benchmarks.record("table1_wall_time", None, "min", at_most=9),
                        benchmarks.record("table1_cores_busy", None, "cores", at_least=1.8),
                        benchmarks.record("wieser_table5_quick_wall_time", None, "min", at_most=15)]
            continue
        tool_records, details[name] = run_tool(name, tool_arguments(name, args, args.out), args.out, timeout_s)
        records += tool_records
    print(f"all benchmarks: {time.perf_counter() - started:.0f} s\n")
    benchmarks.finish(records, details)
    from ser_keras.io import write_json, write_text
    from ser_keras.runs import describe_machine, environment

    # Read after the benchmarks: it imports TensorFlow, which this process otherwise never does.
    details["environment"] = environment()
    dirty = " with uncommitted changes" if details["environment"]["git_dirty"] else ""
    heading = (f"Machine: {describe_machine(details['environment'])}; code: git "
               f"{(details['environment']['git_sha'] or 'unknown')[:12]}{dirty}; {'--quick' if args.quick else 'full'} run.")
    print(heading)
    write_json(os.path.join(args.out, "benchmarks.json"), records)
    write_json(os.path.join(args.out, "details.json"), details)
    write_text(os.path.join(args.out, "benchmarks.md"), f"{heading}\n\n{benchmarks.markdown_table(records)}")
