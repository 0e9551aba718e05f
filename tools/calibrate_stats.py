"""Calibration of ser_keras.stats on simulated speaker-structured predictions.

    python tools/calibrate_stats.py                       # 1000 simulations per setting, a few minutes
    python tools/calibrate_stats.py --simulations 200 --json calibration.json
    python tools/calibrate_stats.py --markdown docs/calibration.md   # the committed figures

Not a paper section: it measures whether the speaker-level interval and paired test keep their
nominal level where the papers' protocols put them (5-30 held-out speakers), beside the methods
ser-keras used before (a percentile bootstrap over utterances for a row's interval, a
percentile bootstrap over speakers for the paired test).

The model: each speaker has a class mix and a random effect on the logit of being right
(SD ``speaker_sd``); each system adds its own speaker effect (SD ``system_sd``: systems
differ per speaker but not on average). An utterance is right with that probability, the two
systems share half of their errors, and a wrong decision picks another class at random. The
population UAR the interval should cover is the mean over classes of the expected recall over
the speaker population (Gauss-Hermite quadrature). Type-I error: two systems equal on average;
power: system a worse by ``shift`` on the logit scale (printed as the population difference).
"""

import argparse
import dataclasses
import json
import sys

import numpy as np
from scipy.special import expit

from ser_keras.stats import interval, paired_test

SPEAKER_COUNTS = (2, 5, 10, 24)
UTTERANCES_PER_SPEAKER = 150
SHIFT = -0.1  # logit; about -2 pp of UAR at these accuracies


@dataclasses.dataclass(frozen=True)
class Family:
    name: str
    class_mix: tuple  # expected share of each class per speaker
    class_logits: tuple  # logit of a right decision per class (before speaker effects)
    metric: str
    speaker_sd: float = 0.5
    system_sd: float = 0.35


FAMILIES = (
    Family("SHORT-like, 4 classes", (0.2, 0.3, 0.3, 0.2), (0.6, 0.1, 0.3, 0.8), "UAR"),
    Family("ELOR-like, 5 classes", (0.05, 0.2, 0.4, 0.25, 0.1), (-0.8, 0.0, 0.9, 0.2, -0.5), "UAR"),
    Family("ELOR-like, 5 classes", (0.05, 0.2, 0.4, 0.25, 0.1), (-0.8, 0.0, 0.9, 0.2, -0.5), "WAR"),
)


def population_score(family, shift=0.0):
    """The population UAR / WAR (%) of a system: expected recall per class over speakers."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(61)
    weights = weights / weights.sum()
    sd = np.hypot(family.speaker_sd, family.system_sd)
    recall = np.array([np.sum(weights * expit(logit + shift + sd * nodes)) for logit in family.class_logits])
    mix = np.asarray(family.class_mix)
    return 100.0 * (recall.mean() if family.metric == "UAR" else np.sum(mix * recall) / mix.sum())


def simulate(family, speakers, rng, shift=0.0):
    """(targets, predictions_a, predictions_b, speaker names) of one simulated test set."""
    classes = len(family.class_mix)
    speaker_of = np.repeat(np.arange(speakers), UTTERANCES_PER_SPEAKER)
    mixes = rng.dirichlet(20 * np.asarray(family.class_mix), size=speakers)
    targets = np.concatenate([rng.choice(classes, UTTERANCES_PER_SPEAKER, p=mix) for mix in mixes])
    base = np.asarray(family.class_logits)[targets] + rng.normal(0, family.speaker_sd, speakers)[speaker_of]
    logit_a = base + shift + rng.normal(0, family.system_sd, speakers)[speaker_of]
    logit_b = base + rng.normal(0, family.system_sd, speakers)[speaker_of]
    shared = rng.random(len(targets))
    own = rng.random(len(targets))
    draw_b = np.where(rng.random(len(targets)) < 0.5, shared, own)
    right_a, right_b = shared < expit(logit_a), draw_b < expit(logit_b)

    def decide(right):
        wrong = (targets + rng.integers(1, classes, len(targets))) % classes
        return np.where(right, targets, wrong)

    return targets, decide(right_a), decide(right_b), speaker_of.astype(str)


def _cells(targets, predictions, speakers, classes):
    """(speakers, 2 classes) counts of wrong / right decisions per class: what UAR reads."""
    names, index = np.unique(speakers, return_inverse=True)
    cells = (index * classes + targets) * 2 + (targets == predictions)
    return np.bincount(cells, minlength=len(names) * classes * 2).reshape(len(names), classes, 2).astype(float)


def _score(cells, metric):
    """Scores (%) of cell counts with any leading resample axes; a class absent from a resample
    is left out of its UAR, as ser-keras' old bootstrap did."""
    totals = cells.sum(axis=-1)
    if metric == "WAR":
        return 100.0 * cells[..., 1].sum(axis=-1) / totals.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * np.nanmean(cells[..., 1] / totals, axis=-1)


def old_interval(targets, predictions, speakers, classes, metric, rng, resamples=1000):
    """The former row interval: percentile bootstrap over utterances."""
    pooled = _cells(targets, predictions, speakers, classes).sum(axis=0).ravel()
    draws = rng.multinomial(int(pooled.sum()), pooled / pooled.sum(), size=resamples).reshape(resamples, classes, 2)
    return np.quantile(_score(draws, metric), [0.025, 0.975])


def old_paired_p(targets, predictions_a, predictions_b, speakers, classes, metric, rng, resamples=1000):
    """The former paired test: percentile bootstrap over speakers, p = twice the far tail."""
    cells_a = _cells(targets, predictions_a, speakers, classes)
    cells_b = _cells(targets, predictions_b, speakers, classes)
    count = len(cells_a)
    weights = rng.multinomial(count, np.full(count, 1 / count), size=resamples).astype(float)
    differences = _score(np.einsum("rg,gkc->rkc", weights, cells_a), metric) - _score(
        np.einsum("rg,gkc->rkc", weights, cells_b), metric
    )
    return min(1.0, 2.0 * min(np.mean(differences <= 0), np.mean(differences >= 0)))


def calibrate(family, speakers, simulations, seed=0):
    """Type-I error, power and coverage (percent) of the old and new methods in one setting."""
    rng = np.random.default_rng([seed, speakers, FAMILIES.index(family)])
    classes = len(family.class_mix)
    truth = population_score(family)
    counts = {key: 0 for key in ("type1_new", "type1_old", "power_new", "power_old", "cover_new", "cover_old")}
    for simulation in range(simulations):
        targets, first, second, names = simulate(family, speakers, rng)
        new = paired_test(targets, first, second, names, metric=family.metric, seed=simulation)
        counts["type1_new"] += new.p < 0.05
        counts["type1_old"] += old_paired_p(targets, first, second, names, classes, family.metric, rng) < 0.05
        row = interval(targets, first, names, metric=family.metric)
        counts["cover_new"] += row.low is not None and row.low <= truth <= row.high
        low, high = old_interval(targets, first, names, classes, family.metric, rng)
        counts["cover_old"] += low <= truth <= high
        targets, first, second, names = simulate(family, speakers, rng, shift=SHIFT)
        counts["power_new"] += (
            paired_test(targets, first, second, names, metric=family.metric, seed=simulation).p < 0.05
        )
        counts["power_old"] += old_paired_p(targets, first, second, names, classes, family.metric, rng) < 0.05
    shares = {key: round(100.0 * value / simulations, 1) for key, value in counts.items()}
    return {
        "family": family.name,
        "metric": family.metric,
        "speakers": speakers,
        "simulations": simulations,
        "population_score": round(truth, 2),
        "power_difference_pp": round(population_score(family, SHIFT) - truth, 2),
        **shares,
    }


def meets_targets(result):
    """The calibration targets: type-I <= 5.5 % with >= 5 speakers, no rejection with 2,
    coverage >= 93 % with >= 10 speakers."""
    checks = [result["type1_new"] <= 5.5] if result["speakers"] >= 5 else [result["type1_new"] == 0.0]
    if result["speakers"] >= 10:
        checks.append(result["cover_new"] >= 93.0)
    return all(checks)


def markdown(results):
    lines = [
        "| setting | metric | speakers | type-I new | type-I old | power new | power old | Δ (pp) | "
        "coverage new | coverage old | targets |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['family']} | {r['metric']} | {r['speakers']} | {r['type1_new']} | {r['type1_old']} | "
            f"{r['power_new']} | {r['power_old']} | {r['power_difference_pp']:+.2f} | {r['cover_new']} | "
            f"{r['cover_old']} | {'met' if meets_targets(r) else 'MISSED'} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--simulations", type=int, default=1000, help="simulated test sets per setting")
    parser.add_argument("--speakers", default=",".join(map(str, SPEAKER_COUNTS)), help="comma-separated counts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--markdown", help="also write them as a Markdown page (docs/calibration.md)")
    args = parser.parse_args(argv)
    results = [
        calibrate(family, int(count), args.simulations, args.seed)
        for family in FAMILIES
        for count in args.speakers.split(",")
    ]
    summary = (
        f"{args.simulations} simulations per setting, {UTTERANCES_PER_SPEAKER} utterances per speaker, seed "
        f"{args.seed}; new = ser_keras.stats (sign-flip test, t interval over speakers); old = percentile "
        "bootstrap (paired: over speakers; interval: over utterances). Percent of simulations; power at the "
        "population difference Δ; targets: type-I <= 5.5 % with >= 5 speakers and none with 2, coverage "
        ">= 93 % with >= 10 speakers."
    )
    print(summary)
    print(markdown(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as handle:
            handle.write(
                f"# Calibration of the speaker-level statistics\n\nGenerated by `python tools/calibrate_stats.py "
                f"--simulations {args.simulations} --markdown {args.markdown}`; do not edit by hand. The "
                f"simulation model is in the tool's docstring; the methods in [statistics.md](statistics.md)."
                f"\n\n{summary}\n\n{markdown(results)}\n"
            )
    return 0 if all(meets_targets(r) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
