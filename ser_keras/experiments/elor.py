"""ELOR Table 5 experiment (§3–4): slices, folds, inputs and per-fold training of ELoR, LoM,
FTR and ELoR+FTR with E-2 valence/arousal heads.

Protocol (ELOR §3.1, §4): every utterance rated by the evaluator (E-2) is cut into 6 s
slices with the > 3 s last-slice rule; each slice keeps its utterance's valence and arousal
class (rating 1–5 → 0–4). Folds are leave-one-speaker-out over utterances, then expanded to
their slices; the validation set is a random 20 % of the training speakers' utterances.
Every network is trained with alternating split-head updates (``SplitHeadTrainer``), early
stopping on the validation loss. The prepared data (slices, folds, inputs) is
:class:`~ser_keras.experiments.data.ElorData`; the networks are the registry of
:mod:`ser_keras.experiments.networks`; scoring the pooled test predictions into Table 5 is
:mod:`ser_keras.experiments.elor_table5`.

Hyperparameter file (``--hparams``; written by the tuning scripts): JSON, either one network
``{"network": "elor", "hparams": {<ElorConfig fields>}}`` or several keyed by network
``{"elor": {...}, "lom": {...}, "ftr": {...}, "elor_ftr": {...}}``; network names are our ids
or the paper's (``ELoR+FTR``). Fields missing from an entry keep the config defaults (the
centre of the paper's search space). ELoR+FTR without an entry of its own takes ELoR's
values (paper: ELoR+FTR combines the tuned ELoR and FTR values; the trunk is ELoR's).
"""

import contextlib
import dataclasses
import logging

import tensorflow as tf

from ser_keras.data.labels import DIMENSION_CLASSES
from ser_keras.data.protocols import PROTOCOLS
from ser_keras.experiments.networks import NETWORKS, PAPER_NETWORKS, network_id
from ser_keras.experiments.reporting import row_seed
from ser_keras.experiments.units import UnitMeter
from ser_keras.io import read_json, write_json
from ser_keras.metrics import unweighted_average_recall, weighted_average_recall
from ser_keras.models.elor import HEADS
from ser_keras.runs import Budget
from ser_keras.seeding import UnitSeeds
from ser_keras.training import execution
from ser_keras.training.fit import save_h5
from ser_keras.training.split_heads import SplitHeadTrainer

logger = logging.getLogger(__name__)

RATING_LABELS = tuple(str(rating) for rating in range(1, DIMENSION_CLASSES + 1))
QUICK_HPARAMS = {network: spec.quick_hparams for network, spec in NETWORKS.items()}


@dataclasses.dataclass(frozen=True)
class ElorExperimentConfig:
    """Everything that decides a Table-5 run; written to ``config.json``.

    ``hparams`` maps network → config fields (see the module docstring); ``batch_size``
    None uses each network config's own; ``max_train_slices`` keeps a seeded subsample of
    each fold's training slices (``--quick`` only; None = all); ``budget`` names the budget
    (:func:`budget`); ``fold_hparams`` maps fold → network → fields of a per-fold (nested)
    search, applied over ``hparams``; ``plugins`` the plug-in modules imported for the run.
    """

    seed: int = 0
    budget: str = "full"
    networks: tuple = PAPER_NETWORKS
    protocol: str = "leave-one-speaker-out"
    folds: tuple | None = None
    validation_fraction: float = 0.2
    evaluator: str | None = "E2"
    epochs: int = 100
    patience: int = 10
    batch_size: int | None = None
    max_train_slices: int | None = None
    hparams: dict = dataclasses.field(default_factory=dict)
    fold_hparams: dict = dataclasses.field(default_factory=dict)
    plugins: tuple = ()
    precision: str = "float32"
    workers: int = 2
    verbose: int = 1

    def __post_init__(self):
        unknown = [n for n in self.networks if n not in NETWORKS]
        if unknown or not self.networks:
            raise ValueError(f"Unknown network(s) {unknown or self.networks!r}; choose from {', '.join(NETWORKS)}.")
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"The 'protocol' must be one of {PROTOCOLS}. Got {self.protocol!r}.")
        for name in ("epochs", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"The {name!r} must be >= 1. Got {getattr(self, name)!r}.")

    @property
    def quick(self):
        return self.budget == "quick"

    def network_config(self, network, fold=None):
        """The network's config: defaults overridden by ``hparams[network]``, then by the
        fold's own searched values (``fold_hparams[fold][network]``)."""
        fields = {**self.hparams.get(network, {}), **self.fold_hparams.get(fold, {}).get(network, {})}
        return NETWORKS[network].config_class.from_dict(fields)


def budget(corpus_kind, *, quick):
    """The :class:`~ser_keras.runs.Budget` of a Table-5 run on ``corpus_kind``.

    ``--quick``: all folds, small networks, 3 epochs, 64 training slices per fold — a CPU
    smoke test (a few minutes on the embedded corpus). Otherwise the paper-centre networks
    with early stopping (100 epochs, patience 10; the embedded corpus: 30 and 5), which
    needs a GPU for the raw-waveform networks.
    """
    if quick:
        return Budget(
            "quick",
            {"epochs": 3, "patience": 2, "max_train_slices": 64, "hparams": QUICK_HPARAMS},
            "quick smoke-test budget: small networks (8 filters, heads of 32), at most 3 epochs, "
            "64 training slices per fold",
        )
    if corpus_kind == "synthetic":
        return Budget(
            "embedded",
            {"epochs": 30, "patience": 5},
            "embedded-corpus budget: paper-centre networks, at most 30 epochs, early stopping after 5",
        )
    return Budget("full", {}, "full budget: paper-centre networks, at most 100 epochs, early stopping after 10")


def load_hparams(path):
    """``{network: {field: value}}`` from a hyperparameter JSON file (module docstring)."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(data).__name__}.")
    if "network" in data:
        if not isinstance(data.get("hparams"), dict):
            raise ValueError(f"{path}: a one-network file needs an object under 'hparams'.")
        data = {data["network"]: data["hparams"]}
    hparams = {}
    for name, values in data.items():
        network = network_id(name)
        if not isinstance(values, dict):
            raise ValueError(f"{path}: hyperparameters of {name!r} must be an object, got {values!r}.")
        NETWORKS[network].config_class.from_dict(
            values
        )  # unknown or invalid fields fail here, naming the file's values
        hparams[network] = values
    return hparams


def merge_hparams(base, overrides):
    """``base`` entries updated field by field with ``overrides``; ELoR+FTR inherits ELoR's."""
    merged = {network: dict(base.get(network, {})) for network in NETWORKS}
    for network, values in overrides.items():
        merged[network].update(values)
    if "elor" in overrides and "elor_ftr" not in overrides:
        merged["elor_ftr"].update(overrides["elor"])
    return {network: values for network, values in merged.items() if values}


class ElorExperiment:
    """The per-(network, fold) training of ELOR Table 5 on prepared :class:`ElorData`.

    ``inputs_on_device`` (default: as :mod:`~ser_keras.training.execution` decides, where
    TensorFlow sees a GPU or TPU): the stream carries slice indices and the trainer cuts the
    inputs inside its compiled steps from copies on the device (``ElorData.slice_inputs``);
    otherwise the host pipeline cuts them. Same batches either way.
    """

    def __init__(self, data, config, record, *, inputs_on_device=None):
        self.data, self.config, self.record = data, config, record
        self.folds = data.folds
        self.inputs_on_device = execution.current().inputs_on_device if inputs_on_device is None else inputs_on_device

    def prepare_inputs(self, networks):
        """Compute (or load from the cache) the features the ``networks`` read, before any
        unit: units on two threads (:func:`~ser_keras.experiments.units.run_units`) then only
        read them."""
        kinds = {NETWORKS[network].input_kind for network in networks}
        if "mfcc" in kinds:
            self.data.mfcc_features()
        if any("is10" in kind for kind in kinds):
            self.data.is10_features()

    def run_fold(self, network, fold, *, tensorboard=None, callbacks=()):
        """Train one network on one fold, save its .h5 + sidecar, return the fold part.

        It draws its random numbers (initial weights, dropout seeds, shuffles) from
        :class:`~ser_keras.seeding.UnitSeeds` of the network and fold, so it gives the same
        part whatever trains beside it on another thread. ``callbacks``: Keras callbacks told
        the end of each epoch (:meth:`~ser_keras.training.split_heads.SplitHeadTrainer.fit`)."""
        seeds, meter = UnitSeeds(row_seed(self.config.seed, network, fold.name)), UnitMeter()
        # A plug-in's code may draw from the global generators at any time, not only while it
        # builds: its whole unit holds them (the other thread's builds wait).
        with seeds if NETWORKS[network].origin == "plugin" else contextlib.nullcontext():
            part = self._train_fold(network, fold, seeds, tensorboard, callbacks)
        return {**part, "compute": meter.read(network=True)}

    def _train_fold(self, network, fold, seeds, tensorboard, callbacks):
        data, config, seed = self.data, self.config, seeds.seed
        spec, net_config = NETWORKS[network], config.network_config(network, fold.name)
        batch_size = config.batch_size or net_config.batch_size
        train, validation, test = data.fold_slices(fold, config.max_train_slices)
        strategy = tf.distribute.get_strategy()

        def dataset(index, **shuffle):
            return data.dataset(
                spec.input_kind, index, batch_size=batch_size, slice_ids=self.inputs_on_device, **shuffle
            )

        # The blocks of every unit's seeds are taken in turn, which also keeps the lazily made
        # input tensors of ``data`` from being made twice at once.
        with seeds:
            stage = data.slice_inputs(spec.input_kind, strategy=strategy) if self.inputs_on_device else None
            trainer = SplitHeadTrainer(
                lambda: spec.build(net_config, data, train),
                learning_rate=net_config.learning_rate,
                momentum=net_config.momentum,
                seed=seed,
                strategy=strategy,
                input_stage=stage,
            )
            train_stream = dataset(train, shuffle=True, seed=seed)
            validation_stream = dataset(validation) if len(validation) else None
            test_stream = dataset(test)
        checkpoint = self.checkpoint_folder / f"{network}_{fold.name}.npz"
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        history = trainer.fit(
            train_stream,
            validation_stream,
            epochs=config.epochs,
            patience=config.patience,
            checkpoint_path=checkpoint,
            verbose=int(config.verbose >= 2),
            callbacks=callbacks,
            **({"tensorboard_dir": f"{tensorboard}/{network}/{fold.name}"} if tensorboard else {}),
        )
        probabilities = trainer.predict(test_stream)
        part = {
            "ids": [data.slice_ids[i] for i in test],
            "best_epoch": trainer.best_epoch,
            "epochs_run": len(history.get("loss_arousal", [])),
            "slices": {"train": len(train), "validation": len(validation), "test": len(test)},
        }
        scores = {}
        for head in HEADS:
            targets, predicted = data.targets[head][test], probabilities[head].argmax(axis=1)
            part[head] = {
                "targets": targets.tolist(),
                "predictions": predicted.tolist(),
                "probabilities": probabilities[head].tolist(),
            }
            scores[head] = {
                "WAR": 100 * weighted_average_recall(targets, predicted),
                "UAR": 100 * unweighted_average_recall(targets, predicted, DIMENSION_CLASSES),
            }
        path = self.record.out / "models" / f"{network}_{fold.name}.h5"
        h5_format = save_h5(trainer.model, path)
        part["model"] = path.name
        write_json(
            path.with_suffix(".json"),
            self.record.sidecar(
                network=network,
                paper_name=spec.paper_name,
                fold=fold.name,
                h5_format=h5_format.to_dict(),
                test_speakers=sorted({data.utterances[i].speaker for i in fold.test}),
                labels={head: list(RATING_LABELS) for head in HEADS},
                label_meaning=f"class k = {data.view.source} rating k+1",
                inputs=[list(shape[1:]) for shape in _input_shapes(trainer.model)],
                hparams=net_config.to_dict(),
                config=dataclasses.asdict(config),
                input_path="slice indices, cut on the device" if self.inputs_on_device else "host pipeline",
                training={"routes": trainer.routed},
                metrics={
                    "test": scores,
                    "best_epoch": trainer.best_epoch,
                    "best_validation_loss": min(history["val_loss"]) if "val_loss" in history else None,
                },
                slices=part["slices"],
                history=history,
            ),
        )
        part["summary"] = (
            f"arousal WAR {scores['arousal']['WAR']:.1f} UAR {scores['arousal']['UAR']:.1f}, "
            f"valence WAR {scores['valence']['WAR']:.1f} UAR {scores['valence']['UAR']:.1f}, "
            f"best epoch {trainer.best_epoch} of {config.epochs}"
        )
        # Only the unit's own file: the folder is shared with units training on the other thread.
        checkpoint.unlink(missing_ok=True)
        return part

    @property
    def checkpoint_folder(self):
        """Where units keep their epoch checkpoints while they train (one file per unit)."""
        return self.record.out / "checkpoints"

    def remove_checkpoint_folder(self):
        """Remove the checkpoint folder once no unit trains any more (after the run's units),
        if it is empty; a checkpoint left by an interrupted unit stays for its resume."""
        folder = self.checkpoint_folder
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _input_shapes(model):
    shapes = model.input_shape
    return shapes if isinstance(shapes, list) else [shapes]
