"""Merging run folders that ran disjoint folds (``--folds``) on different machines into one
run (SHORT Table 1, ELOR Table 5 and the analyses alike).

Runs merge only when their fingerprints agree (:mod:`ser_keras.runs`; the folds are not part
of a fingerprint) and their folds are disjoint. :func:`prepare_merge` copies every run's fold
parts and models into the merged folder and returns the script and command line that
finish it: the script itself, rerun with ``--resume`` over the union of the folds, finds
every part in place and only scores. So a merged run is, by construction, the run that
would have computed all folds in one go.
"""

import shutil
from pathlib import Path

from ser_keras.io import read_json, write_json
from ser_keras.runs import describe_differences, fingerprint_differences

# Flags of the stored command line the merge replaces: (flag, takes a value).
REPLACED_FLAGS = (("--out", True), ("--folds", True), ("--resume", False))


def without_flags(argv, flags=REPLACED_FLAGS):
    """``argv`` without the ``flags`` (``--flag value`` and ``--flag=value`` forms)."""
    kept, skip = [], False
    takes_value = dict(flags)
    for token in argv:
        if skip:
            skip = False
            continue
        name = token.split("=", 1)[0]
        if name in takes_value:
            skip = takes_value[name] and "=" not in token
            continue
        kept.append(token)
    return kept


def prepare_merge(runs, out):
    """Check ``runs`` (finished run folders), copy their parts and models into ``out``;
    return ``(script, argv)`` that finishes the merged run."""
    runs = [Path(run) for run in runs]
    if len(runs) < 2:
        raise ValueError("Merging needs at least two run folders.")
    fingerprints, folds = [], {}
    for run in runs:
        for name in ("fingerprint.json", "metrics.json", "config.json"):
            if not (run / name).exists():
                raise ValueError(f"{run} is not a finished run folder (no {name}).")
        fingerprints.append(read_json(run / "fingerprint.json"))
        for fold in read_json(run / "metrics.json")["folds"]:
            if fold in folds:
                raise ValueError(f"Fold {fold} is in both {folds[fold]} and {run}; each fold must come from one run.")
            folds[fold] = run
    for run, fingerprint in zip(runs[1:], fingerprints[1:]):
        differences = fingerprint_differences(fingerprints[0], fingerprint)
        if differences:
            raise ValueError(
                f"{run} is a run of another identity than {runs[0]}: "
                f"{describe_differences(differences, there=f'in {runs[0]}', now=f'in {run}')}."
            )
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; merge into a new folder.")
    for run in runs:
        for folder in ("parts", "models"):
            if (run / folder).is_dir():
                shutil.copytree(run / folder, out / folder, dirs_exist_ok=True)
    write_json(out / "fingerprint.json", fingerprints[0])
    config = read_json(runs[0] / "config.json")
    argv = [*without_flags(config["argv"]), "--out", str(out), "--folds", ",".join(folds), "--resume"]
    return fingerprints[0]["script"], argv
