"""SHORT Table 1 (§2.2–2.4): utterance-level openSMILE/BoAW + SVM/RF rows and short-segment
LLD-MLP / raw-waveform CNN rows under leave-one-session-out, scored by UAR, with paired
comparisons against the paper's best utterance-level system and the paper's claims decided
by paired tests.

The prepared data is :class:`~ser_keras.experiments.data.ShortData`; the rows are the
registry of :mod:`ser_keras.experiments.rows` (paper rows and plug-ins). Each (row, fold)
result is saved as a part of the run record as soon as it exists, so an interrupted run
resumes where it stopped and ends with the same metrics as an uninterrupted one (every
model is seeded from the run seed, the row and the fold).
"""

import contextlib
import dataclasses
import logging
import threading
import time

import keras
import numpy as np
import tensorflow as tf

from ser_keras.classical import fit_with_validation
from ser_keras.data.windows import WINDOW
from ser_keras.experiments.data import LLD_SETS
from ser_keras.experiments.hparams import open_hparam_source
from ser_keras.experiments.reporting import (
    ClaimTest,
    compare_rows,
    figure_subtitle,
    paired_claim,
    prediction_lines,
    row_seed,
    score_row,
    skipped_row,
)
from ser_keras.experiments.rows import DEFAULT_REFERENCE, HEAVIEST_FIRST, ROWS, TABLE1_IDS, check_plugin_row
from ser_keras.experiments.units import UnitMeter, heaviest_first, run_units
from ser_keras.features.boaw import BagOfAudioWords
from ser_keras.features.opensmile_sets import FeatureSet
from ser_keras.io import write_json
from ser_keras.metrics import unweighted_average_recall
from ser_keras.models.lld_mlp import LLD_MLP_GRID, build_lld_mlp, lld_standardization
from ser_keras.models.raw_cnn import RAW_CNN_CONFIGS, build_raw_cnn
from ser_keras.plots import save_table1_figure
from ser_keras.results import Scoring
from ser_keras.runs import Budget
from ser_keras.seeding import UnitSeeds
from ser_keras.training import execution
from ser_keras.training.aggregate import utterance_decisions
from ser_keras.training.device_input import device_corpus, with_context_gather, with_window_gather
from ser_keras.training.fit import save_h5, train_frame_classifier

logger = logging.getLogger(__name__)

TABLE2_LITERATURE = (
    "Att. CNN (logMel, 7.5 s) WA 56.1",
    "DBN-ivector (MFCC, UL) WA 57.2",
    "CNN+LSTM (raw, 6 s) UAR 52.8",
    "TDNN (MFCC, 4 s) UAR 58.6",
)
# BoAW settings (openXBOW options; SHORT gives only the codebook sizes): standardised
# input, log term weighting, 1 assignment; output standardisation is the classifier's scaler.
BOAW_OPTIONS = {
    "compare": {"codebook_size": 500, "subsets": [slice(0, 65), slice(65, 130)]},
    "egemaps": {"codebook_size": 1000},
    "wav2vec2": {"codebook_size": 500},
}
# Row families fitted by scikit-learn on utterance-level inputs: no TensorFlow, no global seed.
UTTERANCE_LEVEL_FAMILIES = ("functionals", "boaw")
# Network families whose units read only inputs made before the run's threads start: either
# thread may train them (other families, e.g. the relevance rows of the SHORT analyses, share
# lazily computed inputs between units and train on the main thread).
SHARED_NETWORK_FAMILIES = ("lld_mlp", "raw_cnn", "plugin_windows", "plugin_functionals")
MLP_SEARCH_NETWORK = "short_mlp"  # the "network" of tuning/search_short_mlp.py's best_hparams.json
# The paper's Table-1 conclusions, decided by paired speaker tests of UAR (reporting.ClaimTest).
TABLE1_CLAIMS = (
    ClaimTest(
        "Raw SubSeg on par with the best utterance-level system (ComParE functionals + RF)",
        (("raw_subseg_cnn", DEFAULT_REFERENCE),),
        "non_inferior",
    ),
    ClaimTest(
        "Raw CNNs above the LLD MLPs",
        tuple(
            (cnn, mlp) for cnn in ("raw_subseg_cnn", "raw_seg_cnn") for mlp in ("compare_lld_mlp", "egemaps_lld_mlp")
        ),
        "better",
    ),
    ClaimTest("Raw SubSeg above Raw Seg", (("raw_subseg_cnn", "raw_seg_cnn"),), "better"),
)
# The "on par" claim's non-inferiority margin (pp of UAR): the spread of the paper's own
# ComParE/eGeMAPS utterance-level systems in Table 1 (58.23 - 55.40 = 2.83), rounded up, i.e.
# a CNN within the range the paper treats as one level of performance.
DEFAULT_MARGIN = 3.0


@dataclasses.dataclass(frozen=True)
class ShortConfig:
    """Everything that decides a Table-1 run; written to ``config.json``.

    ``train_frame_step``/``eval_frame_step`` keep every k-th 10 ms window (1 = the paper's
    one window per frame); ``max_epochs`` caps the LR-halving schedule (None = until the
    learning rate leaves 10^-1…10^-6); ``mlp_grid`` is the depth/width grid for the MLPs;
    ``mlp_hparams`` maps an LLD set to searched hidden layers per fold ("*" = every fold)
    and where they came from (:func:`load_mlp_hparams`): that set's MLP row trains that one
    network instead of the grid; ``budget`` names the budget (:func:`budget`); ``reference``
    is the row the paired comparisons test every other row against; ``plugins`` the plug-in
    modules imported for the run.
    """

    seed: int = 0
    budget: str = "full"
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
    reference: str = DEFAULT_REFERENCE
    precision: str = "float32"
    plugins: tuple = ()
    wav2vec2_sha256: str | None = None
    workers: int = 2
    margin: float = DEFAULT_MARGIN
    verbose: int = 1

    @property
    def quick(self):
        return self.budget == "quick"


def budget(corpus_kind, *, quick):
    """The :class:`~ser_keras.runs.Budget` of a Table-1 run on ``corpus_kind``.

    Real corpora get the paper's protocol unless ``--quick``. The embedded synthetic corpus
    gets a budget that keeps the full table to about ten minutes on 2 CPU cores.
    """
    if quick:
        return Budget(
            "quick",
            {"train_frame_step": 10, "eval_frame_step": 5, "max_epochs": 2, "mlp_grid": (LLD_MLP_GRID[0],)},
            "quick smoke-test budget: every 10th training window, every 5th evaluation window, at most "
            "2 epochs, one MLP grid point",
        )
    if corpus_kind == "synthetic":
        return Budget(
            "embedded",
            {"train_frame_step": 12, "eval_frame_step": 8, "max_epochs": 6, "mlp_grid": LLD_MLP_GRID[:2]},
            "embedded-corpus budget: every 12th window for training, every 8th for validation and test, "
            "at most 6 epochs, 2-point MLP grid",
        )
    return Budget(
        "full", {}, "full budget: every 10 ms window, LR halving until it leaves 1e-1…1e-6, the whole MLP grid"
    )


def load_mlp_hparams(paths, rows, *, folds=None, corpus=None, quick=False, allow_foreign=False):
    """Searched LLD-MLP hidden layers per LLD set from tuning/search_short_mlp.py results:
    ``({source: {"hidden_layers": {fold or "*": layers}, "protocol", "provenance"}}, files)``.

    Each path is a ``best_hparams.json`` (one search, every fold: the paper's protocol) or the
    ``--out`` folder of a per-fold search (``<fold>/best_hparams.json`` for each of ``folds``,
    the names of the folds being run).
    The LLD set is the ``source`` of the ``search.json`` beside each file. Each file must name
    the short MLP and the LLD set of an MLP row among ``rows``, one path per set; an MLP row
    without one keeps the validation grid. With ``corpus``, a file from a quick search or
    another corpus is refused unless ``allow_foreign`` (:mod:`ser_keras.experiments.hparams`).
    """
    run = {ROWS[r].source: r for r in rows if ROWS[r].family == "lld_mlp"}
    chosen, files = {}, []
    for path in paths:
        source, foreign = open_hparam_source(path, folds, corpus=corpus, quick=quick, allow_foreign=allow_foreign)
        layers, lld_set = {}, None
        for fold, file in source.files.items():
            network = file.content.get("network")
            if network != MLP_SEARCH_NETWORK:
                raise ValueError(
                    f"{file.path}: network {network!r}, not {MLP_SEARCH_NETWORK!r}; pass the "
                    "best_hparams.json written by tuning/search_short_mlp.py."
                )
            hparams = file.content.get("hparams")
            hidden = hparams.get("hidden_layers") if isinstance(hparams, dict) else None
            if not (
                isinstance(hidden, list)
                and hidden
                and all(isinstance(units, int) and not isinstance(units, bool) and units > 0 for units in hidden)
            ):
                raise ValueError(
                    f"{file.path}: 'hparams.hidden_layers' must be a non-empty list of positive unit "
                    f"counts; got {hidden!r}."
                )
            if file.search is None:
                raise ValueError(
                    f"{file.path}: {file.path.parent / 'search.json'} does not exist "
                    "(tuning/search_short_mlp.py writes best_hparams.json and search.json into its --out "
                    "folder)."
                )
            lld_set = file.search.get("source")
            if lld_set not in LLD_SETS:
                raise ValueError(
                    f"{file.path}: {file.path.parent / 'search.json'} names LLD set {lld_set!r}, not one "
                    f"of {sorted(LLD_SETS)}."
                )
            layers[fold] = hidden
        if lld_set not in run:
            raise ValueError(
                f"{path}: searched on {lld_set} LLDs, but no {lld_set} MLP row is run "
                f"(MLP rows: {', '.join(run.values()) or 'none'})."
            )
        if lld_set in chosen:
            raise ValueError(f"{path} and {chosen[lld_set]['path']} are both {lld_set} searches; pass one.")
        chosen[lld_set] = {
            "hidden_layers": layers,
            "protocol": source.protocol,
            "path": str(path),
            "provenance": source.provenance(foreign),
        }
        files += source.paths()
    return chosen, files


class ShortExperiment:
    """Runs the requested Table-1 rows over the folds of prepared :class:`ShortData`,
    writing parts and models as it goes."""

    def __init__(self, data, config, record, *, progress=None, tensorboard=None, inputs_on_device=None):
        self.data, self.config, self.record = data, config, record
        self.folds = data.folds
        self.progress, self.tensorboard = progress, tensorboard
        # Raw windows and LLD contexts cut inside the compiled step where a GPU/TPU trains (the
        # host pipeline cannot feed one); on a CPU the host pipeline overlaps the cut
        # with the step. Both give the same inputs in the same order, so the same numbers.
        self.inputs_on_device = execution.current().inputs_on_device if inputs_on_device is None else inputs_on_device
        self._boaw = {}
        self._unit = threading.local()  # .seeds: the UnitSeeds of the unit this thread trains
        # Row family → the code that computes one fold of such a row.
        self.families = {
            "functionals": self._fold_functionals,
            "boaw": self._fold_boaw,
            "lld_mlp": self._fold_lld_mlp,
            "raw_cnn": self._fold_raw_cnn,
            "plugin_windows": self._fold_plugin_windows,
            "plugin_functionals": self._fold_plugin_functionals,
        }

    @property
    def classes(self):
        return self.data.classes

    # -- rows -------------------------------------------------------------------------
    def part_of(self, row, fold, *, before_unit=None):
        """The part of one (row, fold) unit: loaded from the run record, or computed and saved.

        A network unit draws its random numbers (initial weights, dropout seeds, shuffles)
        from :class:`~ser_keras.seeding.UnitSeeds` of its row and fold, wherever and beside
        whatever it runs; scikit-learn rows take explicit seeds."""
        part = self.record.load_part(row.id, fold.name)
        if part is not None:
            self._progress("unit_skipped", row.id, fold.name, "resumed")
            return part
        if before_unit is not None:
            before_unit()
        started, meter = time.time(), UnitMeter()
        self._progress("unit_started", row.id, fold.name)
        if row.family in UTTERANCE_LEVEL_FAMILIES:
            part = self.families[row.family](row, fold)
        else:
            part = self._network_part(row, fold)
        part["compute"] = meter.read(network=row.family not in UTTERANCE_LEVEL_FAMILIES)
        self.record.save_part(row.id, fold.name, part)
        uar = unweighted_average_recall(part["targets"], part["predictions"], self.data.num_classes)
        summary = f"UAR {100 * uar:.1f} %" + (f", {part['epochs']} epochs" if part.get("epochs") else "")
        self._progress("unit_done", row.id, fold.name, summary, time.time() - started)
        return part

    def _network_part(self, row, fold):
        """A network unit's part, its builds drawing from its own seeds (``self._unit.seeds``,
        read by :meth:`_select_and_test`); an enclosing unit of this thread gets its seeds
        back after (an analysis row that first trains the Table-1 model it reads)."""
        seeds = UnitSeeds(row_seed(self.config.seed, row.id, fold.name))
        enclosing, self._unit.seeds = getattr(self._unit, "seeds", None), seeds
        try:
            # A plug-in's code may draw from the global generators at any time, not only while
            # it builds: its whole unit holds them (the other thread's builds wait).
            with seeds if row.origin == "plugin" else contextlib.nullcontext():
                return self.families[row.family](row, fold)
        finally:
            self._unit.seeds = enclosing

    def _progress(self, event, row_id, fold, *details):
        """Tell the run's progress view (or, without one, the log) about a (row, fold) unit."""
        if self.progress is not None:
            getattr(self.progress, event)(row_id, fold, *details)
        elif event != "unit_started":
            logger.info("%s %s: %s", row_id, fold, details[0])

    def run(self, row_ids, table=None):
        """Score the rows named in ``row_ids`` (of ``table``, default the registry):
        ``(result rows, prediction lines, parts by row id)``.

        Two threads share the (row, fold) units (:func:`~ser_keras.experiments.units.run_units`):
        the main thread trains the network rows, heaviest first (resumed rows before
        them, plug-ins after them); the second fits the utterance-level rows (scikit-learn), then
        takes network folds from the lightest row on (of the :data:`SHARED_NETWORK_FAMILIES`).
        Features are extracted before the threads start and every unit is seeded by its own
        row and fold, so the numbers are those of one unit after the other, whichever thread
        trained it. A failing unit stops both threads before their next unit and its error is
        raised.
        """
        table = ROWS if table is None else {row.id: row for row in table}
        selected = [table[row_id] for row_id in row_ids if row_id in table]
        runnable = [row for row in selected if not (row.source == "wav2vec2" and not self.data.wav2vec2_path)]
        self._extract_features(runnable)
        utterance_level = [row.id for row in runnable if row.family in UTTERANCE_LEVEL_FAMILIES]
        networks = heaviest_first(
            [row.id for row in runnable if row.family not in UTTERANCE_LEVEL_FAMILIES],
            HEAVIEST_FIRST,
            lambda row_id: self._finished(table[row_id]),
        )
        if self.progress is not None:
            self._expect(networks, utterance_level)
        folds = {fold.name: fold for fold in self.folds}

        def unit(row_id, fold_name, before_unit):
            return self.part_of(table[row_id], folds[fold_name], before_unit=before_unit)

        main_only = [row_id for row_id in networks if table[row_id].family not in SHARED_NETWORK_FAMILIES]
        parts = run_units(networks, utterance_level, list(folds), unit, main_only=main_only)
        parts_by_row = {row.id: {fold: parts[row.id, fold] for fold in folds} for row in runnable}
        rows, predictions, all_parts = [], [], {}
        for row in selected:
            if row.id not in parts_by_row:
                rows.append(skipped_row(row.spec(), "no --wav2vec2 weights"))
                if self.progress is not None:
                    self.progress.row_skipped(row.id, self.folds, "skipped: no --wav2vec2 weights")
                continue
            parts = all_parts[row.id] = parts_by_row[row.id]
            rows.append(
                score_row(row.spec(), parts, num_classes=self.data.num_classes, speaker_of=self.data.speaker_of)
            )
            predictions += prediction_lines(row.id, parts, self.data.speaker_of)
        return rows, predictions, all_parts

    def _expect(self, networks, utterance_level):
        """Pace the progress view's ETA by the units of one :meth:`run`: the ``networks`` on the
        main thread, the ``utterance_level`` rows beside them, after which that thread shares the
        networks."""
        self.progress.expect(
            {row: len(self.folds) for row in networks},
            beside={row: len(self.folds) for row in utterance_level},
            shared=True,
        )

    def _extract_features(self, rows):
        """Extract (or load from the cache) every openSMILE set the unfinished ``rows`` read,
        all in one pass over the corpus (wav2vec2 frames as they are first read)."""
        feature_sets = []
        for row in rows:
            if self._finished(row):
                continue
            if row.family in ("functionals", "plugin_functionals"):
                feature_sets.append(FeatureSet.ComParE_2016_functionals)
            elif row.family in ("boaw", "lld_mlp") or (row.family == "plugin_windows" and row.source != "raw"):
                if row.source in LLD_SETS:
                    feature_sets.append(LLD_SETS[row.source])
                else:
                    self.data.frame_features(row.source)
        self.data.extract(list(dict.fromkeys(feature_sets)))

    def _finished(self, row):
        return all(self.record.load_part(row.id, fold.name) is not None for fold in self.folds)

    def check_plugins(self, row_ids):
        """Build every plug-in row's model once on its input shape, before any training."""
        for row in (ROWS[r] for r in row_ids if ROWS[r].origin == "plugin"):
            check_plugin_row(row, self._plugin_input_shape(row), self.data.num_classes)

    def _part(self, fold, predictions, **extra):
        data = self.data
        return {
            "ids": [data.utterances[i].id for i in fold.test],
            "targets": data.targets[fold.test].tolist(),
            "predictions": np.asarray(predictions).tolist(),
            **extra,
        }

    # -- row families -------------------------------------------------------------------
    def _classical(self, row, fold, inputs):
        targets = self.data.targets
        model, params, val_uar = fit_with_validation(
            row.classifier.lower(),
            inputs[fold.train],
            targets[fold.train],
            inputs[fold.validation],
            targets[fold.validation],
            random_state=row_seed(self.config.seed, row.id, fold.name),
            labels=list(range(self.data.num_classes)),
            n_jobs=self.config.workers,
        )
        return self._part(fold, model.predict(inputs[fold.test]), chosen=params, validation_uar=val_uar)

    def _fold_functionals(self, row, fold):
        return self._classical(row, fold, self.data.functionals())

    def _fold_boaw(self, row, fold):
        """BoAW histograms with a codebook learned on the fold's training split only; the
        SVM and RF rows of one source share them instead of relearning the codebook."""
        key = (row.source, fold.name)
        if key not in self._boaw:
            frames = self.data.frame_features(row.source)
            transformer = BagOfAudioWords(
                **BOAW_OPTIONS[row.source],
                standardize_input=True,
                log_weighting=True,
                max_codebook_frames=self.config.boaw_max_codebook_frames,
            )
            transformer.fit([frames[i] for i in fold.train])
            self._boaw[key] = transformer.transform(frames)
        return self._classical(row, fold, self._boaw[key])

    def _context_streams(self, source):
        def stream(index, step, train):
            return self.data.context_stream(
                source,
                index,
                step=step,
                train=train,
                batch_size=self.config.batch_size,
                window_ids=self.inputs_on_device,
            )

        return stream

    def _context_gather(self, source):
        """As :meth:`_window_gather`, for the LLD-context streams of ``source``."""
        if not self.inputs_on_device:
            return None
        return lambda network: with_context_gather(network, self.data.context_tensor(source))

    def _window_streams(self):
        def stream(index, step, train):
            return self.data.window_stream(
                index, step=step, train=train, batch_size=self.config.batch_size, window_ids=self.inputs_on_device
            )

        return stream

    def _window_gather(self):
        """``network -> trainable model`` for the raw-window streams, or None: on the device
        path the stream carries window ids and the trained model cuts the windows itself."""
        if not self.inputs_on_device:
            return None
        return lambda network: with_window_gather(network, device_corpus(self.data.store, network.distribute_strategy))

    def _mlp_builder(self, mean, variance):
        """``hidden layers -> LLD MLP`` standardising its inputs by ``mean``/``variance``."""

        def build(hidden):
            return build_lld_mlp(
                len(mean),
                feature_mean=mean,
                feature_variance=variance,
                hidden_layers=tuple(hidden),
                num_classes=self.data.num_classes,
            )

        return build

    def _mlp_grid(self, row, fold):
        """The hidden-layer settings an MLP row tries on ``fold``."""
        searched = self.config.mlp_hparams.get(row.source)
        # Deviation (with --mlp-hparams only): SHORT picks depth/width on each fold's
        # validation split; a searched file fixes them (per fold with a per-fold search).
        if searched:
            layers = searched["hidden_layers"]
            return (tuple(layers.get(fold.name, layers.get("*"))),)
        return self.config.mlp_grid

    def _raw_cnn_builder(self, row):
        return lambda _: build_raw_cnn(RAW_CNN_CONFIGS[row.source], num_classes=self.data.num_classes, window=WINDOW)

    def _fold_lld_mlp(self, row, fold):
        matrices = self.data.frame_features(row.source)
        build = self._mlp_builder(*lld_standardization(np.concatenate([matrices[i] for i in fold.train])))
        return self._select_and_test(
            row,
            fold,
            self._context_streams(row.source),
            build,
            self._mlp_grid(row, fold),
            gather=self._context_gather(row.source),
        )

    def _fold_raw_cnn(self, row, fold):
        return self._select_and_test(
            row, fold, self._window_streams(), self._raw_cnn_builder(row), (None,), gather=self._window_gather()
        )

    def _plugin_input_shape(self, row):
        if row.family == "plugin_functionals":
            return (self.data.functionals().shape[1],)
        if row.source == "raw":
            return (WINDOW,)
        return (25, self.data.frame_features(row.source)[0].shape[1])

    def _fold_plugin_windows(self, row, fold):
        """A plug-in model on 250 ms inputs: raw windows or LLD contexts, trained and
        aggregated to utterances exactly as the paper's networks."""
        raw = row.source == "raw"
        stream = self._window_streams() if raw else self._context_streams(row.source)
        shape = self._plugin_input_shape(row)
        return self._select_and_test(
            row,
            fold,
            stream,
            lambda _: row.build(shape, self.data.num_classes),
            (None,),
            gather=self._window_gather() if raw else self._context_gather(row.source),
        )

    def _fold_plugin_functionals(self, row, fold):
        """A plug-in model on utterance-level ComParE functionals (one input per utterance)."""
        functionals = self.data.functionals().astype(np.float32)
        targets = self.data.targets

        def stream(index, step, train):
            index = np.asarray(index)
            data = tf.data.Dataset.from_tensor_slices((functionals[index], targets[index]))
            if train:
                data = data.shuffle(len(index), seed=self.config.seed, reshuffle_each_iteration=True).repeat()
            batch = self.config.batch_size
            return data.batch(batch), index, -(-len(index) // batch)

        shape = (functionals.shape[1],)
        return self._select_and_test(row, fold, stream, lambda _: row.build(shape, self.data.num_classes), (None,))

    def _train(self, row, model, train, val, train_steps, fold, grid_share=(0, 1)):
        """Train with the row's recipe; returns the training summary. ``grid_share``: (index,
        count) of this grid point in the unit, for the share of the unit done after each epoch."""
        config = self.config
        tensorboard = f"{self.tensorboard}/{row.id}/{fold.name}" if self.tensorboard else None
        extra = {"tensorboard_dir": tensorboard} if tensorboard else {}
        to_progress = [] if self.progress is None else [self.progress.heartbeat(row.id, fold.name)]
        if self.progress is not None and config.max_epochs:  # uncapped schedules have no share to tell
            index, count = grid_share
            to_progress.append(
                keras.callbacks.LambdaCallback(
                    on_epoch_end=lambda epoch, logs: self.progress.unit_progress(
                        row.id, fold.name, (index + (epoch + 1) / config.max_epochs) / count
                    )
                )
            )
        if callable(row.recipe):
            row.recipe(model)  # the plug-in compiles its own optimizer and loss
            # shuffle=False: the tf.data pipeline shuffles; Keras ignores (and warns about) it for datasets.
            history = model.fit(
                train,
                validation_data=val,
                epochs=config.max_epochs or 30,
                steps_per_epoch=train_steps,
                shuffle=False,
                verbose=int(config.verbose >= 2),
                callbacks=[keras.callbacks.EarlyStopping(restore_best_weights=True, patience=3), *to_progress],
            )
            losses = history.history.get("val_loss", [])
            return {
                "epochs_run": len(losses),
                "best_epoch": int(np.argmin(losses)) + 1 if losses else 0,
                "recipe": "plug-in compiled model, early stopping on val_loss (patience 3)",
                "history": {k: [float(v) for v in values] for k, values in history.history.items()},
            }
        return train_frame_classifier(
            model,
            train,
            val,
            steps_per_epoch=train_steps,
            max_epochs=config.max_epochs,
            verbose=config.verbose,
            callbacks=to_progress,
            **extra,
        )

    def _select_and_test(self, row, fold, stream, build, grid, *, gather=None):
        """Train one network per grid point, keep the best validation UAR, test it, save it.

        ``gather``: ``network -> model`` that cuts the stream's window ids itself (device
        input path); it trains and predicts, the network alone is saved. Streams and models
        are built inside the unit's seeds (:class:`~ser_keras.seeding.UnitSeeds`), whose
        blocks the two threads of :meth:`run` take in turn: that also keeps the corpus and
        context tensors, built on first use and shared, from being built twice at once."""
        config, data, seeds = self.config, self.data, self._unit.seeds
        with seeds:
            train, _, train_steps = stream(fold.train, config.train_frame_step, True)
            val, val_owners, _ = stream(fold.validation, config.eval_frame_step, False)
            test, test_owners, _ = stream(fold.test, config.eval_frame_step, False)
        best = None
        for index, point in enumerate(grid):
            with seeds:
                model = build(point)
                trained = gather(model) if gather else model
            summary = self._train(row, trained, train, val, train_steps, fold, grid_share=(index, len(grid)))
            val_pred = self._utterance_predictions(trained, val.map(lambda x, y: x), val_owners, fold.validation)
            val_uar = unweighted_average_recall(data.targets[fold.validation], val_pred, data.num_classes)
            if best is None or val_uar > best[0]:
                best = (val_uar, point, model, trained, summary)
        val_uar, point, model, trained, summary = best
        predictions = self._utterance_predictions(trained, test.map(lambda x, y: x), test_owners, fold.test)
        path = self.record.out / "models" / f"{row.id}_{fold.name}.h5"
        h5_format = save_h5(model, path)
        sidecar = self.record.sidecar(
            row=row.id,
            origin=row.origin,
            fold=fold.name,
            labels=list(data.classes),
            input_shape=list(model.input_shape[1:]),
            hidden_layers=point,
            config=dataclasses.asdict(config),
            validation_uar=val_uar,
            input_path="window ids, cut on the device" if gather else "host pipeline",
            training={k: v for k, v in summary.items() if k != "history"},
            h5_format=h5_format.to_dict(),
            history=summary["history"],
        )
        write_json(path.with_suffix(".json"), sidecar)
        return self._part(
            fold,
            predictions,
            validation_uar=val_uar,
            chosen=point,
            model=str(path.name),
            epochs=summary.get("epochs_run"),
        )

    def _utterance_predictions(self, model, inputs, owners, utterances):
        """Mean frame posterior per utterance → argmax (SHORT §2.3), in ``utterances`` order."""
        probabilities = model.predict(inputs, verbose=0)
        local = np.searchsorted(np.asarray(utterances), owners)
        return utterance_decisions(probabilities, local, len(utterances))


def table1_claims(parts_by_row, data, config):
    """The paper's Table-1 conclusions on its own rows, decided by paired speaker tests."""
    return [
        paired_claim(test, parts_by_row, speaker_of=data.speaker_of, margin=config.margin, seed=config.seed)
        for test in TABLE1_CLAIMS
    ]


def budget_sections(config):
    """What a table on a reduced budget verifies, said under its claims (none at the full budget)."""
    if config.budget == "full":
        return []
    return [
        f"**What this table verifies.** On the {config.budget} budget it checks the pipeline end to end (corpus, "
        "features, folds, every row's training and selection, scoring, intervals, tests, claims, run records, "
        "saved models); it does not reproduce the paper's numbers. The network rows train on every "
        f"{config.train_frame_step}th window for at most {config.max_epochs} epochs, so they trail what the full "
        "protocol gives, and the claims about them are read on undertrained networks; real corpora run the full "
        "protocol."
    ]


def run_table1(data, config, record, *, progress=None, tensorboard=None):
    """Run the requested rows on prepared ``data`` and finish the run record; returns the metrics.

    ``progress``: a :class:`~ser_keras.console.RunProgress` over ``len(rows) × len(folds)``
    units; ``tensorboard``: a folder for per-(row, fold) TensorBoard logs."""
    experiment = ShortExperiment(data, config, record, progress=progress, tensorboard=tensorboard)
    experiment.check_plugins(config.rows)
    rows, predictions, parts_by_row = experiment.run(config.rows)
    comparisons, section = compare_rows(parts_by_row, config.reference, speaker_of=data.speaker_of, seed=config.seed)
    notes = [
        f"Label view {config.labels}: classes {', '.join(data.classes)}; dropped {data.dropped}.",
        f"{len(data.store.skipped)} utterances skipped for unusable audio.",
        f"{int(np.sum(data.store.lengths < WINDOW))} utterances shorter than 250 ms "
        "(windows padded by edge-frame repetition).",
        "SHORT Table 2 (literature, context only): " + "; ".join(TABLE2_LITERATURE) + ".",
    ]
    plugins = [row.id for row in rows if row.origin == "plugin"]
    if plugins:
        notes.append(f"Plug-in rows (not from the paper): {', '.join(plugins)}.")
    if not section:
        notes.append(f"No paired comparisons: the reference row {config.reference} was not run.")
    provenance = {source: searched["provenance"] for source, searched in config.mlp_hparams.items()}
    hyperparameters = None
    if provenance:
        hyperparameters = {
            "summary": " ".join(f"{source}_lld_mlp hidden layers {p['summary']}" for source, p in provenance.items()),
            "by_lld_set": provenance,
        }
    extra = {
        "folds": [f.name for f in data.folds],
        "classes": list(data.classes),
        "reference": config.reference,
        "skipped_audio": data.store.skipped,
        "short_utterances": int(np.sum(data.store.lengths < WINDOW)),
    }
    metrics = record.finish(
        rows,
        protocol=data.protocol.replace("-", "_"),
        predictions=predictions,
        claims=table1_claims(parts_by_row, data, config),
        extra=extra,
        label_view=config.labels,
        notes=notes,
        sections=[*budget_sections(config), *([section] if section else [])],
        comparisons=comparisons,
        hyperparameters=hyperparameters,
        scoring=Scoring(("UAR",), data.num_classes),
        table_title="SHORT Table 1 — UAR (%), ours beside the paper's",
    )
    save_table1_figure(
        record.out / "table1.png", metrics["rows"], num_classes=data.num_classes, subtitle=figure_subtitle(metrics)
    )
    return metrics
