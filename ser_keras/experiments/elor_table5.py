"""ELOR Table 5 (§4) reporting: WAR / UAR rows, baselines and the paper's ordering claims.

:func:`run_table5` drives :class:`~ser_keras.experiments.elor.ElorExperiment` over its
networks and folds (resuming from saved fold parts) and scores the test predictions of all
folds pooled per dimension head (Forman & Scholz 2010), with bootstrap CIs. Beside the
networks: the majority-class WAR (majority of each fold's training labels) and chance UAR
(20 %), and the paper's qualitative claims checked on this run. The paper's Table 5 numbers
are not in our copy: ``paper`` is None and the table prints "n/a (not in source text)".
"""

from ser_keras.data.labels import DIMENSION_CLASSES
from ser_keras.experiments.elor import NETWORKS, PAPER_NAMES, TABLE_DIMENSIONS, ElorExperiment
from ser_keras.experiments.reporting import prediction_lines, score_row

INPUTS = {"elor": "raw 6 s waveform", "lom": "MFCC 599×26", "ftr": "IS10 functionals",
          "elor_ftr": "raw 6 s waveform + IS10"}
TABLE5_IDS = tuple(f"{n}_{d}_{m}" for n in NETWORKS for d in TABLE_DIMENSIONS for m in ("war", "uar"))
BASELINE_IDS = tuple(f"{kind}_{d}_{m}" for kind, m in (("majority", "war"), ("chance", "uar"))
                     for d in TABLE_DIMENSIONS)
CHANCE_UAR = 100.0 / DIMENSION_CLASSES


def dimension_parts(parts, dimension):
    """Fold parts of one head in the ``{"ids", "targets", "predictions"}`` form of reporting."""
    return {fold: {"ids": part["ids"], **{k: part[dimension][k] for k in ("targets", "predictions")}}
            for fold, part in parts.items()}


def table5_claims(values, networks):
    """The paper's qualitative claims checked on ``values`` (row id → % or None).

    Ordering claims need all four networks (holds None otherwise); "best"/"worst" must hold
    strictly on both WAR and UAR.
    """
    def value(network, dimension, metric):
        return values.get(f"{network}_{dimension}_{metric}")

    def extreme(network, dimension, better):
        if set(networks) != set(NETWORKS):
            return None, "needs all four networks"
        checks, details = [], []
        for metric in ("war", "uar"):
            own = value(network, dimension, metric)
            others = [value(n, dimension, metric) for n in NETWORKS if n != network]
            checks.append(all(better(own, other) for other in others))
            details.append(f"{metric.upper()} " + ", ".join(f"{PAPER_NAMES[n]} {value(n, dimension, metric):.2f}"
                                                          for n in NETWORKS))
        return all(checks), "; ".join(details)

    def every(pairs, describe):
        if not pairs:
            return None, "no network run"
        failed = [describe(*pair) for pair in pairs if not value(*pair[0]) > value(*pair[1])]
        return not failed, "fails: " + ", ".join(failed) if failed else f"{len(pairs)} comparisons"

    run = [n for n in NETWORKS if n in networks]
    war_uar = [((n, d, "war"), (n, d, "uar")) for n in run for d in TABLE_DIMENSIONS]
    arousal_valence = [((n, "arousal", m), (n, "valence", m)) for n in run for m in ("war", "uar")]
    claims = [("ELoR best on arousal", extreme("elor", "arousal", lambda a, b: a > b)),
              ("FTR worst on arousal", extreme("ftr", "arousal", lambda a, b: a < b)),
              ("ELoR+FTR best on valence", extreme("elor_ftr", "valence", lambda a, b: a > b)),
              ("WAR > UAR for every network", every(war_uar, lambda a, b: f"{PAPER_NAMES[a[0]]} {a[1]}")),
              ("Arousal > valence for every network",
               every(arousal_valence, lambda a, b: f"{PAPER_NAMES[a[0]]} {a[2].upper()}"))]
    return [{"claim": claim, "holds": holds, "detail": detail} for claim, (holds, detail) in claims]


def run_table5(corpus, config, record, *, cache=None):
    """Run the requested networks over the folds and finish the run record; returns metrics."""
    experiment = ElorExperiment(corpus, config, record, cache=cache)
    rows, predictions, values = [], [], {}
    for network in (n for n in NETWORKS if n in config.networks):
        parts = {}
        for fold in experiment.folds:
            part = record.load_part(network, fold.name)
            if part is None:
                part = experiment.run_fold(network, fold)
                record.save_part(network, fold.name, part)
            parts[fold.name] = part
        for dimension in TABLE_DIMENSIONS:
            head_parts = dimension_parts(parts, dimension)
            for metric in ("WAR", "UAR"):
                row_id = f"{network}_{dimension}_{metric.lower()}"
                spec = {"id": row_id, "system": f"{PAPER_NAMES[network]} ({INPUTS[network]})",
                        "classifier": f"{dimension} head", "paper": None}
                rows.append(score_row(spec, head_parts, num_classes=DIMENSION_CLASSES, metric=metric,
                                      seed=config.seed, n_bootstrap=config.n_bootstrap))
                values[row_id] = rows[-1]["value"]
            predictions += prediction_lines(f"{network}_{dimension}", head_parts)
    majority = experiment.majority_parts()
    for dimension in TABLE_DIMENSIONS:
        spec = {"id": f"majority_{dimension}_war", "system": "majority class of the training fold",
                "classifier": f"{dimension} (baseline)", "paper": None}
        rows.append(score_row(spec, majority[dimension], num_classes=DIMENSION_CLASSES, metric="WAR",
                              seed=config.seed, n_bootstrap=config.n_bootstrap))
    for dimension in TABLE_DIMENSIONS:
        rows.append({"id": f"chance_{dimension}_uar", "system": "chance (5 classes)", "classifier":
                     f"{dimension} (baseline)", "paper": CHANCE_UAR, "metric": "UAR", "value": CHANCE_UAR,
                     "ci95": None, "status": "ok: chance level"})
    claims = table5_claims(values, config.networks)
    majority_classes = {d: {fold: p["majority"] + 1 for fold, p in majority[d].items()} for d in TABLE_DIMENSIONS}
    notes = _notes(experiment, majority_classes)
    extra = {"folds": [f.name for f in experiment.folds], "networks": list(config.networks),
             "slices": len(experiment.owners), "utterances": len(experiment.utterances),
             "dropped": experiment.view.dropped, "skipped_audio": experiment.store.skipped,
             "rating_source": experiment.view.source, "majority_rating": majority_classes,
             "hparams": {n: config.network_config(n).to_dict() for n in config.networks}}
    return record.finish(rows, protocol=config.protocol.replace("-", "_"), predictions=predictions, claims=claims,
                         extra=extra, label_view=f"dimensional_{experiment.view.source}", notes=notes,
                         table_title="ELOR Table 5 — WAR / UAR (%) per dimension, pooled over the test folds")


def _notes(experiment, majority_classes):
    config, view = experiment.config, experiment.view
    sizes = {n: config.network_config(n) for n in config.networks}
    notes = [f"Labels: {view.source} ratings 1-5 as classes; {len(experiment.utterances)} utterances, "
             f"{len(experiment.owners)} six-second slices (paper: 8522 for E-2); dropped {view.dropped}; "
             f"{len(experiment.store.skipped)} skipped for unusable audio.",
             "Majority rating of the training folds: " + "; ".join(
                 f"{d} {sorted(set(v.values()))}" for d, v in majority_classes.items())
             + " (paper: arousal 3, valence 1 most frequent).",
             "Bootstrap CIs resample slices (slices of one utterance are not independent).",
             "Hyperparameters: " + "; ".join(f"{PAPER_NAMES[n]} {c.to_dict()}" for n, c in sizes.items())
             + ". Paper Tables 1-4 (tuned values) are not in our copy; defaults are the search-space centre."]
    if config.quick:
        notes.insert(0, f"QUICK budget: small networks (fewer filters and head units), {config.epochs} epochs, "
                        f"{config.max_train_slices} training slices per fold; a smoke test, not a replication.")
    return notes
