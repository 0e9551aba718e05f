"""Intervals and paired tests over speakers against independent references: scipy's t
interval of per-speaker means, a finite-difference influence of scikit-learn's weighted
recall, and brute-force enumeration of every speaker swap; McNemar against scipy's
binomtest; Holm on a worked example; every verdict branch; id alignment of two systems."""

import csv
import dataclasses
import io
import itertools

import numpy as np
import pytest
import scipy.stats
import sklearn.metrics
from scipy.stats import binomtest

from ser_keras.stats import (
    POINT_VERDICTS,
    Comparison,
    all_of,
    compare_systems,
    comparisons_csv_rows,
    comparisons_markdown,
    directional_verdict,
    holm,
    interval,
    mcnemar_exact,
    mean_interval,
    noninferiority_verdict,
    paired_test,
    point_verdict,
    sign_flip_p,
    speaker_totals,
    with_holm,
)


def speaker_data(seed, speakers=8, per_speaker=30, classes=4, accuracy_sd=0.15):
    """Targets, two systems' predictions and speaker names with speaker-level accuracy differences."""
    rng = np.random.default_rng(seed)
    names = np.repeat([f"spk{index:02d}" for index in range(speakers)], per_speaker)
    targets = rng.integers(0, classes, len(names))
    skill = np.clip(0.6 + rng.normal(0, accuracy_sd, speakers), 0.05, 0.95)
    speaker_index = np.repeat(np.arange(speakers), per_speaker)

    def system(shift):
        right = rng.random(len(names)) < np.clip(skill[speaker_index] + shift, 0, 1)
        return np.where(right, targets, (targets + rng.integers(1, classes, len(names))) % classes)

    return targets, system(0.0), system(-0.05), names


def sklearn_uar(targets, predictions, weights=None):
    return 100.0 * sklearn.metrics.recall_score(
        targets, predictions, average="macro", sample_weight=weights, labels=np.unique(targets), zero_division=0
    )


@pytest.mark.parametrize("seed", range(4))
def test_war_interval_equals_scipys_t_interval_of_per_speaker_accuracies(seed):
    # With equal utterances per speaker the pooled WAR is the mean of per-speaker accuracies,
    # and its cluster-robust SE is their standard error of the mean.
    targets, predictions, _, speakers = speaker_data(seed)
    found = interval(targets, predictions, speakers, metric="WAR")
    per_speaker = [100.0 * np.mean(targets[speakers == s] == predictions[speakers == s]) for s in np.unique(speakers)]
    low, high = scipy.stats.t.interval(
        0.95, len(per_speaker) - 1, loc=np.mean(per_speaker), scale=scipy.stats.sem(per_speaker)
    )
    assert found.value == pytest.approx(np.mean(per_speaker))
    assert (found.low, found.high) == (pytest.approx(low), pytest.approx(high))
    assert found.unit == "speaker" and found.clusters == 8 and "7 df" in found.method


@pytest.mark.parametrize("seed", range(4))
def test_uar_interval_uses_the_influence_of_each_speaker_on_sklearns_weighted_recall(seed):
    # Independent reference: each speaker's influence as the finite-difference derivative of
    # scikit-learn's macro recall with respect to that speaker's weight; unequal speaker sizes.
    rng = np.random.default_rng(seed + 10)
    targets, predictions, _, speakers = speaker_data(seed, speakers=6)
    keep = rng.random(len(targets)) < 0.7
    targets, predictions, speakers = targets[keep], predictions[keep], speakers[keep]
    names = np.unique(speakers)
    step = 1e-6
    base = sklearn_uar(targets, predictions)
    influence = np.array(
        [(sklearn_uar(targets, predictions, 1.0 + step * (speakers == s)) - base) / step for s in names]
    )
    standard_error = np.sqrt(len(names) / (len(names) - 1) * np.sum(influence**2))
    half = scipy.stats.t.ppf(0.975, len(names) - 1) * standard_error
    found = interval(targets, predictions, speakers, metric="UAR", num_classes=4)
    assert found.value == pytest.approx(base)
    assert found.low == pytest.approx(max(0.0, base - half), abs=1e-3)
    assert found.high == pytest.approx(min(100.0, base + half), abs=1e-3)


def test_a_class_some_speakers_lack_keeps_every_speaker_and_the_whole_test_sets_classes():
    # Class 3 is spoken by one speaker only: UAR runs over the four classes of the test set,
    # every speaker still counts, and nothing is dropped or divided by zero.
    targets = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 3, 0])
    predictions = np.array([0, 1, 1, 0, 2, 2, 1, 1, 2, 3, 0, 0])
    speakers = np.array(["a"] * 3 + ["b"] * 3 + ["c"] * 6)
    totals = speaker_totals(targets, predictions, speakers)
    assert totals.count.tolist() == [[1, 1, 1, 0], [1, 1, 1, 0], [2, 1, 1, 2]]
    found = interval(targets, predictions, speakers)
    assert found.value == pytest.approx(sklearn_uar(targets, predictions))
    assert 0.0 <= found.low < found.value < found.high <= 100.0 and found.clusters == 3


def test_interval_edge_cases_and_bad_input():
    single = interval([0, 1, 1], [0, 1, 0], ["a", "a", "a"])
    assert single.low is None and single.high is None and single.clusters == 1
    perfect = interval([0, 1, 0, 1], [0, 1, 0, 1], ["a", "a", "b", "b"])
    assert (perfect.value, perfect.low, perfect.high) == (100.0, 100.0, 100.0)
    with pytest.raises(ValueError, match="one value per target"):
        interval([0, 1], [0, 1], ["a"])
    with pytest.raises(ValueError, match="metric"):
        interval([0, 1], [0, 1], ["a", "b"], metric="F1")
    with pytest.raises(ValueError, match=r"outside 0\.\.1"):
        interval([0, 2], [0, 1], ["a", "b"], num_classes=2)
    with pytest.raises(ValueError, match="confidence"):
        interval([0, 1], [0, 1], ["a", "b"], confidence=95)


def brute_force_p(targets, first, second, speakers):
    """Two-sided p of the UAR difference over every assignment of which system produced each
    speaker's predictions, recomputed from scratch with scikit-learn."""
    names = np.unique(speakers)
    observed = abs(sklearn_uar(targets, first) - sklearn_uar(targets, second))
    extreme = 0
    for swap in itertools.product((False, True), repeat=len(names)):
        swapped = np.isin(speakers, names[list(swap)])
        a, b = np.where(swapped, second, first), np.where(swapped, first, second)
        extreme += abs(sklearn_uar(targets, a) - sklearn_uar(targets, b)) >= observed - 1e-9
    return extreme / 2 ** len(names)


@pytest.mark.parametrize("seed, speakers", [(0, 6), (1, 7), (2, 8), (3, 6)])
def test_sign_flip_p_equals_brute_force_enumeration_of_speaker_swaps(seed, speakers):
    targets, first, second, names = speaker_data(seed, speakers=speakers)
    found = paired_test(targets, first, second, names)
    assert found.exact and found.clusters == speakers
    assert found.p == pytest.approx(brute_force_p(targets, first, second, names))
    assert found.difference == pytest.approx(sklearn_uar(targets, first) - sklearn_uar(targets, second))
    assert found.min_p == 2 / 2**speakers


def test_paired_interval_equals_the_difference_of_influences():
    # For WAR with equal speakers: t interval of the per-speaker accuracy differences (scipy).
    targets, first, second, speakers = speaker_data(5, speakers=9)
    found = paired_test(targets, first, second, speakers, metric="WAR")
    differences = [
        100.0
        * (
            np.mean(first[speakers == s] == targets[speakers == s])
            - np.mean(second[speakers == s] == targets[speakers == s])
        )
        for s in np.unique(speakers)
    ]
    low, high = scipy.stats.t.interval(0.95, 8, loc=np.mean(differences), scale=scipy.stats.sem(differences))
    assert (found.low, found.high) == (pytest.approx(low), pytest.approx(high))


def test_monte_carlo_flips_beyond_twelve_speakers_are_seeded_never_zero_and_near_exact():
    contributions = np.random.default_rng(0).normal(0.3, 1.0, 13)
    exact = np.mean(
        [
            abs(np.dot(signs, contributions)) >= abs(contributions.sum()) - 1e-12
            for signs in itertools.product((1.0, -1.0), repeat=13)
        ]
    )
    targets, first, second, speakers = speaker_data(7, speakers=16, per_speaker=10)
    found = paired_test(targets, first, second, speakers, seed=3)
    assert not found.exact and found.min_p == pytest.approx(1 / 10000)
    assert found == paired_test(targets, first, second, speakers, seed=3)
    p, is_exact, _ = sign_flip_p(np.r_[contributions, 0.0, 0.0], seed=1)  # 15 speakers: Monte Carlo
    assert not is_exact and p == pytest.approx(exact, abs=0.015)
    strong = np.full(20, 1.0)
    assert sign_flip_p(strong, seed=0)[0] == pytest.approx(1 / 10000)  # never 0


def test_two_speakers_can_never_reject_and_identical_systems_give_p_one():
    targets, first, second, speakers = speaker_data(1, speakers=2)
    found = paired_test(targets, first, 1 - first % 2, speakers)
    assert found.p >= 0.5 and found.min_p == 0.5 and not found.testable()
    same = paired_test(targets, first, first.copy(), speakers)
    assert same.difference == 0.0 and same.p == 1.0 and (same.low, same.high) == (0.0, 0.0)


def test_mean_interval_over_speakers():
    values = np.array([0.2, 0.4, np.nan, 0.6, 0.8, 0.1, 0.3])
    speakers = np.array(["a", "a", "a", "b", "b", "c", "c"])
    found = mean_interval(values, speakers)
    per_speaker = [0.3, 0.7, 0.2]  # equal finite counts per speaker: the mean of speaker means
    low, high = scipy.stats.t.interval(0.95, 2, loc=np.mean(per_speaker), scale=scipy.stats.sem(per_speaker))
    assert found.value == pytest.approx(np.mean(per_speaker)) and found.clusters == 3
    assert (found.low, found.high) == (pytest.approx(low), pytest.approx(high))
    assert mean_interval(np.array([0.5, 0.7]), np.array(["a", "a"])).low is None
    assert mean_interval(np.array([np.nan]), np.array(["a"])) is None


@pytest.mark.parametrize("seed", range(6))
def test_mcnemar_equals_the_exact_binomial_test_of_the_discordant_pairs(seed):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(5, 80))
    correct_a = rng.random(size) < rng.uniform(0.3, 0.9)
    correct_b = rng.random(size) < rng.uniform(0.3, 0.9)
    only_a = int(np.sum(correct_a & ~correct_b))
    only_b = int(np.sum(~correct_a & correct_b))
    expected = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    assert mcnemar_exact(correct_a, correct_b) == pytest.approx(expected, rel=1e-9)


def test_mcnemar_edge_cases_and_inputs():
    same = np.array([True, False, True])
    assert mcnemar_exact(same, same) == 1.0  # no discordant pair
    assert mcnemar_exact([True, False], [False, True]) == pytest.approx(1.0)  # b == c
    assert mcnemar_exact([True] * 6, [False] * 6) == pytest.approx(binomtest(6, 6, 0.5).pvalue)  # 2 / 64
    with pytest.raises(TypeError, match="boolean"):
        mcnemar_exact([0, 1, 2], [0, 1, 1])
    with pytest.raises(ValueError, match="one length"):
        mcnemar_exact([True, False], [True])


def test_holm_against_a_worked_example():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> running max 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, None, 0.4]) == [pytest.approx(0.8), None, pytest.approx(0.8)]
    assert holm([0.7, 0.8]) == [1.0, 1.0]  # 2 * 0.7 capped at 1; the larger p cannot fall below it
    assert holm([]) == [] and holm([None]) == [None]


def comparison(difference, p, ci95=None, speakers=10):
    ci95 = (difference - 1, difference + 1) if ci95 is None else ci95
    return Comparison(
        system="sys",
        reference="ref",
        metric="UAR",
        value_system=50.0 + difference,
        value_reference=50.0,
        difference=difference,
        ci95=ci95,
        p=p,
        min_p=2 / 2**speakers,
        p_mcnemar=0.5,
        n_utterances=100,
        speakers=speakers,
        method="test",
        p_holm=p,
    )


@pytest.mark.parametrize(
    "difference, p, expectation, verdict",
    [
        (3.0, 0.01, "better", "holds"),
        (-3.0, 0.01, "better", "does not hold"),
        (3.0, 0.20, "better", "inconclusive"),
        (-3.0, 0.20, "better", "inconclusive"),
        (-3.0, 0.01, "worse", "holds"),
        (3.0, 0.01, "worse", "does not hold"),
        (-3.0, 0.20, "worse", "inconclusive"),
        (3.0, 0.05, "better", "inconclusive"),  # p must fall below alpha
    ],
)
def test_directional_verdict_branches(difference, p, expectation, verdict):
    assert directional_verdict(comparison(difference, p), expectation) == verdict


def test_directional_verdict_with_too_few_speakers_and_bad_input():
    assert directional_verdict(comparison(9.0, 0.0625, speakers=5), "better") == "too few speakers to test"
    assert directional_verdict(comparison(9.0, 0.03, speakers=6), "better") == "holds"  # 2/64 < 5 %
    with pytest.raises(ValueError, match="expectation"):
        directional_verdict(comparison(3.0, 0.01), "on_par")


@pytest.mark.parametrize(
    "ci95, verdict",
    [
        ((-1.5, 2.0), "holds"),  # the whole interval above -3
        ((1.0, 6.0), "holds"),  # significantly better is not worse
        ((-8.0, -4.0), "does not hold"),  # wholly below -3
        ((-4.0, 1.0), "inconclusive"),  # straddles -3
        ((-3.0, 1.0), "inconclusive"),  # touching the margin is not above it
    ],
)
def test_noninferiority_verdict_branches(ci95, verdict):
    assert noninferiority_verdict(comparison(sum(ci95) / 2, 0.5, ci95=ci95), margin=3.0) == verdict


def test_noninferiority_needs_enough_speakers_and_a_margin():
    assert noninferiority_verdict(comparison(0.0, 0.5, ci95=(-1, 1), speakers=4), 3.0) == "too few speakers to test"
    assert (
        noninferiority_verdict(dataclasses.replace(comparison(0.0, 0.5), ci95=None), 3.0) == "too few speakers to test"
    )
    with pytest.raises(ValueError, match="margin"):
        noninferiority_verdict(comparison(0.0, 0.5), -1.0)


def test_all_of_is_intersection_union_without_correction():
    assert all_of(["holds", "holds"]) == "holds"
    assert all_of(["holds", "inconclusive"]) == "inconclusive"
    assert all_of(["holds", "does not hold", "inconclusive"]) == "does not hold"
    assert all_of(["holds", "too few speakers to test"]) == "too few speakers to test"
    with pytest.raises(ValueError):
        all_of([])


def test_point_verdicts_use_their_own_words():
    assert point_verdict(True) == POINT_VERDICTS[0] and point_verdict(False) == POINT_VERDICTS[1]
    assert point_verdict(None) == "n/a"
    assert all("untested" in words for words in POINT_VERDICTS)


def test_compare_systems_aligns_on_shared_ids():
    ids_ref = ["u1", "u2", "u3", "u4", "u5", "u6"]
    targets_ref = [0, 1, 2, 3, 0, 1]
    pred_ref = [0, 1, 0, 0, 0, 0]
    # The system lists its utterances in another order, lacks u6 and has an extra u9.
    ids_sys = ["u9", "u5", "u4", "u3", "u2", "u1"]
    targets_sys = [2, 0, 3, 2, 1, 0]
    pred_sys = [2, 0, 3, 2, 1, 1]
    result = compare_systems(
        "ref",
        "sys",
        ids_ref,
        targets_ref,
        pred_ref,
        ids_sys,
        targets_sys,
        pred_sys,
        speakers=["A", "A", "B", "B", "C", "C"],
        metric="WAR",
    )
    # Shared u1..u5: reference right on u1, u2, u5 (3/5); system right on u2..u5 (4/5).
    assert result.n_utterances == 5 and result.system == "sys" and result.reference == "ref"
    assert result.value_reference == pytest.approx(60.0) and result.value_system == pytest.approx(80.0)
    assert result.difference == pytest.approx(20.0)
    assert result.p_mcnemar == pytest.approx(binomtest(2, 3, 0.5).pvalue)  # sys-only u3, u4; ref-only u1
    assert result.speakers == 3 and result.p_holm is None and not result.testable()


def test_compare_systems_errors_name_both_systems():
    with pytest.raises(ValueError, match="'ref' and 'sys' share no utterance id"):
        compare_systems("ref", "sys", ["a"], [0], [0], ["b"], [0], [0], speakers=["s"], metric="WAR")
    with pytest.raises(ValueError, match=r"'ref' and 'sys' disagree on the target of 1 .*\['b'\]"):
        compare_systems(
            "ref", "sys", ["a", "b"], [0, 1], [0, 1], ["b", "a"], [2, 0], [0, 0], speakers=["s", "s"], metric="WAR"
        )
    with pytest.raises(ValueError, match="'sys' lists utterance 'a' twice"):
        compare_systems("ref", "sys", ["a"], [0], [0], ["a", "a"], [0, 0], [0, 0], speakers=["s"], metric="WAR")


def test_with_holm_and_the_reports():
    targets, reference, _, speakers = speaker_data(5, speakers=8)
    ids = [f"u{i}" for i in range(len(targets))]
    rng = np.random.default_rng(1)
    systems = {"strong": np.where(rng.random(len(targets)) < 0.9, targets, (targets + 1) % 4), "same": reference.copy()}
    comparisons = with_holm(
        [
            compare_systems(
                "base", name, ids, targets, reference, ids, targets, predictions, speakers=speakers, metric="UAR"
            )
            for name, predictions in systems.items()
        ]
    )
    assert [c.p_holm for c in comparisons] == holm([c.p for c in comparisons])
    assert [directional_verdict(c, "better") for c in comparisons] == ["holds", "inconclusive"]
    assert comparisons[0].p >= comparisons[0].min_p == 2 / 256

    rows = comparisons_csv_rows(comparisons)
    table = list(csv.reader(io.StringIO("\n".join(",".join(map(str, row)) for row in rows))))
    assert table[0][:3] == ["system", "reference", "metric"] and len(table) == 3
    assert dict(zip(table[0], table[2]))["significant"] == "False"
    assert dict(zip(table[0], table[1]))["speakers"] == "8"

    markdown = comparisons_markdown(comparisons, "base")
    assert markdown.startswith("### Paired comparisons against base\n")
    assert "| system | Δ UAR (pp) | 95 % CI | p (sign flip) | p (Holm) | p (McNemar) | significant |" in markdown
    assert "| same | +0.00 | [+0.00, +0.00] | 1.000 | 1.000 | 1.000 | no |" in markdown
    assert "over 8 speakers" in markdown
    with pytest.raises(ValueError, match="against 'other'"):
        comparisons_markdown(comparisons, "other")
    with pytest.raises(ValueError, match="with_holm"):
        comparisons_markdown([dataclasses.replace(comparisons[0], p_holm=None)], "base")


def test_too_few_speakers_are_said_in_the_report():
    targets, reference, other, speakers = speaker_data(2, speakers=3)
    ids = [f"u{i}" for i in range(len(targets))]
    comparisons = with_holm(
        [
            compare_systems(
                "base", "other", ids, targets, reference, ids, targets, other, speakers=speakers, metric="UAR"
            )
        ]
    )
    markdown = comparisons_markdown(comparisons, "base")
    assert "| n/a (3 speakers) |" in markdown and "too few speakers for a 5 % test" in markdown
    assert "over 3 speakers: speaker sign-flip test" in markdown
    assert comparisons_csv_rows(comparisons)[1][11] == "n/a"
