"""SHORT §3 findings: summaries of Fig. 2 (first-layer frequency responses), Table 4 (top-10
RF feature importances by descriptor group) and Fig. 3 (per-class recall), and the paper's
statements about each checked on a run.

The inputs are computed by :class:`ser_keras.experiments.analysis_short.ShortAnalysis`
(``frequency_responses``, ``importances``, ``confusion``); the functions here only
summarise them, so the replicate/short_*.py scripts can report and plot the same numbers.
"""

import dataclasses

import numpy as np

from ser_keras.interpret import (
    band_levels,
    dominant_band,
    group_counts,
    response_centroid,
    spectral_count,
    top_features,
)
from ser_keras.interpret.importance import CEPSTRAL
from ser_keras.results import Claim

# Paper's Table 4 group counts out of the top 10: (input, group kind, count).
TABLE4_PAPER = (
    ("raw", "spectral", 9),
    ("subseg_rel", "cepstral", 8),
    ("seg_rel", "cepstral", 4),
    ("seg_rel", "spectral", 6),
)


def frequency_summary(curves):
    """Dominant band, band levels and centroid of the fold-mean response, plus fold agreement."""
    freqs = next(iter(curves.values()))[0]
    responses = np.stack([response for _, response in curves.values()])
    mean = responses.mean(axis=0)
    agreement = (
        float(np.mean(np.corrcoef(responses)[np.triu_indices(len(responses), 1)])) if len(responses) > 1 else None
    )
    return {
        "dominant_band_hz": list(dominant_band(freqs, mean)),
        "band_levels": band_levels(freqs, mean).tolist(),
        "centroid_hz": response_centroid(freqs, mean),
        "fold_dominant_bands": {fold: list(dominant_band(f, r)) for fold, (f, r) in curves.items()},
        "fold_curve_correlation": agreement,
    }


def frequency_claims(summary):
    subseg, seg = summary["subseg"], summary["seg"]
    agreement = [s["fold_curve_correlation"] for s in (subseg, seg)]
    return [
        Claim.from_points(
            "Fig. 2: Raw SubSeg first-layer filters emphasise 1000-4000 Hz",
            subseg["dominant_band_hz"] == [1000, 4000],
            f"dominant band {subseg['dominant_band_hz']} Hz",
        ),
        Claim.from_points(
            "Fig. 2: Raw Seg emphasises lower frequencies than SubSeg",
            (
                seg["centroid_hz"] < subseg["centroid_hz"]
                and seg["dominant_band_hz"][0] <= subseg["dominant_band_hz"][0]
            ),
            f"centroid Seg {seg['centroid_hz']:.0f} Hz vs SubSeg {subseg['centroid_hz']:.0f} Hz; "
            f"dominant bands {seg['dominant_band_hz']} vs {subseg['dominant_band_hz']}",
        ),
        Claim.from_points(
            "Fig. 2: similar responses across folds (mean pairwise curve correlation > 0.9)",
            None if None in agreement else all(a > 0.9 for a in agreement),
            "needs >= 2 folds"
            if None in agreement
            else f"mean correlation SubSeg {agreement[0]:.2f}, Seg {agreement[1]:.2f}",
        ),
    ]


def importance_summary(importances):
    """Top-10 features, group counts and spectral/cepstral counts of one input."""
    top = top_features(importances, 10)
    counts = group_counts([feature.index for feature in top])
    return {
        "top": [dataclasses.asdict(feature) for feature in top],
        "group_counts": counts,
        "spectral": spectral_count(counts),
        "cepstral": counts[CEPSTRAL],
    }


def importance_claims(summaries):
    raw, subseg, seg = summaries["raw"], summaries["subseg_rel"], summaries["seg_rel"]
    return [
        Claim.from_points(
            "Table 4: raw-waveform RF relies mostly on spectral descriptors (paper 9/10)",
            raw["spectral"] > 5,
            f"{raw['spectral']}/10 spectral",
        ),
        Claim.from_points(
            "Table 4: SubSeg-Rel RF relies mostly on cepstral descriptors (paper 8/10)",
            subseg["cepstral"] > 5,
            f"{subseg['cepstral']}/10 cepstral",
        ),
        Claim.from_points(
            "Table 4: SubSeg-Rel more cepstral than Seg-Rel (paper 8/10 vs 4/10)",
            subseg["cepstral"] > seg["cepstral"],
            f"{subseg['cepstral']} vs {seg['cepstral']}",
        ),
        Claim.from_points(
            "Table 4: Seg-Rel more spectral than cepstral (paper 6/10 vs 4/10)",
            seg["spectral"] > seg["cepstral"],
            f"{seg['spectral']} vs {seg['cepstral']}",
        ),
    ]


def confusion_claims(recalls, classes):
    """The paper's Fig. 3 statements on per-class recall (the diagonals of row-normalised
    matrices; None for a class without test utterances). A statement that needs such a class
    (the best-class and spread statements need every class) is "n/a"."""
    index = {label: position for position, label in enumerate(classes)}
    untested = sorted({classes[i] for values in recalls.values() for i, value in enumerate(values) if value is None})

    def checked(claim, labels, test, detail=lambda: ""):
        missing = [label for label in labels if label in untested]
        if missing:
            return Claim(claim, "n/a", f"no test utterance of {', '.join(missing)}")
        return Claim.from_points(claim, test(), detail())

    def better(first, second, labels):
        return all(recalls[first][index[label]] > recalls[second][index[label]] for label in labels)

    def side_by_side(first, second, labels):
        return ", ".join(
            f"{label} {100 * recalls[first][index[label]]:.0f} vs {100 * recalls[second][index[label]]:.0f} %"
            for label in labels
        )

    def best(system):
        return classes[int(np.argmax(recalls[system]))]

    def spread(system):
        return float(np.ptp(recalls[system]))

    return [
        checked(
            "Fig. 3: SubSeg (raw) better than ComParE (raw) for happy and sad",
            ("hap", "sad"),
            lambda: better("subseg_raw", "compare_raw", ("hap", "sad")),
            lambda: "recall " + side_by_side("subseg_raw", "compare_raw", ("hap", "sad")),
        ),
        checked(
            "Fig. 3: ComParE (raw) better than SubSeg (raw) for neutral and angry",
            ("neu", "ang"),
            lambda: better("compare_raw", "subseg_raw", ("neu", "ang")),
            lambda: "recall " + side_by_side("compare_raw", "subseg_raw", ("neu", "ang")),
        ),
        checked(
            "Fig. 3: SubSeg's best class is sad on raw audio and happy on SubSeg-Rel",
            classes,
            lambda: best("subseg_raw") == "sad" and best("subseg_rel") == "hap",
            lambda: f"raw {best('subseg_raw')}, relevance {best('subseg_rel')}",
        ),
        checked(
            "Fig. 3: ComParE on SubSeg-Rel models the classes more equally than on raw",
            classes,
            lambda: spread("compare_rel") < spread("compare_raw"),
            lambda: f"recall range {100 * spread('compare_rel'):.0f} vs {100 * spread('compare_raw'):.0f} pp",
        ),
    ]
