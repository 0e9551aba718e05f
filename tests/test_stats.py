"""Paired significance (issue 15 item 2): McNemar against scipy's binomtest, the paired and
speaker-cluster bootstrap on hand-computed cases, Holm on a worked example, claim verdicts
and the id alignment of two systems."""

import csv
import dataclasses
import io

import numpy as np
import pytest
from scipy.stats import binomtest

from ser_keras.metrics import unweighted_average_recall
from ser_keras.stats import (Comparison, claim_verdict, compare_systems, comparisons_csv_rows, comparisons_markdown,
                             holm, mcnemar_exact, paired_bootstrap, with_holm)


def accuracy(targets, predictions):
    return float(np.mean(targets == predictions))


def uar_percent(targets, predictions):
    return 100.0 * unweighted_average_recall(targets, predictions, 4)


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


def test_identical_predictions_give_zero_difference_and_p_one():
    # Also shows the pairing: two independent index sets would give non-zero resampled differences.
    rng = np.random.default_rng(3)
    targets = rng.integers(0, 4, 60)
    predictions = np.where(rng.random(60) < 0.5, targets, rng.integers(0, 4, 60))
    for groups in (None, np.repeat(np.arange(6), 10)):
        result = paired_bootstrap(targets, predictions, predictions.copy(), score=uar_percent, groups=groups,
                                  n_resamples=200)
        assert result.difference == 0.0 and result.ci95 == (0.0, 0.0) and result.p_value == 1.0
        assert result.n_resamples == 200


def test_hand_computed_four_utterance_case():
    # a is right on all 4, b on the first 2: accuracy difference 1 - 1/2 = 0.5. A resample of
    # 4 utterances holds k ~ Binomial(4, 1/2) of the last two, so d* = k / 4 with
    # P(d* = 0) = P(d* = 1) = 1/16 > 2.5 %: the CI is exactly [0, 1], and p = 2 * 1/16.
    targets = np.array([0, 1, 0, 1])
    result = paired_bootstrap(targets, targets.copy(), np.array([0, 1, 1, 0]), score=accuracy,
                              n_resamples=20000, seed=1)
    assert result.difference == 0.5
    assert result.ci95 == (0.0, 1.0)
    assert result.p_value == pytest.approx(0.125, abs=0.015)
    assert result.resampled == "utterances"
    swapped = paired_bootstrap(targets, np.array([0, 1, 1, 0]), targets.copy(), score=accuracy,
                               n_resamples=20000, seed=1)
    assert swapped.difference == -0.5 and swapped.ci95 == (-1.0, 0.0) and swapped.p_value == result.p_value


def test_a_clear_difference_is_significant_and_seeded():
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 4, 400)
    good = np.where(rng.random(400) < 0.8, targets, (targets + 1) % 4)
    poor = np.where(rng.random(400) < 0.4, targets, (targets + 1) % 4)
    first = paired_bootstrap(targets, good, poor, score=uar_percent, n_resamples=300, seed=7)
    assert first.p_value < 0.01 and 0 < first.ci95[0] < first.difference < first.ci95[1]
    assert paired_bootstrap(targets, good, poor, score=uar_percent, n_resamples=300, seed=7) == first


def test_cluster_resampling_keeps_speakers_whole():
    # Groups of sizes 1..4; each utterance's target names its group, so a score that sees the
    # targets sees which utterances were drawn: every group must appear in whole copies.
    sizes = np.array([1, 2, 3, 4])
    groups = np.repeat(np.array(["s1", "s2", "s3", "s4"]), sizes)
    targets = np.repeat(np.arange(4), sizes)
    drawn_lengths = []

    def recording_score(resampled_targets, predictions):
        counts = np.bincount(resampled_targets, minlength=4)
        assert np.all(counts % sizes == 0), f"a speaker was split: counts {counts}"
        drawn_lengths.append(len(resampled_targets))
        return accuracy(resampled_targets, predictions)

    shuffled = np.random.default_rng(0).permutation(len(targets))  # group members need not be adjacent
    result = paired_bootstrap(targets[shuffled], targets[shuffled], np.zeros(10, np.int64), score=recording_score,
                              groups=groups[shuffled], n_resamples=100)
    assert result.resampled == "speakers"
    assert len(set(drawn_lengths)) > 1  # resamples of 4 speakers hold different numbers of utterances
    with pytest.raises(ValueError, match="3 groups for 10 utterances"):
        paired_bootstrap(targets, targets, targets, score=accuracy, groups=groups[:3])


def test_holm_against_a_worked_example():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> running max 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, None, 0.4]) == [pytest.approx(0.8), None, pytest.approx(0.8)]
    assert holm([0.7, 0.8]) == [1.0, 1.0]  # 2 * 0.7 capped at 1; the larger p cannot fall below it
    assert holm([]) == [] and holm([None]) == [None]


def comparison(difference, p_holm):
    return Comparison(system="sys", reference="ref", metric="UAR", value_system=50.0 + difference,
                      value_reference=50.0, difference=difference, ci95=(difference - 1, difference + 1),
                      p_bootstrap=p_holm, p_mcnemar=0.5, n_utterances=100, resampled="speakers", p_holm=p_holm)


@pytest.mark.parametrize("difference, p_holm, expectation, verdict", [
    (3.0, 0.01, "better", "holds"),
    (-3.0, 0.01, "better", "does not hold"),
    (3.0, 0.20, "better", "not significant at 5 %"),
    (-3.0, 0.20, "better", "not significant at 5 %"),
    (-3.0, 0.01, "worse", "holds"),
    (3.0, 0.01, "worse", "does not hold"),
    (-3.0, 0.20, "worse", "not significant at 5 %"),
    (0.5, 0.30, "on_par", "holds"),
    (-4.0, 0.01, "on_par", "does not hold"),
    (4.0, 0.01, "on_par", "does not hold"),
    (3.0, 0.05, "better", "not significant at 5 %"),  # p must fall below alpha
])
def test_claim_verdict_branches(difference, p_holm, expectation, verdict):
    assert claim_verdict(comparison(difference, p_holm), expectation) == verdict


def test_claim_verdict_alpha_in_words_and_bad_inputs():
    assert claim_verdict(comparison(3.0, 0.03), "better", alpha=0.01) == "not significant at 1 %"
    with pytest.raises(ValueError, match="expectation"):
        claim_verdict(comparison(3.0, 0.01), "greater")
    unadjusted = dataclasses.replace(comparison(3.0, 0.01), p_holm=None)
    with pytest.raises(ValueError, match="with_holm"):
        claim_verdict(unadjusted, "better")


def test_compare_systems_aligns_on_shared_ids():
    ids_ref = ["u1", "u2", "u3", "u4", "u5", "u6"]
    targets_ref = [0, 1, 2, 3, 0, 1]
    pred_ref = [0, 1, 0, 0, 0, 0]
    # The system lists its utterances in another order, lacks u6 and has an extra u9.
    ids_sys = ["u9", "u5", "u4", "u3", "u2", "u1"]
    targets_sys = [2, 0, 3, 2, 1, 0]
    pred_sys = [2, 0, 3, 2, 1, 1]
    result = compare_systems("ref", "sys", ids_ref, targets_ref, pred_ref, ids_sys, targets_sys, pred_sys,
                             score=accuracy, metric="accuracy", groups=["A", "A", "B", "B", "C", "C"],
                             n_resamples=50)
    # Shared u1..u5: reference right on u1, u2, u5 (3/5); system right on u2..u5 (4/5).
    assert result.n_utterances == 5 and result.system == "sys" and result.reference == "ref"
    assert result.value_reference == pytest.approx(0.6) and result.value_system == pytest.approx(0.8)
    assert result.difference == pytest.approx(0.2)
    assert result.p_mcnemar == pytest.approx(binomtest(2, 3, 0.5).pvalue)  # sys-only u3, u4; ref-only u1
    assert result.resampled == "speakers" and result.p_holm is None


def test_compare_systems_errors_name_both_systems():
    with pytest.raises(ValueError, match="'ref' and 'sys' share no utterance id"):
        compare_systems("ref", "sys", ["a"], [0], [0], ["b"], [0], [0], score=accuracy, metric="accuracy")
    with pytest.raises(ValueError, match=r"'ref' and 'sys' disagree on the target of 1 .*\['b'\]"):
        compare_systems("ref", "sys", ["a", "b"], [0, 1], [0, 1], ["b", "a"], [2, 0], [0, 0], score=accuracy,
                        metric="accuracy")
    with pytest.raises(ValueError, match="'sys' lists utterance 'a' twice"):
        compare_systems("ref", "sys", ["a"], [0], [0], ["a", "a"], [0, 0], [0, 0], score=accuracy, metric="accuracy")


def test_with_holm_and_the_reports():
    rng = np.random.default_rng(5)
    ids = [f"u{i}" for i in range(120)]
    targets = rng.integers(0, 4, 120)
    reference = np.where(rng.random(120) < 0.5, targets, (targets + 1) % 4)
    systems = {"strong": np.where(rng.random(120) < 0.9, targets, (targets + 1) % 4), "same": reference.copy()}
    comparisons = with_holm([compare_systems("base", name, ids, targets, reference, ids, targets, predictions,
                                             score=uar_percent, metric="UAR", n_resamples=200)
                             for name, predictions in systems.items()])
    assert [c.p_holm for c in comparisons] == holm([c.p_bootstrap for c in comparisons])
    assert [claim_verdict(c, "better") for c in comparisons] == ["holds", "not significant at 5 %"]

    rows = comparisons_csv_rows(comparisons)
    table = list(csv.reader(io.StringIO("\n".join(",".join(map(str, row)) for row in rows))))
    assert table[0][:3] == ["system", "reference", "metric"] and len(table) == 3
    assert dict(zip(table[0], table[2]))["significant"] == "False"

    markdown = comparisons_markdown(comparisons, "base")
    assert markdown.startswith("### Paired comparisons against base\n")
    assert "| system | Δ UAR (pp) | 95 % CI | p (bootstrap) | p (Holm) | p (McNemar) | significant |" in markdown
    assert "| same | +0.00 | [+0.00, +0.00] | 1.000 | 1.000 | 1.000 | no |" in markdown
    with pytest.raises(ValueError, match="against 'other'"):
        comparisons_markdown(comparisons, "other")
    with pytest.raises(ValueError, match="with_holm"):
        comparisons_markdown([dataclasses.replace(comparisons[0], p_holm=None)], "base")
