"""ELOR Table 5 (§4) reporting: WAR / UAR rows, baselines and the paper's ordering claims.

:func:`run_table5` drives :class:`~ser_keras.experiments.elor.ElorExperiment` over its
networks and folds (resuming from saved fold parts) and scores the test predictions of all
folds pooled per dimension head (Forman & Scholz 2010), with intervals over speakers. Beside the
networks: the majority-class WAR (majority of each fold's training labels) and chance UAR
(20 %), and the paper's qualitative claims checked on this run. The paper's Table 5 numbers
are not in our copy: ``paper`` is None and the table prints "n/a (not in source text)".
"""

import logging
import time

import numpy as np

from ser_keras.data.labels import DIMENSION_CLASSES, TABLE_DIMENSIONS
from ser_keras.experiments.data import pick_fold
from ser_keras.experiments.elor import ElorExperiment
from ser_keras.experiments.networks import HEAVIEST_FIRST, NETWORKS, PAPER_NETWORKS, check_plugin_network
from ser_keras.experiments.reporting import (
    ClaimTest,
    compare_rows,
    figure_subtitle,
    paired_claim,
    prediction_lines,
    score_row,
)
from ser_keras.experiments.units import heaviest_first, run_units
from ser_keras.models.elor import HEADS
from ser_keras.plots import save_table5_figure
from ser_keras.results import Claim, ResultRow, Scoring

logger = logging.getLogger(__name__)

TABLE5_IDS = tuple(f"{n}_{d}_{m}" for n in PAPER_NETWORKS for d in TABLE_DIMENSIONS for m in ("war", "uar"))
BASELINE_IDS = tuple(
    f"{kind}_{d}_{m}" for kind, m in (("majority", "war"), ("chance", "uar")) for d in TABLE_DIMENSIONS
)
CHANCE_UAR = 100.0 / DIMENSION_CLASSES
# The paper's best network per dimension: the reference of the paired comparisons.
REFERENCE = {"arousal": "elor", "valence": "elor_ftr"}
# The paper's best/worst claims, decided by paired speaker tests on WAR and UAR: the named
# network against each other paper network (every component must hold).
EXTREME_CLAIMS = tuple(
    (
        dimension,
        ClaimTest(
            text,
            tuple((other, network) for other in PAPER_NETWORKS if other != network),
            others_expected,
            ("WAR", "UAR"),
        ),
    )
    for text, network, dimension, others_expected in (
        ("ELoR best on arousal", "elor", "arousal", "worse"),
        ("FTR worst on arousal", "ftr", "arousal", "better"),
        ("ELoR+FTR best on valence", "elor_ftr", "valence", "worse"),
    )
)


def dimension_parts(parts, dimension):
    """Fold parts of one head in the ``{"ids", "targets", "predictions"}`` form of reporting."""
    return {
        fold: {"ids": part["ids"], **{k: part[dimension][k] for k in ("targets", "predictions")}}
        for fold, part in parts.items()
    }


def extreme_claims(head_parts, *, speaker_of, seed=0):
    """The paper's best/worst claims on the paper's networks (plug-ins never enter them).
    ``head_parts``: network → dimension → fold parts; "n/a" unless all four ran."""
    names = {network: spec.paper_name for network, spec in NETWORKS.items()}
    return [
        paired_claim(
            test,
            {n: head_parts[n][dimension] for n in PAPER_NETWORKS if n in head_parts},
            speaker_of=speaker_of,
            names=names,
            seed=seed,
        )
        for dimension, test in EXTREME_CLAIMS
    ]


def majority_parts(data):
    """The majority baseline of Table 5, per head: each fold's test slices of prepared
    :class:`~ser_keras.experiments.data.ElorData` predicted as its training pool's majority class."""
    parts = {head: {} for head in HEADS}
    for fold in data.folds:
        pool = np.flatnonzero(np.isin(data.owners, np.concatenate([fold.train, fold.validation])))
        test = np.flatnonzero(np.isin(data.owners, fold.test))
        for head in HEADS:
            majority = int(np.bincount(data.targets[head][pool], minlength=DIMENSION_CLASSES).argmax())
            parts[head][fold.name] = {
                "ids": [data.slice_ids[i] for i in test],
                "majority": majority,
                "targets": data.targets[head][test].tolist(),
                "predictions": [majority] * len(test),
            }
    return parts


def table5_claims(values, networks):
    """The paper's claims read off point values (row id → % or None), untested: WAR > UAR and
    arousal > valence for every paper network run (plug-ins are not the paper's networks)."""

    def value(network, dimension, metric):
        return values.get(f"{network}_{dimension}_{metric}")

    def every(pairs, describe):
        pairs = [pair for pair in pairs if value(*pair[0]) is not None and value(*pair[1]) is not None]
        if not pairs:
            return None, "no network run"
        failed = [describe(*pair) for pair in pairs if not value(*pair[0]) > value(*pair[1])]
        return not failed, "fails: " + ", ".join(failed) if failed else f"{len(pairs)} comparisons"

    run = [n for n in PAPER_NETWORKS if n in networks]
    war_uar = [((n, d, "war"), (n, d, "uar")) for n in run for d in TABLE_DIMENSIONS]
    arousal_valence = [((n, "arousal", m), (n, "valence", m)) for n in run for m in ("war", "uar")]
    claims = [
        ("WAR > UAR for every network", every(war_uar, lambda a, b: f"{NETWORKS[a[0]].paper_name} {a[1]}")),
        (
            "Arousal > valence for every network",
            every(arousal_valence, lambda a, b: f"{NETWORKS[a[0]].paper_name} {a[2].upper()}"),
        ),
    ]
    return [Claim.from_points(claim, as_stated, detail) for claim, (as_stated, detail) in claims]


def run_table5(data, config, record, *, progress=None, tensorboard=None, hyperparameters=None):
    """Run the requested networks over the folds and finish the run record; returns metrics.

    ``progress``: a :class:`~ser_keras.console.RunProgress` over the (network, fold) units."""
    experiment = ElorExperiment(data, config, record)
    for network in (n for n in config.networks if NETWORKS[n].origin == "plugin"):
        check_plugin_network(
            NETWORKS[network], config.network_config(network), data, data.fold_slices(data.folds[0])[0]
        )
    experiment.prepare_inputs(config.networks)
    fold_names = [fold.name for fold in experiment.folds]
    # Two threads share the (network, fold) units, heaviest network first on the main one.
    order = heaviest_first(
        config.networks,
        HEAVIEST_FIRST,
        lambda network: all(record.load_part(network, fold) is not None for fold in fold_names),
    )
    if progress is not None:
        progress.expect({network: len(fold_names) for network in order}, shared=True)

    def unit(network, fold_name, before_unit):
        part = record.load_part(network, fold_name)
        if part is not None:
            if progress is not None:
                progress.unit_skipped(network, fold_name, "resumed")
            return part
        before_unit()
        started = time.time()
        if progress is not None:
            progress.unit_started(network, fold_name)
        part = experiment.run_fold(
            network,
            pick_fold(experiment.folds, fold_name),
            tensorboard=tensorboard,
            callbacks=[progress.heartbeat(network, fold_name)] if progress is not None else (),
        )
        record.save_part(network, fold_name, part)
        if progress is not None:
            progress.unit_done(network, fold_name, part["summary"], time.time() - started)
        else:
            logger.info("%s %s: %s", network, fold_name, part["summary"])
        return part

    fold_parts = run_units(order, [], fold_names, unit)
    experiment.remove_checkpoint_folder()
    rows, predictions, values, head_parts = [], [], {}, {}
    for network in config.networks:
        spec, parts = NETWORKS[network], {fold: fold_parts[network, fold] for fold in fold_names}
        head_parts[network] = {head: dimension_parts(parts, head) for head in HEADS}
        for dimension in TABLE_DIMENSIONS:
            for metric in ("WAR", "UAR"):
                row_id = f"{network}_{dimension}_{metric.lower()}"
                row_spec = {
                    "id": row_id,
                    "system": f"{spec.paper_name} ({spec.inputs_text})",
                    "classifier": f"{dimension} head",
                    "paper": None,
                    "origin": spec.origin,
                }
                rows.append(
                    score_row(
                        row_spec,
                        head_parts[network][dimension],
                        num_classes=DIMENSION_CLASSES,
                        speaker_of=data.speaker_of,
                        metric=metric,
                    )
                )
                values[row_id] = rows[-1].value
            predictions += prediction_lines(f"{network}_{dimension}", head_parts[network][dimension], data.speaker_of)
    majority = majority_parts(data)
    for dimension in TABLE_DIMENSIONS:
        spec = {
            "id": f"majority_{dimension}_war",
            "system": "majority class of the training fold",
            "classifier": f"{dimension} (baseline)",
            "paper": None,
            "origin": "baseline",
        }
        rows.append(
            score_row(
                spec, majority[dimension], num_classes=DIMENSION_CLASSES, speaker_of=data.speaker_of, metric="WAR"
            )
        )
    for dimension in TABLE_DIMENSIONS:
        rows.append(
            ResultRow(
                f"chance_{dimension}_uar",
                "chance (5 classes)",
                f"{dimension} (baseline)",
                "UAR",
                CHANCE_UAR,
                paper=CHANCE_UAR,
                status="ok: chance level",
                origin="baseline",
            )
        )
    comparisons, sections = [], []
    for dimension in TABLE_DIMENSIONS:
        for metric in ("WAR", "UAR"):
            found, section = compare_rows(
                {n: head_parts[n][dimension] for n in head_parts},
                REFERENCE[dimension],
                speaker_of=data.speaker_of,
                metric=metric,
                seed=config.seed,
            )
            comparisons += found
            if section:
                sections.append(
                    section.replace(
                        "### Paired comparisons against",
                        f"### {dimension.capitalize()} {metric}: paired comparisons against",
                    )
                )
    claims = extreme_claims(head_parts, speaker_of=data.speaker_of, seed=config.seed)
    claims += table5_claims(values, config.networks)
    majority_classes = {d: {fold: p["majority"] + 1 for fold, p in majority[d].items()} for d in TABLE_DIMENSIONS}
    notes = _notes(experiment, majority_classes)
    extra = {
        "folds": [f.name for f in experiment.folds],
        "networks": list(config.networks),
        "slices": len(data.owners),
        "utterances": len(data.utterances),
        "dropped": data.view.dropped,
        "skipped_audio": data.store.skipped,
        "rating_source": data.view.source,
        "majority_rating": majority_classes,
        "hparams": {
            n: {fold.name: config.network_config(n, fold.name).to_dict() for fold in experiment.folds}
            for n in config.networks
        },
    }
    metrics = record.finish(
        rows,
        protocol=config.protocol.replace("-", "_"),
        predictions=predictions,
        claims=claims,
        extra=extra,
        label_view=f"dimensional_{data.view.source}",
        notes=notes,
        sections=sections,
        comparisons=comparisons,
        hyperparameters=hyperparameters,
        scoring=Scoring(("WAR", "UAR"), DIMENSION_CLASSES),
        table_title="ELOR Table 5 — WAR / UAR (%) per dimension, pooled over the test folds",
    )
    save_table5_figure(record.out / "table5.png", metrics["rows"], subtitle=figure_subtitle(metrics))
    return metrics


def _notes(experiment, majority_classes):
    config, data = experiment.config, experiment.data
    sizes = {n: config.network_config(n) for n in config.networks}
    notes = [
        f"Labels: {data.view.source} ratings 1-5 as classes; {len(data.utterances)} utterances, "
        f"{len(data.owners)} six-second slices (paper: 8522 for E-2); dropped {data.view.dropped}; "
        f"{len(data.store.skipped)} skipped for unusable audio.",
        "Majority rating of the training folds: "
        + "; ".join(f"{d} {sorted(set(v.values()))}" for d, v in majority_classes.items())
        + " (paper: arousal 3, valence 1 most frequent).",
        "Intervals and paired tests are over speakers (the unit the protocol holds out), not slices: "
        "slices of one utterance, and utterances of one speaker, are not independent.",
        "Hyperparameters: "
        + "; ".join(f"{NETWORKS[n].paper_name} {c.to_dict()}" for n, c in sizes.items())
        + (" (per-fold values in metrics.json)" if config.fold_hparams else "")
        + ". Paper Tables 1-4 (tuned values) are not in our copy; defaults are the search-space centre.",
    ]
    plugins = [NETWORKS[n].paper_name for n in config.networks if NETWORKS[n].origin == "plugin"]
    if plugins:
        notes.append(f"Plug-in networks (not from the paper): {', '.join(plugins)}.")
    return notes
