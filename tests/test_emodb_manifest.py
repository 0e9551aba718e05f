"""EmoDB names and the real EmoDB folder; CSV manifests; label normalisation and views."""

from pathlib import Path

import pytest

from ser_keras.data.audio import AudioError, load_waveform
from ser_keras.data.corpus import Utterance, load_corpus
from ser_keras.data.describe import describe_corpus, format_description
from ser_keras.data.emodb import read_emodb
from ser_keras.data.iemocap import CorpusLayoutError
from ser_keras.data.labels import categorical_view, dimension_class, four_class_label, normalise_label
from ser_keras.data.manifest import read_manifest

EMODB = Path(__file__).resolve().parents[2] / "shared" / "data" / "emodb" / "wav"


@pytest.mark.skipif(not EMODB.is_dir(), reason="shared EmoDB copy not present")
def test_describe_real_emodb():
    summary = describe_corpus(load_corpus(f"emodb:{EMODB}"))
    assert summary["utterances"] == 535 and summary["speakers"] == 10 and summary["sessions"] == 0
    assert summary["label_views"]["all"]["classes"] == {
        "ang": 127,
        "bor": 81,
        "dis": 46,
        "fea": 69,
        "hap": 71,
        "neu": 79,
        "sad": 62,
    }
    four = summary["label_views"]["four_class"]
    assert four["utterances"] == 339 and four["classes"] == {"ang": 127, "hap": 71, "neu": 79, "sad": 62}
    assert four["dropped"] == {"bor": 81, "dis": 46, "fea": 69}
    assert summary["speaker_counts"]["03"] == 49 and summary["speaker_counts"]["16"] == 71
    assert summary["hours"] == pytest.approx(535 * 2.0 / 3600, abs=0.002)  # every file is 2.000 s
    assert "535" in format_description(summary)


@pytest.mark.skipif(not EMODB.is_dir(), reason="shared EmoDB copy not present")
def test_the_truncated_file_of_the_emodb_copy_is_refused():
    # 16b10Wb.wav's data chunk announces 44100 samples (2 s at 22.05 kHz); the file holds 42474.
    with pytest.raises(
        AudioError,
        match=r"16b10Wb\.wav: truncated WAV: the data chunk announces 44100 samples "
        r"but the file holds 42474",
    ):
        load_waveform(EMODB / "16b10Wb.wav")
    assert len(load_waveform(EMODB / "16b10Wa.wav")) == 32000  # its sibling: 2 s resampled to 16 kHz


def test_emodb_names_speakers_and_labels(tmp_path, wav_writer):
    for name in ("03a01Wa", "16b10Tc", "10a02Nb"):
        wav_writer(tmp_path / f"{name}.wav")
    wav_writer(tmp_path / "notes.wav")
    corpus = read_emodb(tmp_path)
    assert [(u.id, u.speaker, u.label, u.gender) for u in corpus.utterances] == [
        ("03a01Wa", "03", "ang", "M"),
        ("10a02Nb", "10", "neu", "M"),
        ("16b10Tc", "16", "sad", "F"),
    ]
    assert len(corpus.problems) == 1 and "notes.wav: name is not SSTTTEv.wav" in corpus.problems[0]
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusLayoutError, match="holds no SSTTTEv.wav files"):
        read_emodb(tmp_path / "empty")


def test_manifest_reads_relative_paths_optional_columns_and_normalises_labels(tmp_path, wav_writer):
    wav_writer(tmp_path / "audio" / "a.wav")
    wav_writer(tmp_path / "audio" / "b.wav")
    absolute = wav_writer(tmp_path / "elsewhere" / "c.wav")
    csv_path = tmp_path / "corpus.csv"
    csv_path.write_text(
        "path,speaker,label,session,valence,arousal,gender\n"
        "audio/a.wav,s1,Angry,S1,2,4.5,F\n"
        "audio/b.wav, s2 ,excited,,,,\n"
        f"{absolute},s2,Contempt,,,,M\n"
    )
    corpus = read_manifest(csv_path)
    a, b, c = corpus.utterances
    assert a.path == str((tmp_path / "audio" / "a.wav").resolve()) and a.id == "a"
    assert (a.speaker, a.label, a.session, a.valence, a.arousal, a.gender) == ("s1", "ang", "S1", 2.0, 4.5, "F")
    assert (b.speaker, b.label, b.session, b.valence) == ("s2", "exc", None, None)
    assert c.label == "contempt" and c.gender == "M"
    view = categorical_view(corpus.utterances, "four_class")
    assert view.counts() == {"ang": 1, "hap": 1, "neu": 0, "sad": 0} and view.dropped == {"contempt": 1}
    assert load_corpus(f"manifest:{csv_path}").sha256 == corpus.sha256


def test_manifest_rating_and_duplicate_errors_name_the_line(tmp_path, wav_writer):
    wav_writer(tmp_path / "a.wav")
    csv_path = tmp_path / "m.csv"
    csv_path.write_text("path,speaker,label,valence\na.wav,s,neu,7\n")
    with pytest.raises(CorpusLayoutError, match=r"m\.csv:2: rating '7' outside the 1\.\.5 scale"):
        read_manifest(csv_path)
    csv_path.write_text("path,speaker,label,valence\na.wav,s,neu,high\n")
    with pytest.raises(CorpusLayoutError, match=r"m\.csv:2: rating 'high' is not a number"):
        read_manifest(csv_path)
    csv_path.write_text("path,speaker,label\na.wav,s,neu\n./a.wav,t,sad\n")
    with pytest.raises(CorpusLayoutError, match=r"m\.csv:3: duplicate utterance id 'a'"):
        read_manifest(csv_path)
    csv_path.write_text("path,speaker,label\n")
    with pytest.raises(CorpusLayoutError, match="lists no utterances"):
        read_manifest(csv_path)


@pytest.mark.parametrize(
    "raw, code, four",
    [
        ("ang", "ang", "ang"),
        (" Anger ", "ang", "ang"),
        ("HAPPY", "hap", "hap"),
        ("exc", "exc", "hap"),
        ("Excited", "exc", "hap"),
        ("neutral", "neu", "neu"),
        ("Sadness", "sad", "sad"),
        ("fru", "fru", None),
        ("Frustrated", "fru", None),
        ("xxx", "xxx", None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_label_normalisation_and_four_class_mapping(raw, code, four):
    assert normalise_label(raw) == code
    assert four_class_label(raw) == four


def test_categorical_views():
    utterances = [
        Utterance(id=str(i), path="/x", speaker="s", label=label)
        for i, label in enumerate(["exc", "hap", "sad", "fru", "xxx", "ang", None])
    ]
    four = categorical_view(utterances, "four_class")
    assert four.classes == ("ang", "hap", "neu", "sad") and four.targets == (1, 1, 3, 0)
    assert four.dropped == {"fru": 1, "xxx": 1, "None": 1}
    everything = categorical_view(utterances, "all")
    assert everything.classes == ("ang", "exc", "fru", "hap", "sad", "xxx") and len(everything.utterances) == 6
    with pytest.raises(ValueError, match="'labels' view must be one of"):
        categorical_view(utterances, "three_class")


def test_dimension_class_is_rating_minus_one():
    assert [dimension_class(r) for r in (1, 2.0, 3, 4, 5, 2.5, None)] == [0, 1, 2, 3, 4, 2, None]
    with pytest.raises(ValueError, match=r"must lie in 1\.\.5. Got 6"):
        dimension_class(6)
