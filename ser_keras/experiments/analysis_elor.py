"""ELOR "Learned representations" of a trained ELoR network: saliency maps with their
Pearson correlations (Fig. 4 and the text's 0.50 / 0.53 / 0.96) and generalized input
signals with measurable descriptors (Fig. 5, Table 6 as numbers).

The network is the ELoR model of one leave-one-speaker-out fold (the paper analyses test
speaker Ses03F): read from an existing wieser_table5 run folder (``source``) or trained into
this run's folder by :class:`ser_keras.experiments.elor.ElorExperiment`.

What is correlated: the paper correlates "the input signal and the corresponding saliency
map" and reads the result as amplitude mattering. We report both readings, each as the mean
over the fold's test slices of a per-slice Pearson r over the slice's real (not zero-padded)
samples: the signal with the signed saliency, and the amplitude envelope (|analytic signal|)
of the signal with the envelope of the saliency; likewise arousal saliency with valence
saliency.
"""

import dataclasses
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from ser_keras.data.labels import DIMENSION_CLASSES
from ser_keras.data.windows import SLICE, slice_dataset
from ser_keras.experiments.elor import ElorExperiment, ElorExperimentConfig, budget
from ser_keras.interpret import (PREDICTED, amplitude_envelope, describe_signal, guided_gradients, guided_model,
                                 maximize_activation, pearson_rows)
from ser_keras.io import read_json
from ser_keras.metrics import bootstrap_ci
from ser_keras.training.fit import load_h5

HEADS = ("arousal", "valence")
DEFAULT_FOLD = "Ses03F"
PAPER_CORRELATIONS = {"saliency_input_corr_arousal": 0.50, "saliency_input_corr_valence": 0.53,
                      "saliency_arousal_valence_corr": 0.96}


def elor_config(corpus_kind, *, fold, seed, quick, evaluator="E2", source=None, verbose=1):
    """An ELoR-only, one-fold :class:`ElorExperimentConfig`: the source run's settings when
    analysing its model (its folds must be rebuilt exactly), else the Table-5 budget."""
    if source is not None:
        settings = read_json(Path(source) / "config.json")
        known = {field.name for field in dataclasses.fields(ElorExperimentConfig)}
        settings = {key: value for key, value in settings.items() if key in known}
    else:
        settings = {"seed": seed, "evaluator": evaluator, **budget(corpus_kind, quick=quick)}
    settings.update(networks=("elor",), folds=(fold,), verbose=verbose)
    return ElorExperimentConfig(**settings)


def elor_model(experiment, source=None):
    """The fold's trained ELoR model: the source run's, this run's, or trained now (saved as a part)."""
    fold = experiment.folds[0]
    for root in (Path(source) if source else None, experiment.record.out):
        if root is not None and (root / "models" / f"elor_{fold.name}.h5").exists():
            return load_h5(root / "models" / f"elor_{fold.name}.h5")
    experiment.record.save_part("elor", fold.name, experiment.run_fold("elor", fold))
    return load_h5(experiment.record.out / "models" / f"elor_{fold.name}.h5")


def open_elor(corpus, config, record, source=None):
    """``(experiment, fold, model)`` for the one-fold config."""
    experiment = ElorExperiment(corpus, config, record)
    return experiment, experiment.folds[0], elor_model(experiment, source)


def slice_signals(experiment, index, batch_size=16):
    """Raw 6 s slices ``(N, 96000)`` of slice indices ``index`` and their real (unpadded) lengths."""
    index = np.asarray(index, np.int64)
    data = slice_dataset(experiment.store, experiment.owners[index], experiment.starts[index], batch_size=batch_size)
    signals = np.concatenate([batch.numpy() for batch in data]) if len(index) else np.zeros((0, SLICE), np.float32)
    lengths = np.minimum(experiment.store.lengths[experiment.owners[index]] - experiment.starts[index], SLICE)
    return signals, lengths


def saliency_maps(model, signals, batch_size=8):
    """{head: guided-backprop gradient of each slice's predicted class of that head}, (N, 96000)."""
    guided = guided_model(model)
    return {head: guided_gradients(guided, signals, PREDICTED, output=head, batch_size=batch_size) for head in HEADS}


def _per_slice_pearson(first, second, lengths):
    # Deviation: only each slice's real samples count; the zero padding of a short last slice
    # would otherwise add agreement that says nothing about the network.
    return np.array([pearson_rows(a[None, :n], b[None, :n])[0] for a, b, n in zip(first, second, lengths)])


def saliency_correlations(signals, saliencies, lengths):
    """Per-slice Pearson r (NaN where a map is constant) of every pairing, keyed by row id."""
    envelopes = {head: amplitude_envelope(saliencies[head]) for head in HEADS}
    signal_envelope = amplitude_envelope(signals)
    values = {}
    for head in HEADS:
        values[f"saliency_input_corr_{head}"] = _per_slice_pearson(signals, saliencies[head], lengths)
        values[f"saliency_input_envelope_corr_{head}"] = _per_slice_pearson(signal_envelope, envelopes[head], lengths)
    values["saliency_arousal_valence_corr"] = _per_slice_pearson(saliencies["arousal"], saliencies["valence"], lengths)
    values["saliency_arousal_valence_envelope_corr"] = _per_slice_pearson(envelopes["arousal"], envelopes["valence"],
                                                                          lengths)
    return values


def mean_with_ci(values, *, seed=0, n_bootstrap=1000):
    """NaN-ignoring mean and a 95 % percentile-bootstrap CI over slices (None if < 2 values)."""
    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return None, None
    if len(values) < 2:
        return float(values[0]), None
    low, high = bootstrap_ci(values, values, lambda resampled, _: resampled.mean(), n_resamples=n_bootstrap, seed=seed)
    return float(values.mean()), [low, high]


def correlation_claims(means):
    def value(key):
        return means.get(key)

    def check(keys, threshold):
        found = [value(key) for key in keys]
        return None if None in found else all(v >= threshold for v in found)

    return [
        {"claim": "Fig. 4: input and saliency correlate positively on both heads (paper 0.50 / 0.53; r >= 0.3)",
         "holds": check(("saliency_input_corr_arousal", "saliency_input_corr_valence"), 0.3),
         "detail": "signal vs signed saliency"},
        {"claim": "Fig. 4: input envelope and saliency envelope correlate positively (r >= 0.3)",
         "holds": check(("saliency_input_envelope_corr_arousal", "saliency_input_envelope_corr_valence"), 0.3),
         "detail": "the amplitude reading of the paper's statement"},
        {"claim": "Fig. 4: arousal and valence saliency maps strongly correlated (paper 0.96; r >= 0.9)",
         "holds": check(("saliency_arousal_valence_corr",), 0.9), "detail": "signed saliency maps"},
    ]


def training_mean_signal(experiment, fold, limit=None):
    """Sample-wise mean of the fold's training slices (Simonyan et al.'s mean-image start)."""
    train = experiment.fold_slices(fold)[0]
    train = train[:limit] if limit else train
    total, count = np.zeros(SLICE, np.float64), 0
    for begin in range(0, len(train), 64):
        signals, _ = slice_signals(experiment, train[begin:begin + 64])
        total += signals.sum(axis=0)
        count += len(signals)
    return (total / max(count, 1)).astype(np.float32)


def generalized_inputs(model, starts, *, steps, learning_rate, l2, seed=0):
    """{(head, start name): Maximization} of all 5 labels of each head from each start."""
    return {(head, name): maximize_activation(model, range(DIMENSION_CLASSES), output=head, start=start, steps=steps,
                                              learning_rate=learning_rate, l2=l2, seed=seed)
            for head in HEADS for name, start in starts.items()}


def descriptor_table(results):
    """One row per (head, start, label), ordered by head, start and label, with the descriptors."""
    rows = []
    for (head, start), result in results.items():
        for label, signal in zip(result.classes, result.signals):
            rows.append({"head": head, "start": start, "label": int(label),
                         "activation_start": float(result.activation[0][list(result.classes).index(label)]),
                         "activation_end": float(result.activation[-1][list(result.classes).index(label)]),
                         **describe_signal(signal)})
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
    for key, statement in (("spectral_centroid_hz", "higher frequencies"), ("pause_count", "more interruptions"),
                           ("peak_amplitude", "higher amplitude peaks"),
                           ("periodic_fraction", "longer periodic stretches")):
        rho = _trend(rows, "arousal", start, key)
        claims.append({"claim": f"Table 6: higher arousal ↔ {statement} ({key} rises with the label)",
                       "holds": None if rho is None else rho > 0.5, "detail": f"Spearman rho {rho}"})
    for key, statement in (("spectral_centroid_hz", "high frequencies"), ("periodic_fraction", "longer periodicity")):
        holds, detail = _extremes_higher(rows, "valence", start, key)
        claims.append({"claim": f"Table 6: extreme valence (0 or 4) ↔ {statement} ({key})", "holds": holds,
                       "detail": detail})
    gained = all(r["activation_end"] > r["activation_start"] for r in rows)
    claims.append({"claim": "every generalized input raises its target activation", "holds": gained,
                   "detail": "activation after vs before the ascent"})
    return claims


# -- shared by replicate/wieser_fig4.py and wieser_fig5.py ------------------------------------
def add_elor_flags(parser):
    parser.add_argument("--models", default=None, metavar="RUN_DIR",
                        help="analyse the ELoR model of an existing wieser_table5 run folder (its settings are "
                             "used); without it one ELoR is trained on the chosen fold into --out first")
    parser.add_argument("--fold", default=DEFAULT_FOLD, help=f"test speaker of the analysed fold (default: "
                                                            f"{DEFAULT_FOLD}, the paper's)")
    parser.add_argument("--evaluator", default="E2", help="evaluator whose ratings label the slices (default: E2)")


def open_elor_analysis(parser, args, script, **extra_config):
    """``(experiment, fold, model, record)`` from the parsed flags; exits with a one-line error."""
    from ser_keras.cli.common import open_corpus
    from ser_keras.runs import RunRecord
    from ser_keras.seeding import seed_everything

    if args.labels != "four_class":
        parser.error("--labels does not apply: ELOR uses the evaluator's valence/arousal ratings")
    if args.models and not (Path(args.models) / "config.json").exists():
        parser.exit(2, f"error: --models {args.models} is not a run folder (no config.json)\n")
    corpus = open_corpus(parser, args.corpus)
    try:
        config = elor_config(corpus.kind, fold=args.fold, seed=args.seed, quick=args.quick, evaluator=args.evaluator,
                             source=args.models, verbose=args.verbose)
        seed_everything(config.seed)
        record = RunRecord(args.out, script=script, corpus=corpus, resume=args.resume,
                           config={**dataclasses.asdict(config), "corpus": corpus.spec, "models": args.models,
                                   "quick": args.quick, **extra_config})
        experiment, fold, model = open_elor(corpus, config, record, args.models)
    except (FileExistsError, ValueError) as error:
        parser.exit(2, f"error: {error}\n")
    return experiment, fold, model, record


def elor_notes(experiment, fold, source, quick):
    notes = [f"Fold: test speaker {fold.name}; ELoR model "
             + (f"from {source}." if source else "trained in this run (see models/)."),
             f"Labels: {experiment.view.source} ratings; class k = rating k+1."]
    if quick:
        notes.insert(0, "QUICK budget: small ELoR, few epochs/slices/steps; a smoke test, not a replication.")
    return notes
