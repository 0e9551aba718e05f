"""The synthetic corpus is written exactly in the IEMOCAP release layout and is reproducible."""

import collections
import hashlib
import logging
import re
import runpy
from pathlib import Path

import numpy as np
import pytest
import soundfile

from ser_keras.data import synthetic
from ser_keras.data.emotional_voice import random_voice, synthesise
from ser_keras.data.iemocap import read_iemocap

TURN_LINE = re.compile(r"^\[(\d+\.\d+) - (\d+\.\d+)\]\t(\w+)\t(\w+)\t\[(\d+\.\d+), (\d+\.\d+), (\d+\.\d+)\]$")
WAV_PATH = re.compile(
    r"^Session([1-5])/sentences/wav/(Ses0([1-5])[FM]_(?:impro\d\d|script\d\d_\d))/"
    r"(\2_[FM]\d{3})\.wav$"
)
EVALUATION_PATH = re.compile(r"^Session([1-5])/dialog/EmoEvaluation/Ses0([1-5])[FM]_(?:impro\d\d|script\d\d_\d)\.txt$")
CATEGORICAL_LINE = re.compile(r"^C-(E\d|[FM]1):\t(?:[A-Z][a-z]+; )*[A-Z][a-z]+;\t\(.*\)$")
DIMENSIONAL_LINE = re.compile(r"^A-(E\d|[FM]1):\tval ([1-5]); act ([1-5]); dom  ([1-5]);\t\(.*\)$")


TOOL = Path(__file__).resolve().parents[1] / "tools" / "make_synthetic_iemocap.py"


@pytest.fixture
def tiny(tiny_root):
    """The session's cached synthetic:tiny corpus (conftest), read-only here."""
    return tiny_root


def _blocks(root):
    """(session digit, dialog, turn line, evaluator lines) for every block of every file."""
    for path in sorted(root.glob("Session*/dialog/EmoEvaluation/*.txt")):
        text = path.read_text()
        header, _, body = text.partition("\n\n")
        assert header == "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", path
        for block in body.rstrip("\n").split("\n\n"):
            turn_line, *evaluator_lines = block.split("\n")
            yield path.parent.parent.parent.name[-1], path.stem, turn_line, evaluator_lines


def test_files_follow_the_release_layout(tiny):
    files = sorted(p.relative_to(tiny).as_posix() for p in tiny.rglob("*") if p.is_file())
    wavs = [f for f in files if f.endswith(".wav")]
    evaluations = [f for f in files if f.endswith(".txt")]
    assert len(wavs) == len(synthetic.plan_corpus("tiny")) and evaluations
    for name in wavs:
        match = WAV_PATH.match(name)
        assert match, name
        assert match.group(1) == match.group(3)
    for name in evaluations:
        match = EVALUATION_PATH.match(name)
        assert match and match.group(1) == match.group(2), name
    assert set(files) - set(wavs) - set(evaluations) == {synthetic.MANIFEST_NAME, synthetic.COMPLETE_NAME}


def test_every_annotation_line_matches_the_release_syntax(tiny):
    for _, dialog, turn_line, evaluator_lines in _blocks(tiny):
        match = TURN_LINE.match(turn_line)
        assert match, turn_line
        assert match.group(3).startswith(dialog + "_") and match.group(4) in synthetic.CODES
        for line in evaluator_lines:
            assert CATEGORICAL_LINE.match(line) or DIMENSIONAL_LINE.match(line), line


def test_turn_line_ratings_are_the_mean_of_non_self_evaluators(tiny):
    for _, _, turn_line, evaluator_lines in _blocks(tiny):
        external = [DIMENSIONAL_LINE.match(line) for line in evaluator_lines if line.startswith("A-E")]
        expected = np.mean([[int(m.group(i)) for i in (2, 3, 4)] for m in external], axis=0)
        assert [float(x) for x in TURN_LINE.match(turn_line).groups()[4:]] == pytest.approx(expected, abs=1e-4)


def test_wavs_are_16khz_mono_pcm16_and_match_turn_times(tiny):
    for session, dialog, turn_line, _ in _blocks(tiny):
        start, end, name = TURN_LINE.match(turn_line).groups()[:3]
        path = tiny / f"Session{session}" / "sentences" / "wav" / dialog / f"{name}.wav"
        info = soundfile.info(path)
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert path.stat().st_size == 44 + 2 * info.frames
        assert round(float(end) - float(start), 4) == round(info.frames / 16000, 4)


def test_speakers_classes_and_evaluators_cover_what_the_protocols_need(tiny):
    turns = [
        (session, TURN_LINE.match(line).group(3), TURN_LINE.match(line).group(4), lines)
        for session, _, line, lines in _blocks(tiny)
    ]
    speakers = {f"{session}{name.split('_')[-1][0]}" for session, name, _, _ in turns}
    assert len(speakers) == 10
    for session in "12345":
        codes = {code for s, _, code, _ in turns if s == session}
        assert {"ang", "neu", "sad"} <= codes and codes & {"hap", "exc"}, (session, codes)
    codes = collections.Counter(code for _, _, code, _ in turns)
    assert codes["exc"] and codes["fru"] and codes["sur"] and codes["xxx"]
    assert any(name.split("_")[-1][0] != name[5] for _, name, _, _ in turns)
    with_e2 = [any(line.startswith("A-E2:") for line in lines) for _, _, _, lines in turns]
    assert len(turns) / 2 < sum(with_e2) < len(turns)
    evaluator_lines = [line for _, _, _, lines in turns for line in lines]
    assert any(re.match(r"C-E\d:\t\w+; \w+;", line) for line in evaluator_lines)  # multi-label
    assert any(line.startswith(("A-F1:", "A-M1:")) for line in evaluator_lines)
    duration = sum(soundfile.info(p).duration for p in tiny.rglob("*.wav"))
    assert duration <= 120.0
    assert max(soundfile.info(p).duration for p in tiny.rglob("*.wav")) > 6.0


def test_iemocap_reader_reads_it_without_problems(tiny):
    corpus = read_iemocap(tiny, kind="synthetic")
    assert corpus.problems == ()
    assert len(corpus.utterances) == len(synthetic.plan_corpus("tiny"))
    assert len({u.speaker for u in corpus.utterances}) == 10
    assert any(u.speaker[-1] != u.dialog[5] for u in corpus.utterances)


def test_anger_is_louder_than_sadness(tiny):
    corpus = read_iemocap(tiny, kind="synthetic")
    level = collections.defaultdict(list)
    for utterance in corpus.utterances:
        samples, _ = soundfile.read(utterance.path)
        level[utterance.label].append(20 * np.log10(np.sqrt(np.mean(samples**2))))
    assert np.mean(level["ang"]) > np.mean(level["sad"]) + 3.0


def test_manifest_lists_every_file_with_its_sha256(tiny):
    entries = dict(reversed(line.split("  ", 1)) for line in (tiny / synthetic.MANIFEST_NAME).read_text().splitlines())
    files = {p.relative_to(tiny).as_posix() for p in tiny.rglob("*") if p.is_file()}
    files -= {synthetic.MANIFEST_NAME, synthetic.COMPLETE_NAME}
    assert set(entries) == files
    for name in sorted(files)[:5]:
        assert entries[name] == hashlib.sha256((tiny / name).read_bytes()).hexdigest()


@pytest.mark.reliability
def test_same_seed_gives_identical_bytes_whatever_the_worker_count(tiny, tmp_path):
    again = synthetic.generate_corpus(tmp_path / "again", size="tiny", seed=0, workers=2)
    assert (again / synthetic.MANIFEST_NAME).read_bytes() == (tiny / synthetic.MANIFEST_NAME).read_bytes()
    other = synthetic.generate_corpus(tmp_path / "other", size="tiny", seed=1)
    assert (other / synthetic.MANIFEST_NAME).read_bytes() != (tiny / synthetic.MANIFEST_NAME).read_bytes()


@pytest.mark.reliability
def test_cache_regenerates_a_partial_folder_and_then_skips(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(synthetic.CACHE_ENVIRONMENT_VARIABLE, str(tmp_path))
    partial = tmp_path / "synthetic-iemocap-tiny-seed0"
    (partial / "Session1").mkdir(parents=True)
    (partial / "Session1" / "half-written.wav").write_bytes(b"RIFF")
    root = synthetic.ensure_synthetic_corpus("tiny", seed=0)
    assert root == partial and (root / synthetic.COMPLETE_NAME).is_file()
    assert not (root / "Session1" / "half-written.wav").exists()
    assert len(list(root.rglob("*.wav"))) == len(synthetic.plan_corpus("tiny"))
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []
    marker_time = (root / synthetic.COMPLETE_NAME).stat().st_mtime_ns
    with caplog.at_level(logging.DEBUG, logger=synthetic.__name__):  # a debug line: not console noise
        assert synthetic.ensure_synthetic_corpus("tiny", seed=0) == root
    assert "synthetic corpus up to date, skipping" in caplog.text
    assert (root / synthetic.COMPLETE_NAME).stat().st_mtime_ns == marker_time


@pytest.mark.reliability
def test_bad_arguments_are_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="'size'.*'huge'"):
        synthetic.plan_corpus("huge")
    with pytest.raises(ValueError, match="'seed'"):
        synthetic.plan_corpus("tiny", seed=-1)
    with pytest.raises(ValueError, match="'n'.*4000"):
        synthesise(
            4000,
            blend=(("neu", 1.0),),
            arousal=3.0,
            valence=3.0,
            voice=random_voice(np.random.default_rng(0), female=True),
            rng=np.random.default_rng(0),
        )
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="empty or new folder"):
        synthetic.generate_corpus(tmp_path, size="tiny")


def test_tool_prints_counts_and_hours(tmp_path, capsys):
    main = runpy.run_path(str(TOOL), run_name="make_synthetic_iemocap")["main"]
    main(["--size", "tiny", "--seed", "0", "--out", str(tmp_path / "out")])
    printed = capsys.readouterr().out
    assert "28 turns" in printed and " h of audio" in printed and "four-class view" in printed
