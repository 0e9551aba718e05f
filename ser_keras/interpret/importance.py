"""Random-forest feature importances on ComParE_2016 functionals (SHORT §3.2, Table 4).

Ranks impurity importances, names each feature by its 0-based index into openSMILE's
ComParE_2016 functionals list, and assigns it the group of its low-level descriptor after
Weninger et al. (2013), the grouping SHORT adopts. Where SHORT's Table 4 shows how a
descriptor was grouped, SHORT wins: the auditory-spectrum sum ``audspec_lengthL1norm``
(loudness, an energy descriptor in Weninger et al.) is "Spectral (Auditory)" in SHORT
(indices 4138, 5496, 5490, 5489, 132, 4144), and its RASTA counterpart goes with it; the
voicing probability ``voicingFinalUnclipped`` is "Voice quality" (index 3712).
"""

from dataclasses import dataclass

import numpy as np

from ser_keras.features.opensmile_sets import FeatureSet, feature_names

PROSODIC = "Prosodic"
SPECTRAL_FLUX = "Spectral Flux"
SPECTRAL_HARMONICITY = "Spectral Harmonicity"
SPECTRAL_SLOPE = "Spectral Slope"
SPECTRAL_AUDITORY = "Spectral (Auditory)"
SPECTRAL_OTHER = "Spectral (Other)"
CEPSTRAL = "Cepstral"
VOICE_QUALITY = "Voice quality"

GROUPS = (
    PROSODIC,
    SPECTRAL_FLUX,
    SPECTRAL_HARMONICITY,
    SPECTRAL_SLOPE,
    SPECTRAL_AUDITORY,
    SPECTRAL_OTHER,
    CEPSTRAL,
    VOICE_QUALITY,
)
SPECTRAL_GROUPS = (SPECTRAL_FLUX, SPECTRAL_HARMONICITY, SPECTRAL_SLOPE, SPECTRAL_AUDITORY, SPECTRAL_OTHER)

# ComParE_2016 low-level descriptor (the feature name before "_sma") -> group.
LLD_GROUPS = {
    "F0final": PROSODIC,
    "pcm_RMSenergy": PROSODIC,
    "pcm_zcr": PROSODIC,
    "pcm_fftMag_spectralFlux": SPECTRAL_FLUX,
    "pcm_fftMag_spectralHarmonicity": SPECTRAL_HARMONICITY,
    "pcm_fftMag_spectralSlope": SPECTRAL_SLOPE,
    "audSpec_Rfilt": SPECTRAL_AUDITORY,
    "audspec_lengthL1norm": SPECTRAL_AUDITORY,
    "audspecRasta_lengthL1norm": SPECTRAL_AUDITORY,
    "pcm_fftMag_fband250-650": SPECTRAL_OTHER,
    "pcm_fftMag_fband1000-4000": SPECTRAL_OTHER,
    "pcm_fftMag_spectralRollOff25.0": SPECTRAL_OTHER,
    "pcm_fftMag_spectralRollOff50.0": SPECTRAL_OTHER,
    "pcm_fftMag_spectralRollOff75.0": SPECTRAL_OTHER,
    "pcm_fftMag_spectralRollOff90.0": SPECTRAL_OTHER,
    "pcm_fftMag_spectralCentroid": SPECTRAL_OTHER,
    "pcm_fftMag_spectralEntropy": SPECTRAL_OTHER,
    "pcm_fftMag_spectralVariance": SPECTRAL_OTHER,
    "pcm_fftMag_spectralSkewness": SPECTRAL_OTHER,
    "pcm_fftMag_spectralKurtosis": SPECTRAL_OTHER,
    "pcm_fftMag_psySharpness": SPECTRAL_OTHER,
    "mfcc": CEPSTRAL,
    "voicingFinalUnclipped": VOICE_QUALITY,
    "jitterLocal": VOICE_QUALITY,
    "jitterDDP": VOICE_QUALITY,
    "shimmerLocal": VOICE_QUALITY,
    "logHNR": VOICE_QUALITY,
}


def compare_functional_names():
    """The 6373 ComParE_2016 functional names in openSMILE's output order."""
    return feature_names(FeatureSet.ComParE_2016_functionals)


def low_level_descriptor(name):
    """The LLD a functional is computed from, e.g. ``mfcc_sma_de[3]_lpgain`` -> ``mfcc``."""
    if "_sma" not in name:
        raise ValueError(f"{name!r} is not a ComParE functional name (no '_sma').")
    return name.split("_sma", 1)[0]


def feature_group(name):
    """Group (one of :data:`GROUPS`) of a ComParE functional name."""
    lld = low_level_descriptor(name)
    if lld not in LLD_GROUPS:
        raise ValueError(f"Low-level descriptor {lld!r} of {name!r} has no group.")
    return LLD_GROUPS[lld]


@dataclass(frozen=True)
class RankedFeature:
    rank: int
    index: int
    name: str
    group: str
    importance: float


def top_features(importances, k=10, names=None):
    """The ``k`` largest importances (e.g. ``RandomForestClassifier.feature_importances_``).

    ``names`` defaults to the ComParE_2016 functional names; importances must match them.
    """
    importances = np.asarray(importances, dtype=np.float64)
    names = compare_functional_names() if names is None else tuple(names)
    if importances.shape != (len(names),):
        raise ValueError(f"Expected {len(names)} importances, one per feature name. Got shape {importances.shape}.")
    order = np.argsort(-importances, kind="stable")[:k]
    return [
        RankedFeature(rank, int(i), names[i], feature_group(names[i]), float(importances[i]))
        for rank, i in enumerate(order, start=1)
    ]


def group_counts(indices, names=None):
    """How many of the feature ``indices`` fall in each group (every group listed, in order)."""
    names = compare_functional_names() if names is None else tuple(names)
    counts = dict.fromkeys(GROUPS, 0)
    for index in indices:
        counts[feature_group(names[int(index)])] += 1
    return counts


def spectral_count(counts):
    """Total over the spectral groups of a :func:`group_counts` result (SHORT's "9/10 spectral")."""
    return sum(counts[group] for group in SPECTRAL_GROUPS)
