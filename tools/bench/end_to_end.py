"""Wall time and CPU use of the replicate scripts on the embedded corpus.

Runs ``python replicate/table1.py`` (default budget) and ``python replicate/wieser_table5.py
--quick`` into temporary run folders, each in a fresh process. Targets: Table 1 within 9 min
with at least 1.8 cores busy on average (CPU seconds of the script and its worker
processes / wall seconds), Table 5 --quick within 15 min. With ``--quick`` table1 runs with
``--quick`` too (its figures then have no target; the targets are for the default budget). By
default both run from an empty ``$SER_KERAS_CACHE`` (a temporary folder), as a first run out
of the box does: the embedded corpus is generated and every feature extracted inside the
timed run; ``--warm-cache`` uses the caches as they are. A script that does not exist yet is
reported as skipped.

    python -m tools.bench.end_to_end --json end_to_end.json
"""

import argparse
import os
import sys
import tempfile

from tools.bench import harness

TARGETS = {"table1": {"minutes": 9, "cores": 1.8}, "wieser_table5_quick": {"minutes": 15, "cores": None}}
SCRIPTS = ("replicate/table1.py", "replicate/wieser_table5.py")


def measure(*, quick, timeout_s, warm_cache=False):
    runs = [
        ("table1", SCRIPTS[0], ["--quick"] if quick else [], not quick),
        ("wieser_table5_quick", SCRIPTS[1], ["--quick"], True),
    ]
    records, details = [], {"quick": quick, "empty_cache": not warm_cache, "logs": {}}
    with tempfile.TemporaryDirectory(prefix="ser_keras_bench_e2e_") as work:
        environment = None if warm_cache else {**os.environ, "SER_KERAS_CACHE": os.path.join(work, "cache")}
        for name, script, arguments, has_target in runs:
            label = f"{name}_quick" if quick and name == "table1" else name
            log = os.path.join(work, f"{label}.log")
            timed = harness.script_wall_time(
                os.path.join(harness.CHECKOUT, script),
                [*arguments, "--out", os.path.join(work, label)],
                log_path=log,
                timeout_s=timeout_s,
                environment=environment,
            )
            if timed is None:
                print(f"{script} does not exist yet: skipped.")
            seconds, cpu_seconds = timed or (None, None)
            target = TARGETS[name] if has_target else {"minutes": None, "cores": None}
            records += [
                harness.record(
                    f"{label}_wall_time", None if timed is None else seconds / 60, "min", at_most=target["minutes"]
                ),
                harness.record(
                    f"{label}_cores_busy",
                    None if timed is None else cpu_seconds / seconds,
                    "cores",
                    at_least=target["cores"],
                ),
            ]
            details["logs"][label] = {
                "script": script,
                "arguments": arguments,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
            }
    return records, details


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="run table1.py with --quick as well")
    parser.add_argument(
        "--warm-cache", action="store_true", help="use the existing corpus/feature caches instead of an empty one"
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds before a script is killed")
    parser.add_argument("--json", metavar="OUT", help="write {records, details} to this JSON file")
    args = parser.parse_args(argv)
    try:
        records, details = measure(quick=args.quick, timeout_s=args.timeout, warm_cache=args.warm_cache)
    except RuntimeError as error:
        parser.exit(1, f"error: {error}\n")
    harness.finish(records, details, args.json)


if __name__ == "__main__":
    sys.exit(main())
