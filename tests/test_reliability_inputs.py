"""Bad inputs, one by one (audio, annotations, corpus layout, manifests, corpus specs): each gives one clear
error or warning naming the file (and line) and what was expected; never a silently wrong label."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from ser_keras.data import audio
from ser_keras.data.audio import AudioError, load_waveform
from ser_keras.data.corpus import CORPUS_KINDS, load_corpus
from ser_keras.data.iemocap import CorpusLayoutError, read_iemocap
from ser_keras.data.manifest import read_manifest
from ser_keras.data.protocols import PROTOCOLS, make_folds
from ser_keras.metrics import absent_classes, per_class_recall, unweighted_average_recall

pytestmark = pytest.mark.reliability
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def fresh_reports(monkeypatch):
    """Each test sees the 'reported once per process' audio notices afresh."""
    monkeypatch.setattr(audio, "_reported", set())


def _wav(root, turn):
    dialog = turn.rsplit("_", 1)[0]
    return root / f"Session{int(turn[3:5])}" / "sentences" / "wav" / dialog / f"{turn}.wav"


def _evaluation(root, dialog):
    return root / f"Session{int(dialog[3:5])}" / "dialog" / "EmoEvaluation" / f"{dialog}.txt"


def _line_of(path, text):
    """1-based number of the first line of ``path`` containing ``text``."""
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def _edit(path, old, new):
    content = path.read_text()
    assert old in content
    path.write_text(content.replace(old, new, 1))


def _by_id(corpus):
    return {u.id: u for u in corpus.utterances}


# 1-3, 8: unusable audio raises AudioError naming the file and what was expected.


def test_01_truncated_wav(tiny_copy):
    path = _wav(tiny_copy, "Ses01F_impro01_F000")
    data = path.read_bytes()
    path.write_bytes(data[: 44 + (len(data) - 44) // 2])
    with pytest.raises(
        AudioError, match=rf"{path}: truncated WAV: the .* announces \d+ samples but the file holds \d+"
    ):
        load_waveform(path)


def test_02_text_file_renamed_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("speaker notes, not audio\n")
    with pytest.raises(AudioError, match=rf"{path}: not a readable WAV file"):
        load_waveform(path)


def test_03_empty_wav(tmp_path):
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros(0, np.float32), 16000, subtype="PCM_16")
    with pytest.raises(AudioError, match=rf"{path}: empty WAV \(0 samples\); expected speech audio"):
        load_waveform(path)


def test_unusable_audio_is_skipped_by_the_store_with_a_warning(tiny_copy, caplog):
    from ser_keras.data.windows import load_store

    corpus = read_iemocap(tiny_copy)
    bad = corpus.utterances[3]
    Path(bad.path).write_text("not audio")
    with caplog.at_level(logging.WARNING, logger="ser_keras.data.windows"):
        store = load_store(corpus.utterances[:6], progress=False)
    assert store.kept.tolist() == [0, 1, 2, 4, 5]
    assert store.skipped == [(bad.id, store.skipped[0][1])] and bad.path in store.skipped[0][1]
    assert f"{bad.path}: not a readable WAV file" in caplog.text and "the utterance is skipped" in caplog.text


def test_04_audio_shorter_than_250_ms_is_padded_and_counted(tiny_copy, wav_writer, window_oracle):
    from ser_keras.data.windows import STD_FLOOR, count_short, frame_counts, frame_index, load_store, window_dataset

    corpus = read_iemocap(tiny_copy)
    wav_writer(corpus.utterances[0].path, seconds=0.1)  # 1600 samples: 10 frames, < 25
    wav_writer(corpus.utterances[1].path, seconds=0.005)  # 80 samples: less than one frame
    store = load_store(corpus.utterances[:3], progress=False)
    assert count_short(store) == 2 and store.lengths[:2].tolist() == [1600, 80]
    owners, frames = frame_index(frame_counts(store.lengths), [0, 1])
    assert len(owners) == 10 + 1
    windows = np.concatenate(list(window_dataset(store, owners, frames, batch_size=4).as_numpy_iterator()))
    assert windows.shape == (11, 4000) and np.isfinite(windows).all()
    expected = [window_oracle(store.signal(o), f) for o, f in zip(owners, frames)]
    expected = np.stack([(w - w.mean()) / max(w.std(), STD_FLOOR) for w in expected])
    np.testing.assert_allclose(windows, expected, atol=2e-5)


@pytest.mark.parametrize("rate", [8000, 44100, 48000])
def test_05_other_sample_rates_are_resampled_and_said_once(tmp_path, wav_writer, caplog, rate):
    paths = [wav_writer(tmp_path / f"{i}.wav", seconds=0.5, rate=rate, seed=i) for i in range(3)]
    with caplog.at_level(logging.WARNING, logger="ser_keras.data.audio"):
        signals = [load_waveform(path) for path in paths]
    assert [len(s) for s in signals] == [8000] * 3
    notices = [r.getMessage() for r in caplog.records if "resampled" in r.getMessage()]
    assert notices == [
        f"{paths[0]}: resampled {rate} Hz -> 16000 Hz with a polyphase filter (reported once per process)"
    ]


def test_06_stereo_is_down_mixed_and_said_once(tmp_path, wav_writer, caplog):
    left = np.linspace(-0.5, 0.5, 800)
    stereo = np.stack([left, np.full(800, 0.25)], axis=1)
    paths = [wav_writer(tmp_path / f"{i}.wav", stereo) for i in range(2)]
    with caplog.at_level(logging.WARNING, logger="ser_keras.data.audio"):
        signals = [load_waveform(path) for path in paths]
    np.testing.assert_allclose(signals[1], (left + 0.25) / 2, atol=1 / 16384)
    notices = [r.getMessage() for r in caplog.records if "down-mixed" in r.getMessage()]
    assert len(notices) == 1 and str(paths[0]) in notices[0] and "2 channels down-mixed to mono" in notices[0]


@pytest.mark.parametrize(
    "subtype, tolerance", [("PCM_24", 2**-23), ("FLOAT", 0.0), ("DOUBLE", 1e-7), ("PCM_32", 2**-31)]
)
def test_07_24_bit_and_float_wavs_load(tmp_path, wav_writer, subtype, tolerance):
    values = np.linspace(-0.9, 0.9, 1601).astype(np.float32)
    path = wav_writer(tmp_path / "x.wav", values, subtype=subtype)
    signal = load_waveform(path)
    assert signal.dtype == np.float32 and len(signal) == 1601
    np.testing.assert_allclose(signal, values, atol=tolerance + 1e-7)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_08_nan_or_inf_in_float_audio(tmp_path, wav_writer, bad):
    values = np.zeros(400, np.float32)
    values[[3, 200]] = bad
    path = wav_writer(tmp_path / "x.wav", values, subtype="FLOAT")
    with pytest.raises(AudioError, match=rf"{path}: 2 NaN/Inf samples; expected finite audio"):
        load_waveform(path)


# 9-13: annotation problems are reported with file:line and skipped; other turns keep their labels.


def test_09_bad_time_range_and_unknown_emotion_code(tiny_copy):
    reference = _by_id(read_iemocap(tiny_copy))
    evaluation = _evaluation(tiny_copy, "Ses03F_impro01")
    _edit(evaluation, "\tSes03F_impro01_F000\tsad\t", "\tSes03F_impro01_F000\tsadd\t")
    line = _line_of(evaluation, "Ses03F_impro01_F001")
    content = evaluation.read_text().splitlines()
    start, end = content[line - 1][1:].split("]")[0].split(" - ")
    content[line - 1] = content[line - 1].replace(f"[{start} - {end}]", f"[{end} - {start}]")
    evaluation.write_text("\n".join(content) + "\n")
    corpus = read_iemocap(tiny_copy)
    first = _line_of(evaluation, "Ses03F_impro01_F000")
    assert (
        f"{evaluation}:{first}: turn Ses03F_impro01_F000 has unknown emotion code 'sadd' (expected one of neu, "
        in "\n".join(corpus.problems)
    )
    assert f"{evaluation}:{line}: turn Ses03F_impro01_F001 has end {start} <= start {end}; skipped" in corpus.problems
    assert any("2 WAV files have no annotation" in p for p in corpus.problems)
    kept = _by_id(corpus)
    assert set(reference) - set(kept) == {"Ses03F_impro01_F000", "Ses03F_impro01_F001"}
    assert all(kept[name] == reference[name] for name in kept)  # nothing else changed or shifted


@pytest.mark.parametrize(
    "replacement, reason",
    [
        ("A-E2:\tval ; act 2; dom  3;", "lacks 'val N; act N; dom N;' - skipped"),
        ("A-E2:\tval 2; dom  3;", "lacks 'val N; act N; dom N;' - skipped"),
        ("A-E2:\tval 7; act 2; dom  3;", "rating outside 1..5"),
        ("A-E2:\tval 0; act 2; dom  3;", "rating outside 1..5"),
    ],
)
def test_10_a_e2_line_with_missing_or_out_of_range_value(tiny_copy, replacement, reason):
    reference = _by_id(read_iemocap(tiny_copy))["Ses03F_impro01_F001"]
    evaluation = _evaluation(tiny_copy, "Ses03F_impro01")
    line = _line_of(evaluation, "A-E2:\tval 2; act 2; dom  3;")
    _edit(evaluation, "A-E2:\tval 2; act 2; dom  3;", replacement)
    corpus = read_iemocap(tiny_copy)
    problem = next(p for p in corpus.problems if p.startswith(f"{evaluation}:{line}: A-E2"))
    assert reason in problem
    turn = _by_id(corpus)["Ses03F_impro01_F001"]
    assert turn.rating("E2") is None  # never a rating read from the wrong field
    assert turn.ratings == tuple(r for r in reference.ratings if r[0] != "E2") and len(turn.ratings) == 2
    assert turn.label == reference.label and turn.categorical == reference.categorical


def test_11_missing_wav_and_wav_without_annotation(tiny_copy, wav_writer):
    missing = _wav(tiny_copy, "Ses02F_impro01_M000")
    missing.unlink()
    stray = wav_writer(_wav(tiny_copy, "Ses02F_impro01_F009"))
    corpus = read_iemocap(tiny_copy)
    evaluation = _evaluation(tiny_copy, "Ses02F_impro01")
    line = _line_of(evaluation, "Ses02F_impro01_M000")
    assert f"{evaluation}:{line}: turn Ses02F_impro01_M000 has no audio at {missing}; skipped" in corpus.problems
    assert (
        f"{stray.parent.parent}: 1 WAV files have no annotation and are ignored (e.g. {stray.name})" in corpus.problems
    )
    assert "Ses02F_impro01_M000" not in _by_id(corpus) and "Ses02F_impro01_F009" not in _by_id(corpus)
    assert len(corpus.utterances) == 27


def test_12_missing_session_folder_warns_and_its_fold_cannot_be_chosen(tiny_copy, caplog):
    import shutil

    shutil.rmtree(tiny_copy / "Session3")
    with caplog.at_level(logging.WARNING, logger="ser_keras.data.iemocap"):
        corpus = read_iemocap(tiny_copy)
    assert f"{tiny_copy}: Session3 missing; its speakers are absent" in caplog.text
    assert "Ses03" not in corpus.sessions and len(corpus.sessions) == 4
    with pytest.raises(
        ValueError,
        match=r"Fold\(s\) \['Ses03'\] not in this corpus; its sessions are "
        r"\['Ses01', 'Ses02', 'Ses04', 'Ses05'\]\. A missing session folder",
    ):
        make_folds(corpus.utterances, PROTOCOLS[0], only=["Ses03"])
    assert [f.name for f in make_folds(corpus.utterances, PROTOCOLS[0], only=["Ses04"])] == ["Ses04"]


def test_12_missing_emoevaluation_folder_is_a_layout_error(tiny_copy):
    import shutil

    shutil.rmtree(tiny_copy / "Session2" / "dialog" / "EmoEvaluation")
    with pytest.raises(CorpusLayoutError, match=r"Session2/dialog/EmoEvaluation missing; expected it in every"):
        read_iemocap(tiny_copy)


def test_13_duplicate_turn_ids_first_kept(tiny_copy):
    reference = _by_id(read_iemocap(tiny_copy))["Ses04F_impro01_F000"]
    evaluation = _evaluation(tiny_copy, "Ses04F_impro01")
    first = _line_of(evaluation, "\tSes04F_impro01_F000\t")
    duplicate = (
        f"[30.0000 - 31.0000]\tSes04F_impro01_F000\t{'ang' if reference.label != 'ang' else 'sad'}"
        "\t[1.0000, 5.0000, 5.0000]\nA-E2:\tval 1; act 5; dom  5;\t()\n"
    )
    evaluation.write_text(evaluation.read_text().rstrip("\n") + "\n\n" + duplicate)
    second = _line_of(evaluation, "[30.0000 - 31.0000]")
    corpus = read_iemocap(tiny_copy)
    assert (
        f"{evaluation}:{second}: duplicate turn id Ses04F_impro01_F000 (first at {evaluation}:{first}); "
        "the first is kept"
    ) in corpus.problems
    kept = [u for u in corpus.utterances if u.id == "Ses04F_impro01_F000"]
    assert kept == [reference]


# 14: manifests.


def test_14_manifest_missing_column(tmp_path, wav_writer):
    wav_writer(tmp_path / "a.wav")
    csv_path = tmp_path / "m.csv"
    csv_path.write_text("path,label\na.wav,neu\n")
    with pytest.raises(
        CorpusLayoutError,
        match=rf"{csv_path}:1: missing column\(s\) speaker; expected path, "
        "speaker, label",
    ):
        read_manifest(csv_path)


def test_14_manifest_short_row(tmp_path, wav_writer):
    wav_writer(tmp_path / "a.wav")
    csv_path = tmp_path / "m.csv"
    csv_path.write_text("path,speaker,label\na.wav,s1,neu\na.wav\n")
    with pytest.raises(CorpusLayoutError, match=rf"{csv_path}:3: no value for speaker; every row needs"):
        read_manifest(csv_path)


def test_14_manifest_path_that_does_not_exist(tmp_path, wav_writer):
    wav_writer(tmp_path / "a.wav")
    csv_path = tmp_path / "m.csv"
    csv_path.write_text("path,speaker,label\na.wav,s1,neu\nb.wav,s1,sad\n")
    with pytest.raises(CorpusLayoutError, match=rf"{csv_path}:3: audio file {tmp_path / 'b.wav'} does not exist"):
        read_manifest(csv_path)


def test_14_manifest_path_escaping_the_root_is_refused(tmp_path, wav_writer):
    wav_writer(tmp_path / "outside.wav")
    csv_path = tmp_path / "corpus" / "m.csv"
    csv_path.parent.mkdir()
    csv_path.write_text("path,speaker,label\n../outside.wav,s1,neu\n")
    with pytest.raises(
        CorpusLayoutError,
        match=rf"{csv_path}:2: path '../outside.wav' escapes the manifest "
        r"folder .* via '\.\.'; refused",
    ):
        read_manifest(csv_path)


def test_15_fold_without_a_class_uar_over_present_classes():
    y_true, y_pred = np.array([0, 0, 1, 3]), np.array([0, 1, 1, 3])
    assert absent_classes(y_true, 4) == [2] and np.isnan(per_class_recall(y_true, y_pred, 4)[2])
    assert unweighted_average_recall(y_true, y_pred, 4) == pytest.approx((0.5 + 1 + 1) / 3)


# 16: spec typos.


@pytest.mark.parametrize("spec", ["emod:x", "synthetic", "iemocap:", "IEMOCAP:/data", "csv:a.csv"])
def test_16_corpus_spec_typo_lists_valid_kinds(spec):
    with pytest.raises(ValueError) as error:
        load_corpus(spec)
    message = str(error.value)
    assert repr(spec) in message and all(f"{kind}:" in message for kind in CORPUS_KINDS)


@pytest.mark.integration
def test_16_describe_corpus_tool_exits_2_with_the_valid_kinds():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "describe_corpus.py"), "--corpus", "emod:x"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 2 and result.stdout == ""
    assert "error: The corpus spec 'emod:x' is not understood" in result.stderr
    assert "iemocap:PATH" in result.stderr and "manifest:PATH.csv" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_synthetic_size_is_named():
    with pytest.raises(ValueError, match="'size' parameter must be one of tiny, small, full. Got 'huge'"):
        load_corpus("synthetic:huge")
