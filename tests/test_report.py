"""The replication report (ser_keras.report, ``ser-keras report``) on small run folders written
by the run record itself: self-contained HTML, corpora never mixed unasked, per-speaker
scores equal to scikit-learn's, the compute ledger, and a report.md that regenerates equal
but for its date line."""

import base64
import datetime
import re
import shutil
import types

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, recall_score

from ser_keras.data.corpus import Corpus, Utterance
from ser_keras.io import read_json, write_json
from ser_keras.report import GENERATED, read_run, speaker_genders, speaker_scores, write_report
from ser_keras.results import Claim, ResultRow, Scoring
from ser_keras.runs import Budget, RunRecord, run_fingerprint

SPEAKERS = ("Ses01F", "Ses01M", "Ses02F", "Ses02M")
FOLDS = ("Ses01", "Ses02")


def _figure(path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(3, 2))
    axes.plot([0, 1], [1, 0])
    figure.savefig(path, format="png")
    plt.close(figure)


def _run(out, *, script, rows, metrics, num_classes, sha="a" * 64, seed=0, measured=True):
    """A finished run folder as RunRecord writes one: random predictions of every row over
    two speakers per fold, parts with (or, like older runs, without) their compute cost."""
    corpus = types.SimpleNamespace(spec="synthetic:tiny", sha256=sha, utterances=tuple(range(48)))
    budget = Budget("quick", {"max_epochs": 2}, "quick smoke-test budget")
    fingerprint = run_fingerprint(
        script=script, corpus=corpus, label_view="four_class", protocol="loso", budget=budget, seed=seed, settings={}
    )
    record = RunRecord(
        out,
        script=script,
        fingerprint=fingerprint,
        corpus=corpus,
        config={"seed": seed, "rows": list(rows), "argv": ["--quick"]},
    )
    rng = np.random.default_rng(seed)
    predictions, result_rows = [], []
    for index, row in enumerate(rows):
        for fold in FOLDS:
            ids = [f"{speaker}_{n:02d}" for speaker in SPEAKERS if speaker.startswith(fold) for n in range(6)]
            targets = rng.integers(0, num_classes, len(ids))
            # Good guesses for every other row, so speakers differ.
            guesses = np.where(
                rng.random(len(ids)) < 0.6 - 0.3 * (index % 2), targets, rng.integers(0, num_classes, len(ids))
            )
            cost = {"wall_s": 1.5, "cpu_s": 2.25, "peak_rss_mb": 100.0 + index, "device": "CPU"}
            record.save_part(
                row,
                fold,
                {
                    "ids": ids,
                    "targets": targets.tolist(),
                    "predictions": guesses.tolist(),
                    **({"compute": cost} if measured else {}),
                },
            )
            predictions += [[i, row, fold, int(t), int(p), i[:6]] for i, t, p in zip(ids, targets, guesses)]
        for metric in metrics:
            result_rows.append(
                ResultRow(
                    id=f"{row}_{metric.lower()}" if len(metrics) > 1 else row,
                    system=row,
                    classifier="CNN",
                    metric=metric,
                    value=40.0 + index,
                    ci95=(30.0, 50.0),
                    paper=45.0,
                )
            )
    _figure(out / "table.png")
    record.finish(
        result_rows,
        protocol="loso",
        predictions=predictions,
        label_view="four_class",
        claims=[Claim("A above B", "holds", "A − B UAR +3.00"), Claim("C above D", "n/a", "needs D")],
        table_title=f"{script} test table",
        notes=["A note of the run."],
        scoring=Scoring(tuple(metrics), num_classes),
    )
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    short = _run(
        root / "short", script="table1", rows=("raw_subseg_cnn", "compare_func_rf"), metrics=("UAR",), num_classes=4
    )
    elor = _run(
        root / "elor",
        script="wieser_table5",
        rows=("elor", "lom"),
        metrics=("WAR", "UAR"),
        num_classes=5,
        measured=False,
    )
    other = _run(
        root / "other", script="table1", rows=("raw_subseg_cnn",), metrics=("UAR",), num_classes=4, sha="b" * 64
    )
    return types.SimpleNamespace(short=short, elor=elor, other=other, root=root)


def test_html_is_self_contained_and_inlines_every_figure(runs, tmp_path):
    _, page = write_report([runs.short, runs.elor], tmp_path / "report")
    text = page.read_text(encoding="utf-8")
    links = re.findall(r'(?:src|href)="([^"]*)"', text)
    assert links and not [link for link in links if re.match(r"(?i)(https?:)?//", link)]
    images = re.findall(r'<img src="([^"]*)"', text)
    assert len(images) == 2 and all(src.startswith("data:image/png;base64,") for src in images)
    assert base64.b64decode(images[0].split(",", 1)[1]) == (runs.short / "table.png").read_bytes()
    assert "<script" not in text.lower() and "<link" not in text.lower() and "@import" not in text
    assert "overflow-wrap:anywhere" in text and "width:100%" in text
    assert (tmp_path / "report" / "figures" / "run1_table.png").read_bytes() == (runs.short / "table.png").read_bytes()


def test_runs_of_different_corpora_are_refused_unless_asked(runs, tmp_path, capsys):
    from ser_keras.cli.report import main

    with pytest.raises(SystemExit) as stop:
        main([str(runs.short), str(runs.other), "--out", str(tmp_path / "mixed")])
    error = capsys.readouterr().err
    assert stop.value.code == 2 and "different corpora" in error and "--mixed-corpora" in error
    assert str(runs.other) in error and "bbbbbbbbbbbb" in error
    assert not (tmp_path / "mixed" / "report.md").exists()
    assert main([str(runs.short), str(runs.other), "--out", str(tmp_path / "mixed"), "--mixed-corpora"]) == 0
    assert "**different corpora** (--mixed-corpora)" in (tmp_path / "mixed" / "report.md").read_text()


def test_a_folder_that_is_no_finished_run_is_named(tmp_path):
    with pytest.raises(ValueError, match=f"{tmp_path} is not a finished run folder"):
        write_report([tmp_path], tmp_path / "out")


@pytest.mark.parametrize("name", ["short", "elor"])
def test_per_speaker_scores_equal_scikit_learn_over_each_speakers_rows(runs, name):
    import csv

    run = read_run(getattr(runs, name), 1)
    scores = {(s.row, s.metric): s for s in speaker_scores(run)}
    with open(run.path / "predictions.csv", newline="") as handle:
        lines = list(csv.DictReader(handle))
    metrics = run.metrics["scoring"]["metrics"]
    assert len(scores) == len({line["row"] for line in lines}) * len(metrics)
    for (row, metric), found in scores.items():
        assert set(found.speakers) == set(SPEAKERS) and set(found.genders) == {"F", "M"}
        for speaker, value in found.speakers.items():
            own = [line for line in lines if line["row"] == row and line["speaker"] == speaker]
            targets, guesses = [int(x["target"]) for x in own], [int(x["prediction"]) for x in own]
            expected = (
                recall_score(targets, guesses, labels=sorted(set(targets)), average="macro")
                if metric == "UAR"
                else accuracy_score(targets, guesses)
            )
            assert value == pytest.approx(100 * expected, abs=0.005)
        female = [line for line in lines if line["row"] == row and line["speaker"].endswith("F")]
        targets, guesses = [int(x["target"]) for x in female], [int(x["prediction"]) for x in female]
        expected = (
            recall_score(targets, guesses, labels=sorted(set(targets)), average="macro")
            if metric == "UAR"
            else accuracy_score(targets, guesses)
        )
        assert found.genders["F"] == pytest.approx(100 * expected, abs=0.005)
        low, high, sd = found.spread
        values = list(found.speakers.values())
        assert found.speakers[low] == min(values) and found.speakers[high] == max(values)
        assert sd == pytest.approx(np.std(values, ddof=1))


def test_a_run_older_than_the_speaker_column_is_reported_without_a_speaker_breakdown(runs, tmp_path):
    import shutil

    run = shutil.copytree(runs.short, tmp_path / "short")
    lines = (run / "predictions.csv").read_text().splitlines()
    (run / "predictions.csv").write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    report, _ = write_report([run], tmp_path / "report")
    assert "Not broken down per speaker: " in report.read_text() and "predictions.csv, line 1" in report.read_text()


def test_report_md_regenerates_equal_but_for_its_date_line(runs, tmp_path):
    first, _ = write_report(
        [runs.short, runs.elor], tmp_path / "a", now=datetime.datetime(2024, 1, 2, 3, 4, tzinfo=datetime.timezone.utc)
    )  # noqa: UP017
    second, _ = write_report([runs.short, runs.elor], tmp_path / "elsewhere" / "b")
    old, new = first.read_text().splitlines(), second.read_text().splitlines()
    differing = [(a, b) for a, b in zip(old, new) if a != b]
    assert len(old) == len(new) and len(differing) == 1
    assert all(line.startswith(GENERATED) for line in differing[0]) and "2024-01-02" in differing[0][0]


def test_a_report_written_inside_its_run_folder_does_not_read_its_own_figures(runs, tmp_path):
    import shutil

    run = shutil.copytree(runs.short, tmp_path / "short")
    first, _ = write_report([run], run / "report")
    text = first.read_text()
    second, _ = write_report([run], run / "report")
    assert second.read_text().split("\n", 3)[3] == text.split("\n", 3)[3]  # all but the title and date lines
    assert sorted(p.name for p in (run / "report" / "figures").iterdir()) == ["run1_table.png"]


def test_report_md_holds_every_part_of_the_report(runs, tmp_path):
    metrics_path = runs.short / "metrics.json"
    original = read_json(metrics_path)
    metrics = {
        **original,
        "rows": [{**original["rows"][0], "ci_unit": "speaker", "ci_clusters": 4}, *original["rows"][1:]],
    }
    write_json(metrics_path, metrics)
    try:
        report, _ = write_report([runs.short, runs.elor], tmp_path)
    finally:
        write_json(metrics_path, original)
    text = report.read_text()
    assert (
        "| raw_subseg_cnn | raw_subseg_cnn | CNN | UAR | 40.00 | [30.00, 50.00] over 4 speakers | 45.00 | -5.00 | yes |"
    ) in text
    assert "| compare_func_rf | compare_func_rf | CNN | UAR | 41.00 | [30.00, 50.00] | 45.00 |" in text
    assert "| A above B | holds | A − B UAR +3.00 |" in text and "| C above D | n/a | needs D |" in text
    short = next(s for s in speaker_scores(read_run(runs.short, 1)) if s.row == "raw_subseg_cnn")
    assert f"| raw_subseg_cnn | UAR | {short.speakers['Ses01F']:.2f} | {short.speakers['Ses01M']:.2f} |" in text
    # Ledger: the short run's two rows measured on both folds; the ELOR run's parts predate the costs.
    assert "| raw_subseg_cnn | 2 of 2 | 3.0 | 4.5 | 100 | CPU |" in text
    assert "| all rows | 4 of 4 | 6.0 | 9.0 | 101 | CPU |" in text
    assert "| elor | 0 of 2 | not recorded |" in text and "4 unit(s) recorded no cost" in text
    # Overview: the units' summed wall time where they recorded it, else the run's own wall time.
    (short_line,) = [line for line in text.splitlines() if line.startswith("| 1 | `short` |")]
    (elor_line,) = [line for line in text.splitlines() if line.startswith("| 2 | `elor` |")]
    assert short_line.endswith("| 6.0 |")
    assert elor_line.endswith(f"| {read_json(runs.elor / 'metrics.json')['wall_s']} |")
    assert "- A note of the run." in text and "![Run 2, table.png](figures/run2_table.png)" in text
    assert "Budget quick, not the papers' full protocol" in text and "`docs/deviations.md`" in text
    assert "ELOR (Table 5 and the analyses)" in text and f"sha256 `{'a' * 64}`" in text


def test_a_compare_runs_folder_is_reported(runs, tmp_path):
    from ser_keras.cli.compare_runs import main as compare

    assert compare([str(runs.short), str(runs.short), "--out", str(tmp_path / "cmp")]) == 0
    report, _ = write_report([runs.short, tmp_path / "cmp"], tmp_path / "report")
    section = report.read_text().split("\n## Run 2: ", 1)[1]
    assert section.lower().startswith("run comparison") and "| raw_subseg_cnn |" in section
    other = _run(
        tmp_path / "other", script="table1", rows=("raw_subseg_cnn",), metrics=("UAR",), num_classes=4, sha="c" * 64
    )
    with pytest.raises(ValueError, match="different corpora"):
        write_report([other, tmp_path / "cmp"], tmp_path / "refused")


def test_genders_come_from_the_run_never_from_files_beside_it(tmp_path):
    manifest = tmp_path / "corpus.csv"
    manifest.write_text("path,speaker,label,gender\na.wav,a,neu,M\n")  # says otherwise: must not be read
    recorded = {"spec": f"manifest:{manifest}", "speaker_genders": {"a": "F", "b": "M"}}
    assert speaker_genders(recorded, ["a", "c"]) == {"a": "F"}
    assert speaker_genders({"spec": f"manifest:{manifest}"}, ["a"]) == {}
    assert speaker_genders({"spec": "emodb:/anywhere"}, ["03", "08"]) == {"03": "M", "08": "F"}
    assert speaker_genders({"spec": "synthetic:tiny"}, ["Ses01F", "Ses02M", "x"]) == {"Ses01F": "F", "Ses02M": "M"}


def test_a_run_records_its_speakers_genders(tmp_path):
    corpus = Corpus(
        "manifest:c.csv",
        "manifest",
        "/c",
        (Utterance(id="u", path="/u.wav", speaker="b", gender="M"), Utterance(id="v", path="/v.wav", speaker="a")),
        "ab" * 32,
    )
    fingerprint = run_fingerprint(
        script="table1",
        corpus=corpus,
        label_view="four_class",
        protocol="p",
        budget=Budget("quick", {}, "q"),
        seed=0,
        settings={},
    )
    record = RunRecord(tmp_path, script="table1", fingerprint=fingerprint, config={"seed": 0}, corpus=corpus)
    assert record.corpus_info("four_class")["speaker_genders"] == {"b": "M"}


def test_parts_that_are_no_rows_result_stay_out_of_the_ledger_and_supplements_are_shown(runs, tmp_path):
    # A Fig. 2 run keeps curves (read from another run's models) as parts: no training to list.
    run = tmp_path / "fig2"
    shutil.copytree(runs.short, run)
    shutil.rmtree(run / "parts" / "compare_func_rf")
    shutil.move(run / "parts" / "raw_subseg_cnn", run / "parts" / "fig2_subseg_response")
    (run / "top_features.md").write_text("## Top ten\n\n### raw waveform\n\n| rank | name |\n|---|---|\n| 1 | f0 |\n")
    text = write_report([run], tmp_path / "report")[0].read_text()
    assert "fig2_subseg_response" not in text
    assert "This run trained and fitted nothing (no row's fold parts)" in text
    assert "### Top-10 features\n\n#### raw waveform\n\n| rank | name |" in text and "Top ten" not in text
    shutil.rmtree(run / "parts")
    text = write_report([run], tmp_path / "without_parts")[0].read_text()
    assert "This run folder was kept without its fold parts (`parts/`)" in text and "fitted nothing" not in text
    # An analysis of another run's models (Fig. 4, Fig. 5) has no parts to keep.
    write_json(run / "config.json", {**read_json(run / "config.json"), "models": "runs/table5"})
    text = write_report([run], tmp_path / "analysis")[0].read_text()
    assert "it analysed the models of `runs/table5`; its cost is its run wall time above" in text
    assert "kept without its fold parts" not in text


def test_an_analysis_ledger_says_it_overlaps_the_run_it_read(runs, tmp_path):
    run = tmp_path / "table3"
    shutil.copytree(runs.short, run)
    write_json(run / "config.json", {**read_json(run / "config.json"), "models": "runs/emodb/table1"})
    text = write_report([run], tmp_path / "report")[0].read_text()
    assert "(`--models runs/emodb/table1`) list the cost recorded where they were computed" in text
    assert "list the cost recorded where" not in write_report([runs.short], tmp_path / "plain")[0].read_text()


def test_html_keeps_numbers_intervals_and_single_word_verdicts_on_one_line():
    from ser_keras.document import Table, to_html

    claim = "raw_subseg_cnn − compare_func_rf UAR -14.42 (95 % CI [-27.34, -1.51] vs margin −3, 6 speakers)"
    table = Table(header=("claim", "verdict", "on what", "UAR"), rows=(("on par", "inconclusive", claim, "69.25"),))
    page = to_html("t", "g", [table])
    assert '<td class="nowrap">inconclusive</td>' in page
    assert "<td>on par</td>" in page and f"<td>{claim}".replace("_", "_<wbr>") in page
    assert '<td class="nowrap">69.25</td>' in page
