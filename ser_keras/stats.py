"""Uncertainty over speakers: intervals of a pooled score, paired tests of two systems, and the
verdicts on a paper's claims. Not a paper section: both protocols (SHORT §2.1,
leave-one-session-out; ELOR §4, leave-one-speaker-out) hold speakers out, so the speaker is the
unit of replication and every interval and test here resamples or permutes speakers, never
utterances.

Public API (usable on predictions from anywhere; README "Statistics", docs/statistics.md):

- :func:`interval` — a pooled UAR or WAR with a t interval (G − 1 degrees of freedom) on the
  cluster-robust standard error over the G speakers.
- :func:`paired_test` — system a − system b on the same utterances: a speaker sign-flip
  randomisation test (exact over all 2^G flips up to 12 speakers, Monte Carlo beyond) and a
  t interval of the difference.

Why these methods: a pooled UAR is a mean of per-class ratios of speaker totals, so it is a
smooth function of G independent speaker contributions. Its linearised (delta-method,
"CR1") variance over speakers needs no resampling, so no resample can lose a class; with t
quantiles on G − 1 degrees of freedom it keeps its coverage with 10-30 speakers, where a
percentile bootstrap over G clusters is too narrow by (G − 1) / G and more. The pooled
difference of two systems is exactly the sum of per-speaker contributions; flipping which
system produced a speaker's predictions flips that speaker's contribution, so under the null
(within each speaker the two systems are exchangeable) every sign pattern is equally likely
and the test is exact at any G. It cannot reject at 5 % with 5 or fewer speakers (smallest
two-sided p = 2 / 2^G), which a verdict then says.
"""

import dataclasses
import itertools

import numpy as np
from scipy.stats import binom
from scipy.stats import t as student_t

METRICS = ("UAR", "WAR")
EXACT_MAX_SPEAKERS = 12  # 4096 sign patterns: enumerate; beyond, Monte Carlo
MONTE_CARLO_FLIPS = 9999
DEFAULT_ALPHA = 0.05
# Words of a claim's verdict. Tested claims: the first four; claims on point values only: the
# two "untested" ones; "n/a": the run lacks a row the claim needs.
TESTED_VERDICTS = ("holds", "does not hold", "inconclusive", "too few speakers to test")
POINT_VERDICTS = ("as stated (point values, untested)", "not as stated (point values, untested)")
VERDICTS = TESTED_VERDICTS + POINT_VERDICTS + ("n/a",)
EXPECTATIONS = ("better", "worse", "non_inferior")
CSV_HEADER = (
    "system",
    "reference",
    "metric",
    "value_system",
    "value_reference",
    "difference",
    "ci95_low",
    "ci95_high",
    "p",
    "p_holm",
    "p_mcnemar",
    "significant",
    "n_utterances",
    "speakers",
    "method",
)


@dataclasses.dataclass(frozen=True)
class Interval:
    """A pooled score (percent) with its interval over ``clusters`` speakers (``unit``).

    ``low``/``high`` are None with fewer than two speakers (no spread to estimate)."""

    value: float
    low: float | None
    high: float | None
    unit: str
    clusters: int
    method: str
    confidence: float = 0.95


@dataclasses.dataclass(frozen=True)
class PairedTest:
    """System a − system b (percentage points) on the same utterances.

    ``p`` is the two-sided sign-flip p over the speakers (never 0: its smallest value is
    ``min_p``); ``low``/``high`` the t interval of the difference (None below two speakers);
    ``exact``: p enumerates every flip rather than sampling them."""

    difference: float
    low: float | None
    high: float | None
    p: float
    min_p: float
    clusters: int
    exact: bool
    method: str

    def testable(self, alpha=DEFAULT_ALPHA):
        """Whether a two-sided test at ``alpha`` can reject with this many speakers at all."""
        return self.min_p <= alpha


@dataclasses.dataclass(frozen=True)
class SpeakerTotals:
    """Per-speaker, per-class correct and total counts of one system: the sufficient
    statistics of a pooled UAR (all classes of the test set) or WAR (one pooled "class")."""

    speakers: np.ndarray  # (G,) speaker names, sorted
    correct: np.ndarray  # (G, K)
    count: np.ndarray  # (G, K), the same for every system scored on these targets

    @property
    def value(self):
        """The pooled score as a fraction: mean over the K columns of correct / count."""
        return float(np.mean(self.correct.sum(axis=0) / self.count.sum(axis=0)))

    def influence(self):
        """Each speaker's linearised contribution to the score's deviation (sums to 0)."""
        totals = self.count.sum(axis=0)
        recall = self.correct.sum(axis=0) / totals
        return np.mean((self.correct - recall * self.count) / totals, axis=1)

    def contribution(self):
        """Each speaker's share of the pooled score (sums to the score)."""
        return np.mean(self.correct / self.count.sum(axis=0), axis=1)


def _check_inputs(targets, predictions, speakers, metric, num_classes):
    targets = np.asarray(targets, np.int64)
    speakers = np.asarray([str(speaker) for speaker in speakers])
    if targets.ndim != 1 or not len(targets):
        raise ValueError(f"targets must be a non-empty 1-D sequence of class indices. Got shape {targets.shape}.")
    for name, values in (("predictions", predictions), ("speakers", speakers)):
        if np.shape(values) != targets.shape:
            raise ValueError(f"{name} must name one value per target: {np.shape(values)} for {targets.shape}.")
    if metric not in METRICS:
        raise ValueError(f"The 'metric' parameter must be one of {METRICS}. Got {metric!r}.")
    if num_classes is not None and (targets.min() < 0 or targets.max() >= num_classes):
        raise ValueError(f"targets hold classes outside 0..{num_classes - 1}.")
    return targets, speakers


def speaker_totals(targets, predictions, speakers, *, metric="UAR"):
    """The :class:`SpeakerTotals` of one system. UAR runs over the classes present in the
    whole test set (a class absent from it is undefined, not zero); a speaker without a
    class contributes 0 of 0 to that class, so no speaker or resample ever loses one."""
    targets, speakers = _check_inputs(targets, predictions, speakers, metric, None)
    predictions = np.asarray(predictions, np.int64)
    names, speaker_index = np.unique(speakers, return_inverse=True)
    if metric == "WAR":
        class_index, classes = np.zeros_like(targets), 1
    else:
        present, class_index = np.unique(targets, return_inverse=True)
        classes = len(present)
    cells = speaker_index * classes + class_index
    size = len(names) * classes
    count = np.bincount(cells, minlength=size).reshape(len(names), classes)
    correct = np.bincount(cells, weights=targets == predictions, minlength=size).reshape(len(names), classes)
    return SpeakerTotals(speakers=names, correct=correct, count=count)


def _t_bounds(value, influence, confidence):
    """``value`` ± t(G − 1) × the cluster-robust SE from per-speaker ``influence``."""
    clusters = len(influence)
    if clusters < 2:
        return None, None
    standard_error = np.sqrt(clusters / (clusters - 1) * np.sum(influence**2))
    half = student_t.ppf(0.5 + confidence / 2, clusters - 1) * standard_error
    return value - half, value + half


def interval(targets, predictions, speakers, *, metric="UAR", num_classes=None, confidence=0.95, seed=0):
    """The pooled ``metric`` (percent) of ``predictions`` with its interval over speakers.

    ``num_classes`` only checks the targets' range; UAR averages the classes present in the
    targets. ``seed`` is accepted for a uniform signature: the interval is deterministic.
    Returns an :class:`Interval`; its bounds are clipped to [0, 100].
    """
    del seed  # deterministic: no resampling
    _check_inputs(targets, predictions, speakers, metric, num_classes)
    if not 0 < confidence < 1:
        raise ValueError(f"The 'confidence' parameter must lie in (0, 1). Got {confidence!r}.")
    totals = speaker_totals(targets, predictions, speakers, metric=metric)
    value = 100.0 * totals.value
    low, high = _t_bounds(value, 100.0 * totals.influence(), confidence)
    clusters = len(totals.speakers)
    if low is not None:
        low, high = max(0.0, low), min(100.0, high)
    return Interval(
        value=value,
        low=low,
        high=high,
        unit="speaker",
        clusters=clusters,
        confidence=confidence,
        method=f"t interval ({clusters - 1} df) on the cluster-robust SE over {clusters} speakers",
    )


def mean_interval(values, speakers, *, confidence=0.95):
    """The mean of per-item ``values`` (NaN ignored) with its interval over speakers — the
    same estimator as :func:`interval` for a ratio of speaker sums. Returns an :class:`Interval`
    in the values' own units, or None when no value is finite."""
    values = np.asarray(values, np.float64)
    speakers = np.asarray([str(speaker) for speaker in speakers])
    if values.shape != speakers.shape:
        raise ValueError(f"speakers must name one speaker per value: {speakers.shape} for {values.shape}.")
    keep = np.isfinite(values)
    if not keep.any():
        return None
    names, index = np.unique(speakers[keep], return_inverse=True)
    sums = np.bincount(index, weights=values[keep])
    counts = np.bincount(index).astype(np.float64)
    value = float(sums.sum() / counts.sum())
    low, high = _t_bounds(value, (sums - value * counts) / counts.sum(), confidence)
    return Interval(
        value=value,
        low=low,
        high=high,
        unit="speaker",
        clusters=len(names),
        confidence=confidence,
        method=f"t interval ({len(names) - 1} df) on the cluster-robust SE over {len(names)} speakers",
    )


def sign_flip_p(contributions, *, seed=0, flips=MONTE_CARLO_FLIPS):
    """Two-sided p of ``sum(contributions)`` under random signs per speaker, with whether it
    is exact and its smallest attainable value: ``(p, exact, min_p)``.

    Exact (every one of the 2^G patterns) for G <= :data:`EXACT_MAX_SPEAKERS`; otherwise
    ``flips`` random patterns and ``p = (1 + hits) / (flips + 1)``, which is never 0.
    """
    contributions = np.asarray(contributions, np.float64)
    observed = abs(contributions.sum())
    tolerance = 1e-12 * max(1.0, np.abs(contributions).sum())
    clusters = len(contributions)
    if clusters <= EXACT_MAX_SPEAKERS:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=clusters)))
        p = float(np.mean(np.abs(signs @ contributions) >= observed - tolerance))
        return p, True, min(1.0, 2.0 / 2**clusters)
    rng = np.random.default_rng(seed)
    signs = rng.choice((1.0, -1.0), size=(flips, clusters))
    hits = int(np.sum(np.abs(signs @ contributions) >= observed - tolerance))
    return (1 + hits) / (flips + 1), False, 1.0 / (flips + 1)


def paired_test(targets, predictions_a, predictions_b, speakers, *, metric="UAR", num_classes=None, seed=0):
    """System a − system b on the same utterances (percentage points): a :class:`PairedTest`.

    p: speaker sign-flip randomisation test of the pooled difference (exact up to
    :data:`EXACT_MAX_SPEAKERS` speakers, else seeded Monte Carlo with :data:`MONTE_CARLO_FLIPS`
    flips). Interval: t (G − 1 df) on the cluster-robust SE of the difference.
    """
    _check_inputs(targets, predictions_a, speakers, metric, num_classes)
    _check_inputs(targets, predictions_b, speakers, metric, num_classes)
    first = speaker_totals(targets, predictions_a, speakers, metric=metric)
    second = speaker_totals(targets, predictions_b, speakers, metric=metric)
    difference = 100.0 * (first.value - second.value)
    low, high = _t_bounds(difference, 100.0 * (first.influence() - second.influence()), 0.95)
    p, exact, min_p = sign_flip_p(first.contribution() - second.contribution(), seed=seed)
    clusters = len(first.speakers)
    flips = f"all {2**clusters} sign flips" if exact else f"{MONTE_CARLO_FLIPS} random sign flips"
    return PairedTest(
        difference=difference,
        low=low,
        high=high,
        p=p,
        min_p=min_p,
        clusters=clusters,
        exact=exact,
        method=f"speaker sign-flip test ({flips}); t interval ({clusters - 1} df), cluster-robust SE",
    )


def mcnemar_exact(correct_a, correct_b):
    """Two-sided exact McNemar p of two systems' per-utterance correctness (boolean vectors).

    Only discordant utterances count: b (a right, b wrong) and c (a wrong, b right); under
    the null each is equally likely, so p is the two-sided binomial test of b in b + c
    trials at 0.5, which for this symmetric distribution is twice the smaller tail. It
    ignores speakers and class balance: reported beside the speaker test, never deciding.
    """
    correct_a, correct_b = np.asarray(correct_a), np.asarray(correct_b)
    for name, values in (("correct_a", correct_a), ("correct_b", correct_b)):
        if values.dtype != np.bool_:
            raise TypeError(
                f"The {name!r} parameter of mcnemar_exact must be a boolean vector (right or wrong per "
                f"utterance). Got dtype {values.dtype}."
            )
    if correct_a.shape != correct_b.shape or correct_a.ndim != 1:
        raise ValueError(
            f"correct_a and correct_b must be 1-D of one length. Got shapes {correct_a.shape} and {correct_b.shape}."
        )
    only_a = int(np.sum(correct_a & ~correct_b))
    only_b = int(np.sum(~correct_a & correct_b))
    discordant = only_a + only_b
    if discordant == 0:
        return 1.0
    return float(min(1.0, 2.0 * binom.cdf(min(only_a, only_b), discordant, 0.5)))


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

    ``difference`` is system − reference in percentage points with its 95 % interval
    ``ci95``; ``p`` the sign-flip p over ``speakers`` speakers (``min_p`` its smallest
    possible value); ``p_holm`` is None until :func:`with_holm` adjusts the family.
    """

    system: str
    reference: str
    metric: str
    value_system: float
    value_reference: float
    difference: float
    ci95: tuple | None
    p: float
    min_p: float
    p_mcnemar: float
    n_utterances: int
    speakers: int
    method: str
    p_holm: float | None = None

    def testable(self, alpha=DEFAULT_ALPHA):
        return self.min_p <= alpha

    def significant(self, alpha=DEFAULT_ALPHA):
        """Holm-adjusted p below ``alpha``; None when no p could fall below it (too few speakers)."""
        if self.p_holm is None:
            raise ValueError(
                f"Comparison of {self.system!r} against {self.reference!r} has no Holm-adjusted p; "
                f"pass the family of comparisons through with_holm first."
            )
        return self.p_holm < alpha if self.testable(alpha) else None


def _index_by_id(ids, system):
    positions = {}
    for position, utterance in enumerate(ids):
        if utterance in positions:
            raise ValueError(f"System {system!r} lists utterance {utterance!r} twice; ids must be unique.")
        positions[utterance] = position
    return positions


def compare_systems(
    reference_id, system_id, ids_ref, targets_ref, pred_ref, ids_sys, targets_sys, pred_sys, *, speakers, metric, seed=0
):
    """Compare ``system_id`` against ``reference_id`` on the utterance ids both predicted.

    ``speakers`` names the speaker of each utterance of the reference, aligned with
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
        raise ValueError(
            f"Systems {reference_id!r} and {system_id!r} disagree on the target of {len(disagree)} "
            f"shared utterance(s), e.g. {disagree[:3]}; were they scored on the same labels?"
        )
    predictions_ref, predictions_sys = np.asarray(pred_ref)[take_ref], np.asarray(pred_sys)[take_sys]
    groups = np.asarray(speakers)[take_ref]
    test = paired_test(targets, predictions_sys, predictions_ref, groups, metric=metric, seed=seed)
    return Comparison(
        system=system_id,
        reference=reference_id,
        metric=metric,
        value_system=interval(targets, predictions_sys, groups, metric=metric).value,
        value_reference=interval(targets, predictions_ref, groups, metric=metric).value,
        difference=test.difference,
        ci95=None if test.low is None else (test.low, test.high),
        p=test.p,
        min_p=test.min_p,
        p_mcnemar=mcnemar_exact(predictions_sys == targets, predictions_ref == targets),
        n_utterances=len(shared),
        speakers=test.clusters,
        method=test.method,
    )


def with_holm(comparisons):
    """New comparisons with ``p_holm`` = Holm over the family's sign-flip p-values."""
    adjusted = holm([comparison.p for comparison in comparisons])
    return [dataclasses.replace(comparison, p_holm=p) for comparison, p in zip(comparisons, adjusted)]


def directional_verdict(comparison, expectation, alpha=DEFAULT_ALPHA):
    """The verdict on "system is ``expectation`` ("better" or "worse") than the reference"
    from one comparison's own (unadjusted) p at ``alpha``: holds / does not hold when the
    difference is significant in / against the claimed direction, inconclusive otherwise,
    and "too few speakers to test" when no p could reach ``alpha``."""
    if expectation not in ("better", "worse"):
        raise ValueError(f"The 'expectation' parameter must be 'better' or 'worse'. Got {expectation!r}.")
    if not comparison.testable(alpha):
        return "too few speakers to test"
    if comparison.p >= alpha:
        return "inconclusive"
    towards_claim = comparison.difference if expectation == "better" else -comparison.difference
    return "holds" if towards_claim > 0 else "does not hold"


def noninferiority_verdict(comparison, margin, alpha=DEFAULT_ALPHA):
    """The verdict on "system on par with (not worse than) the reference by more than
    ``margin`` percentage points": holds when the difference's 95 % interval lies above
    −margin (a system significantly better holds too), does not hold when it lies wholly
    below −margin, inconclusive otherwise; "too few speakers to test" with fewer speakers
    than a 5 % speaker test needs (the interval is not trusted there either)."""
    if margin < 0:
        raise ValueError(f"A non-inferiority margin is a distance in percentage points, >= 0. Got {margin!r}.")
    if not comparison.testable(alpha) or comparison.ci95 is None:
        return "too few speakers to test"
    low, high = comparison.ci95
    if low > -margin:
        return "holds"
    if high < -margin:
        return "does not hold"
    return "inconclusive"


def all_of(verdicts):
    """One verdict for a claim whose every component must hold (intersection–union: each
    component at the full level, no multiplicity correction): does not hold if any does
    not; too few speakers if any cannot be tested; holds if all hold; else inconclusive."""
    verdicts = list(verdicts)
    if not verdicts:
        raise ValueError("A claim needs at least one component verdict.")
    for decisive in ("does not hold", "too few speakers to test"):
        if decisive in verdicts:
            return decisive
    return "holds" if all(verdict == "holds" for verdict in verdicts) else "inconclusive"


def point_verdict(as_stated):
    """The words of a claim checked on point values only (no test): True, False or None (n/a)."""
    if as_stated is None:
        return "n/a"
    return POINT_VERDICTS[0] if as_stated else POINT_VERDICTS[1]


def comparisons_csv_rows(comparisons, alpha=DEFAULT_ALPHA):
    """Rows of comparisons.csv, the header first (ready for ``csv.writer.writerows``)."""
    rows = [list(CSV_HEADER)]
    for c in comparisons:
        low, high = c.ci95 or (None, None)
        significant = None if c.p_holm is None else c.significant(alpha)
        rows.append(
            [
                c.system,
                c.reference,
                c.metric,
                c.value_system,
                c.value_reference,
                c.difference,
                low,
                high,
                c.p,
                c.p_holm,
                c.p_mcnemar,
                "n/a" if significant is None else significant,
                c.n_utterances,
                c.speakers,
                c.method,
            ]
        )
    return rows


def speakers_text(count):
    """``count`` speakers in words, singular for one ("1 speaker", "10 speakers")."""
    return f"{count} speaker{'' if count == 1 else 's'}"


def p_text(p):
    """A p-value as the tables print it (p is never 0 here; below 0.001 it is bounded)."""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _signed(value):
    return "—" if value is None else f"{value:+.2f}"


def significance_text(comparison, alpha=DEFAULT_ALPHA):
    significant = comparison.significant(alpha)
    if significant is None:
        return f"n/a ({speakers_text(comparison.speakers)})"
    return "yes" if significant else "no"


def comparisons_markdown(comparisons, reference, *, unit="pp", alpha=DEFAULT_ALPHA):
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
        raise ValueError(
            f"Comparisons of {unadjusted} have no Holm-adjusted p; pass the family through with_holm first."
        )
    metric = metrics.pop()
    lines = [
        f"### Paired comparisons against {reference}",
        "",
        f"| system | Δ {metric} ({unit}) | 95 % CI | p (sign flip) | p (Holm) | p (McNemar) | significant |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in comparisons:
        low, high = c.ci95 or (None, None)
        lines.append(
            f"| {c.system} | {c.difference:+.2f} | [{_signed(low)}, {_signed(high)}] | {p_text(c.p)} | "
            f"{p_text(c.p_holm)} | {p_text(c.p_mcnemar)} | {significance_text(c, alpha)} |"
        )
    speakers = sorted({c.speakers for c in comparisons})
    over = speakers_text(speakers[0]) if len(speakers) == 1 else f"{' / '.join(map(str, speakers))} speakers"
    lines += [
        "",
        f"Δ = system − {reference} on their shared utterances, over {over}: "
        "speaker sign-flip test, t interval on the "
        f"cluster-robust SE; significant = Holm-adjusted p < {alpha:g} over the {len(comparisons)} "
        f"comparisons; McNemar (exact, accuracy, ignores speakers) beside it.",
    ]
    if any(not c.testable(alpha) for c in comparisons):
        lines.append(
            f"With {speakers_text(min(speakers))} no sign-flip p can fall below {alpha:g} "
            f"(smallest p = 2 / 2^speakers): too few speakers for a {100 * alpha:g} % test."
        )
    return "\n".join(lines) + "\n"
