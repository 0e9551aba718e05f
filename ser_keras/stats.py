"""Paired significance of one system against another on the same test utterances (issue 15
item 2): exact McNemar, a paired (speaker-cluster) bootstrap of the score difference, Holm's
step-down adjustment over a family of comparisons, and the verdict on a paper's claim.

Both papers compare systems by a pooled score (SHORT Table 1: UAR; ELOR Table 5: WAR/UAR);
two overlapping confidence intervals say little about whether one system beats another on
the same utterances, a paired test does. What drives "significant" is the Holm-adjusted
paired-bootstrap p of the score difference (the score the tables report); the exact McNemar
p (accuracy only, ignores class balance and speaker clustering) is reported beside it.
"""

import dataclasses

import numpy as np
from scipy.stats import binom

EXPECTATIONS = ("better", "worse", "on_par")
CSV_HEADER = ("system", "reference", "metric", "value_system", "value_reference", "difference", "ci95_low",
              "ci95_high", "p_bootstrap", "p_holm", "p_mcnemar", "significant", "n_utterances", "resampled")


def mcnemar_exact(correct_a, correct_b):
    """Two-sided exact McNemar p of two systems' per-utterance correctness (boolean vectors).

    Only discordant utterances count: b (a right, b wrong) and c (a wrong, b right); under
    the null each is equally likely, so p is the two-sided binomial test of b in b + c
    trials at 0.5, which for this symmetric distribution is twice the smaller tail.
    """
    correct_a, correct_b = np.asarray(correct_a), np.asarray(correct_b)
    for name, values in (("correct_a", correct_a), ("correct_b", correct_b)):
        if values.dtype != np.bool_:
            raise TypeError(f"The {name!r} parameter of mcnemar_exact must be a boolean vector (right or wrong per "
                            f"utterance). Got dtype {values.dtype}.")
    if correct_a.shape != correct_b.shape or correct_a.ndim != 1:
        raise ValueError(f"correct_a and correct_b must be 1-D of one length. Got shapes {correct_a.shape} and "
                         f"{correct_b.shape}.")
    only_a = int(np.sum(correct_a & ~correct_b))
    only_b = int(np.sum(~correct_a & correct_b))
    discordant = only_a + only_b
    if discordant == 0:
        return 1.0
    return float(min(1.0, 2.0 * binom.cdf(min(only_a, only_b), discordant, 0.5)))


@dataclasses.dataclass(frozen=True)
class PairedBootstrap:
    """Score difference (a − b, in the score's units) with its percentile 95 % CI and p."""

    difference: float
    ci95: tuple
    p_value: float
    n_resamples: int
    resampled: str  # "utterances" or "speakers" (whole groups)


def _resample_members(groups, count):
    """Index arrays of the resampling units: one per utterance, or one per group."""
    if groups is None:
        return None
    groups = np.asarray(groups)
    if len(groups) != count:
        raise ValueError(f"groups must name the group of every utterance: {len(groups)} groups for {count} "
                         f"utterances.")
    _, inverse = np.unique(groups, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(inverse[order])) + 1)


def paired_bootstrap(targets, predictions_a, predictions_b, *, score, groups=None, n_resamples=1000, seed=0):
    """Paired bootstrap of ``score(targets, predictions_a) - score(targets, predictions_b)``.

    One set of resample indices drives both systems, so what varies between resamples is
    the test set, not the pairing. With ``groups`` (the speaker of each utterance) whole
    groups are drawn with replacement: the protocols hold speakers out, and utterances of
    one speaker are not independent. p is two-sided, read off the bootstrap distribution of
    the difference d*: ``p = min(1, 2 * min(mean(d* <= 0), mean(d* >= 0)))``, i.e. twice the
    share of resamples on the far side of zero (ties with zero count on both sides, so
    identical systems get p = 1).
    """
    targets = np.asarray(targets)
    predictions_a, predictions_b = np.asarray(predictions_a), np.asarray(predictions_b)
    if not (targets.shape == predictions_a.shape == predictions_b.shape) or targets.ndim != 1 or not len(targets):
        raise ValueError(f"targets, predictions_a and predictions_b must be non-empty 1-D of one length. Got shapes "
                         f"{targets.shape}, {predictions_a.shape} and {predictions_b.shape}.")
    if not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(f"The 'n_resamples' parameter of paired_bootstrap must be a positive int. "
                         f"Got {n_resamples!r}.")
    members = _resample_members(groups, len(targets))
    units = len(targets) if members is None else len(members)
    rng = np.random.default_rng(seed)
    differences = np.empty(n_resamples)
    for position, draw in enumerate(rng.integers(0, units, size=(n_resamples, units))):
        index = draw if members is None else np.concatenate([members[unit] for unit in draw])
        differences[position] = (score(targets[index], predictions_a[index])
                                 - score(targets[index], predictions_b[index]))
    low, high = np.quantile(differences, [0.025, 0.975])
    p_value = min(1.0, 2.0 * min(np.mean(differences <= 0), np.mean(differences >= 0)))
    difference = float(score(targets, predictions_a) - score(targets, predictions_b))
    return PairedBootstrap(difference=difference, ci95=(float(low), float(high)), p_value=float(p_value),
                           n_resamples=int(n_resamples), resampled="utterances" if members is None else "speakers")


def holm(p_values):
    """Holm–Bonferroni adjusted p-values in input order; None entries stay None.

    The k-th smallest of m p-values is multiplied by m − k + 1, then made non-decreasing
    along that order (step-down) and capped at 1.
    """
    present = [(p, position) for position, p in enumerate(p_values) if p is not None]
    adjusted = [None] * len(p_values)
    running = 0.0
    for rank, (p, position) in enumerate(sorted(present)):
        running = max(running, min(1.0, (len(present) - rank) * p))
        adjusted[position] = running
    return adjusted


@dataclasses.dataclass(frozen=True)
class Comparison:
    """One system against a reference on their shared utterances.

    ``difference`` is system − reference in the score's units; ``p_holm`` is None until
    :func:`with_holm` adjusts the family. :meth:`significant` reads ``p_holm`` only.
    """

    system: str
    reference: str
    metric: str
    value_system: float
    value_reference: float
    difference: float
    ci95: tuple
    p_bootstrap: float
    p_mcnemar: float
    n_utterances: int
    resampled: str
    p_holm: float | None = None

    def significant(self, alpha=0.05):
        """Holm-adjusted bootstrap p below ``alpha``."""
        if self.p_holm is None:
            raise ValueError(f"Comparison of {self.system!r} against {self.reference!r} has no Holm-adjusted p; "
                             f"pass the family of comparisons through with_holm first.")
        return self.p_holm < alpha


def _index_by_id(ids, system):
    positions = {}
    for position, utterance in enumerate(ids):
        if utterance in positions:
            raise ValueError(f"System {system!r} lists utterance {utterance!r} twice; ids must be unique.")
        positions[utterance] = position
    return positions


def compare_systems(reference_id, system_id, ids_ref, targets_ref, pred_ref, ids_sys, targets_sys, pred_sys, *,
                    score, metric, groups=None, n_resamples=1000, seed=0):
    """Compare ``system_id`` against ``reference_id`` on the utterance ids both predicted.

    ``groups`` (optional) names the speaker of each utterance of the reference, aligned with
    ``ids_ref``. The shared ids keep the reference's order.
    """
    reference_at = _index_by_id(ids_ref, reference_id)
    system_at = _index_by_id(ids_sys, system_id)
    shared = [utterance for utterance in ids_ref if utterance in system_at]
    if not shared:
        raise ValueError(f"Systems {reference_id!r} and {system_id!r} share no utterance id; nothing to compare.")
    take_ref = np.array([reference_at[utterance] for utterance in shared])
    take_sys = np.array([system_at[utterance] for utterance in shared])
    targets = np.asarray(targets_ref)[take_ref]
    disagree = [utterance for utterance, same in zip(shared, targets == np.asarray(targets_sys)[take_sys]) if not same]
    if disagree:
        raise ValueError(f"Systems {reference_id!r} and {system_id!r} disagree on the target of {len(disagree)} "
                         f"shared utterance(s), e.g. {disagree[:3]}; were they scored on the same labels?")
    predictions_ref, predictions_sys = np.asarray(pred_ref)[take_ref], np.asarray(pred_sys)[take_sys]
    bootstrap = paired_bootstrap(targets, predictions_sys, predictions_ref, score=score,
                                 groups=None if groups is None else np.asarray(groups)[take_ref],
                                 n_resamples=n_resamples, seed=seed)
    return Comparison(system=system_id, reference=reference_id, metric=metric,
                      value_system=float(score(targets, predictions_sys)),
                      value_reference=float(score(targets, predictions_ref)), difference=bootstrap.difference,
                      ci95=bootstrap.ci95, p_bootstrap=bootstrap.p_value,
                      p_mcnemar=mcnemar_exact(predictions_sys == targets, predictions_ref == targets),
                      n_utterances=len(shared), resampled=bootstrap.resampled)


def with_holm(comparisons):
    """New comparisons with ``p_holm`` = Holm over the family's bootstrap p-values."""
    adjusted = holm([comparison.p_bootstrap for comparison in comparisons])
    return [dataclasses.replace(comparison, p_holm=p) for comparison, p in zip(comparisons, adjusted)]


def claim_verdict(comparison, expectation, alpha=0.05):
    """"holds", "does not hold" or "not significant at 5 %" for a paper's claim that the
    system is ``expectation`` ("better", "worse" or "on_par") than the reference.

    "on_par" holds when the difference is not significant: absence of evidence of a
    difference, which is as much as a paired test can say for "on par".
    """
    if expectation not in EXPECTATIONS:
        raise ValueError(f"The 'expectation' parameter of claim_verdict must be one of {EXPECTATIONS}. "
                         f"Got {expectation!r}.")
    significant = comparison.significant(alpha)
    if expectation == "on_par":
        return "does not hold" if significant else "holds"
    towards_claim = comparison.difference if expectation == "better" else -comparison.difference
    if significant and towards_claim > 0:
        return "holds"
    if significant and towards_claim < 0:
        return "does not hold"
    return f"not significant at {100 * alpha:g} %"


def comparisons_csv_rows(comparisons, alpha=0.05):
    """Rows of comparisons.csv, the header first (ready for ``csv.writer.writerows``)."""
    rows = [list(CSV_HEADER)]
    for c in comparisons:
        rows.append([c.system, c.reference, c.metric, c.value_system, c.value_reference, c.difference, c.ci95[0],
                     c.ci95[1], c.p_bootstrap, c.p_holm, c.p_mcnemar,
                     None if c.p_holm is None else c.significant(alpha), c.n_utterances, c.resampled])
    return rows


def p_text(p):
    """A p-value as the tables print it."""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def comparisons_markdown(comparisons, reference, *, unit="pp", alpha=0.05):
    """A markdown section: one line per system against ``reference``, one metric per table.

    Differences stay in the score's units; ``unit`` names them ("pp" for a score in %).
    """
    metrics = {c.metric for c in comparisons}
    if len(metrics) != 1:
        raise ValueError(f"comparisons_markdown makes one table per metric. Got metrics {sorted(metrics)}.")
    foreign = sorted({c.reference for c in comparisons} - {reference})
    if foreign:
        raise ValueError(f"Every comparison must be against {reference!r}. Got references {foreign}.")
    unadjusted = [c.system for c in comparisons if c.p_holm is None]
    if unadjusted:
        raise ValueError(f"Comparisons of {unadjusted} have no Holm-adjusted p; pass the family through with_holm "
                         f"first.")
    metric = metrics.pop()
    resampled = sorted({c.resampled for c in comparisons})
    lines = [f"### Paired comparisons against {reference}", "",
             f"| system | Δ {metric} ({unit}) | 95 % CI | p (bootstrap) | p (Holm) | p (McNemar) | significant |",
             "|---|---|---|---|---|---|---|"]
    for c in comparisons:
        lines.append(f"| {c.system} | {c.difference:+.2f} | [{c.ci95[0]:+.2f}, {c.ci95[1]:+.2f}] | "
                     f"{p_text(c.p_bootstrap)} | {p_text(c.p_holm)} | {p_text(c.p_mcnemar)} | "
                     f"{'yes' if c.significant(alpha) else 'no'} |")
    lines += ["", f"Δ = system − {reference} on their shared utterances; paired bootstrap over "
                  f"{' and '.join(resampled)}; significant = Holm-adjusted bootstrap p < {alpha:g} over the "
                  f"{len(comparisons)} comparisons; McNemar (exact, accuracy) beside it."]
    return "\n".join(lines) + "\n"
