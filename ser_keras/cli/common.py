"""Command-line plumbing shared by every replicate and tuning script: the common flags,
logging, opening the corpus and the run record, plain interruptions, and printing the
finished table."""

import argparse
import dataclasses
import functools
import logging
import os
import shlex
import shutil
import sys
import time

from ser_keras import console
from ser_keras.data.corpus import DEFAULT_CORPUS, load_corpus
from ser_keras.data.protocols import PROTOCOLS
from ser_keras.runs import RunRecord, run_fingerprint
from ser_keras.training.precision import configure_precision, half_precision_native, mixed_policy


def common_parser(description, *, default_out):
    """An argparse parser with the flags every replicate script accepts."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--corpus",
        default=DEFAULT_CORPUS,
        help="synthetic:{tiny,small,full} (embedded, generated once into $SER_KERAS_CACHE), "
        "iemocap:PATH (IEMOCAP_full_release), emodb:PATH, manifest:PATH.csv "
        f"(default: {DEFAULT_CORPUS})",
    )
    parser.add_argument("--out", default=default_out, help=f"run folder (default: {default_out})")
    parser.add_argument("--seed", type=int, default=0, help="run seed (default: 0)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small budget (fewer windows and epochs) for CPU smoke runs; said in the output",
    )
    parser.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default=None,
        help="default: leave-one-session-out where the corpus has sessions, else leave-one-speaker-out",
    )
    parser.add_argument(
        "--folds",
        default=None,
        help="comma-separated fold names to run (e.g. Ses01,Ses02); merge run folders with tools/merge_runs.py",
    )
    parser.add_argument("--resume", action="store_true", help="reuse finished fold results in --out and continue")
    parser.add_argument(
        "--labels",
        choices=("four_class", "all"),
        default="four_class",
        help="categorical label view (default: four_class = ang, hap∪exc, neu, sad)",
    )
    add_output_flags(parser, progress="a line per finished row and fold", logged="DIR/<row>/<fold>")
    return parser


def add_output_flags(parser, *, progress, logged):
    """``--verbose`` and ``--tensorboard``, shared by the replicate and the tuning parsers."""
    parser.add_argument(
        "--verbose",
        type=int,
        default=1,
        choices=(0, 1, 2),
        help=f"0: warnings only; 1: {progress} (default); 2: also Keras progress bars and every TensorFlow log line",
    )
    parser.add_argument(
        "--tensorboard",
        default=None,
        metavar="DIR",
        help=f"TensorBoard logs of every trained network: per-epoch loss, accuracy and learning rate "
        f"in {logged} (tensorboard --logdir DIR)",
    )


def split_list(value):
    """'a,b' → ('a', 'b'); None stays None."""
    return None if value is None else tuple(part.strip() for part in value.split(",") if part.strip())


def setup_logging(verbose=1):
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    if verbose >= 2:  # ser_keras.cli quieted TensorFlow and Keras on import; let them speak
        console.restore_output()


def resume_command(argv=None):
    """The command line that resumes this run: the one it was started with (``argv``, default
    ``sys.argv[1:]``), with ``--resume`` added unless it is there."""
    args = list(sys.argv[1:] if argv is None else argv)
    program = sys.argv[0]
    if program.endswith(".py"):  # python replicate/table1.py
        python = shutil.which("python")
        same = python is not None and os.path.realpath(python) == os.path.realpath(sys.executable)
        program = shlex.join(["python" if same else sys.executable, program])
    elif os.path.isabs(program):  # an installed command (ser-keras-table1); "ser-keras table1" stays
        program = os.path.basename(program)
    return f"{program} {shlex.join(args + ([] if '--resume' in args else ['--resume']))}"


def interruptible(main):
    """Decorates the ``main(argv=None)`` of a script that trains (row, fold) units into a run
    folder: Ctrl-C or SIGTERM while it runs prints one line, how many units are done and the
    command that resumes the run (:func:`resume_command`), and exits 130 or 143 without a
    traceback (:func:`ser_keras.console.plain_interrupts`)."""

    @functools.wraps(main)
    def run(argv=None):
        with console.plain_interrupts(resume_command(argv)):
            return main(argv)

    return run


def open_corpus(parser, spec):
    """Load the corpus or exit with the reader's one-line error."""
    try:
        return load_corpus(spec)
    except (ValueError, FileNotFoundError) as error:
        parser.exit(2, f"error: {error}\n")


def print_finished(record_out, metrics, started):
    """Print the table with its header and claims, then where the rest is and the wall time.

    The paired-comparison sections and the notes stay in ``table.md`` (the console gets one
    line pointing there), so a run's log stays short."""
    shown = []
    for line in (record_out / "table.md").read_text(encoding="utf-8").splitlines():
        if line.startswith(("### ", "- ")):  # table.md: header, rows, claims, then sections and notes
            break
        shown.append(line)
    sys.stdout.write("\n".join(shown).rstrip() + "\n")
    extra = ["comparisons.csv"] if metrics.get("comparisons") else []
    print(
        f"\nwrote {record_out}/: metrics.json, results.csv, predictions.csv, {', '.join([*extra, 'table.md'])} "
        f"(paired comparisons and notes in table.md); wall time {time.time() - started:.1f} s"
    )


# Config fields that select what runs or how it is reported, not what a trained number is:
# outside the fingerprint (parts are keyed by row and fold, so a run may grow by rows or folds;
# the reference and the margin are applied when the run finishes).
NOT_IDENTITY = ("seed", "budget", "folds", "rows", "networks", "verbose", "workers", "reference", "margin")


def identity_settings(config):
    """The fields of a run config (a dataclass) that decide its numbers, for the fingerprint."""
    return {key: value for key, value in dataclasses.asdict(config).items() if key not in NOT_IDENTITY}


def open_run(
    parser, args, *, script, corpus, label_view, protocol, budget, config, argv=None, hparam_files=(), **recorded
):
    """The :class:`~ser_keras.runs.RunRecord` of a script run, bound to its fingerprint; a
    folder of another identity (or finished without ``--resume``) exits 2 with the reason.
    ``recorded``: the script's own settings (e.g. the file or run folder it reads), written
    to ``config.json`` and part of the fingerprint; ``argv`` (default ``sys.argv[1:]``) goes to
    ``config.json`` so that tools/merge_runs.py can finish a merged run with the same command."""
    fingerprint = run_fingerprint(
        script=script,
        corpus=corpus,
        label_view=label_view,
        protocol=protocol,
        budget=budget,
        seed=config.seed,
        settings={**identity_settings(config), **recorded},
        hparam_files=hparam_files,
    )
    try:
        return RunRecord(
            args.out,
            script=script,
            fingerprint=fingerprint,
            corpus=corpus,
            resume=args.resume,
            config={
                **dataclasses.asdict(config),
                "corpus": corpus.spec,
                **recorded,
                "argv": list(sys.argv[1:] if argv is None else argv),
            },
        )
    except (FileExistsError, ValueError) as error:
        parser.exit(2, f"error: {error}\n")


def add_precision_flag(parser):
    parser.add_argument(
        "--mixed-precision",
        action="store_true",
        help="train in mixed precision: bfloat16 where the hardware has it, else float16 with loss "
        "scaling; softmax outputs stay float32 (off by default: the papers trained in float32; "
        "recorded in the budget)",
    )


def precision_budget(args, budget, *, loss_scaling=True):
    """Set the dtype policy of ``--mixed-precision`` (before any model is built) and return
    ``budget`` with the policy in it; unchanged without the flag."""
    if not args.mixed_precision:
        return budget
    policy = configure_precision(mixed_policy(loss_scaling=loss_scaling))
    if not half_precision_native():
        logging.getLogger("ser_keras").warning(
            "--mixed-precision: this machine has no GPU and its CPU computes no half-precision type natively (no "
            "AVX512_BF16/AMX/AVX512_FP16), so %s is emulated and trains slower than float32 "
            "(python -m tools.bench.precision measures it).",
            policy,
        )
    return dataclasses.replace(
        budget, settings={**budget.settings, "precision": policy}, words=f"{budget.words}, {policy} mixed precision"
    )
