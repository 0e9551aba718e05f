"""SHORT Table 1 (§2.2–2.4): utterance-level openSMILE/BoAW + SVM/RF rows and short-segment
LLD-MLP / raw-waveform CNN rows under leave-one-session-out, scored by UAR.

Each (row, fold) result is saved as a part of the run record as soon as it exists, so an
interrupted run resumes where it stopped and ends with the same metrics as an uninterrupted
one (every model is seeded from the run seed, the row and the fold).
"""

import dataclasses
import hashlib
import logging
from pathlib import Path

import keras
import numpy as np

from ser_keras.classical import fit_with_validation
from ser_keras.data.labels import categorical_view
from ser_keras.data.protocols import default_protocol, make_folds
from ser_keras.data.windows import (WINDOW, context_dataset, frame_counts, frame_index, load_store,
                                    window_dataset)
from ser_keras.experiments.reporting import prediction_lines, row_seed, score_row, skipped_row
from ser_keras.features.boaw import BagOfAudioWords
from ser_keras.features.cache import FeatureCache
from ser_keras.features.opensmile_sets import FeatureSet, extract_utterances
from ser_keras.io import read_json, write_json
from ser_keras.metrics import unweighted_average_recall
from ser_keras.models.lld_mlp import LLD_MLP_GRID, build_lld_mlp, lld_standardization
from ser_keras.models.raw_cnn import RAW_CNN_CONFIGS, build_raw_cnn
from ser_keras.training.aggregate import utterance_decisions
from ser_keras.training.fit import save_h5, train_frame_classifier

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Row:
    id: str
    system: str
    classifier: str
    paper: float
    family: str
    source: str | None = None


TABLE1 = (
    Row("compare_func_svm", "ComParE LLD×F (functionals)", "SVM", 56.57, "functionals"),
    Row("compare_func_rf", "ComParE LLD×F (functionals)", "RF", 58.23, "functionals"),
    Row("boaw_compare_svm", "BoAW(ComParE LLD)", "SVM", 56.63, "boaw", "compare"),
    Row("boaw_compare_rf", "BoAW(ComParE LLD)", "RF", 57.71, "boaw", "compare"),
    Row("boaw_egemaps_svm", "BoAW(eGeMAPS)", "SVM", 55.40, "boaw", "egemaps"),
    Row("boaw_egemaps_rf", "BoAW(eGeMAPS)", "RF", 55.90, "boaw", "egemaps"),
    Row("boaw_w2v2_svm", "BoAW(wav2vec2)", "SVM", 53.7, "boaw", "wav2vec2"),
    Row("boaw_w2v2_rf", "BoAW(wav2vec2)", "RF", 56.0, "boaw", "wav2vec2"),
    Row("compare_lld_mlp", "ComParE LLD (250 ms)", "MLP", 45.88, "lld_mlp", "compare"),
    Row("egemaps_lld_mlp", "eGeMAPS (250 ms)", "MLP", 44.36, "lld_mlp", "egemaps"),
    Row("raw_subseg_cnn", "Raw SubSeg", "CNN-MLP", 57.48, "raw_cnn", "raw_subseg"),
    Row("raw_seg_cnn", "Raw Seg", "CNN-MLP", 52.32, "raw_cnn", "raw_seg"),
)
TABLE1_IDS = tuple(row.id for row in TABLE1)
TABLE2_LITERATURE = ("Att. CNN (logMel, 7.5 s) WA 56.1", "DBN-ivector (MFCC, UL) WA 57.2",
                     "CNN+LSTM (raw, 6 s) UAR 52.8", "TDNN (MFCC, 4 s) UAR 58.6")
# BoAW settings (openXBOW options; SHORT gives only the codebook sizes): standardised
# input, log term weighting, 1 assignment; output standardisation is the classifier's scaler.
BOAW_OPTIONS = {"compare": {"codebook_size": 500, "subsets": [slice(0, 65), slice(65, 130)]},
                "egemaps": {"codebook_size": 1000}, "wav2vec2": {"codebook_size": 500}}
LLD_SETS = {"compare": FeatureSet.ComParE_2016_LLD, "egemaps": FeatureSet.eGeMAPSv01b_LLD}
MLP_SEARCH_NETWORK = "short_mlp"  # the "network" of tuning/search_short_mlp.py's best_hparams.json


@dataclasses.dataclass(frozen=True)
class ShortConfig:
    """Everything that decides a Table-1 run; written to ``config.json``.

    ``train_frame_step``/``eval_frame_step`` keep every k-th 10 ms window (1 = the paper's
    one window per frame); ``max_epochs`` caps the LR-halving schedule (None = until the
    learning rate leaves 10^-1…10^-6); ``mlp_grid`` is the depth/width grid for the MLPs;
    ``mlp_hparams`` maps an LLD set to a searched depth/width and where it came from
    (:func:`load_mlp_hparams`): that set's MLP row trains that one network instead of the grid.
    """

    seed: int = 0
    quick: bool = False
    labels: str = "four_class"
    protocol: str | None = None
    rows: tuple = TABLE1_IDS
    folds: tuple | None = None
    validation_fraction: float = 0.2
    batch_size: int = 256
    train_frame_step: int = 1
    eval_frame_step: int = 1
    max_epochs: int | None = None
    mlp_grid: tuple = LLD_MLP_GRID
    mlp_hparams: dict = dataclasses.field(default_factory=dict)
    boaw_max_codebook_frames: int | None = 200_000
    workers: int = 2
    n_bootstrap: int = 1000
    verbose: int = 1


def budget(corpus_kind, *, quick):
    """Overrides of :class:`ShortConfig` for the corpus and the ``--quick`` flag.

    Real corpora get the paper's protocol unless ``--quick``. The embedded synthetic corpus
    gets a budget that keeps the full table within 15 min on 2 CPU cores.
    """
    if quick:
        return {"quick": True, "train_frame_step": 10, "eval_frame_step": 5, "max_epochs": 2,
                "mlp_grid": (LLD_MLP_GRID[0],), "n_bootstrap": 200}
    if corpus_kind == "synthetic":
        return {"train_frame_step": 12, "eval_frame_step": 8, "max_epochs": 6, "mlp_grid": LLD_MLP_GRID[:2]}
    return {}


def load_mlp_hparams(paths, rows):
    """Searched LLD-MLP hidden layers per LLD set from ``best_hparams.json`` files of
    tuning/search_short_mlp.py: ``{source: {"hidden_layers", "file", "sha256", "search"}}``.

    The LLD set a file was searched on is the ``source`` of the ``search.json`` the search
    wrote beside it. Each file must name the short MLP and the LLD set of an MLP row among
    ``rows``, one file per set; an MLP row without a file keeps the validation grid.
    """
    run = {row.source: row.id for row in TABLE1 if row.family == "lld_mlp" and row.id in rows}
    chosen = {}
    for path in map(Path, paths):
        best = _read_search_json(path)
        network = best.get("network")
        if network != MLP_SEARCH_NETWORK:
            raise ValueError(f"{path}: network {network!r}, not {MLP_SEARCH_NETWORK!r}; pass the best_hparams.json "
                             "written by tuning/search_short_mlp.py.")
        hparams = best.get("hparams")
        hidden = hparams.get("hidden_layers") if isinstance(hparams, dict) else None
        if not (isinstance(hidden, list) and hidden
                and all(isinstance(units, int) and not isinstance(units, bool) and units > 0 for units in hidden)):
            raise ValueError(f"{path}: 'hparams.hidden_layers' must be a non-empty list of positive unit counts; "
                             f"got {hidden!r}.")
        search = _read_search_json(path.parent / "search.json")
        source = search.get("source")
        if source not in LLD_SETS:
            raise ValueError(f"{path}: {path.parent / 'search.json'} names LLD set {source!r}, not one of "
                             f"{sorted(LLD_SETS)}.")
        if source not in run:
            raise ValueError(f"{path}: searched on {source} LLDs, but no {source} MLP row is run "
                             f"(MLP rows: {', '.join(run.values()) or 'none'}).")
        if source in chosen:
            raise ValueError(f"{path} and {chosen[source]['file']} are both {source} searches; pass one.")
        chosen[source] = {"hidden_layers": hidden, "file": str(path.resolve()),
                          "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                          "search": {key: search.get(key) for key in ("corpus", "corpus_sha256", "fold", "protocol",
                                                                      "tuner", "quick")},
                          "objective": best.get("objective")}
    return chosen


def _read_search_json(path):
    try:
        data = read_json(path)
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist (tuning/search_short_mlp.py writes best_hparams.json "
                         "and search.json into its --out folder).") from None
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(data).__name__}.")
    return data


class ShortExperiment:
    """Runs the requested Table-1 rows over the folds, writing parts and models as it goes."""

    def __init__(self, corpus, config, record, *, wav2vec2=None, cache=None):
        self.corpus, self.config, self.record = corpus, config, record
        self.wav2vec2_path = wav2vec2
        self.cache = cache or FeatureCache()
        view = categorical_view(corpus.utterances, config.labels)
        self.classes = view.classes
        store = load_store(view.utterances, workers=config.workers, progress=config.verbose > 0)
        self.store = store
        self.utterances = [view.utterances[i] for i in store.kept]
        self.targets = np.asarray(view.targets, np.int64)[store.kept]
        self.dropped = view.dropped
        self.protocol = config.protocol or default_protocol(self.utterances)
        self.folds = make_folds(self.utterances, self.protocol, targets=self.targets, seed=config.seed,
                                validation_fraction=config.validation_fraction, only=config.folds)
        self._features = {}

    # -- features ---------------------------------------------------------------------
    def features(self, feature_set):
        """openSMILE features of every kept utterance, in utterance order (cached in HDF5)."""
        if feature_set not in self._features:
            by_id = extract_utterances(feature_set, self.utterances, cache=self.cache,
                                       cache_namespace=self.corpus.sha256, workers=self.config.workers,
                                       progress=self.config.verbose > 0)
            self._features[feature_set] = [by_id[u.id] for u in self.utterances]
        return self._features[feature_set]

    def frame_features(self, source):
        if source == "wav2vec2":
            from ser_keras.features.wav2vec2 import load_wav2vec2, wav2vec2_frame_features

            if "wav2vec2" not in self._features:
                model = load_wav2vec2(self.wav2vec2_path)
                self._features["wav2vec2"] = [wav2vec2_frame_features(model, self.store.signal(i))
                                              for i in range(self.store.num_utterances)]
            return self._features["wav2vec2"]
        return self.features(LLD_SETS[source])

    # -- rows -------------------------------------------------------------------------
    def run(self, row_ids, table=TABLE1):
        """Score the rows of ``table`` named in ``row_ids``: ``(rows, prediction lines)``."""
        rows, predictions = [], []
        for row in (r for r in table if r.id in row_ids):
            spec = {"id": row.id, "system": row.system, "classifier": row.classifier, "paper": row.paper}
            if row.source == "wav2vec2" and not self.wav2vec2_path:
                rows.append(skipped_row(spec, "no --wav2vec2 weights"))
                continue
            parts = {}
            for fold in self.folds:
                part = self.record.load_part(row.id, fold.name)
                if part is None:
                    keras.utils.set_random_seed(row_seed(self.config.seed, row.id, fold.name))
                    part = getattr(self, f"_fold_{row.family}")(row, fold)
                    self.record.save_part(row.id, fold.name, part)
                parts[fold.name] = part
            rows.append(score_row(spec, parts, num_classes=len(self.classes), seed=self.config.seed,
                                  n_bootstrap=self.config.n_bootstrap))
            predictions += prediction_lines(row.id, parts)
            logger.info("%s: UAR %.2f %% (paper %.2f %%)", row.id, rows[-1]["value"], row.paper)
        return rows, predictions

    def _part(self, fold, predictions, **extra):
        return {"ids": [self.utterances[i].id for i in fold.test], "targets": self.targets[fold.test].tolist(),
                "predictions": np.asarray(predictions).tolist(), **extra}

    def _classical(self, row, fold, inputs):
        model, params, val_uar = fit_with_validation(
            row.classifier.lower(), inputs[fold.train], self.targets[fold.train], inputs[fold.validation],
            self.targets[fold.validation], random_state=row_seed(self.config.seed, row.id, fold.name),
            labels=list(range(len(self.classes))), n_jobs=self.config.workers)
        return self._part(fold, model.predict(inputs[fold.test]), chosen=params, validation_uar=val_uar)

    def _fold_functionals(self, row, fold):
        return self._classical(row, fold, np.stack(self.features(FeatureSet.ComParE_2016_functionals)))

    def _fold_boaw(self, row, fold):
        """BoAW histograms with a codebook learned on the fold's training split only; the
        SVM and RF rows of one source share them instead of relearning the codebook."""
        key = ("boaw", row.source, fold.name)
        if key not in self._features:
            frames = self.frame_features(row.source)
            transformer = BagOfAudioWords(**BOAW_OPTIONS[row.source], standardize_input=True, log_weighting=True,
                                          max_codebook_frames=self.config.boaw_max_codebook_frames)
            transformer.fit([frames[i] for i in fold.train])
            self._features[key] = transformer.transform(frames)
        return self._classical(row, fold, self._features[key])

    def _fold_lld_mlp(self, row, fold):
        matrices = self.frame_features(row.source)
        mean, variance = lld_standardization(np.concatenate([matrices[i] for i in fold.train]))
        counts = [len(m) for m in matrices]

        def stream(index, step, train):
            owners, frames = frame_index(counts, index, frame_step=step)
            data = context_dataset(matrices, owners, frames, self.targets, batch_size=self.config.batch_size,
                                   shuffle=train, seed=self.config.seed, repeat=train)
            return data, owners, -(-len(owners) // self.config.batch_size)

        def build(hidden):
            return build_lld_mlp(matrices[0].shape[1], feature_mean=mean, feature_variance=variance,
                                 hidden_layers=tuple(hidden), num_classes=len(self.classes))

        searched = self.config.mlp_hparams.get(row.source)
        # Deviation (with --mlp-hparams only): SHORT picks depth/width on each fold's
        # validation split; a searched file (one fold's search) fixes them for every fold.
        grid = (tuple(searched["hidden_layers"]),) if searched else self.config.mlp_grid
        return self._select_and_test(row, fold, stream, build, grid)

    def _fold_raw_cnn(self, row, fold):
        counts = frame_counts(self.store.lengths)

        def stream(index, step, train):
            owners, frames = frame_index(counts, index, frame_step=step)
            data = window_dataset(self.store, owners, frames, self.targets, batch_size=self.config.batch_size,
                                  shuffle=train, seed=self.config.seed, repeat=train)
            return data, owners, -(-len(owners) // self.config.batch_size)

        def build(_):
            return build_raw_cnn(RAW_CNN_CONFIGS[row.source], num_classes=len(self.classes), window=WINDOW)

        return self._select_and_test(row, fold, stream, build, (None,))

    def _select_and_test(self, row, fold, stream, build, grid):
        """Train one network per grid point, keep the best validation UAR, test it, save it."""
        config = self.config
        train, _, train_steps = stream(fold.train, config.train_frame_step, True)
        val, val_owners, _ = stream(fold.validation, config.eval_frame_step, False)
        best = None
        for point in grid:
            model = build(point)
            summary = train_frame_classifier(model, train, val, steps_per_epoch=train_steps,
                                             max_epochs=config.max_epochs, verbose=config.verbose)
            val_pred = self._utterance_predictions(model, val.map(lambda x, y: x), val_owners, fold.validation)
            val_uar = unweighted_average_recall(self.targets[fold.validation], val_pred, len(self.classes))
            if best is None or val_uar > best[0]:
                best = (val_uar, point, model, summary)
        val_uar, point, model, summary = best
        test, test_owners, _ = stream(fold.test, config.eval_frame_step, False)
        predictions = self._utterance_predictions(model, test.map(lambda x, y: x), test_owners, fold.test)
        path = self.record.out / "models" / f"{row.id}_{fold.name}.h5"
        save_h5(model, path)
        sidecar = {"row": row.id, "fold": fold.name, "labels": list(self.classes),
                   "input_shape": list(model.input_shape[1:]), "hidden_layers": point,
                   "config": dataclasses.asdict(config), "validation_uar": val_uar,
                   "training": {k: v for k, v in summary.items() if k != "history"},
                   "history": summary["history"]}
        write_json(path.with_suffix(".json"), sidecar)
        return self._part(fold, predictions, validation_uar=val_uar, chosen=point, model=str(path.name))

    def _utterance_predictions(self, model, inputs, owners, utterances):
        """Mean frame posterior per utterance → argmax (SHORT §2.3), in ``utterances`` order."""
        probabilities = model.predict(inputs, verbose=0)
        local = np.searchsorted(np.asarray(utterances), owners)
        return utterance_decisions(probabilities, local, len(utterances))


def run_table1(corpus, config, record, *, wav2vec2=None, cache=None):
    """Run the requested rows and finish the run record; returns the metrics dict."""
    experiment = ShortExperiment(corpus, config, record, wav2vec2=wav2vec2, cache=cache)
    rows, predictions = experiment.run(config.rows)
    notes = [f"Label view {config.labels}: classes {', '.join(experiment.classes)}; dropped {experiment.dropped}.",
             f"{len(experiment.store.skipped)} utterances skipped for unusable audio.",
             f"{int(np.sum(experiment.store.lengths < WINDOW))} utterances shorter than 250 ms "
             "(windows padded by edge-frame repetition).",
             "SHORT Table 2 (literature, context only): " + "; ".join(TABLE2_LITERATURE) + "."]
    for source, searched in config.mlp_hparams.items():
        elsewhere = searched["search"]["corpus_sha256"] not in (None, corpus.sha256)
        notes.append(f"{source}_lld_mlp: hidden layers {searched['hidden_layers']} from {searched['file']} "
                     f"(searched on fold {searched['search']['fold']} of {searched['search']['corpus']}"
                     + (", another corpus" if elsewhere else "") + ") for every fold, not the validation grid.")
    if config.quick:
        notes.insert(0, "QUICK budget: fewer windows and epochs; numbers are a smoke test, not a replication.")
    extra = {"folds": [f.name for f in experiment.folds], "classes": list(experiment.classes),
             "skipped_audio": experiment.store.skipped,
             "short_utterances": int(np.sum(experiment.store.lengths < WINDOW))}
    return record.finish(rows, protocol=experiment.protocol.replace("-", "_"), predictions=predictions,
                         extra=extra, label_view=config.labels, notes=notes,
                         table_title="SHORT Table 1 — UAR (%), ours beside the paper's")
