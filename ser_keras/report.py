"""One replication report from finished run folders: ``report.md`` and a self-contained ``report.html``.

Not a paper section: the page a researcher shares after a run. It reads what the scripts leave
in their run folders (``metrics.json``, ``predictions.csv``, ``parts/``, ``table.md``,
``config.json``, ``env.json``, the figures) and what ``tools/compare_runs.py --out`` leaves
(``comparison.md``), and lays out per run: ours beside the paper with the interval and status,
the claims' verdicts with their detail, the sections of ``table.md`` (paired comparisons),
every row's score per speaker and per gender recomputed from ``predictions.csv`` with its
spread, the compute ledger of the (row, fold) units, provenance and the deviations that apply,
and every figure.

The HTML inlines its CSS and images (data URIs): no network, no script. ``report.md`` depends
on the run folders alone, except for its one ``Generated`` line, so a regenerated report can be
compared with a committed one.
"""

import dataclasses
import datetime
import os
import re
import shutil
from collections import Counter
from pathlib import Path

import numpy as np

import ser_keras
from ser_keras.data.emodb import SPEAKER_GENDER
from ser_keras.document import (
    Bullets,
    Figure,
    Heading,
    Paragraph,
    Table,
    markdown_blocks,
    to_html,
    to_markdown,
)
from ser_keras.experiments.reporting import scorer
from ser_keras.experiments.run_comparison import read_run_predictions
from ser_keras.io import read_json, write_text
from ser_keras.runs import describe_machine

TITLE = "ser-keras replication report"
GENERATED = "Generated "  # the one line of report.md that differs between two generations
DEVIATIONS_DOC = Path(__file__).resolve().parent.parent / "docs" / "deviations.md"
# docs/deviations.md's sections that apply to each paper's scripts.
DEVIATION_SECTIONS = {
    "SHORT": ("Budgets", "SHORT (Table 1 and §3)", "Both papers"),
    "ELOR": ("Budgets", "ELOR (Table 5 and the analyses)", "Both papers"),
}
SPEAKER_COLUMNS = 10  # speakers per table of the per-speaker matrix, so it fits a 1280 px page
_IEMOCAP_SPEAKER = re.compile(r"^Ses\d\d([FM])$")  # IEMOCAP's speakers are named session + gender


# -- reading run folders --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class RunFolder:
    """A finished run folder as the report reads it: a script's run (``metrics``) or a
    compare_runs folder (``metrics`` None). ``corpus_sha256``: a comparison names only the
    first 12 hex digits of its corpus' hash."""

    number: int
    path: Path
    title: str
    corpus_sha256: str
    corpus_spec: str
    metrics: dict | None
    config: dict
    environment: dict
    markdown: str  # table.md, or the comparison's comparison.md
    figures: tuple
    supplements: tuple = ()  # (heading, Markdown) of the run's further documents (SUPPLEMENTS)


# Further Markdown a script writes beside table.md, shown under these headings.
SUPPLEMENTS = {"top_features.md": "Top-10 features"}


def read_run(path, number, *, skip=None):
    """The :class:`RunFolder` of ``path``; ValueError naming it when it is not a finished one.
    ``skip``: a folder whose PNGs are not the run's (a report's own ``figures/``)."""
    path = Path(path).resolve()
    figures = tuple(sorted(png for png in path.rglob("*.png") if skip is None or not png.is_relative_to(skip)))
    if (path / "metrics.json").is_file():
        metrics = read_json(path / "metrics.json")
        markdown = (path / "table.md").read_text(encoding="utf-8") if (path / "table.md").is_file() else ""
        title = next((line[3:].strip() for line in markdown.splitlines() if line.startswith("## ")), metrics["script"])
        corpus = metrics["corpus"]
        optional = {
            name: read_json(path / f"{name}.json") if (path / f"{name}.json").is_file() else {}
            for name in ("config", "env")
        }
        return RunFolder(
            number,
            path,
            title,
            corpus["sha256"],
            corpus["spec"],
            metrics,
            optional["config"],
            optional["env"],
            markdown,
            figures,
            tuple(
                (heading, (path / name).read_text(encoding="utf-8"))
                for name, heading in SUPPLEMENTS.items()
                if (path / name).is_file()
            ),
        )
    if (path / "comparison.md").is_file():
        markdown = (path / "comparison.md").read_text(encoding="utf-8")
        corpus = re.search(r"corpus `([^`]*)` \(sha256 ([0-9a-f]{12})", markdown)
        if corpus is None:
            raise ValueError(
                f"{path / 'comparison.md'} names no corpus and hash; write it with tools/compare_runs.py --out."
            )
        title = next((line[3:].strip() for line in markdown.splitlines() if line.startswith("## ")), "Run comparison")
        return RunFolder(number, path, title, corpus.group(2), corpus.group(1), None, {}, {}, markdown, figures)
    raise ValueError(
        f"{path} is not a finished run folder: it holds neither metrics.json (a script's run) nor "
        "comparison.md (tools/compare_runs.py --out)."
    )


def check_corpora(runs, *, mixed_corpora=False):
    """Refuse runs of different corpus contents (sha256) unless ``mixed_corpora``."""
    first = runs[0].corpus_sha256
    if mixed_corpora or all(run.corpus_sha256.startswith(first) or first.startswith(run.corpus_sha256) for run in runs):
        return
    listing = "; ".join(f"{run.path}: {run.corpus_spec} (sha256 {run.corpus_sha256[:12]}…)" for run in runs)
    raise ValueError(
        f"The runs are of different corpora: {listing}. One report compares runs of one corpus; "
        "pass --mixed-corpora to report them together anyway."
    )


# -- per speaker ----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SpeakerScores:
    """One row's ``metric`` (%) pooled, per speaker (over that speaker's test items) and per
    gender (pooled over the items of its speakers)."""

    row: str
    metric: str
    pooled: float
    speakers: dict
    genders: dict

    @property
    def spread(self):
        """``(lowest speaker, highest speaker, sample SD over speakers or None)``."""
        values = np.array(list(self.speakers.values()))
        ordered = sorted(self.speakers, key=lambda speaker: (self.speakers[speaker], speaker))
        return ordered[0], ordered[-1], float(values.std(ddof=1)) if len(values) > 1 else None


def speaker_genders(corpus, speakers):
    """``{speaker: gender}`` from what the run says (``metrics.json``'s ``corpus``): the
    genders it recorded (a manifest's ``gender`` column, EmoDB's speaker table), else EmoDB's
    table or IEMOCAP's speaker names (``Ses01F``; the embedded synthetic corpus copies them)
    for runs that did not record them; else ``{}``. Never files outside the run folder, so a
    report reads the same wherever it is regenerated."""
    recorded = corpus.get("speaker_genders") or {}
    if recorded:
        return {speaker: recorded[speaker] for speaker in speakers if recorded.get(speaker)}
    kind = corpus["spec"].partition(":")[0]
    if kind == "emodb":
        return {speaker: SPEAKER_GENDER[speaker] for speaker in speakers if speaker in SPEAKER_GENDER}
    if kind in ("iemocap", "synthetic"):
        return {speaker: match.group(1) for speaker in speakers if (match := _IEMOCAP_SPEAKER.match(speaker))}
    return {}


def speaker_scores(run):
    """:class:`SpeakerScores` of every row and scored metric in a run's ``predictions.csv``
    (none for a run that predicts nothing, e.g. a figure's); ValueError naming the file for a
    ``predictions.csv`` this version cannot score (runs older than its speaker column)."""
    metrics, path = run.metrics, run.path / "predictions.csv"
    if metrics is None or not path.is_file() or len(path.read_text(encoding="utf-8").splitlines()) < 2:
        return []
    predictions = read_run_predictions(run.path)
    scoring = predictions.scoring
    all_speakers = sorted({speaker for row in predictions.rows.values() for speaker in row.speakers})
    genders = speaker_genders(metrics["corpus"], all_speakers)
    found = []
    for row_id, row in predictions.rows.items():
        speakers = np.array(row.speakers)
        for metric in scoring.metrics:
            score = scorer(metric, scoring.num_classes)

            def percent(mask, score=score, row=row):
                return round(100.0 * score(row.targets[mask], row.predictions[mask]), 2)

            by_gender = {
                gender: percent(np.isin(speakers, [s for s in all_speakers if genders.get(s) == gender]))
                for gender in sorted(set(genders.values()))
                if any(genders.get(s) == gender for s in speakers)
            }
            found.append(
                SpeakerScores(
                    row_id,
                    metric,
                    percent(np.ones(len(speakers), bool)),
                    {speaker: percent(speakers == speaker) for speaker in sorted(set(row.speakers))},
                    by_gender,
                )
            )
    return found


# -- compute ledger -------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class LedgerRow:
    """What one row's (row, fold) units cost, summed from their parts' ``compute`` records
    (:class:`~ser_keras.experiments.units.UnitMeter`); ``measured`` of ``units`` had one."""

    row: str
    units: int
    measured: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float | None
    devices: tuple


def compute_ledger(run):
    """One :class:`LedgerRow` per row (or network) folder of the run's ``parts/``, in the order
    the run's config lists its rows (or networks), then by name. Parts that are no row's result
    (Fig. 2's frequency responses, read from another run's models) cost nothing to list."""
    listed = list(run.config.get("rows") or run.config.get("networks") or ())
    results = {row["id"] for row in run.metrics["rows"]} | set(listed) | set(run.config.get("networks") or ())
    folders = [p for p in (run.path / "parts").glob("*") if p.is_dir() and p.name in results]
    ledger = []
    for folder in sorted(folders, key=lambda f: (listed.index(f.name) if f.name in listed else len(listed), f.name)):
        costs = [read_json(part).get("compute") for part in sorted(folder.glob("*.json"))]
        measured = [cost for cost in costs if cost]
        ledger.append(
            LedgerRow(
                folder.name,
                len(costs),
                len(measured),
                sum(c["wall_s"] for c in measured),
                sum(c["cpu_s"] for c in measured),
                max((c["peak_rss_mb"] for c in measured), default=None),
                tuple(sorted({c["device"] for c in measured})),
            )
        )
    return ledger


# -- the report -----------------------------------------------------------------------------------
def _number(value, digits=2):
    return "" if value is None else f"{value:.{digits}f}"


def _ci_text(row):
    ci = row.get("ci95")
    if not ci:
        return ""
    text = f"[{ci[0]:.2f}, {ci[1]:.2f}]"
    if row.get("ci_unit") and row.get("ci_clusters"):
        count = row["ci_clusters"]
        text += f" over {count} {row['ci_unit']}{'s' if count != 1 else ''}"
    return text


def _paper_columns(row):
    """``(paper, ours − paper, paper inside our CI)`` cells of a result row."""
    if row.get("origin") == "plugin":
        return "— (plug-in row)", "", ""
    paper, value, ci = row.get("paper"), row.get("value"), row.get("ci95")
    if paper is None:
        return "n/a (not in source text)", "", ""
    if value is None:
        return _number(paper), "", ""
    inside = "" if not ci else "yes" if ci[0] <= paper <= ci[1] else "no"
    return _number(paper), f"{value - paper:+.2f}", inside


def results_table(metrics):
    rows = [
        (
            r["id"],
            r.get("system", ""),
            r.get("classifier", ""),
            r.get("metric", ""),
            _number(r.get("value")),
            _ci_text(r),
            *_paper_columns(r),
            r.get("status", ""),
        )
        for r in metrics["rows"]
    ]
    return Table(
        (
            "id",
            "system",
            "classifier",
            "metric",
            "ours",
            "95 % CI",
            "paper",
            "ours − paper (pp)",
            "paper in CI",
            "status",
        ),
        tuple(rows),
        numeric=(4, 6, 7),
    )


def code_version(run, *, short=False):
    """The code a run's numbers came from, in words: the package version, the hash of its
    source (runs since the fingerprint holds one), the git commit of the checkout (env.json)
    and, unless ``short``, the TensorFlow and Keras versions."""
    code = ((run.metrics or {}).get("fingerprint") or {}).get("code") or {}
    git = code.get("git_sha") or run.environment.get("git_sha")
    parts = [f"ser-keras {code.get('ser_keras', '?')}"]
    if code.get("source_sha256"):
        parts.append(f"source sha256 `{code['source_sha256'][:12]}`")
    if git:
        parts.append(f"git `{git[:12]}`" + (" with uncommitted changes" if run.environment.get("git_dirty") else ""))
    if short:
        return ", ".join(parts[:2])
    packages = code.get("packages") or run.environment.get("packages") or {}
    return ", ".join(parts + [f"{name} {packages[name]}" for name in ("tensorflow", "keras") if packages.get(name)])


def provenance(run):
    """Bullets: what the numbers were made from and with."""
    metrics, config = run.metrics, run.config
    corpus, budget = metrics["corpus"], metrics["budget"]
    hparams = metrics.get("hyperparameters")
    files = (metrics.get("fingerprint") or {}).get("hyperparameter_files") or {}
    items = [
        f"Corpus `{corpus['spec']}`, sha256 `{corpus['sha256']}`, label view {corpus.get('label_view')}"
        + (f", {corpus['utterances']} utterances" if corpus.get("utterances") is not None else "")
        + f"; protocol {metrics['protocol']}"
        + (f"; folds {', '.join(metrics['folds'])}" if metrics.get("folds") else "")
        + ".",
        f"Budget **{budget['name']}**: {budget.get('description')}.",
        f"Seed {metrics['seed']}.",
        f"Code: {code_version(run)}.",
        "Hyperparameters: "
        + (hparams["summary"] if hparams else "the config defaults (no hyperparameter file)")
        + "".join(f"; `{name}` sha256 `{sha[:12]}`" for name, sha in files.items())
        + ".",
        f"Finished on {describe_machine(metrics['finished_on'])}." if metrics.get("finished_on") else "",
        f"Run wall time {metrics['wall_s']} s (of this invocation; resumed parts ran earlier).",
    ]
    if config.get("argv") is not None:
        items.append(f"Command: `ser-keras {metrics['script'].replace('_', '-')} {' '.join(config['argv'])}`.")
    return Bullets(tuple(item for item in items if item))


def deviations(run):
    """Bullets: the deviations from the papers that apply to this run."""
    metrics = run.metrics
    budget = metrics["budget"]
    items = []
    if budget["name"] != "full":
        items.append(f"Budget {budget['name']}, not the papers' full protocol: {budget.get('description')}.")
    if budget.get("precision") and budget["precision"] != "float32":
        items.append(f"Trained in {budget['precision']} mixed precision (the papers trained in float32).")
    for recorded in (*(metrics.get("deviations") or ()), *(run.config.get("deviations") or ())):
        items.append(recorded if isinstance(recorded, str) else "; ".join(f"{k}: {v}" for k, v in recorded.items()))
    paper = "ELOR" if metrics["script"].startswith("wieser") else "SHORT"
    sections = ", ".join(f"“{section}”" for section in DEVIATION_SECTIONS[paper])
    items.append(
        f"The choices every {paper} run makes where the paper is silent or departed from: "
        f"`docs/deviations.md`, sections {sections}."
    )
    return Bullets(tuple(items))


def speaker_blocks(run):
    try:
        scores = speaker_scores(run)
    except ValueError as error:
        return [Paragraph(f"Not broken down per speaker: {error}")]
    if not scores:
        return [
            Paragraph(
                "This run predicts no test items (`predictions.csv` holds none), so there is nothing "
                "to score per speaker."
            )
        ]
    genders = sorted({gender for s in scores for gender in s.genders})
    summary = []
    for s in scores:
        low, high, sd = s.spread
        summary.append(
            (
                s.row,
                s.metric,
                _number(s.pooled),
                str(len(s.speakers)),
                f"{_number(s.speakers[low])} ({low})",
                f"{_number(s.speakers[high])} ({high})",
                _number(sd),
                *(_number(s.genders.get(g)) for g in genders),
            )
        )
    numeric = (2, 3, 6, *range(7, 7 + len(genders)))
    blocks = [
        Paragraph(
            "Recomputed from `predictions.csv`: each speaker's score over that speaker's test items "
            + ("(UAR over the classes present in them); " if any(s.metric == "UAR" for s in scores) else "")
            + "SD is the sample SD over speakers"
            + (
                "; a gender's score pools the items of its speakers."
                if genders
                else "; the corpus does not say the speakers' genders."
            )
        ),
        Table(
            (
                "row",
                "metric",
                "pooled",
                "speakers",
                "lowest speaker",
                "highest speaker",
                "SD",
                *(f"gender {g}" for g in genders),
            ),
            tuple(summary),
            numeric=numeric,
        ),
    ]
    speakers = sorted({speaker for s in scores for speaker in s.speakers})
    for start in range(0, len(speakers), SPEAKER_COLUMNS):
        chunk = speakers[start : start + SPEAKER_COLUMNS]
        blocks.append(
            Table(
                ("row", "metric", *chunk),
                tuple((s.row, s.metric, *(_number(s.speakers.get(k)) for k in chunk)) for s in scores),
                numeric=tuple(range(2, 2 + len(chunk))),
            )
        )
    return blocks


def ledger_blocks(run):
    ledger = compute_ledger(run)
    models = run.config.get("models")
    if not ledger and models:
        return [
            Paragraph(
                f"This run trained and fitted nothing of its own (no row's fold parts): it analysed the models "
                f"of `{models}`; its cost is its run wall time above."
            )
        ]
    if not (run.path / "parts").is_dir():
        return [
            Paragraph(
                "This run folder was kept without its fold parts (`parts/`), where each unit records its "
                "cost, so no per-row cost can be listed; its run wall time is above."
            )
        ]
    if not ledger:
        return [
            Paragraph("This run trained and fitted nothing (no row's fold parts); its cost is its run wall time above.")
        ]
    rows = [
        (
            r.row,
            f"{r.measured} of {r.units}",
            _number(r.wall_s, 1) if r.measured else "not recorded",
            _number(r.cpu_s, 1) if r.measured else "",
            _number(r.peak_rss_mb, 0),
            ", ".join(r.devices),
        )
        for r in ledger
    ]
    measured = [r for r in ledger if r.measured]
    if measured:
        rows.append(
            (
                "all rows",
                f"{sum(r.measured for r in ledger)} of {sum(r.units for r in ledger)}",
                _number(sum(r.wall_s for r in measured), 1),
                _number(sum(r.cpu_s for r in measured), 1),
                _number(max(r.peak_rss_mb for r in measured), 0),
                ", ".join(sorted({d for r in measured for d in r.devices})),
            )
        )
    unit = "network (both heads)" if run.metrics["script"].startswith("wieser") else "row"
    note = (
        f"Per {unit}, summed over its (row, fold) units. A run trains up to two units at once (two threads), "
        "so the units' wall seconds may overlap and CPU seconds are the process's CPU seconds during each unit "
        "(its own work and whatever ran beside it), not the unit's share; peak RSS is the process's peak "
        "resident memory by the unit's end; device: where the unit trained."
    )
    if models:
        note += (
            f" Rows this run took from the run it analyses (`--models {models}`) list the cost "
            "recorded where they were computed: this ledger overlaps that run's."
        )
    missing = sum(r.units - r.measured for r in ledger)
    if missing:
        note += (
            f" {missing} unit(s) recorded no cost: trained by a ser-keras before units recorded their cost "
            "(rerun them to measure)."
        )
    return [
        Paragraph(note),
        Table(
            ("row", "units measured", "wall s", "process CPU s during the units", "peak RSS MB", "device"),
            tuple(rows),
            numeric=(2, 3, 4),
        ),
    ]


def run_blocks(run):
    """The blocks of one run's section."""
    blocks = [Heading(2, f"Run {run.number}: {run.title}"), Paragraph(f"From the run folder `{run.path.name}`.")]
    figures = (
        [
            Heading(3, "Figures"),
            *(
                Figure(
                    path,
                    f"run{run.number}_{'_'.join(path.relative_to(run.path).parts)}",
                    f"Run {run.number}, {path.relative_to(run.path)}",
                )
                for path in run.figures
            ),
        ]
        if run.figures
        else []
    )
    if run.metrics is None:  # a comparison of two runs: its own Markdown, below its title
        return (
            blocks
            + [
                block
                for block in markdown_blocks(run.markdown)
                if not (isinstance(block, Heading) and block.level <= 2)
            ]
            + figures
        )
    metrics = run.metrics
    blocks += [
        Heading(3, "Provenance"),
        provenance(run),
        Heading(3, "Deviations that apply"),
        deviations(run),
        Heading(3, "Ours beside the paper"),
        results_table(metrics),
    ]
    if metrics.get("claims"):
        blocks += [
            Heading(3, "The paper's claims on this run"),
            Table(
                ("claim", "verdict", "on what"),
                tuple((c["claim"], c["verdict"], c.get("detail", "")) for c in metrics["claims"]),
            ),
        ]
    for heading, text in run.supplements:
        blocks += [Heading(3, heading)] + [
            Heading(4, block.text) if isinstance(block, Heading) else block
            for block in markdown_blocks(text)
            if not (isinstance(block, Heading) and block.level <= 2)
        ]
    # table.md's own sections (paired comparisons, ...) as written; its closing bullets are notes.
    written = markdown_blocks(run.markdown)
    notes = written.pop() if written and isinstance(written[-1], Bullets) else None
    blocks += written[
        next((i for i, b in enumerate(written) if isinstance(b, Heading) and b.level >= 3), len(written)) :
    ]
    blocks += [Heading(3, "Per speaker"), *speaker_blocks(run), Heading(3, "Compute ledger"), *ledger_blocks(run)]
    if notes is not None:
        blocks += [Heading(3, "Notes"), notes]
    return blocks + figures


def _overview_wall(run):
    """The run's cost for the overview: its measured units' wall seconds, else its own wall time."""
    measured = [r for r in compute_ledger(run) if r.measured] if run.metrics else []
    if measured:
        return _number(sum(r.wall_s for r in measured), 1)
    return str((run.metrics or {}).get("wall_s", ""))


def report_blocks(runs):
    """The whole report but its ``Generated`` line: what was read, then one section per run."""
    corpora = sorted({(run.corpus_spec, run.corpus_sha256[:12]) for run in runs})
    corpus_text = "; ".join(f"`{spec}` (sha256 {sha}…)" for spec, sha in corpora)
    read = []
    for run in runs:
        metrics = run.metrics or {}
        claims = metrics.get("claims") or []
        read.append(
            (
                str(run.number),
                f"`{run.path.name}`",
                run.title,
                "compare_runs" if run.metrics is None else metrics["script"],
                (metrics.get("budget") or {}).get("name", ""),
                str(metrics.get("seed", "")),
                f"{run.corpus_spec} ({run.corpus_sha256[:12]}…)",
                code_version(run, short=True) if run.metrics else "",
                ", ".join(f"{n} {verdict}" for verdict, n in Counter(c["verdict"] for c in claims).items()),
                _overview_wall(run),
            )
        )
    blocks = [
        Paragraph(
            f"{len(runs)} run folder(s) read, on "
            + ("corpus " if len(corpora) == 1 else "**different corpora** (--mixed-corpora): ")
            + corpus_text
            + ". The paper's numbers are those our copy of each paper gives; the "
            "deviations from the papers are listed in `docs/deviations.md` of the ser-keras source. "
            "Wall s: the summed wall time of the run's measured (row, fold) units where it kept them "
            "(a resumed or merged run's own invocation is short), else the run's wall time."
        ),
        Table(
            ("run", "folder", "what", "script", "budget", "seed", "corpus", "code", "claims", "wall s"),
            tuple(read),
            numeric=(0, 5, 9),
        ),
    ]
    for run in runs:
        blocks += run_blocks(run)
    return blocks


def build_report(paths, *, mixed_corpora=False, out=None):
    """The blocks of the report on the run folders ``paths`` (in their order) written into ``out``."""
    if not paths:
        raise ValueError("A report needs at least one run folder.")
    # The report's own figure copies (out/figures/) are not a run's, wherever out lies: inside a
    # run folder, or above the run folders it reports.
    skip = None if out is None else (Path(out) / "figures").resolve()
    runs = [read_run(path, number, skip=skip) for number, path in enumerate(paths, start=1)]
    check_corpora(runs, mixed_corpora=mixed_corpora)
    return report_blocks(runs)


def write_report(paths, out, *, mixed_corpora=False, now=None):
    """Write ``report.md``, ``report.html`` and ``figures/`` (the PNGs report.md shows) into
    ``out``; return the two report paths."""
    blocks = build_report(paths, mixed_corpora=mixed_corpora, out=out)
    now = now or datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 (datetime.UTC is 3.11+)
    generated = f"{GENERATED}{now:%Y-%m-%d %H:%M} UTC by ser-keras {ser_keras.__version__} (`ser-keras report`)."
    out = Path(out)
    figures = [block for block in blocks if isinstance(block, Figure)]
    shutil.rmtree(out / "figures", ignore_errors=True)
    for figure in figures:
        (out / "figures").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(figure.path, out / "figures" / figure.name)
    write_text(out / "report.md", to_markdown(TITLE, generated, blocks))
    # A link the page can follow where this ser-keras has its source tree (an editable install).
    href = Path(os.path.relpath(DEVIATIONS_DOC, out.resolve())).as_posix() if DEVIATIONS_DOC.is_file() else None
    write_text(
        out / "report.html", to_html(TITLE, generated, blocks, links={"docs/deviations.md": href} if href else None)
    )
    return out / "report.md", out / "report.html"
