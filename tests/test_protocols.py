"""Folds: speaker/session disjointness, fold selection, the seeded stratified validation split."""

import numpy as np
import pytest

from ser_keras.data.corpus import Utterance
from ser_keras.data.protocols import (
    PROTOCOLS,
    Fold,
    default_protocol,
    make_folds,
    train_validation_split,
)


def _utterances(per_speaker=12):
    records = []
    for session in range(1, 6):
        for gender in "FM":
            for index in range(per_speaker):
                records.append(
                    Utterance(
                        id=f"Ses{session:02d}{gender}_{index:03d}",
                        path="/x.wav",
                        speaker=f"Ses{session:02d}{gender}",
                        session=f"Ses{session:02d}",
                        label=("ang", "hap", "neu", "sad")[index % 4],
                    )
                )
    return records


@pytest.mark.parametrize("protocol, key, count", [(PROTOCOLS[0], "session", 5), (PROTOCOLS[1], "speaker", 10)])
def test_folds_are_disjoint_and_cover_every_utterance(protocol, key, count):
    utterances = _utterances()
    folds = make_folds(utterances, protocol)
    assert len(folds) == count
    tested = np.concatenate([fold.test for fold in folds])
    assert sorted(tested) == list(range(len(utterances)))  # each utterance tested exactly once
    for fold in folds:
        parts = [set(fold.train), set(fold.validation), set(fold.test)]
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        assert len(fold.train) + len(fold.validation) + len(fold.test) == len(utterances)
        assert {getattr(utterances[i], key) for i in fold.test} == {fold.name}
        pool = {utterances[i].speaker for i in np.concatenate([fold.train, fold.validation])}
        assert not pool & {utterances[i].speaker for i in fold.test}


def test_a_fold_sharing_a_speaker_raises():
    speakers = ["a", "a", "b", "c"]
    fold = Fold("b", train=np.array([0, 2]), validation=np.array([3]), test=np.array([1]))
    with pytest.raises(ValueError, match=r"Fold b: speaker\(s\) \['a'\] in both training and test"):
        fold.check_speaker_disjoint(speakers)
    Fold("b", np.array([0, 1]), np.array([3]), np.array([2])).check_speaker_disjoint(speakers)


def test_session_folds_raise_when_a_speaker_spans_sessions():
    utterances = _utterances(2)
    utterances[0] = Utterance(id="odd", path="/x.wav", speaker="Ses02F", session="Ses01", label="ang")
    with pytest.raises(ValueError, match="in both training and test"):
        make_folds(utterances, PROTOCOLS[0])


def test_only_keeps_named_folds_and_rejects_unknown_names():
    utterances = _utterances(4)
    assert [f.name for f in make_folds(utterances, PROTOCOLS[0], only=["Ses05", "Ses02"])] == ["Ses02", "Ses05"]
    with pytest.raises(ValueError, match=r"\['Ses6'\] not in this corpus; its sessions are \['Ses01', .*'Ses05'\]"):
        make_folds(utterances, PROTOCOLS[0], only=["Ses6"])
    with pytest.raises(ValueError, match=r"its speakers are \['Ses01F', 'Ses01M'"):
        make_folds(utterances, PROTOCOLS[1], only=["Ses01X"])


def test_a_fold_chosen_with_only_splits_as_in_the_full_run():
    utterances = _utterances(10)
    full = {fold.name: fold for fold in make_folds(utterances, PROTOCOLS[0], seed=7)}
    (chosen,) = make_folds(utterances, PROTOCOLS[0], seed=7, only=["Ses04"])
    assert chosen.validation.tolist() == full["Ses04"].validation.tolist()
    assert chosen.train.tolist() == full["Ses04"].train.tolist()


def test_unknown_protocol_and_missing_sessions_are_rejected():
    with pytest.raises(ValueError, match="'protocol' parameter must be one of"):
        make_folds(_utterances(1), "leave-one-out")
    no_sessions = [Utterance(id=str(i), path="/x.wav", speaker=str(i % 3)) for i in range(6)]
    assert default_protocol(no_sessions) == PROTOCOLS[1]
    assert default_protocol(_utterances(1)) == PROTOCOLS[0]
    with pytest.raises(ValueError, match="needs a session for every utterance"):
        make_folds(no_sessions, PROTOCOLS[0])


def test_validation_split_is_seeded_and_stratified():
    targets = np.array([0] * 50 + [1] * 30 + [2] * 20)
    pool = np.arange(100)
    train, validation = train_validation_split(pool, targets, seed=3)
    assert np.array_equal(np.sort(np.concatenate([train, validation])), pool)
    assert [int(np.sum(targets[validation] == c)) for c in range(3)] == [10, 6, 4]
    again = train_validation_split(pool, targets, seed=3)
    assert np.array_equal(again[1], validation)
    assert not np.array_equal(train_validation_split(pool, targets, seed=4)[1], validation)
    plain_train, plain_validation = train_validation_split(pool[::2], seed=0)
    assert len(plain_validation) == 10 and len(plain_train) == 40
    with pytest.raises(ValueError, match="'validation_fraction' parameter must be in"):
        train_validation_split(pool, validation_fraction=1.0)


def test_fold_validation_is_stratified_by_targets():
    utterances = _utterances(20)
    targets = np.array([("ang", "hap", "neu", "sad").index(u.label) for u in utterances])
    fold = make_folds(utterances, PROTOCOLS[0], targets=targets, seed=1, only=["Ses01"])[0]
    assert np.bincount(targets[fold.validation]).tolist() == [8, 8, 8, 8]
    assert (
        make_folds(utterances, PROTOCOLS[0], targets=targets, seed=1, only=["Ses01"])[0].validation.tolist()
        == fold.validation.tolist()
    )
