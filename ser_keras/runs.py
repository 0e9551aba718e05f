"""Run records with provenance, written by every replicate, tuning and tool script.

A run folder holds ``config.json`` (resolved config incl. seed), ``env.json`` (package
versions, git SHA, dirty flag, cores), per-(row, fold) parts under ``parts/`` so an
interrupted run resumes, and on completion ``metrics.json`` (schema of
shared/spec/published-numbers.md), ``results.csv``, ``predictions.csv`` and ``table.md``.
Every file is written atomically.
"""

import csv
import io
import os
import platform
import shutil
import subprocess
import time
from importlib import metadata
from pathlib import Path

from ser_keras.io import read_json, write_json, write_text

PACKAGES = ("ser-keras", "tensorflow", "keras", "keras-tuner", "opensmile", "numpy", "scipy",
            "scikit-learn", "h5py", "soundfile")


def environment():
    """Package versions, git commit and host facts for ``env.json``."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    root = Path(__file__).resolve().parent.parent
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpu_count": os.cpu_count(), "packages": versions, **_git(root)}


def _git(root):
    def run(*args):
        result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    sha = run("rev-parse", "HEAD")
    status = run("status", "--porcelain", "--untracked-files=no")
    return {"git_sha": sha, "git_dirty": None if status is None else bool(status)}


class RunRecord:
    """The run folder of one script invocation."""

    def __init__(self, out, *, script, config, corpus=None, resume=False):
        self.out = Path(out)
        self.script = script
        self.config = dict(config)
        self.corpus = corpus
        self.started = time.time()
        parts = self.out / "parts"
        if parts.exists() and not resume:
            if any(parts.rglob("*.json")):
                raise FileExistsError(f"{self.out} already holds results of a run; pass --resume to continue "
                                      "it or choose another --out.")
        self.out.mkdir(parents=True, exist_ok=True)
        for stale in self.out.rglob(".*"):  # temporaries of a killed writer; never read as results
            if stale.is_file() and stale.suffix in (".tmp", ".h5"):
                stale.unlink()
        write_json(self.out / "config.json", self.config)
        write_json(self.out / "env.json", environment())

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
        return {"spec": corpus.spec, "sha256": corpus.sha256, "label_view": label_view,
                "utterances": len(corpus.utterances)} if corpus is not None else None

    def finish(self, rows, *, protocol, predictions=(), claims=(), extra=None, label_view=None,
               table_title="", notes=()):
        """Write metrics.json, results.csv, predictions.csv and table.md; return the metrics."""
        metrics = {"script": self.script, "corpus": self.corpus_info(label_view), "protocol": protocol,
                   "seed": self.config.get("seed"), "quick": bool(self.config.get("quick")),
                   "wall_s": round(time.time() - self.started, 1), "rows": list(rows), "claims": list(claims)}
        if extra:
            metrics.update(extra)
        write_json(self.out / "metrics.json", metrics)
        write_text(self.out / "results.csv", _csv(["id", "system", "classifier", "metric", "value",
                                                    "ci95_low", "ci95_high", "paper", "status"],
                                                   [_flat(row) for row in rows]))
        write_text(self.out / "predictions.csv", _csv(["id", "row", "fold", "target", "prediction"], predictions))
        write_text(self.out / "table.md", markdown_table(metrics, title=table_title, notes=notes))
        return metrics


def _flat(row):
    low, high = row.get("ci95") or (None, None)
    return [row["id"], row.get("system"), row.get("classifier"), row.get("metric"), row.get("value"),
            low, high, row.get("paper"), row.get("status")]


def _csv(header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _number(value, digits=2):
    return "" if value is None else (f"{value:.{digits}f}" if isinstance(value, float) else str(value))


def markdown_table(metrics, *, title="", notes=()):
    """Ours beside the paper's, one line per row, claims and notes below."""
    lines = [f"## {title or metrics['script']}", "",
             f"Corpus `{(metrics.get('corpus') or {}).get('spec')}`, protocol {metrics['protocol']}, "
             f"seed {metrics['seed']}{', QUICK budget' if metrics['quick'] else ''}, wall {metrics['wall_s']} s.", "",
             "| id | system | classifier | metric | ours | 95% CI | paper | status |",
             "|---|---|---|---|---|---|---|---|"]
    for row in metrics["rows"]:
        ci = row.get("ci95")
        ci_text = f"[{_number(ci[0])}, {_number(ci[1])}]" if ci else ""
        paper = row.get("paper")
        lines.append(f"| {row['id']} | {row.get('system', '')} | {row.get('classifier', '')} | "
                     f"{row.get('metric', '')} | {_number(row.get('value'))} | {ci_text} | "
                     f"{_number(paper) if paper is not None else 'n/a (not in source text)'} | {row.get('status', '')} |")
    if metrics.get("claims"):
        lines += ["", "| paper's claim | holds on this run |", "|---|---|"]
        lines += [f"| {c['claim']} | {'holds' if c['holds'] else 'does not hold' if c['holds'] is False else 'n/a'} |"
                  for c in metrics["claims"]]
    lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines).rstrip() + "\n"
