"""ser_keras.cli.emodb_manifest (tools/emodb_manifest.py): EmoDB → manifest CSV with the
documented valence/arousal mapping."""

import pytest

from ser_keras.cli import emodb_manifest
from ser_keras.data.labels import dimensional_view
from ser_keras.data.manifest import read_manifest

pytestmark = pytest.mark.integration


def test_manifest_maps_emotions_to_ratings_and_reads_back(tmp_path, wav_writer, capsys):
    for name in ("03a01Wa", "16b10Tc", "10a02Nb", "09a05Fd"):
        wav_writer(tmp_path / "wav" / f"{name}.wav")
    emodb_manifest.main(["--emodb", str(tmp_path / "wav"), "--out", str(tmp_path / "emodb.csv")])
    assert "4 utterances" in capsys.readouterr().out
    corpus = read_manifest(tmp_path / "emodb.csv")
    by_id = {u.id: (u.speaker, u.label, u.valence, u.arousal, u.gender) for u in corpus.utterances}
    assert by_id == {
        "03a01Wa": ("03", "ang", 2.0, 5.0, "M"),
        "16b10Tc": ("16", "sad", 1.0, 2.0, "F"),
        "10a02Nb": ("10", "neu", 3.0, 3.0, "M"),
        "09a05Fd": ("09", "hap", 5.0, 4.0, "F"),
    }
    view = dimensional_view(corpus.utterances)
    assert view.source == "valence/arousal" and sorted(view.arousal) == [1, 2, 3, 4]
    assert set(emodb_manifest.VALENCE_AROUSAL) == {"ang", "bor", "dis", "fea", "hap", "neu", "sad"}
