"""SHORT §3 analyses of the raw-waveform CNNs: the experiment behind Fig. 2 (first-layer
frequency response), Table 3 (emotion recognition on relevance signals), Table 4 (RF feature
importances) and Fig. 3 (confusion matrices), and the setup shared by their scripts.
Summarising Fig. 2 / Table 4 / Fig. 3 and checking the paper's statements on them is
:mod:`ser_keras.experiments.analysis_short_summaries`.

:class:`ShortAnalysis` extends the Table-1 experiment: the raw CNNs and the ComParE rows are
Table-1 rows (trained into the run folder, or taken from an existing run folder given as
``source``), and the Table-3 rows are new row families on the same folds, saved as parts so
a run resumes. Relevance signals (§3.2): the guided-backpropagation gradient of a class
score w.r.t. each 250 ms window (windows every ``relevance_frame_step`` frames), overlap-
added into one signal per utterance. Training and validation utterances get the relevance
of their ground-truth class; each test utterance gets one relevance signal per class and
the classifier's scores on the four are averaged (the paper's test-time procedure for the
CNNs, applied to the ComParE SVM/RF rows too since the paper "repeats this procedure").
"""

import dataclasses
import hashlib
import logging
from pathlib import Path

import numpy as np

from ser_keras.classical import fit_with_validation
from ser_keras.data.windows import WINDOW, WaveformStore, frame_counts, frame_index, window_dataset
from ser_keras.experiments.reporting import pooled_confusion, row_seed
from ser_keras.experiments.rows import ROWS, Row
from ser_keras.experiments.short import UTTERANCE_LEVEL_FAMILIES, ShortConfig, ShortExperiment, budget
from ser_keras.features.opensmile_sets import FeatureSet, extract_signals
from ser_keras.interpret import (
    cumulative_frequency_response,
    first_conv_kernel,
    guided_model,
    utterance_relevance,
    window_relevance,
)
from ser_keras.interpret.relevance import class_relevances, spliced_window_positions
from ser_keras.io import read_json
from ser_keras.models.raw_cnn import RAW_CNN_CONFIGS, build_raw_cnn
from ser_keras.results import ResultRow, Scoring
from ser_keras.runs import Budget
from ser_keras.training.fit import load_h5

logger = logging.getLogger(__name__)

RAW_CNN_ROWS = {"subseg": "raw_subseg_cnn", "seg": "raw_seg_cnn"}
# Table 3 rows: ``source`` is the Table-1 CNN row whose relevance signals are the input.
TABLE3 = (
    Row("rel_subseg_compare_svm", "ComParE LLD×F on SubSeg-Rel", "SVM", 57.15, "rel_functionals", "raw_subseg_cnn"),
    Row("rel_subseg_compare_rf", "ComParE LLD×F on SubSeg-Rel", "RF", 54.06, "rel_functionals", "raw_subseg_cnn"),
    Row("rel_seg_compare_svm", "ComParE LLD×F on Seg-Rel", "SVM", 50.57, "rel_functionals", "raw_seg_cnn"),
    Row("rel_seg_compare_rf", "ComParE LLD×F on Seg-Rel", "RF", 54.62, "rel_functionals", "raw_seg_cnn"),
    Row("rel_subseg_cnn", "Raw-CNN SubSeg on SubSeg-Rel", "Softmax", 56.37, "rel_cnn", "raw_subseg_cnn"),
    Row("rel_seg_cnn", "Raw-CNN Seg on Seg-Rel", "Softmax", 49.96, "rel_cnn", "raw_seg_cnn"),
)
TABLE3_IDS = tuple(row.id for row in TABLE3)
TABLE3_ROWS = {row.id: row for row in TABLE3}
TABLE4_SOURCES = {"raw": "compare_func_rf", "subseg_rel": "rel_subseg_compare_rf", "seg_rel": "rel_seg_compare_rf"}
RELEVANCE_PEAK = 0.9
QUICK_RELEVANCE_STEP = 10


@dataclasses.dataclass(frozen=True)
class ShortAnalysisConfig(ShortConfig):
    """Table-1 config plus the relevance window step (1 = every 10 ms frame, the paper's)."""

    relevance_frame_step: int = 1


def analysis_budget(corpus_kind, *, quick):
    """Table-1 budget plus the relevance step: every 10th frame under ``--quick`` (windows
    of 25 frames still cover every sample 2.5 times), the evaluation step (every 8th) on the
    embedded corpus."""
    table1 = budget(corpus_kind, quick=quick)
    # Deviation (budget only): the paper computes relevance for every 10 ms window.
    step = QUICK_RELEVANCE_STEP if quick else table1.settings.get("eval_frame_step", 1)
    return Budget(
        table1.name,
        {**table1.settings, "relevance_frame_step": step},
        f"{table1.words}, relevance every {step} frame(s)",
    )


def source_settings(source):
    """Seed, label view, protocol, folds and fingerprint of an existing run folder (its folds
    must be rebuilt exactly to pair its models with their test utterances)."""
    config = read_json(Path(source) / "config.json")
    metrics_path = Path(source) / "metrics.json"
    metrics = read_json(metrics_path) if metrics_path.exists() else {}
    fingerprint_path = Path(source) / "fingerprint.json"
    folds = metrics.get("folds") or config.get("folds")
    return {
        "seed": config["seed"],
        "labels": config.get("labels", "four_class"),
        "protocol": config.get("protocol"),
        "validation_fraction": config.get("validation_fraction", 0.2),
        "folds": tuple(folds) if folds else None,
        "fingerprint": read_json(fingerprint_path) if fingerprint_path.exists() else None,
    }


def _peak_normalised(signal):
    # Deviation: the paper gives relevance signals no scale; we fix the peak so openSMILE's
    # level-dependent descriptors and the int16 window store see comparable signals.
    peak = float(np.abs(signal).max())
    return (signal * (RELEVANCE_PEAK / peak)).astype(np.float32) if peak > 0 else signal.astype(np.float32)


def _mean_scores(model, feature_sets, num_classes):
    """Average over the per-class feature sets of the classifier's class scores → argmax.

    Scores are RF probabilities or SVM decision values, placed in the columns of the classes
    the model saw in training (absent classes can never win)."""
    # Deviation: SHORT averages the 4 relevance predictions for its CNNs and says the ComParE
    # rows "repeat this procedure"; we average SVM decision values / RF probabilities likewise.
    scorer = model.predict_proba if hasattr(model, "predict_proba") else model.decision_function
    total = 0.0
    for features in feature_sets:
        scores = np.asarray(scorer(features), np.float64)
        total = total + (np.column_stack([-scores, scores]) if scores.ndim == 1 else scores)
    full = np.full((len(feature_sets[0]), num_classes), -np.inf)
    full[:, np.asarray(model.classes_, np.int64)] = total / len(feature_sets)
    return full.argmax(axis=1)


class ShortAnalysis(ShortExperiment):
    """Table-1 experiment plus the relevance rows, reading models/parts of ``source`` if given.

    Progress: each (row, fold) unit is told once, however often the analysis reads its part
    again; with a progress view (:meth:`report_to`) its ETA is paced over all the rows the
    analysis needs (:meth:`planned_rows`), not by each :meth:`run`."""

    def __init__(self, data, config, record, *, source=None, progress=None):
        super().__init__(data, config, record, progress=progress)
        self.source = Path(source) if source else None
        if config.quick and config.folds is None:
            self.folds = self.folds[:1]  # --quick: one fold (said in the notes)
        self.families.update(
            {
                "functionals": self._fold_functionals,
                "rel_functionals": self._fold_rel_functionals,
                "rel_cnn": self._fold_rel_cnn,
            }
        )
        self._relevance = {}
        self._relevance_features = {}
        self._told = set()  # (row, fold) units already told to the progress view or the log

    # Names the analyses read from the prepared data.
    @property
    def store(self):
        return self.data.store

    @property
    def utterances(self):
        return self.data.utterances

    @property
    def targets(self):
        return self.data.targets

    # -- progress ---------------------------------------------------------------------
    def planned_rows(self, row_ids, *, responses=()):
        """The rows whose units the analysis computes or resumes for the Table-1 and Table-3
        rows ``row_ids`` and the Fig. 2 ``responses`` (keys of ``RAW_CNN_ROWS``): ``row_ids``,
        plus each CNN row whose model a relevance row or response needs on a fold where neither
        run holds that row's part (or the response) nor the model: :meth:`model_path` trains
        the CNN row then."""
        planned = list(dict.fromkeys(row_ids))
        needs = [(TABLE3_ROWS[r].source, r, self._held_part) for r in planned if r in TABLE3_ROWS]
        needs += [(RAW_CNN_ROWS[kind], f"fig2_{kind}_response", self.record.load_part) for kind in responses]
        for cnn, part_id, held in needs:
            if cnn not in planned and any(
                held(part_id, fold.name) is None and self._saved_model(cnn, fold.name) is None for fold in self.folds
            ):
                planned.append(cnn)
        return planned

    def report_to(self, progress, row_ids):
        """Tell ``progress`` (a :class:`~ser_keras.console.RunProgress` over ``row_ids`` × folds,
        e.g. of :meth:`planned_rows`) about every unit, its ETA paced by the network rows. The
        relevance rows train on the main thread alone, so the network rows count one after
        another (more than the Table-1 CNNs take while both threads share them)."""
        self.progress = progress
        rows = [TABLE3_ROWS.get(row_id) or ROWS[row_id] for row_id in row_ids]
        progress.expect(
            {row.id: len(self.folds) for row in rows if row.family not in UTTERANCE_LEVEL_FAMILIES},
            beside={row.id: len(self.folds) for row in rows if row.family in UTTERANCE_LEVEL_FAMILIES},
        )

    def _expect(self, networks, utterance_level):
        """Nothing: :meth:`report_to` paced the view over every run of the analysis."""

    def _progress(self, event, row_id, fold, *details):
        # rows() reads again the parts row_parts() or model_path() already went through.
        if (row_id, fold) in self._told:
            return
        if event != "unit_started":
            self._told.add((row_id, fold))
        super()._progress(event, row_id, fold, *details)

    # -- models and parts of this run or of the source run ------------------------------
    def _saved_model(self, row_id, fold):
        """The .h5 of a CNN row and fold in this run, else in the source run, else None."""
        for root in (self.record.out, self.source):
            if root is not None and (root / "models" / f"{row_id}_{fold}.h5").exists():
                return root / "models" / f"{row_id}_{fold}.h5"
        return None

    def model_path(self, row_id, fold):
        """The .h5 of a CNN row and fold: this run's, else the source run's, else trained now
        (said in the log: the analysis then trains its Table-1 row into this run)."""
        saved = self._saved_model(row_id, fold)
        if saved is not None:
            return saved
        logger.info(
            "%s %s: no saved model in %s%s; training the Table-1 row for this analysis",
            row_id,
            fold,
            self.record.out,
            f" or {self.source}" if self.source else "",
        )
        self.rows([row_id])
        return self.record.out / "models" / f"{row_id}_{fold}.h5"

    def _source_part(self, row_id, fold):
        """The source run's part of (row, fold) if this run can take it, else None.

        RF parts are taken only with their importances (Table-1 runs do not keep them)."""
        if self.source is None:
            return None
        path = self.source / "parts" / row_id / f"{fold}.json"
        part = read_json(path) if path.exists() else None
        needs_importances = row_id in TABLE4_SOURCES.values()
        return part if part is not None and (not needs_importances or "importances" in part) else None

    def _held_part(self, row_id, fold):
        """The part of (row, fold) in this run, else the one it can take from the source run."""
        return self.record.load_part(row_id, fold) or self._source_part(row_id, fold)

    def _import_source_part(self, row_id, fold):
        """Copy the source run's part of (row, fold) into this run, unless this run holds one."""
        if self.record.load_part(row_id, fold) is None and (part := self._source_part(row_id, fold)) is not None:
            self.record.save_part(row_id, fold, part)

    def row_parts(self, row_id):
        """Fold parts of a Table-1 or Table-3 row, computed where neither run holds them."""
        if any(self.record.load_part(row_id, fold.name) is None for fold in self.folds):
            self.rows([row_id])
        return {fold.name: self.record.load_part(row_id, fold.name) for fold in self.folds}

    def rows(self, row_ids):
        """Score the requested Table-1 and Table-3 rows: ``(rows, prediction lines)``."""
        for row_id in row_ids:
            for fold in self.folds:
                self._import_source_part(row_id, fold.name)
        rows, predictions, _ = self.run(row_ids)
        table3_rows, table3_predictions, _ = self.run(row_ids, TABLE3)
        rows, predictions = rows + table3_rows, predictions + table3_predictions
        order = {row_id: position for position, row_id in enumerate(row_ids)}
        return sorted(rows, key=lambda row: order[row.id]), predictions

    # -- relevance signals ------------------------------------------------------------
    def relevance_signals(self, source_row, fold):
        """``{utterance: (k, length) float32}`` relevance of the fold's ``source_row`` CNN:
        k = 1 (ground-truth class) for training/validation utterances, k = #classes for test
        ones; each signal scaled to peak ``RELEVANCE_PEAK`` (gradients have no natural scale)."""
        key = (source_row, fold.name)
        if key not in self._relevance:
            path = self.model_path(source_row, fold.name)
            guided = guided_model(load_h5(path))
            signals = self._stream_relevances(guided, np.concatenate([fold.train, fold.validation]), False)
            signals.update(self._stream_relevances(guided, fold.test, True))
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            self._relevance[key] = (signals, f"relevance-{digest}-step{self.config.relevance_frame_step}")
        return self._relevance[key]

    def _stream_relevances(self, guided, utterances, every_class):
        """Window relevances streamed utterance by utterance (bounded memory) and overlap-added."""
        utterances = np.sort(np.asarray(utterances))
        owners, frames = frame_index(
            frame_counts(self.store.lengths), utterances, frame_step=self.config.relevance_frame_step
        )
        data = window_dataset(self.store, owners, frames, batch_size=self.config.batch_size)
        signals, held, first, start = {}, [], 0, 0
        for batch in data:
            windows = batch.numpy()
            if every_class:
                relevance = class_relevances(guided, windows, range(len(self.classes)))
            else:
                relevance = window_relevance(guided, windows, self.targets[owners[start : start + len(windows)]])[None]
            held.append(relevance)
            start += len(windows)
            # Owners are sorted, so the utterances finished so far are a prefix of the held windows.
            pending = owners[first:start]
            done = pending if start == len(owners) else pending[pending != owners[start]]
            if not len(done):
                continue
            stacked = np.concatenate(held, axis=1)
            for utterance in np.unique(done):
                rows = np.flatnonzero(pending == utterance)
                length = int(self.store.lengths[utterance])
                positions = spliced_window_positions(frames[first + rows], length)
                signals[int(utterance)] = np.stack(
                    [_peak_normalised(utterance_relevance(r[rows], positions, length)) for r in stacked]
                )
            held, first = [stacked[:, len(done) :]], first + len(done)
        return signals

    def _relevance_functionals(self, source_row, fold):
        """ComParE functionals of every relevance signal of the fold: {utterance: (k, 6373)}."""
        key = (source_row, fold.name)
        if key not in self._relevance_features:
            signals, namespace = self.relevance_signals(source_row, fold)
            jobs = {f"{self.utterances[u].id}#{k}": s[k] for u, s in signals.items() for k in range(len(s))}
            found = extract_signals(
                FeatureSet.ComParE_2016_functionals,
                jobs,
                cache=self.data.cache,
                cache_namespace=namespace,
                workers=self.config.workers,
                progress=self.config.verbose > 0,
            )
            self._relevance_features[key] = {
                u: np.stack([found[f"{self.utterances[u].id}#{k}"] for k in range(len(s))]) for u, s in signals.items()
            }
        return self._relevance_features[key]

    # -- row families -------------------------------------------------------------------
    def _functional_part(self, row, fold, features_of):
        """SVM/RF on per-utterance functionals (``features_of(u)``: (k, D)), scores averaged over
        the k test inputs; RF parts carry the final forest's impurity importances (Table 4)."""

        def stack(index):
            return np.stack([features_of(u)[0] for u in index])

        classes = len(self.classes)
        model, params, val_uar = fit_with_validation(
            row.classifier.lower(),
            stack(fold.train),
            self.targets[fold.train],
            stack(fold.validation),
            self.targets[fold.validation],
            random_state=row_seed(self.config.seed, row.id, fold.name),
            labels=list(range(classes)),
            n_jobs=self.config.workers,
        )
        inputs = [np.stack([features_of(u)[k] for u in fold.test]) for k in range(len(features_of(fold.test[0])))]
        part = self._part(fold, _mean_scores(model, inputs, classes), chosen=params, validation_uar=val_uar)
        if row.classifier == "RF":
            part["importances"] = model[-1].feature_importances_.tolist()
        return part

    def _fold_functionals(self, row, fold):
        """Table-1 ComParE rows, as in Table 1 (same seed and inputs) plus RF importances."""
        features = self.data.features(FeatureSet.ComParE_2016_functionals)
        return self._functional_part(row, fold, lambda u: features[u][None])

    def _fold_rel_functionals(self, row, fold):
        features = self._relevance_functionals(row.source, fold)
        return self._functional_part(row, fold, features.__getitem__)

    def _fold_rel_cnn(self, row, fold):
        """The source CNN's architecture trained on ground-truth relevance; a test utterance's
        posterior is the mean over the windows of all its class relevance signals, i.e. the
        average of the per-signal predictions (equal window counts)."""
        signals, _ = self.relevance_signals(row.source, fold)
        owner_of, entries = [], {}
        for utterance in sorted(signals):
            entries[utterance] = list(range(len(owner_of), len(owner_of) + len(signals[utterance])))
            owner_of += [utterance] * len(signals[utterance])
        store = WaveformStore.from_signals([s for u in sorted(signals) for s in signals[u]])
        owner_of = np.asarray(owner_of, np.int64)
        counts = frame_counts(store.lengths)

        def stream(index, step, train):
            chosen = np.array([entry for u in index for entry in entries[int(u)]], np.int64)
            store_owners, frames = frame_index(counts, chosen, frame_step=step)
            data = window_dataset(
                store,
                store_owners,
                frames,
                self.targets[owner_of],
                shuffle=train,
                batch_size=self.config.batch_size,
                seed=self.config.seed,
                repeat=train,
            )
            return data, owner_of[store_owners], -(-len(store_owners) // self.config.batch_size)

        source = ROWS[row.source].source

        def build(_):
            return build_raw_cnn(RAW_CNN_CONFIGS[source], num_classes=len(self.classes), window=WINDOW)

        return self._select_and_test(row, fold, stream, build, (None,))

    # -- Fig. 2, Table 4, Fig. 3 ----------------------------------------------------------
    def frequency_responses(self, kind):
        """{fold: (freqs, response)} of the first conv layer of the fold's Raw ``kind`` CNN.

        Each fold's curve is kept as a part, so a resumed or merged run needs no model weights
        (results are shared without them)."""
        part_id = f"fig2_{kind}_response"
        curves = {}
        for fold in self.folds:
            part = self.record.load_part(part_id, fold.name)
            if part is None:
                kernel = first_conv_kernel(load_h5(self.model_path(RAW_CNN_ROWS[kind], fold.name)))
                freqs, response = cumulative_frequency_response(kernel)
                part = {"freqs": freqs.tolist(), "response": response.tolist()}
                self.record.save_part(part_id, fold.name, part)
            curves[fold.name] = (np.asarray(part["freqs"]), np.asarray(part["response"]))
        return curves

    def importances(self, key):
        """Fold-mean RF impurity importances on the ComParE functionals of input ``key``."""
        # Deviation: SHORT shows one ranking without saying which fold; we average over folds.
        parts = self.row_parts(TABLE4_SOURCES[key])
        return np.mean([part["importances"] for part in parts.values()], axis=0)

    def confusion(self, row_id):
        return pooled_confusion(self.row_parts(row_id), len(self.classes))


# -- shared by the SHORT analysis scripts -----------------------------------------------
def finish_short(analysis, rows, *, title, predictions=(), claims=(), extra=None, notes=()):
    """Write the run record with the notes every SHORT analysis shares; returns the metrics."""
    config = analysis.config
    shared = [
        f"Folds analysed: {', '.join(f.name for f in analysis.folds)}"
        + (f" (models and fold results from {analysis.source})." if analysis.source else "."),
        f"Label view {config.labels}: classes {', '.join(analysis.classes)}.",
        f"Relevance windows every {config.relevance_frame_step} frame(s) of 10 ms (paper: every frame).",
    ]
    if config.quick and len(analysis.folds) == 1:
        shared.insert(0, "Quick budget: one fold.")
    return analysis.record.finish(
        rows,
        protocol=analysis.data.protocol.replace("-", "_"),
        predictions=predictions,
        claims=claims,
        extra={"folds": [f.name for f in analysis.folds], "classes": list(analysis.classes), **(extra or {})},
        label_view=config.labels,
        table_title=title,
        notes=[*notes, *shared],
        scoring=Scoring(("UAR",), len(analysis.classes)),
    )


def value_row(row_id, system, metric, value, *, paper=None, classifier=""):
    """A result row for a number that is not a pooled recall (no bootstrap CI)."""
    return ResultRow(
        row_id,
        system,
        classifier,
        metric,
        None if value is None else round(float(value), 4),
        paper=paper,
        status="ok" if value is not None else "skipped: not computable on this run",
    )
