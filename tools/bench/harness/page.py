"""``docs/performance.md``, generated from a benchmark run's ``benchmarks.json`` and ``details.json``.

Not a paper section. The page says that it is generated and by which command, which run its
figures come from (date, ``--quick`` or full, machine, code), then gives the targets at a glance
and every figure under the benchmark that measured it, introduced by the first sentence of that
benchmark's docstring. Nothing in it is written by hand, so it cannot drift from the figures.
"""

import dataclasses

from tools.bench.harness.records import markdown_table

# How to read the figures; the same for every run.
READING = (
    "Every rate is given on two clocks: **wall** (samples per second) and **cpu** (samples per CPU-second of "
    "the process, all its threads, times the machine's cores: what it would do with the machine to itself). "
    "Other tenants of a shared machine move the wall figures much more than the cpu ones. The targets are "
    "ratios measured inside one run: compare figures within a run, not across runs or machines."
)


@dataclasses.dataclass(frozen=True)
class RunFacts:
    """What a run's figures came from, stored as ``details.json``'s ``"run"``.

    ``sections``: the benchmarks in the order they ran, each with the names of its records;
    ``note``: anything a reader must know about how the figures were kept (usually empty).
    """

    date: str
    quick: bool
    command: str
    sections: dict
    note: str = ""

    @classmethod
    def from_dict(cls, fields):
        unknown = sorted(set(fields) - {field.name for field in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"Unknown fields {unknown} in the run facts of details.json.")
        return cls(**fields)


def run_heading(environment, quick):
    """One line naming the machine, the code and the kind of run (``benchmarks.md``'s first line)."""
    from ser_keras.runs import describe_machine

    dirty = " with uncommitted changes" if environment.get("git_dirty") else ""
    return (
        f"Machine: {describe_machine(environment)}; code: git {(environment.get('git_sha') or 'unknown')[:12]}"
        f"{dirty}; {'--quick' if quick else 'full'} run."
    )


def performance_page(records, details, *, out, docs):
    """The Markdown of ``docs/performance.md`` for the run whose ``benchmarks.json`` holds
    ``records`` and whose ``details.json`` holds ``details``; ``out`` and ``docs`` are the paths
    the page names for its source folder and for itself."""
    from ser_keras.cli import summary

    if "run" not in details or "environment" not in details:
        raise ValueError(
            f"{out}/details.json has no 'run' or 'environment': it was not written by tools.bench.run_benchmarks."
        )
    run = RunFacts.from_dict(details["run"])
    by_name = {item["name"]: item for item in records}
    listed = [name for names in run.sections.values() for name in names]
    if sorted(listed) != sorted(by_name) or len(by_name) != len(records):
        raise ValueError(
            f"The sections of {out}/details.json must list each record of {out}/benchmarks.json "
            f"once. Got {sorted(listed)} for {sorted(item['name'] for item in records)}."
        )
    targets = [item for item in records if item["target"] is not None]
    held = sum(item["holds"] is True for item in targets)
    skipped = sum(item["value"] is None for item in targets)
    lines = [
        "# Performance",
        "",
        (
            f"Generated from `{out}/benchmarks.json` and `{out}/details.json` by "
            f"`python -m tools.bench.run_benchmarks --out {out} --docs {docs} --docs-only`; do not edit by hand."
        ),
        "",
        (
            f"Figures of the run of {run.date} (`{run.command}`). "
            f"{run_heading(details['environment'], run.quick)}" + (f" {run.note}" if run.note else "")
        ),
        "",
        READING,
        "",
        (
            f"A new run: `python -m tools.bench.run_benchmarks --out {out} --docs {docs}` from the checkout's root "
            "(`--quick`: a few minutes, shorter timed loops, no end-to-end timings; `--torch-python PYTHON`: an "
            "interpreter with PyTorch for the peer benchmark)."
        ),
        "",
        "## Targets",
        "",
    ]
    if targets:
        unmeasured = f"; {skipped} not measured in this run." if skipped else "."
        lines += [f"{held} of {len(targets)} targets hold{unmeasured}", "", markdown_table(targets).rstrip("\n")]
    else:
        lines.append("No benchmark of this run has a target.")
    for name, names in run.sections.items():
        what = f"{summary(name, width=1000, package='tools.bench')}. (`python -m tools.bench.{name}`)"
        lines += ["", f"## {name}", "", what, "", markdown_table([by_name[item] for item in names]).rstrip("\n")]
    return "\n".join(lines) + "\n"
