"""ELOR "Learned representations" of a trained ELoR network: saliency maps with their
Pearson correlations (Fig. 4 and the text's 0.50 / 0.53 / 0.96) and generalized input
signals with measurable descriptors (Fig. 5, Table 6 as numbers).

The network is the ELoR model of one leave-one-speaker-out fold (the paper analyses test
speaker Ses03F): read from an existing wieser_table5 run folder (``source``) or trained into
this run's folder by :class:`ser_keras.experiments.elor.ElorExperiment` (said in the log).

What is correlated: the paper correlates "the input signal and the corresponding saliency
map" and reads the result as amplitude mattering. We report both readings, each as the mean
over the fold's test slices of a per-slice Pearson r over the slice's real (not zero-padded)
samples: the signal with the signed saliency, and the amplitude envelope (|analytic signal|)
of the signal with the envelope of the saliency; likewise arousal saliency with valence
saliency.
"""

import dataclasses
import logging
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from ser_keras.data.labels import DIMENSION_CLASSES, TABLE_DIMENSIONS
from ser_keras.data.windows import SLICE, slice_dataset
from ser_keras.experiments.data import ElorData
from ser_keras.experiments.elor import ElorExperiment, ElorExperimentConfig, budget
from ser_keras.interpret import (
    PREDICTED,
    amplitude_envelope,
    describe_signal,
    guided_gradients,
    guided_model,
    maximize_activation,
    pearson_rows,
)
from ser_keras.io import read_json
from ser_keras.results import Claim
from ser_keras.stats import mean_interval
from ser_keras.training.fit import load_h5

logger = logging.getLogger(__name__)

DEFAULT_FOLD = "Ses03F"
PAPER_CORRELATIONS = {
    "saliency_input_corr_arousal": 0.50,
    "saliency_input_corr_valence": 0.53,
    "saliency_arousal_valence_corr": 0.96,
}


def elor_config(corpus_kind, *, fold, seed, quick, evaluator="E2", source=None, verbose=1):
    """An ELoR-only, one-fold :class:`ElorExperimentConfig` and its budget: the source run's
    settings when analysing its model (its folds must be rebuilt exactly), else the Table-5
    budget. Returns ``(config, budget)``; the budget is the analysis's own (checked against
    the source run's by the caller)."""
    own = budget(corpus_kind, quick=quick)
    if source is not None:
        settings = read_json(Path(source) / "config.json")
        known = {field.name for field in dataclasses.fields(ElorExperimentConfig)}
        settings = {key: value for key, value in settings.items() if key in known}
    else:
        settings = {"seed": seed, "evaluator": evaluator, "budget": own.name, **own.settings}
    settings.update(networks=("elor",), folds=(fold,), verbose=verbose)
    return ElorExperimentConfig(**settings), own


@dataclasses.dataclass
class ElorAnalysis:
    """What an ELOR analysis works on: the prepared data, the one fold, its ELoR model."""

    data: ElorData
    config: ElorExperimentConfig
    record: object
    fold: object
    model: object
    source: Path | None


def open_elor(corpus, config, record, source=None):
    """The :class:`ElorAnalysis` of the one-fold config: the fold's trained ELoR model is the
    source run's, this run's, or trained now (said in the log; saved as a part)."""
    data = ElorData(
        corpus,
        evaluator=config.evaluator,
        protocol=config.protocol,
        seed=config.seed,
        validation_fraction=config.validation_fraction,
        folds=config.folds,
        verbose=config.verbose,
    )
    fold = data.folds[0]
    source = Path(source) if source else None
    for root in (source, record.out):
        if root is not None and (root / "models" / f"elor_{fold.name}.h5").exists():
            return ElorAnalysis(data, config, record, fold, load_h5(root / "models" / f"elor_{fold.name}.h5"), source)
    logger.info(
        "elor %s: no saved model%s; training ELoR on this fold for the analysis",
        fold.name,
        f" in {source}" if source else "",
    )
    record.save_part("elor", fold.name, ElorExperiment(data, config, record).run_fold("elor", fold))
    return ElorAnalysis(data, config, record, fold, load_h5(record.out / "models" / f"elor_{fold.name}.h5"), source)


def slice_signals(data, index, batch_size=16):
    """Raw 6 s slices ``(N, 96000)`` of slice indices ``index`` of :class:`ElorData` ``data``
    and their real (unpadded) lengths."""
    index = np.asarray(index, np.int64)
    slices = slice_dataset(data.store, data.owners[index], data.starts[index], batch_size=batch_size)
    signals = np.concatenate([batch.numpy() for batch in slices]) if len(index) else np.zeros((0, SLICE), np.float32)
    lengths = np.minimum(data.store.lengths[data.owners[index]] - data.starts[index], SLICE)
    return signals, lengths


def saliency_maps(model, signals, batch_size=8):
    """{head: guided-backprop gradient of each slice's predicted class of that head}, (N, 96000)."""
    guided = guided_model(model)
    return {
        head: guided_gradients(guided, signals, PREDICTED, output=head, batch_size=batch_size)
        for head in TABLE_DIMENSIONS
    }


def _per_slice_pearson(first, second, lengths):
    # Deviation: only each slice's real samples count; the zero padding of a short last slice
    # would otherwise add agreement that says nothing about the network.
    return np.array([pearson_rows(a[None, :n], b[None, :n])[0] for a, b, n in zip(first, second, lengths)])


def saliency_correlations(signals, saliencies, lengths):
    """Per-slice Pearson r (NaN where a map is constant) of every pairing, keyed by row id."""
    envelopes = {head: amplitude_envelope(saliencies[head]) for head in TABLE_DIMENSIONS}
    signal_envelope = amplitude_envelope(signals)
    values = {}
    for head in TABLE_DIMENSIONS:
        values[f"saliency_input_corr_{head}"] = _per_slice_pearson(signals, saliencies[head], lengths)
        values[f"saliency_input_envelope_corr_{head}"] = _per_slice_pearson(signal_envelope, envelopes[head], lengths)
    values["saliency_arousal_valence_corr"] = _per_slice_pearson(saliencies["arousal"], saliencies["valence"], lengths)
    values["saliency_arousal_valence_envelope_corr"] = _per_slice_pearson(
        envelopes["arousal"], envelopes["valence"], lengths
    )
    return values


def mean_with_ci(values, speakers):
    """NaN-ignoring mean of per-slice ``values`` with its 95 % interval over the slices'
    ``speakers`` (:func:`ser_keras.stats.mean_interval`): ``(mean, [low, high] or None,
    speakers)``; the interval is None with one speaker (a fold's test speaker alone says
    nothing about others), the mean None when no value is finite."""
    found = mean_interval(values, speakers)
    if found is None:
        return None, None, 0
    bounds = None if found.low is None else [found.low, found.high]
    return found.value, bounds, found.clusters


def correlation_claims(means):
    def value(key):
        return means.get(key)

    def check(keys, threshold):
        found = [value(key) for key in keys]
        return None if None in found else all(v >= threshold for v in found)

    return [
        Claim.from_points(
            "Fig. 4: input and saliency correlate positively on both heads (paper 0.50 / 0.53; r >= 0.3)",
            check(("saliency_input_corr_arousal", "saliency_input_corr_valence"), 0.3),
            "signal vs signed saliency",
        ),
        Claim.from_points(
            "Fig. 4: input envelope and saliency envelope correlate positively (r >= 0.3)",
            check(("saliency_input_envelope_corr_arousal", "saliency_input_envelope_corr_valence"), 0.3),
            "the amplitude reading of the paper's statement",
        ),
        Claim.from_points(
            "Fig. 4: arousal and valence saliency maps strongly correlated (paper 0.96; r >= 0.9)",
            check(("saliency_arousal_valence_corr",), 0.9),
            "signed saliency maps",
        ),
    ]


def training_mean_signal(data, fold, limit=None):
    """Sample-wise mean of the fold's training slices (Simonyan et al.'s mean-image start)."""
    train = data.fold_slices(fold)[0]
    train = train[:limit] if limit else train
    total, count = np.zeros(SLICE, np.float64), 0
    for begin in range(0, len(train), 64):
        signals, _ = slice_signals(data, train[begin : begin + 64])
        total += signals.sum(axis=0)
        count += len(signals)
    return (total / max(count, 1)).astype(np.float32)


def generalized_inputs(model, starts, *, steps, learning_rate, l2, seed=0):
    """{(head, start name): Maximization} of all 5 labels of each head from each start."""
    return {
        (head, name): maximize_activation(
            model,
            range(DIMENSION_CLASSES),
            output=head,
            start=start,
            steps=steps,
            learning_rate=learning_rate,
            l2=l2,
            seed=seed,
        )
        for head in TABLE_DIMENSIONS
        for name, start in starts.items()
    }


def descriptor_table(results):
    """One row per (head, start, label), ordered by head, start and label, with the descriptors."""
    rows = []
    for (head, start), result in results.items():
        for label, signal in zip(result.classes, result.signals):
            rows.append(
                {
                    "head": head,
                    "start": start,
                    "label": int(label),
                    "activation_start": float(result.activation[0][list(result.classes).index(label)]),
                    "activation_end": float(result.activation[-1][list(result.classes).index(label)]),
                    **describe_signal(signal),
                }
            )
    return rows


def _trend(rows, head, start, key):
    chosen = sorted((r for r in rows if r["head"] == head and r["start"] == start), key=lambda r: r["label"])
    values = [r[key] for r in chosen]
    return None if np.ptp(values) == 0 else float(spearmanr([r["label"] for r in chosen], values)[0])


def _extremes_higher(rows, head, start, key):
    chosen = [r for r in rows if r["head"] == head and r["start"] == start]
    extremes = np.mean([r[key] for r in chosen if r["label"] in (0, DIMENSION_CLASSES - 1)])
    middle = np.mean([r[key] for r in chosen if 0 < r["label"] < DIMENSION_CLASSES - 1])
    return bool(extremes > middle), f"extremes {extremes:.4g} vs middle {middle:.4g}"


def descriptor_claims(rows, start="random"):
    """ELOR Table 6 statements checked on the generalized inputs from ``start``.

    Arousal: a rising trend means Spearman rho(label, descriptor) > 0.5 over the 5 labels.
    Valence: the extreme labels (0, 4) exceed the mean of the middle labels."""
    claims = []
    for key, statement in (
        ("spectral_centroid_hz", "higher frequencies"),
        ("pause_count", "more interruptions"),
        ("peak_amplitude", "higher amplitude peaks"),
        ("periodic_fraction", "longer periodic stretches"),
    ):
        rho = _trend(rows, "arousal", start, key)
        claims.append(
            Claim.from_points(
                f"Table 6: higher arousal ↔ {statement} ({key} rises with the label)",
                None if rho is None else rho > 0.5,
                "the same for every label: no trend" if rho is None else f"Spearman rho {rho:.2f}",
            )
        )
    for key, statement in (("spectral_centroid_hz", "high frequencies"), ("periodic_fraction", "longer periodicity")):
        holds, detail = _extremes_higher(rows, "valence", start, key)
        claims.append(Claim.from_points(f"Table 6: extreme valence (0 or 4) ↔ {statement} ({key})", holds, detail))
    gained = all(r["activation_end"] > r["activation_start"] for r in rows)
    claims.append(
        Claim.from_points(
            "every generalized input raises its target activation", gained, "activation after vs before the ascent"
        )
    )
    return claims


# -- shared by replicate/wieser_fig4.py and wieser_fig5.py ------------------------------------
def elor_notes(analysis):
    return [
        f"Fold: test speaker {analysis.fold.name}; ELoR model "
        + (f"from {analysis.source}." if analysis.source else "trained in this run (see models/)."),
        f"Labels: {analysis.data.view.source} ratings; class k = rating k+1.",
    ]
