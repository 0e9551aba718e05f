"""The paper-claim checkers on hand-built inputs: each claim holds on paper-like numbers,
fails on contrary ones, and is left open (None) where its inputs are missing; claims read off
point values say so in their verdict. ELOR: Table 5 orderings (§4), Fig. 4 correlations, Table 6 descriptor trends;
SHORT: Fig. 2 frequency responses, Table 4 importances, Fig. 3 per-class recalls."""

import numpy as np
import pytest

from ser_keras.data.labels import DIMENSION_CLASSES, FOUR_CLASSES
from ser_keras.experiments.analysis_elor import correlation_claims, descriptor_claims
from ser_keras.experiments.analysis_short_summaries import (
    confusion_claims,
    frequency_claims,
    frequency_summary,
    importance_claims,
    importance_summary,
)
from ser_keras.experiments.elor_table5 import extreme_claims, table5_claims

PAPER_NETWORKS = ("elor", "lom", "ftr", "elor_ftr")


def as_dict(claim):
    """A checked claim as ``{"claim", "holds", "detail", ...}``: checkers return dicts or
    :class:`Claim`-like records (``to_dict``) while the reporting moves to typed records."""
    return claim if isinstance(claim, dict) else claim.to_dict()


def holds_of(claim):
    return as_dict(claim)["holds"]


# -- ELOR Table 5: orderings on point values ---------------------------------------------
# {network: (arousal WAR, arousal UAR, valence WAR, valence UAR)} in %: WAR > UAR and
# arousal > valence throughout, as the paper's §4 says of its Table 5.
PAPER_LIKE_TABLE5 = {
    "elor": (62, 48, 50, 36),
    "lom": (58, 45, 49, 35),
    "ftr": (55, 41, 48, 34),
    "elor_ftr": (60, 46, 53, 38),
}
WAR_ABOVE_UAR = "WAR > UAR for every network"
AROUSAL_ABOVE_VALENCE = "Arousal > valence for every network"


def table5_values(scores):
    return {
        f"{network}_{dimension}_{metric}": scores[network][2 * d + m]
        for network in scores
        for d, dimension in enumerate(("arousal", "valence"))
        for m, metric in enumerate(("war", "uar"))
    }


def table5_claim(text, scores, networks=PAPER_NETWORKS):
    claims = table5_claims(table5_values(scores), networks)
    return next(as_dict(c) for c in claims if as_dict(c)["claim"] == text)


def test_table5_point_claims_hold_on_paper_like_numbers():
    for text in (WAR_ABOVE_UAR, AROUSAL_ABOVE_VALENCE):
        assert table5_claim(text, PAPER_LIKE_TABLE5)["holds"] is True


def test_war_above_uar_fails_for_one_network():
    claim = table5_claim(WAR_ABOVE_UAR, {**PAPER_LIKE_TABLE5, "lom": (58, 45, 35, 49)})
    assert claim["holds"] is False and claim["detail"] == "fails: LoM valence"


def test_arousal_above_valence_fails_for_one_network():
    claim = table5_claim(AROUSAL_ABOVE_VALENCE, {**PAPER_LIKE_TABLE5, "ftr": (55, 41, 56, 42)})
    assert claim["holds"] is False and claim["detail"] == "fails: FTR WAR, FTR UAR"


def test_table5_point_claims_cover_the_networks_run_and_none_without_any():
    two = {name: PAPER_LIKE_TABLE5[name] for name in ("elor", "lom")}
    assert table5_claim(WAR_ABOVE_UAR, two, ("lom", "elor"))["detail"] == "4 comparisons"
    assert table5_claim(AROUSAL_ABOVE_VALENCE, two, ("lom", "elor"))["holds"] is True
    for text in (WAR_ABOVE_UAR, AROUSAL_ABOVE_VALENCE):
        nothing = table5_claim(text, {}, ())
        assert nothing["holds"] is None and nothing["detail"] == "no network run"


# -- ELOR Table 5: best / worst as paired tests -------------------------------------------
# Share of correct slices per network and head: ELoR best and FTR worst on arousal, ELoR+FTR
# best on valence (the paper's §4), by margins a paired test on 300 slices resolves.
PAPER_LIKE_ACCURACY = {
    "elor": {"arousal": 0.75, "valence": 0.45},
    "lom": {"arousal": 0.55, "valence": 0.45},
    "ftr": {"arousal": 0.30, "valence": 0.40},
    "elor_ftr": {"arousal": 0.60, "valence": 0.70},
}


FOLDS = tuple(f"Ses0{session}{gender}" for session in range(1, 5) for gender in "FM")  # 8 test speakers


def speaker_of(slice_id):
    return slice_id.split("_")[0]


def head_parts(accuracy, *, copy=None, folds=FOLDS, slices=40):
    """network → head → fold → {"ids", "targets", "predictions"}; targets shared by every
    network; ``copy`` = {network: other} gives a network the other's predictions."""
    targets_rng = np.random.default_rng(0)
    targets = {fold: targets_rng.integers(0, DIMENSION_CLASSES, slices) for fold in folds}
    parts = {}
    for seed, (network, by_head) in enumerate(accuracy.items(), start=1):
        rng = np.random.default_rng(seed)
        parts[network] = {}
        for head, share in by_head.items():
            parts[network][head] = {}
            for fold in folds:
                wrong = (targets[fold] + rng.integers(1, DIMENSION_CLASSES, slices)) % DIMENSION_CLASSES
                predictions = np.where(rng.random(slices) < share, targets[fold], wrong)
                parts[network][head][fold] = {
                    "ids": [f"{fold}_u{i}@0" for i in range(slices)],
                    "targets": targets[fold].tolist(),
                    "predictions": predictions.tolist(),
                }
    for network, other in (copy or {}).items():
        parts[network] = parts[other]
    return parts


def extreme_verdicts(accuracy=PAPER_LIKE_ACCURACY, **kwargs):
    return {
        claim.claim: claim.verdict for claim in extreme_claims(head_parts(accuracy, **kwargs), speaker_of=speaker_of)
    }


def test_extreme_claims_hold_on_paper_like_predictions():
    assert extreme_verdicts() == {
        "ELoR best on arousal": "holds",
        "FTR worst on arousal": "holds",
        "ELoR+FTR best on valence": "holds",
    }


def test_elor_best_on_arousal_does_not_hold_when_lom_is_clearly_better():
    accuracy = {**PAPER_LIKE_ACCURACY, "lom": {"arousal": 0.95, "valence": 0.45}}
    assert extreme_verdicts(accuracy)["ELoR best on arousal"] == "does not hold"


def test_elor_best_on_arousal_is_open_when_lom_predicts_the_same():
    assert extreme_verdicts(copy={"lom": "elor"})["ELoR best on arousal"] == "inconclusive"


def test_extreme_claims_with_too_few_speakers_give_no_verdict():
    verdicts = extreme_verdicts(folds=FOLDS[:4], slices=80)
    assert set(verdicts.values()) == {"too few speakers to test"}


def test_claims_over_one_speaker_say_so_in_the_singular():
    claims = extreme_claims(head_parts(PAPER_LIKE_ACCURACY, folds=FOLDS[:1], slices=40), speaker_of=speaker_of)
    details = " ".join(claim.detail for claim in claims)
    assert "no interval, 1 speaker)" in details and "1 speakers" not in details


def test_ftr_worst_on_arousal_does_not_hold_when_ftr_beats_lom():
    accuracy = {**PAPER_LIKE_ACCURACY, "ftr": {"arousal": 0.70, "valence": 0.40}}
    assert extreme_verdicts(accuracy)["FTR worst on arousal"] == "does not hold"


def test_elor_ftr_best_on_valence_does_not_hold_when_elor_is_clearly_better():
    accuracy = {**PAPER_LIKE_ACCURACY, "elor": {"arousal": 0.75, "valence": 0.95}}
    assert extreme_verdicts(accuracy)["ELoR+FTR best on valence"] == "does not hold"


def test_extreme_claims_need_all_four_networks():
    three = {network: PAPER_LIKE_ACCURACY[network] for network in ("elor", "lom", "ftr")}
    claims = extreme_claims(head_parts(three), speaker_of=speaker_of)
    assert [claim.verdict for claim in claims] == ["n/a"] * 3
    assert all(claim.detail.startswith("needs") for claim in claims)


# -- ELOR Fig. 4 --------------------------------------------------------------------------
PAPER_LIKE_CORRELATIONS = {
    "saliency_input_corr_arousal": 0.50,
    "saliency_input_corr_valence": 0.53,
    "saliency_input_envelope_corr_arousal": 0.61,
    "saliency_input_envelope_corr_valence": 0.58,
    "saliency_arousal_valence_corr": 0.96,
}


def correlation_holds(**changed):
    return [holds_of(claim) for claim in correlation_claims({**PAPER_LIKE_CORRELATIONS, **changed})]


def test_correlation_claims_hold_on_the_paper_values():
    assert correlation_holds() == [True, True, True]
    assert correlation_holds(saliency_input_corr_arousal=0.3) == [True, True, True]  # thresholds are inclusive


def test_correlation_claims_fail_below_their_thresholds():
    assert correlation_holds(saliency_input_corr_valence=0.12) == [False, True, True]
    assert correlation_holds(saliency_input_envelope_corr_arousal=-0.2) == [True, False, True]
    assert correlation_holds(saliency_arousal_valence_corr=0.85) == [True, True, False]


def test_correlation_claims_open_without_a_value():
    assert correlation_holds(saliency_input_corr_arousal=None) == [None, True, True]
    partial = {k: v for k, v in PAPER_LIKE_CORRELATIONS.items() if "envelope" not in k}
    assert [holds_of(claim) for claim in correlation_claims(partial)] == [True, None, True]
    assert [holds_of(claim) for claim in correlation_claims({})] == [None, None, None]


# -- ELOR Table 6 -------------------------------------------------------------------------
AROUSAL_DESCRIPTORS = ("spectral_centroid_hz", "pause_count", "peak_amplitude", "periodic_fraction")


def descriptor_rows(arousal=None, valence=None, gained=True, start="random"):
    """Rows of 5 labels per head; descriptor values per label (arousal rising, valence U-shaped
    in centroid and periodicity, as in the paper's Table 6) unless overridden."""
    arousal = {
        "spectral_centroid_hz": [900, 1200, 1500, 1900, 2400],
        "pause_count": [1, 2, 4, 5, 7],
        "peak_amplitude": [0.2, 0.3, 0.5, 0.6, 0.9],
        "periodic_fraction": [0.1, 0.2, 0.3, 0.5, 0.6],
        **(arousal or {}),
    }
    valence = {
        "spectral_centroid_hz": [2200, 1400, 1100, 1300, 2100],
        "periodic_fraction": [0.6, 0.3, 0.2, 0.3, 0.5],
        **(valence or {}),
    }
    rows = []
    for head, values in (("arousal", arousal), ("valence", valence)):
        for label in range(5):
            row = {
                "head": head,
                "start": start,
                "label": label,
                "activation_start": 0.2,
                "activation_end": 0.9 if gained else 0.1,
            }
            row.update({key: per_label[label] for key, per_label in values.items()})
            row.update({key: 0.0 for key in AROUSAL_DESCRIPTORS if key not in row})
            rows.append(row)
    return rows


def test_descriptor_claims_hold_on_paper_like_inputs():
    claims = descriptor_claims(descriptor_rows())
    assert len(claims) == 7 and all(holds_of(claim) is True for claim in claims)


@pytest.mark.parametrize("position, key", enumerate(AROUSAL_DESCRIPTORS))
def test_each_arousal_trend_fails_when_the_descriptor_falls(position, key):
    falling = {key: [row[key] for row in descriptor_rows() if row["head"] == "arousal"][::-1]}
    holds = [holds_of(claim) for claim in descriptor_claims(descriptor_rows(arousal=falling))]
    assert holds == [position != index for index in range(4)] + [True, True, True]


def test_arousal_trend_needs_rho_above_one_half_and_a_varying_descriptor():
    weak = {"pause_count": [1, 4, 2, 5, 3]}  # Spearman rho 0.5 over labels 0..4: not above 0.5
    weak_claim = descriptor_claims(descriptor_rows(arousal=weak))[1]
    assert holds_of(weak_claim) is False and weak_claim.detail == "Spearman rho 0.50"
    constant = {"peak_amplitude": [0.4] * 5}
    constant_claim = descriptor_claims(descriptor_rows(arousal=constant))[2]
    assert holds_of(constant_claim) is None and constant_claim.detail == "the same for every label: no trend"


def test_valence_extremes_fail_when_the_middle_labels_are_higher():
    inverted = {"spectral_centroid_hz": [1100, 1900, 2300, 2000, 1200], "periodic_fraction": [0.2, 0.4, 0.6, 0.5, 0.1]}
    holds = [holds_of(claim) for claim in descriptor_claims(descriptor_rows(valence=inverted))]
    assert holds == [True, True, True, True, False, False, True]


def test_descriptor_claims_fail_when_an_ascent_lowers_its_activation():
    assert holds_of(descriptor_claims(descriptor_rows(gained=False))[-1]) is False


def test_descriptor_claims_read_the_chosen_start():
    rows = descriptor_rows(start="mean") + descriptor_rows(arousal={"pause_count": [7, 5, 4, 2, 1]}, start="random")
    assert holds_of(descriptor_claims(rows, start="mean")[1]) is True
    assert holds_of(descriptor_claims(rows, start="random")[1]) is False


# -- SHORT Fig. 2 -------------------------------------------------------------------------
FREQUENCIES = np.linspace(0, 8000, 257)


def fold_curves(peak_hz, folds=5, jitter=0.0, seed=0):
    """{fold: (frequencies, response)}: a bump at ``peak_hz`` per fold, optionally jittered."""
    rng = np.random.default_rng(seed)
    return {
        f"M-{fold}": (
            FREQUENCIES,
            0.05 + np.exp(-(((FREQUENCIES - peak_hz) / 600.0) ** 2)) + jitter * rng.random(len(FREQUENCIES)),
        )
        for fold in range(1, folds + 1)
    }


def frequency_holds(subseg, seg):
    return [
        holds_of(claim)
        for claim in frequency_claims({"subseg": frequency_summary(subseg), "seg": frequency_summary(seg)})
    ]


def test_frequency_claims_hold_on_paper_like_responses():
    # SubSeg peaks at 2.5 kHz, Seg at 500 Hz, every fold alike (the paper's Fig. 2).
    assert frequency_holds(fold_curves(2500, jitter=0.02), fold_curves(500, jitter=0.02, seed=1)) == [True] * 3


def test_subseg_band_claim_fails_outside_1_to_4_khz():
    assert frequency_holds(fold_curves(6000), fold_curves(500))[0] is False


def test_seg_lower_claim_fails_when_seg_peaks_higher():
    assert frequency_holds(fold_curves(2500), fold_curves(3500))[1] is False
    assert frequency_holds(fold_curves(2500), fold_curves(6000))[1] is False


def test_fold_agreement_claim_fails_on_dissimilar_folds_and_needs_two_folds():
    scattered = {**fold_curves(2500, folds=2), "M-3": (FREQUENCIES, np.random.default_rng(2).random(257))}
    assert frequency_holds(scattered, fold_curves(500))[2] is False
    assert frequency_holds(fold_curves(2500, folds=1), fold_curves(500))[2] is None


# -- SHORT Table 4 ------------------------------------------------------------------------
# The paper's Table 4 top-10 ComParE feature indices (F-Index column) of each input.
TABLE4_INDICES = {
    "raw": [2957, 1513, 4138, 3218, 5496, 6039, 5490, 6035, 74, 6030],
    "subseg_rel": [5168, 5166, 1637, 1522, 1523, 1587, 5173, 3311, 1244, 3712],
    "seg_rel": [5166, 1523, 1522, 2957, 1431, 5097, 5489, 132, 5173, 4144],
}
SPECTRAL_INDICES = [2957, 1513, 4138, 3218, 5496, 6039, 5490, 6035, 6030, 1244]


def importance_from_top(indices, features=6373):
    """An importance vector whose 10 largest entries sit at ``indices``, in that order."""
    importances = np.full(features, 1e-6)
    importances[list(indices)] = np.linspace(1.0, 0.5, len(indices))
    return importances


def importance_holds(**top):
    indices = {**TABLE4_INDICES, **top}
    return [
        holds_of(claim)
        for claim in importance_claims(
            {name: importance_summary(importance_from_top(chosen)) for name, chosen in indices.items()}
        )
    ]


def test_importance_claims_hold_on_the_papers_table4_features():
    summaries = {name: importance_summary(importance_from_top(chosen)) for name, chosen in TABLE4_INDICES.items()}
    assert [(summaries[name]["spectral"], summaries[name]["cepstral"]) for name in TABLE4_INDICES] == [
        (9, 0),
        (1, 8),
        (6, 4),
    ]  # the paper's counts: raw 9/10 spectral, 8/10 and 4/10 cepstral
    assert importance_holds() == [True] * 4


def test_raw_spectral_claim_fails_when_half_the_top_is_cepstral():
    assert importance_holds(raw=SPECTRAL_INDICES[:5] + [1522, 1523, 1587, 1637, 5173])[0] is False


def test_subseg_cepstral_claims_fail_on_a_spectral_subseg_top():
    assert importance_holds(subseg_rel=SPECTRAL_INDICES) == [True, False, False, True]


def test_seg_spectral_claim_fails_on_a_cepstral_seg_top():
    holds = importance_holds(seg_rel=[1522, 1523, 1587, 1637, 5166, 5168, 5173, 2957, 1431, 5097])
    assert holds == [True, True, True, False]  # Seg-Rel: 7 cepstral, 3 spectral
    tied = importance_holds(seg_rel=[1522, 1523, 1587, 1637, 5166, 2957, 1431, 5097, 5489, 4144])
    assert tied[3] is False  # 5 spectral vs 5 cepstral: not "more"


# -- SHORT Fig. 3 -------------------------------------------------------------------------
# Per-class recall in FOUR_CLASSES order (ang, hap, neu, sad), shaped like the paper's Fig. 3:
# SubSeg ahead on happy and sad, ComParE ahead on neutral and angry, SubSeg best on sad (raw)
# and happy (SubSeg-Rel), ComParE on SubSeg-Rel flatter than on raw audio.
PAPER_LIKE_RECALLS = {
    "compare_raw": [0.68, 0.42, 0.66, 0.55],
    "compare_rel": [0.56, 0.52, 0.55, 0.54],
    "subseg_raw": [0.58, 0.55, 0.50, 0.72],
    "subseg_rel": [0.50, 0.70, 0.52, 0.61],
}


def confusion_holds(**changed):
    return [holds_of(claim) for claim in confusion_claims({**PAPER_LIKE_RECALLS, **changed}, list(FOUR_CLASSES))]


def test_confusion_claims_hold_on_paper_like_recalls():
    assert FOUR_CLASSES == ("ang", "hap", "neu", "sad")
    assert confusion_holds() == [True] * 4


def test_confusion_claims_follow_the_class_order_given():
    order = [2, 3, 0, 1]
    shuffled = {system: [recalls[i] for i in order] for system, recalls in PAPER_LIKE_RECALLS.items()}
    assert [holds_of(claim) for claim in confusion_claims(shuffled, [FOUR_CLASSES[i] for i in order])] == [True] * 4


def test_subseg_better_on_happy_and_sad_fails_on_one_class():
    assert confusion_holds(subseg_raw=[0.58, 0.40, 0.50, 0.72])[0] is False  # happy below ComParE's 0.42


def test_compare_better_on_neutral_and_angry_fails_on_a_tie():
    assert confusion_holds(compare_raw=[0.58, 0.42, 0.66, 0.55])[1] is False  # angry tied with SubSeg


def test_subseg_best_class_claim_fails_when_the_best_classes_swap():
    holds = confusion_holds(subseg_raw=[0.58, 0.75, 0.50, 0.72], subseg_rel=[0.50, 0.60, 0.52, 0.71])
    assert holds[2] is False


def test_compare_equal_modelling_fails_when_relevance_spreads_more():
    assert confusion_holds(compare_rel=[0.80, 0.30, 0.60, 0.50])[3] is False


def test_confusion_claims_needing_an_untested_class_are_not_applicable():
    # No test utterance of "sad" (its recall is unknown, not 0): every statement that needs
    # it is n/a; the neutral/angry comparison is still checked.
    untested = {system: [*recalls[:3], None] for system, recalls in PAPER_LIKE_RECALLS.items()}
    claims = confusion_claims(untested, list(FOUR_CLASSES))
    assert [claim.verdict for claim in claims] == ["n/a", "as stated (point values, untested)", "n/a", "n/a"]
    assert claims[0].detail == "no test utterance of sad"


def test_figure_claims_say_the_values_they_read():
    claims = confusion_claims(PAPER_LIKE_RECALLS, list(FOUR_CLASSES))
    subseg, compare = PAPER_LIKE_RECALLS["subseg_raw"], PAPER_LIKE_RECALLS["compare_raw"]
    assert claims[0].detail == f"recall hap {100 * subseg[1]:.0f} vs {100 * compare[1]:.0f} %, " + (
        f"sad {100 * subseg[3]:.0f} vs {100 * compare[3]:.0f} %"
    )
    summary = {"subseg": frequency_summary(fold_curves(2500)), "seg": frequency_summary(fold_curves(500, seed=1))}
    correlations = [summary[kind]["fold_curve_correlation"] for kind in ("subseg", "seg")]
    assert frequency_claims(summary)[2].detail == (
        f"mean correlation SubSeg {correlations[0]:.2f}, Seg {correlations[1]:.2f}"
    )
    one_fold = {
        "subseg": frequency_summary(fold_curves(2500, folds=1)),
        "seg": frequency_summary(fold_curves(500, folds=1)),
    }
    assert frequency_claims(one_fold)[2].detail == "needs >= 2 folds"
