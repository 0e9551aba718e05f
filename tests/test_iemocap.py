"""IEMOCAP reader on hand-written EmoEvaluation snippets (iemocap-format.md)."""

import pytest

from ser_keras.data.iemocap import CorpusLayoutError, parse_evaluation_file, parse_turn_name, read_iemocap

SPEC_EXAMPLE = (
    "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]\n"
    "C-E2:\tNeutral;\t()\n"
    "C-E3:\tNeutral;\t()\n"
    "C-E4:\tNeutral;\t()\n"
    "C-F1:\tNeutral;\t(curious)\n"
    "A-E3:\tval 3; act 2; dom  2;\t()\n"
    "A-E4:\tval 2; act 3; dom  3;\t(mildly aggravated but staying polite, attitude)\n"
    "A-F1:\tval 3; act 2; dom  1;\t()\n"
    "\n"
    "[9.0000 - 11.5000]\tSes01F_impro01_M000\tfru\t[2.0000, 3.5000, 3.0000]\n"
    "C-E1:\tFrustration; Anger;\t(annoyed)\n"
    "C-M1:\tAnger;\t()\n"
    "A-E2:\tval 2; act 4; dom  3;\t()\n"
    "A-M1:\tval 1; act 5; dom  4;\t()\n"
    "\n"
)


def test_spec_example_turns_and_evaluator_lines(tmp_path, dialog_writer):
    dialog_writer(tmp_path, "Ses01F_impro01", SPEC_EXAMPLE, wavs=["Ses01F_impro01_F000", "Ses01F_impro01_M000"])
    corpus = read_iemocap(tmp_path)
    first, second = corpus.utterances
    assert (first.id, first.label, first.speaker, first.gender, first.session) == (
        "Ses01F_impro01_F000",
        "neu",
        "Ses01F",
        "F",
        "Ses01",
    )
    assert first.duration == pytest.approx(8.2357 - 6.2901)
    assert (first.valence, first.arousal) == (2.5, 2.5)
    assert first.dialog == "Ses01F_impro01" and first.improvised is True
    assert first.categorical == (("E2", ("Neutral",)), ("E3", ("Neutral",)), ("E4", ("Neutral",)), ("F1", ("Neutral",)))
    # 'dom  2' (two spaces) parses; the self-rating F1 stays under its own name.
    assert first.ratings == (("E3", 3.0, 2.0, 2.0), ("E4", 2.0, 3.0, 3.0), ("F1", 3.0, 2.0, 1.0))
    assert first.rating("E2") is None and first.rating("F1") == (3.0, 2.0)
    assert second.speaker == "Ses01M" and second.gender == "M" and second.label == "fru"
    assert second.categorical[0] == ("E1", ("Frustration", "Anger"))  # multi-label line
    assert second.rating("E2") == (2.0, 4.0) and second.rating("M1") == (1.0, 5.0)
    assert len(corpus.problems) == 4 and all("missing; its speakers are absent" in p for p in corpus.problems)
    assert corpus.kind == "iemocap" and len(corpus.sha256) == 64


def test_speaker_is_the_turn_suffix_not_the_dialog_perspective(tmp_path, dialog_writer, block):
    text = block("Ses03M_impro07_F000", "ang") + block("Ses03M_impro07_M001", "sad", 3.0, 4.0)
    dialog_writer(tmp_path, "Ses03M_impro07", text, wavs=["Ses03M_impro07_F000", "Ses03M_impro07_M001"])
    female, male = read_iemocap(tmp_path).utterances
    assert (female.speaker, female.gender, female.session) == ("Ses03F", "F", "Ses03")
    assert (male.speaker, male.gender) == ("Ses03M", "M")


def test_scripted_turn_names():
    assert parse_turn_name("Ses01F_script01_1_F000") == ("Ses01F_script01_1", "Ses01", "Ses01F", "F", False)
    assert parse_turn_name("Ses05M_script01_1b_M012") == ("Ses05M_script01_1b", "Ses05", "Ses05M", "M", False)
    assert parse_turn_name("Ses02F_impro05a_F003")[4] is True
    assert parse_turn_name("Ses01F_impro01") is None
    assert parse_turn_name("Ses01X_impro01_F000") is None


def test_scripted_dialog_reads_through(tmp_path, dialog_writer, block):
    dialog_writer(
        tmp_path, "Ses02F_script01_1", block("Ses02F_script01_1_M004", "hap"), wavs=["Ses02F_script01_1_M004"]
    )
    (utterance,) = read_iemocap(tmp_path).utterances
    assert (utterance.dialog, utterance.speaker, utterance.improvised) == ("Ses02F_script01_1", "Ses02M", False)
    assert utterance.path.endswith("Session2/sentences/wav/Ses02F_script01_1/Ses02F_script01_1_M004.wav")


def test_malformed_lines_are_reported_with_file_and_line_and_skipped(tmp_path, dialog_writer, block):
    text = (
        block("Ses01F_impro01_F000", "neu", lines=["C-E2:\tNeutral;\t()", "A-E2:\tval 3; act 2; dom  2;\t()"])
        + "[1.0 - oops]\tSes01F_impro01_F001\tneu\t[2.5000, 2.5000, 2.5000]\n"  # line 7
        + "A-E2:\tval 3; act 3; dom 3;\t()\n\n"
        + "this is not an annotation\n\n"  # line 10
        + block("Ses01F_impro01_M000", "sad", 3.0, 4.0, lines=["A-E2:\tval 1; act 1; dom 1;\t()"])
    )
    evaluation = dialog_writer(
        tmp_path, "Ses01F_impro01", text, wavs=["Ses01F_impro01_F000", "Ses01F_impro01_F001", "Ses01F_impro01_M000"]
    )
    problems = []
    turns = parse_evaluation_file(evaluation, problems)
    assert [t["name"] for t in turns] == ["Ses01F_impro01_F000", "Ses01F_impro01_M000"]
    assert len(problems) == 2
    assert problems[0].startswith(f"{evaluation}:7: malformed turn line") and "[START - END]" in problems[0]
    assert problems[1].startswith(f"{evaluation}:10: unrecognised line")
    # The block after a skipped turn never lends its ratings to another turn.
    assert turns[1]["ratings"] == [("E2", 1.0, 1.0, 1.0)]


def test_evaluator_lines_cut_off_from_their_turn_are_reported(tmp_path, dialog_writer, block):
    text = block("Ses01F_impro01_F000") + "A-E2:\tval 3; act 2; dom  2;\t()\n\n"
    evaluation = dialog_writer(tmp_path, "Ses01F_impro01", text, wavs=["Ses01F_impro01_F000"])
    problems = []
    (turn,) = parse_evaluation_file(evaluation, problems)
    assert turn["ratings"] == []
    assert problems == [f"{evaluation}:5: evaluator line outside a turn block (after a blank line?) skipped"]


def test_missing_wav_folder_is_a_layout_error(tmp_path, dialog_writer, block):
    dialog_writer(tmp_path, "Ses01F_impro01", block("Ses01F_impro01_F000"), wavs=["Ses01F_impro01_F000"])
    (tmp_path / "Session1" / "sentences" / "wav" / "Ses01F_impro01" / "Ses01F_impro01_F000.wav").unlink()
    (tmp_path / "Session1" / "sentences" / "wav" / "Ses01F_impro01").rmdir()
    (tmp_path / "Session1" / "sentences" / "wav").rmdir()
    with pytest.raises(CorpusLayoutError, match=r"Session1/sentences/wav missing; expected it"):
        read_iemocap(tmp_path)


def test_root_without_sessions_is_a_layout_error(tmp_path):
    with pytest.raises(CorpusLayoutError, match="holds none of Session1"):
        read_iemocap(tmp_path)
    with pytest.raises(CorpusLayoutError, match="is not a folder"):
        read_iemocap(tmp_path / "absent")


def test_tiny_synthetic_corpus_parses_back_to_its_plan(tiny_root):
    from ser_keras.data.corpus import load_corpus
    from ser_keras.data.describe import describe_corpus
    from ser_keras.data.synthetic import plan_corpus

    corpus = load_corpus("synthetic:tiny")
    assert corpus.kind == "synthetic" and corpus.root == str(tiny_root) and corpus.problems == ()
    plan = {turn.name: turn for turn in plan_corpus("tiny")}
    assert sorted(u.id for u in corpus.utterances) == sorted(plan)
    for utterance in corpus.utterances:
        turn = plan[utterance.id]
        assert utterance.label == turn.code
        assert utterance.speaker == f"Ses{turn.session:02d}{'FM'[turn.speaker % 2]}"
        assert utterance.duration == pytest.approx(turn.n_samples / 16000, abs=2e-4)
        assert (utterance.rating("E2") is not None) == any(line.startswith("A-E2:") for line in turn.evaluation_lines)
    summary = describe_corpus(corpus)
    assert (summary["utterances"], summary["speakers"], summary["sessions"]) == (28, 10, 5)
    assert summary["evaluator_coverage"]["E2"] == sum(u.rating("E2") is not None for u in corpus.utterances) > 0
    assert summary["label_views"]["four_class"]["classes"] == {"ang": 5, "hap": 8, "neu": 5, "sad": 5}
