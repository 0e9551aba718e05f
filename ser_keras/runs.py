"""Run records with provenance and identity, written by every replicate, tuning and tool script.

A run folder holds ``fingerprint.json`` (the run's identity, below), ``config.json``
(resolved config incl. seed), ``env.json`` (package versions, git SHA, dirty flag, CPU, cores, GPUs,
how training executes),
per-(row, fold) parts under ``parts/`` so an interrupted run resumes, and on completion
``metrics.json`` (schema: ``ser_keras/schemas/metrics.schema.json``; it names the machine the
run finished on), ``results.csv``,
``predictions.csv`` and ``table.md``. Every file is written atomically.

The fingerprint is what a number depends on: script, corpus spec + content hash, label
view, protocol, the resolved budget, seed, the row/network settings, the sha256 of every
hyperparameter file and the code: the sha256 of every source file of the package (so an
edit refuses a resume whether or not it was committed, and names the files, while a README
or test commit does not) and the versions of the libraries that compute the numbers.
Reporting-only settings (the comparisons' reference, the non-inferiority margin) are not
part of it: they are applied when a run finishes. It is computed once per run;
``--resume``, a rerun into the same folder, merges and analyses reading a run's models
compare it, and a difference is refused with every differing key named (never silently
reused).
"""

import csv
import dataclasses
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import time
from importlib import metadata
from pathlib import Path

import ser_keras
from ser_keras.io import read_json, write_json, write_text
from ser_keras.stats import comparisons_csv_rows, speakers_text

# One line per test item and row; the speaker lets a paired test resample speakers from the
# file alone (tools/compare_runs.py).
PREDICTIONS_HEADER = ("id", "row", "fold", "target", "prediction", "speaker")
PACKAGES = (
    "ser-keras",
    "tensorflow",
    "keras",
    "keras-tuner",
    "opensmile",
    "numpy",
    "scipy",
    "scikit-learn",
    "h5py",
    "soundfile",
)
# Libraries whose version can change a trained or extracted number: part of the identity.
IDENTITY_PACKAGES = ("tensorflow", "keras", "opensmile", "scikit-learn")
SOURCE_KEY = "code.source_files."


def environment():
    """Package versions, git commit and host facts for ``env.json``: among them the CPU, the
    GPUs TensorFlow sees and how this process executes training (``execution``: the device,
    XLA, the same-maths routes, the input path, the precision defaults; see
    :mod:`ser_keras.training.execution`)."""
    from ser_keras.training import execution

    decided = execution.current()
    versions = package_versions(PACKAGES)
    root = Path(__file__).resolve().parent.parent
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu": {"model": decided.cpu_model, "avx512": decided.cpu_avx512},
        "gpus": list(decided.gpus),
        "execution": decided.to_dict(),
        "packages": versions,
        **_git(root),
    }


def package_versions(packages):
    """``{package: installed version or None}``."""
    versions = {}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def describe_machine(environment):
    """One line for a table's header: the CPU (whether it has AVX-512, which decides the
    training routes and so a trained model's rounding), the cores and the GPUs, from
    :func:`environment`'s record."""
    cpu = environment.get("cpu") or {}
    avx512 = {True: "AVX-512", False: "no AVX-512", None: "vector extensions unknown"}[cpu.get("avx512")]
    gpus = ", ".join(environment.get("gpus") or ()) or "no GPU"
    return f"{cpu.get('model') or 'unknown CPU'} ({avx512}), {environment.get('cpu_count')} CPU cores, {gpus}"


def _git(root):
    def run(*args):
        result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    sha = run("rev-parse", "HEAD")
    status = run("status", "--porcelain", "--untracked-files=no")
    return {"git_sha": sha, "git_dirty": None if status is None else bool(status)}


BUDGET_NAMES = ("full", "embedded", "quick")


@dataclasses.dataclass(frozen=True)
class Budget:
    """The compute budget a run's numbers were made with.

    ``name``: ``full`` (the papers' protocol, every real corpus), ``embedded`` (the embedded
    synthetic corpus' reduced budget) or ``quick`` (``--quick`` smoke runs); ``settings``:
    the resolved config overrides; ``words``: the same in words for ``table.md``.
    """

    name: str
    settings: dict
    words: str

    def __post_init__(self):
        if self.name not in BUDGET_NAMES:
            raise ValueError(f"A budget's name must be one of {BUDGET_NAMES}. Got {self.name!r}.")

    def to_dict(self):
        return {"name": self.name, **_jsonable(self.settings), "description": self.words}


class RunIdentityError(ValueError):
    """A run folder, model or hyperparameter file of another identity than the running one."""


def source_hashes():
    """sha256 of every source file of the installed package (``.py`` and the JSON schemas),
    by path relative to the package's parent folder."""
    package = Path(ser_keras.__file__).resolve().parent
    files = sorted(
        path for pattern in ("*.py", "*.json") for path in package.rglob(pattern) if "__pycache__" not in path.parts
    )
    return {path.relative_to(package.parent).as_posix(): file_sha256(path) for path in files}


def code_version():
    """The code part of every fingerprint: package version, a hash over its source files (and
    each file's, to name what changed), and the versions of :data:`IDENTITY_PACKAGES`."""
    files = source_hashes()
    combined = hashlib.sha256("".join(f"{path}\0{digest}\n" for path, digest in files.items()).encode())
    return {
        "ser_keras": ser_keras.__version__,
        "source_sha256": combined.hexdigest(),
        "source_files": files,
        "packages": package_versions(IDENTITY_PACKAGES),
    }


def file_sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_fingerprint(*, script, corpus, label_view, protocol, budget, seed, settings, hparam_files=()):
    """The identity of a run (module docstring). ``settings``: row/network configs that decide
    its numbers (not the selection of rows or folds, which parts are keyed by)."""
    return _jsonable(
        {
            "script": script,
            "corpus": {"spec": corpus.spec, "sha256": corpus.sha256},
            "label_view": label_view,
            "protocol": protocol,
            "budget": budget.to_dict(),
            "seed": seed,
            "settings": settings,
            "hyperparameter_files": {str(path): file_sha256(path) for path in hparam_files},
            "code": code_version(),
        }
    )


def fingerprint_differences(stored, current, *, ignore=()):
    """``[(key, stored value, current value)]`` over dotted keys of two fingerprints."""
    flat_stored, flat_current = _flatten(stored), _flatten(current)
    return [
        (key, flat_stored.get(key), flat_current.get(key))
        for key in sorted(set(flat_stored) | set(flat_current))
        if flat_stored.get(key) != flat_current.get(key) and not key.startswith(tuple(ignore))
    ]


def describe_differences(differences, *, there="there", now="now"):
    """The differences in words; changed source files are named together, without hashes."""
    edited = [key[len(SOURCE_KEY) :] for key, _, _ in differences if key.startswith(SOURCE_KEY)]
    words = [
        f"{key}: {first!r} {there}, {second!r} {now}"
        for key, first, second in differences
        if not key.startswith(SOURCE_KEY) and key != "code.source_sha256"
    ]
    if edited:
        words.append(f"package source differs in {', '.join(edited)}")
    return "; ".join(words)


def _flatten(value, prefix=""):
    if isinstance(value, dict) and value:
        flat = {}
        for key, inner in value.items():
            flat.update(_flatten(inner, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))  # tuples -> lists, as stored


class RunRecord:
    """The run folder of one script invocation, bound to its fingerprint."""

    def __init__(self, out, *, script, fingerprint, config, corpus=None, resume=False):
        self.out = Path(out)
        self.script = script
        self.fingerprint = _jsonable(fingerprint)
        self.config = dict(config)
        self.corpus = corpus
        self.started = time.time()
        self._check_identity(resume)
        self.out.mkdir(parents=True, exist_ok=True)
        for stale in self.out.rglob(".*"):  # temporaries of a killed writer; never read as results
            if stale.is_file() and stale.suffix in (".tmp", ".h5"):
                stale.unlink()
        write_json(self.out / "fingerprint.json", self.fingerprint)
        write_json(self.out / "config.json", self.config)
        self.environment = environment()
        write_json(self.out / "env.json", self.environment)

    def _check_identity(self, resume):
        """Refuse a folder holding results of another identity, or results without --resume."""
        holds_results = (self.out / "metrics.json").exists() or any((self.out / "parts").rglob("*.json"))
        if not holds_results:
            return
        path = self.out / "fingerprint.json"
        if not path.exists():
            raise RunIdentityError(
                f"{self.out} holds results without a fingerprint (an older ser-keras run); choose another --out."
            )
        differences = fingerprint_differences(read_json(path), self.fingerprint)
        if differences:
            raise RunIdentityError(
                f"{self.out} holds a run of another identity, nothing reused: "
                f"{describe_differences(differences)}. Choose another --out."
            )
        if not resume:
            raise FileExistsError(
                f"{self.out} already holds results of this run; pass --resume to continue it or choose another --out."
            )

    @property
    def budget(self):
        return self.fingerprint["budget"]

    def sidecar(self, **fields):
        """Model sidecar content: ``fields`` plus the run's budget and fingerprint."""
        return {**fields, "budget": self.budget, "fingerprint": self.fingerprint}

    def part_path(self, row, fold):
        return self.out / "parts" / row / f"{fold}.json"

    def load_part(self, row, fold):
        """A finished (row, fold) result, or None."""
        path = self.part_path(row, fold)
        return read_json(path) if path.exists() else None

    def save_part(self, row, fold, result):
        write_json(self.part_path(row, fold), result)

    def clear_parts(self):
        shutil.rmtree(self.out / "parts", ignore_errors=True)

    def corpus_info(self, label_view=None):
        corpus = self.corpus
        if isinstance(corpus, dict):  # merged runs carry the corpus description, not the records
            return corpus
        return (
            {
                "spec": corpus.spec,
                "sha256": corpus.sha256,
                "label_view": label_view,
                "utterances": len(corpus.utterances),
                # Recorded so that a report can break scores down by gender from the run alone.
                "speaker_genders": dict(
                    sorted({u.speaker: u.gender for u in corpus.utterances if getattr(u, "gender", None)}.items())
                ),
            }
            if corpus is not None
            else None
        )

    def finish(
        self,
        rows,
        *,
        protocol,
        predictions=(),
        claims=(),
        extra=None,
        label_view=None,
        table_title="",
        notes=(),
        sections=(),
        hyperparameters=None,
        comparisons=(),
        scoring=None,
    ):
        """Write metrics.json, results.csv, predictions.csv and table.md; return the metrics.

        ``rows``: :class:`ResultRow` records; ``predictions``: lines of :data:`PREDICTIONS_HEADER`;
        ``scoring``: the :class:`~ser_keras.results.Scoring` of those predictions;
        ``claims``: :class:`Claim` records; ``sections``:
        extra Markdown blocks for ``table.md`` (e.g. paired comparisons); ``hyperparameters``:
        where tuned values came from (``{"summary": words, ...}``), None for the defaults;
        ``comparisons``: :class:`~ser_keras.stats.Comparison` records for ``comparisons.csv``."""
        rows = [row.to_dict() for row in rows]
        metrics = {
            "script": self.script,
            "corpus": self.corpus_info(label_view),
            "protocol": protocol,
            "seed": self.config.get("seed"),
            "budget": self.budget,
            "quick": self.budget["name"] == "quick",
            "hyperparameters": hyperparameters,
            "fingerprint": self.fingerprint,
            "wall_s": round(time.time() - self.started, 1),
            "rows": rows,
            "claims": [claim.to_dict() for claim in claims],
            "comparisons": [dataclasses.asdict(comparison) for comparison in comparisons],
        }
        # Where and how this process ran; resumed or merged parts may have trained elsewhere (their
        # sidecars name the layers they routed).
        metrics["finished_on"] = {key: self.environment[key] for key in ("cpu", "cpu_count", "gpus", "execution")}
        if scoring is not None:
            metrics["scoring"] = scoring.to_dict()
        if extra:
            metrics.update(extra)
        write_json(self.out / "metrics.json", metrics)
        write_text(
            self.out / "results.csv",
            csv_text(
                ["id", "system", "classifier", "metric", "value", "ci95_low", "ci95_high", "paper", "status", "origin"],
                [_flat(row) for row in rows],
            ),
        )
        write_text(self.out / "predictions.csv", csv_text(PREDICTIONS_HEADER, predictions))
        if comparisons:
            header, *lines = comparisons_csv_rows(comparisons)
            write_text(self.out / "comparisons.csv", csv_text(header, lines))
        write_text(self.out / "table.md", markdown_table(metrics, title=table_title, notes=notes, sections=sections))
        return metrics


def _flat(row):
    low, high = row.get("ci95") or (None, None)
    return [
        row["id"],
        row.get("system"),
        row.get("classifier"),
        row.get("metric"),
        row.get("value"),
        low,
        high,
        row.get("paper"),
        row.get("status"),
        row.get("origin"),
    ]


def csv_text(header, rows):
    """``header`` and ``rows`` as CSV text (for an atomic ``write_text``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _number(value, digits=2):
    return "" if value is None else (f"{value:.{digits}f}" if isinstance(value, float) else str(value))


def _paper_cell(row):
    if row.get("origin") == "plugin":
        return "— (plug-in row, not from the paper)"
    return _number(row["paper"]) if row.get("paper") is not None else "n/a (not in source text)"


def _ci_cell(row, name_clusters):
    """A row's interval; with ``name_clusters`` (rows over different speaker counts) it says over how many."""
    ci, clusters = row.get("ci95"), row.get("ci_clusters")
    if ci is None:
        return f"none ({speakers_text(clusters)})" if clusters == 1 else ""
    text = f"[{_number(ci[0])}, {_number(ci[1])}]"
    return f"{text}, {speakers_text(clusters)}" if name_clusters and clusters else text


def markdown_table(metrics, *, title="", notes=(), sections=()):
    """Ours beside the paper's, one line per row; what the numbers are above; claims,
    ``sections`` and notes below."""
    corpus = metrics.get("corpus") or {}
    budget = metrics.get("budget") or {}
    sha = (corpus.get("sha256") or "")[:12]
    lines = [
        f"## {title or metrics['script']}",
        "",
        f"Corpus `{corpus.get('spec')}` (sha256 {sha}…), label view {corpus.get('label_view')}, "
        f"protocol {metrics['protocol']}, seed {metrics['seed']}, wall {metrics['wall_s']} s.",
        f"Budget: **{budget.get('name')}** — {budget.get('description')}.",
    ]
    provenance = metrics.get("hyperparameters")
    if provenance:
        lines.append(f"Hyperparameters: {provenance['summary']}")
    code = (metrics.get("fingerprint") or {}).get("code") or {}
    source = (code.get("source_sha256") or "unknown")[:12]
    code_line = f"Code: ser-keras {code.get('ser_keras')}, source sha256 {source}"
    if metrics.get("finished_on"):
        code_line += f"; finished on {describe_machine(metrics['finished_on'])}"
    lines.append(code_line + ".")
    clusters = sorted({row.get("ci_clusters") for row in metrics["rows"] if row.get("ci_unit")})
    if not clusters:
        ci_header = "95 % CI"
    elif len(clusters) == 1:
        ci_header = f"95 % CI over {speakers_text(clusters[0])}"
    else:
        ci_header = "95 % CI over speakers"
    lines += [
        "",
        f"| id | system | classifier | metric | ours | {ci_header} | paper | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in metrics["rows"]:
        lines.append(
            f"| {row['id']} | {row.get('system', '')} | {row.get('classifier', '')} | "
            f"{row.get('metric', '')} | {_number(row.get('value'))} | {_ci_cell(row, len(clusters) > 1)} | "
            f"{_paper_cell(row)} | {row.get('status', '')} |"
        )
    if metrics.get("claims"):
        lines += ["", "| paper's claim | on this run | on what |", "|---|---|---|"]
        lines += [f"| {c['claim']} | {c['verdict']} | {c.get('detail', '')} |" for c in metrics["claims"]]
    for section in sections:
        lines += ["", section.rstrip()]
    lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines).rstrip() + "\n"
