import numpy as np
import pytest

from ser_keras.interpret.importance import (
    CEPSTRAL,
    GROUPS,
    LLD_GROUPS,
    compare_functional_names,
    feature_group,
    group_counts,
    low_level_descriptor,
    spectral_count,
    top_features,
)

# SHORT Table 4 (published-numbers.md): 0-based ComParE_2016 functional index -> group.
PAPER_TABLE4 = {
    "raw": [
        (2957, "Spectral Flux"),
        (1513, "Spectral Harmonicity"),
        (4138, "Spectral (Auditory)"),
        (3218, "Spectral Harmonicity"),
        (5496, "Spectral (Auditory)"),
        (6039, "Spectral Flux"),
        (5490, "Spectral (Auditory)"),
        (6035, "Spectral Flux"),
        (74, "Prosodic"),
        (6030, "Spectral Flux"),
    ],
    "subseg_rel": [
        (5168, "Cepstral"),
        (5166, "Cepstral"),
        (1637, "Cepstral"),
        (1522, "Cepstral"),
        (1523, "Cepstral"),
        (1587, "Cepstral"),
        (5173, "Cepstral"),
        (3311, "Cepstral"),
        (1244, "Spectral Flux"),
        (3712, "Voice quality"),
    ],
    "seg_rel": [
        (5166, "Cepstral"),
        (1523, "Cepstral"),
        (1522, "Cepstral"),
        (2957, "Spectral Flux"),
        (1431, "Spectral Slope"),
        (5097, "Spectral Slope"),
        (5489, "Spectral (Auditory)"),
        (132, "Spectral (Auditory)"),
        (5173, "Cepstral"),
        (4144, "Spectral (Auditory)"),
    ],
}


@pytest.fixture(scope="module")
def names():
    return compare_functional_names()


@pytest.mark.parametrize("column", sorted(PAPER_TABLE4))
def test_every_paper_table4_index_gets_the_paper_group(names, column):
    for index, group in PAPER_TABLE4[column]:
        assert feature_group(names[index]) == group, (index, names[index])


def test_paper_group_count_claims(names):
    raw = group_counts([i for i, _ in PAPER_TABLE4["raw"]], names)
    subseg = group_counts([i for i, _ in PAPER_TABLE4["subseg_rel"]], names)
    seg = group_counts([i for i, _ in PAPER_TABLE4["seg_rel"]], names)
    assert spectral_count(raw) == 9
    assert subseg[CEPSTRAL] == 8
    assert seg[CEPSTRAL] == 4 and spectral_count(seg) == 6
    assert list(raw) == list(GROUPS)


def test_every_compare_functional_has_a_group(names):
    assert len(names) == 6373
    assert {low_level_descriptor(n) for n in names} == set(LLD_GROUPS)
    assert {feature_group(n) for n in names} == set(GROUPS)


def test_top_features_ranks_importances(names):
    importances = np.zeros(len(names))
    importances[[2957, 74, 5166]] = [0.3, 0.1, 0.2]
    top = top_features(importances, k=3)
    assert [f.index for f in top] == [2957, 5166, 74]
    assert [f.rank for f in top] == [1, 2, 3]
    assert top[0].name == "pcm_fftMag_spectralFlux_sma_de_stddev" and top[1].group == CEPSTRAL
    with pytest.raises(ValueError, match="Expected 6373 importances"):
        top_features(np.ones(10))


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError, match="no group"):
        feature_group("pcm_LOGenergy_sma_amean")
    with pytest.raises(ValueError, match="not a ComParE functional"):
        low_level_descriptor("F0semitone")
