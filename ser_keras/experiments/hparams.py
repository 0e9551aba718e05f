"""Hyperparameter files of the tuning scripts and where their values came from (ELOR
"Hyperparamter optimization"; SHORT §2.3), for ``wieser_table5.py --hparams`` and
``table1.py --mlp-hparams``.

Two protocols:

- **once** (the papers'): ``--hparams FILE`` — one search on one fold's training pool; its
  values serve every fold, so the other folds' test speakers were in the pool the values
  were chosen on. The table says so.
- **per fold** (nested, unbiased): ``--hparams DIR`` — ``tuning/search_*.py --outer-folds``
  wrote ``DIR/<fold>/best_hparams.json`` from a search on that fold's training pool only;
  each fold trains with its own values. A fold being run without a file is refused.

A file's provenance is the ``search.json`` beside it (corpus fingerprint, budget, fold). A
non-quick run refuses a file from a ``--quick`` search (its layer sizes are pinned tiny) or
from another corpus, naming the file and the mismatch, unless ``allow_foreign``; then the
table says where the values came from.
"""

import dataclasses
from pathlib import Path

from ser_keras.io import read_json
from ser_keras.runs import RunIdentityError, file_sha256

BEST = "best_hparams.json"
SEARCH = "search.json"


@dataclasses.dataclass(frozen=True)
class HparamFile:
    """One ``best_hparams.json`` (or hand-written file) with its search record, if any."""

    path: Path
    content: dict
    search: dict | None
    sha256: str

    def mismatches(self, corpus, *, quick):
        """What makes this file foreign to a run on ``corpus`` with ``quick``: ``[(key, file, run)]``."""
        if self.search is None:
            return []
        found = []
        if self.search.get("quick") and not quick:
            found.append(("quick", True, False))
        if self.search.get("corpus_sha256") not in (None, corpus.sha256):
            found.append(
                (
                    "corpus",
                    f"{self.search.get('corpus')} (sha256 {self.search['corpus_sha256'][:12]}…)",
                    f"{corpus.spec} (sha256 {corpus.sha256[:12]}…)",
                )
            )
        return found

    def record(self):
        """JSON-ready provenance of this file for metrics.json and the sidecars."""
        search = self.search or {}
        return {
            "file": str(self.path),
            "sha256": self.sha256,
            "search": {
                key: search.get(key)
                for key in ("corpus", "corpus_sha256", "fold", "protocol", "tuner", "quick", "outer_fold")
            }
            if self.search
            else None,
        }


def read_hparam_file(path):
    """The file at ``path`` with the ``search.json`` beside it (None for a hand-written file)."""
    path = Path(path)
    content = _read_object(path)
    search_path = path.parent / SEARCH
    return HparamFile(
        path.resolve(), content, _read_object(search_path) if search_path.exists() else None, file_sha256(path)
    )


def _read_object(path):
    try:
        data = read_json(path)
    except FileNotFoundError:
        raise ValueError(
            f"{path} does not exist (the tuning scripts write {BEST} and {SEARCH} into their --out folder)."
        ) from None
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(data).__name__}.")
    return data


@dataclasses.dataclass(frozen=True)
class HparamSource:
    """The hyperparameter files of a run: one for every fold (``once``) or one per fold."""

    protocol: str  # "once" or "per_fold"
    files: dict  # fold name (or "*" for once) -> HparamFile

    def for_fold(self, fold):
        return self.files["*"] if self.protocol == "once" else self.files[fold]

    def paths(self):
        return [file.path for file in self.files.values()]

    def summary(self, *, foreign=()):
        """The sentence ``table.md`` prints about where the values came from."""
        if self.protocol == "once":
            file = self.files["*"]
            fold = (file.search or {}).get("fold")
            text = (
                f"selected once on fold {fold}'s training pool ({file.path}); the other folds' test speakers "
                "were in that pool (paper protocol)."
                if fold
                else f"from {file.path} (no search record beside it: provenance unknown)."
            )
        else:
            text = (
                f"selected per outer fold on that fold's training pool only (nested search, "
                f"{len(self.files)} files under {next(iter(self.files.values())).path.parent.parent})."
            )
        if foreign:
            text += " ACCEPTED DESPITE --allow-foreign-hparams: " + "; ".join(foreign) + "."
        return text

    def provenance(self, foreign=()):
        return {
            "protocol": self.protocol,
            "summary": self.summary(foreign=foreign),
            "files": {fold: file.record() for fold, file in self.files.items()},
            "foreign": list(foreign),
        }


def open_hparam_source(path, folds, *, corpus=None, quick=False, allow_foreign=False):
    """The :class:`HparamSource` of ``--hparams PATH`` for the run's ``folds`` (names).

    A folder is the per-fold form and must hold ``<fold>/best_hparams.json`` for every fold
    being run. Returns ``(source, foreign)``; ``foreign`` lists accepted mismatches (only
    with ``allow_foreign``), otherwise a mismatch with the run's ``corpus`` / ``quick``
    raises :class:`RunIdentityError` (no check without ``corpus``).
    """
    path = Path(path)
    if path.is_dir():
        if folds is None:
            raise ValueError(f"{path} is a folder (a per-fold search); the folds being run must be known.")
        missing = [fold for fold in folds if not (path / fold / BEST).exists()]
        if missing:
            raise ValueError(
                f"{path} lacks {BEST} for fold(s) {', '.join(missing)} being run (a per-fold search "
                f"writes {path}/<fold>/{BEST}; run tuning with --outer-folds covering them)."
            )
        source = HparamSource("per_fold", {fold: read_hparam_file(path / fold / BEST) for fold in folds})
    else:
        source = HparamSource("once", {"*": read_hparam_file(path)})
    foreign = []
    for file in source.files.values() if corpus is not None else ():
        for key, there, here in file.mismatches(corpus, quick=quick):
            message = f"{file.path}: {key} {there!r} in its search, {here!r} in this run"
            if not allow_foreign:
                raise RunIdentityError(
                    message
                    + ("; a --quick search pins tiny networks" if key == "quick" else "")
                    + ". Pass --allow-foreign-hparams to use it anyway (the table then says so)."
                )
            foreign.append(message)
    return source, foreign
