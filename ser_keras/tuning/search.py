"""keras-tuner searches replacing the papers' hyperparameter tuning (ELOR "Hyperparamter
optimization"; SHORT §2.3, the LLD MLP's depth and width chosen on validation).

Each trial trains one network on the training part of a seeded 80:20 split of a fold's
training pool and scores it on the 20 % validation part:

- ELOR networks: the alternating split-head training (``SplitHeadTrainer``) with early
  stopping on the summed validation loss; objective ``val_mean_accuracy`` = the mean of
  the valence and arousal heads' validation accuracies at the restored (best) epoch.
  The paper's TPE maximised "performance accuracy" on the validation set; with two heads
  we name the mean of the two.
- SHORT LLD MLP: SHORT's SGD + learning-rate-halving recipe; objective ``val_uar`` =
  utterance-level validation UAR (mean window posterior, argmax), as in Table 1.

The tuner folder (``<out>/tuner``) is keras-tuner's own, opened with ``overwrite=False``:
rerunning a stopped search reloads it, keeps finished trials and retries the interrupted
one, which resumes from its last finished epoch (split-head trials checkpoint per epoch).
Distributed search is keras-tuner's chief/worker mode, switched on by the environment
variables ``KERASTUNER_TUNER_ID`` / ``KERASTUNER_ORACLE_IP`` / ``KERASTUNER_ORACLE_PORT``:
the chief serves the oracle and writes the results, workers run trials.
"""

import contextlib
import csv
import io
import json
import os
from pathlib import Path

import keras
import keras_tuner
import numpy as np
import tensorflow as tf

from ser_keras.io import read_json, write_json, write_text
from ser_keras.metrics import unweighted_average_recall
from ser_keras.models.elor import HEADS
from ser_keras.models.lld_mlp import build_lld_mlp
from ser_keras.training.aggregate import utterance_decisions
from ser_keras.training.fit import train_frame_classifier
from ser_keras.training.split_heads import SplitHeadTrainer
from ser_keras.tuning.spaces import declare_mlp

SPLIT_HEAD_OBJECTIVE = keras_tuner.Objective("val_mean_accuracy", direction="max")
MLP_OBJECTIVE = keras_tuner.Objective("val_uar", direction="max")
TUNERS = ("bayesian", "hyperband", "random")
TUNER_FOLDER = "tuner"
TRIAL_CHECKPOINT = "split_heads.npz"


def role():
    """``'chief'``, ``'worker'`` or ``'standalone'``, from keras-tuner's environment variables."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "standalone"
    missing = [name for name in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID") if name not in os.environ]
    if missing:
        raise ValueError(f"KERASTUNER_ORACLE_IP is set but {missing} are not; a distributed search needs all three.")
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


class SplitHeadHyperModel(keras_tuner.HyperModel):
    """An ELOR network over a :class:`~ser_keras.tuning.spaces.SearchSpace`, trained split-head.

    ``build_network(config)`` returns the uncompiled two-head model (e.g. ``build_elor``, or
    ``functools.partial(build_ftr, functional_mean=..., functional_variance=...)``).
    ``datasets(batch_size)`` returns ``(train, validation)`` tf.data pipelines of
    ``(x, {"valence": labels, "arousal": labels})`` batches. ``base_config`` supplies the
    untuned fields. ``input_stage(strategy)``, if given, returns the trainer's input stage
    (``SplitHeadTrainer``) for the trial's strategy: ``x`` is then what it takes (slice
    indices, cut on the device).
    """

    def __init__(
        self,
        space,
        build_network,
        datasets,
        *,
        base_config=None,
        epochs=30,
        patience=5,
        seed=0,
        verbose=0,
        input_stage=None,
    ):
        super().__init__(name=space.network)
        if epochs < 1 or patience < 1:
            raise ValueError(f"epochs and patience must be >= 1; got {epochs!r} and {patience!r}.")
        self.space, self.build_network, self.datasets = space, build_network, datasets
        self.base_config = base_config or space.config_class()
        self.epochs, self.patience, self.seed, self.verbose = epochs, patience, seed, verbose
        self.input_stage = input_stage
        self.objective = SPLIT_HEAD_OBJECTIVE

    def config(self, hp):
        """The network config of a trial's hyperparameter values."""
        return self.space.config(hp.values, self.base_config)

    def hparams(self, values):
        """Config fields of the tuned values, for ``best_hparams.json``."""
        return self.space.hparams(values, self.base_config)

    def build(self, hp):
        self.space.declare(hp, self.base_config)
        return self.build_network(self.config(hp))

    def fit(self, hp, model, *, strategy=None, epochs=None, checkpoint_dir=None, tensorboard_dir=None):
        """Train ``model`` split-head on this trial's values; return its validation metrics."""
        config = self.config(hp)
        train, validation = self.datasets(config.batch_size)
        strategy = strategy or tf.distribute.get_strategy()
        stage = self.input_stage(strategy) if self.input_stage else None
        trainer = SplitHeadTrainer(
            lambda: model,
            learning_rate=config.learning_rate,
            momentum=config.momentum,
            seed=self.seed,
            strategy=strategy,
            input_stage=stage,
        )
        checkpoint = None if checkpoint_dir is None else os.path.join(checkpoint_dir, TRIAL_CHECKPOINT)
        history = trainer.fit(
            train,
            validation,
            epochs=epochs or self.epochs,
            patience=self.patience,
            checkpoint_path=checkpoint,
            verbose=self.verbose,
            tensorboard_dir=tensorboard_dir,
        )
        best = trainer.best_epoch - 1
        metrics = {f"val_accuracy_{head}": history[f"val_accuracy_{head}"][best] for head in HEADS}
        metrics["val_mean_accuracy"] = float(np.mean([metrics[f"val_accuracy_{head}"] for head in HEADS]))
        metrics.update(
            val_loss=history["val_loss"][best], best_epoch=trainer.best_epoch, epochs_run=len(history["val_loss"])
        )
        if checkpoint is not None and os.path.exists(checkpoint):
            os.remove(checkpoint)  # a finished trial is never resumed; the file is ~4x the weights
        return metrics


class LldMlpHyperModel(keras_tuner.HyperModel):
    """SHORT's LLD-context MLP with tuned depth and width, trained with the LR-halving recipe.

    ``data``: a :class:`MlpData`. ``max_epochs`` caps the halving schedule (None: until the
    learning rate leaves 10^-1 .. 10^-6, as in SHORT).
    """

    def __init__(self, data, *, max_epochs=None, verbose=0):
        super().__init__(name="short_mlp")
        self.data, self.max_epochs, self.verbose = data, max_epochs, verbose
        self.objective = MLP_OBJECTIVE

    def hparams(self, values):
        return {"hidden_layers": [int(values["width"])] * int(values["depth"])}

    def build(self, hp):
        data = self.data
        return build_lld_mlp(
            data.num_features,
            feature_mean=data.feature_mean,
            feature_variance=data.feature_variance,
            hidden_layers=declare_mlp(hp),
            num_classes=data.num_classes,
        )

    def fit(self, hp, model, *, strategy=None, epochs=None, checkpoint_dir=None, tensorboard_dir=None):
        """Train and score ``model``; ``model.fit`` follows the strategy the model was built in."""
        data = self.data
        trained = data.gather(model) if data.gather else model
        summary = train_frame_classifier(
            trained,
            data.train,
            data.validation,
            steps_per_epoch=data.train_steps,
            max_epochs=epochs or self.max_epochs,
            verbose=self.verbose,
            tensorboard_dir=tensorboard_dir,
        )
        probabilities = trained.predict(data.validation.map(lambda x, y: x), verbose=0)
        decisions = utterance_decisions(probabilities, data.validation_owners, len(data.validation_targets))
        uar = unweighted_average_recall(data.validation_targets, decisions, data.num_classes)
        metrics = {
            "val_uar": float(uar),
            "val_loss": summary["best_val_loss"],
            "best_epoch": summary["best_epoch"],
            "epochs_run": summary["epochs_run"],
        }
        return {name: value for name, value in metrics.items() if value is not None}  # no finite val_loss: None


class MlpData:
    """Window pipelines of one LLD-MLP search: ``train`` repeats (``train_steps`` per epoch);
    ``validation`` yields ``(windows, labels)`` in order, ``validation_owners`` the 0-based
    validation utterance of each window, ``validation_targets`` one class per utterance.
    ``gather``: None, or for streams of window ids a function network → the model to train
    (``ids -> ContextGather -> network``, ``training.device_input.with_context_gather``)."""

    def __init__(
        self,
        *,
        train,
        train_steps,
        validation,
        validation_owners,
        validation_targets,
        num_features,
        feature_mean,
        feature_variance,
        num_classes,
        gather=None,
    ):
        self.train, self.train_steps, self.validation, self.gather = train, train_steps, validation, gather
        self.validation_owners = np.asarray(validation_owners)
        self.validation_targets = np.asarray(validation_targets)
        self.num_features, self.num_classes = num_features, num_classes
        self.feature_mean, self.feature_variance = feature_mean, feature_variance


class SearchTuner(keras_tuner.Tuner):
    """Runs one trial = build the network from the trial's values, train it, return metrics.

    The model is built inside ``distribution_strategy.scope()`` (``--distribute mirrored``)
    after a fresh Keras session seeded with ``seed``, so every trial starts from the same
    random state. Hyperband's ``tuner/epochs`` sets the epoch budget of its trials
    (trained from scratch; Hyperband's weight hand-over between rounds is not used).
    """

    def __init__(self, oracle, hypermodel, *, seed=0, tensorboard=None, **kwargs):
        super().__init__(oracle, hypermodel, **kwargs)
        self.seed, self.tensorboard = seed, tensorboard
        self.trials_run = []

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        # clear_session() also resets the dtype policy; keep the one --mixed-precision set.
        policy = keras.mixed_precision.global_policy()
        keras.backend.clear_session()
        keras.mixed_precision.set_global_policy(policy)
        keras.utils.set_random_seed(self.seed)
        strategy = self.distribution_strategy
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            model = self.hypermodel.build(hp)
        metrics = self.hypermodel.fit(
            hp,
            model,
            strategy=strategy,
            epochs=hp.values.get("tuner/epochs"),
            checkpoint_dir=self.get_trial_dir(trial.trial_id),
            tensorboard_dir=os.path.join(self.tensorboard, f"trial_{trial.trial_id}") if self.tensorboard else None,
        )
        self.trials_run.append({"trial_id": trial.trial_id, **metrics})
        return metrics


def make_oracle(tuner, objective, *, trials, epochs, seed=0, fixed=None):
    """The keras-tuner oracle for ``--tuner``; ``fixed`` ``{hp name: value}`` pins values.

    Hyperband has no trial count: it runs one Hyperband iteration whose longest trials get
    ``epochs`` epochs (factor 3).
    """
    pinned = keras_tuner.HyperParameters()
    for name, value in (fixed or {}).items():
        pinned.Fixed(name, value)
    common = {"seed": seed, "hyperparameters": pinned, "tune_new_entries": True}
    if tuner == "bayesian":
        return keras_tuner.oracles.BayesianOptimizationOracle(objective, max_trials=trials, **common)
    if tuner == "random":
        return keras_tuner.oracles.RandomSearchOracle(objective, max_trials=trials, **common)
    if tuner == "hyperband":
        return keras_tuner.oracles.HyperbandOracle(objective, max_epochs=max(epochs, 2), factor=3, **common)
    raise ValueError(f"tuner must be one of {TUNERS}; got {tuner!r}.")


def make_strategy(distribute=None, devices=None):
    """``None`` or ``'mirrored'`` (tf.distribute.MirroredStrategy over ``devices``, default
    every visible GPU, or the CPU when there is none)."""
    if distribute is None:
        return None
    if distribute == "mirrored":
        return tf.distribute.MirroredStrategy(devices=devices)
    raise ValueError(f"distribute must be None or 'mirrored'; got {distribute!r}.")


def run_search(
    hypermodel,
    *,
    out,
    network,
    tuner="bayesian",
    trials=10,
    epochs=None,
    seed=0,
    strategy=None,
    settings=None,
    fixed=None,
    verbose=1,
    tensorboard=None,
):
    """Run (or resume) a search with its tuner folder in ``<out>/tuner``.

    ``fixed``: ``{hp name: value}`` held constant instead of searched (``--quick``);
    ``tensorboard``: a folder for per-trial TensorBoard logs (``trial_<id>/``).
    ``settings``: JSON-ready facts of the search (corpus, fold, budget ...) stored in
    ``search.json``; resuming with different settings is refused. The chief or a
    standalone search writes ``best_hparams.json`` and ``trials.csv`` to ``out`` and returns
    the best-hparams dict; workers and a standalone search write ``trials_run/<tuner id>.json``
    (the trials run in this invocation); a worker returns ``None``.
    """
    out = Path(out)
    settings = {"network": network, "tuner": tuner, "seed": seed, "fixed": fixed or {}, **(settings or {})}
    _check_settings(out / "search.json", settings)
    epochs = epochs or getattr(hypermodel, "epochs", None) or getattr(hypermodel, "max_epochs", None) or 1
    oracle = make_oracle(tuner, hypermodel.objective, trials=trials, epochs=epochs, seed=seed, fixed=fixed)
    search = SearchTuner(
        oracle,
        hypermodel,
        seed=seed,
        tensorboard=tensorboard,
        distribution_strategy=strategy,
        directory=str(out),
        project_name=TUNER_FOLDER,
        overwrite=False,
    )
    search.search(verbose=verbose)
    if role() != "chief":  # the chief serves the oracle and runs no trial
        write_json(out / "trials_run" / f"{search.tuner_id}.json", search.trials_run)
    if role() == "worker":
        return None
    return write_results(search, out, network=network, tuner=tuner)


def _check_settings(path, settings):
    settings = json.loads(json.dumps(settings))  # tuples -> lists, as stored
    if path.exists():
        stored = read_json(path)
        changed = sorted(key for key in set(stored) | set(settings) if stored.get(key) != settings.get(key))
        if changed:
            raise ValueError(
                f"{path.parent} holds a search with other settings ({', '.join(changed)}: "
                f"{[stored.get(k) for k in changed]} there, {[settings.get(k) for k in changed]} now); "
                "choose another --out to start a new search."
            )
    write_json(path, settings)


def trial_rows(oracle):
    """One dict per trial of ``oracle`` (in start order): id, status, score, metrics, values."""
    rows = []
    for trial_id in list(dict.fromkeys([*oracle.start_order, *sorted(oracle.trials)])):
        trial = oracle.trials[trial_id]
        row = {"trial_id": trial_id, "status": trial.status, "score": trial.score}
        for name in sorted(trial.metrics.metrics):
            row[name] = trial.metrics.get_best_value(name)
        row.update({name: value for name, value in trial.hyperparameters.values.items()})
        rows.append(row)
    return rows


def write_results(search, out, *, network, tuner):
    """Write ``trials.csv`` and ``best_hparams.json`` from the search's oracle; return the latter."""
    rows = trial_rows(search.oracle)
    if not rows:
        raise ValueError(f"The search in {out} has no trials.")
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(Path(out) / "trials.csv", buffer.getvalue())
    best_trials = search.oracle.get_best_trials(1)
    if not best_trials:
        raise ValueError(f"No trial of the search in {out} completed; see {out}/trials.csv.")
    best = best_trials[0]
    objective = search.oracle.objective
    completed = sum(row["status"] == "COMPLETED" for row in rows)
    result = {
        "network": network,
        "hparams": search.hypermodel.hparams(best.hyperparameters.values),
        "objective": {"name": objective.name, "direction": objective.direction, "value": best.score},
        "trial_id": best.trial_id,
        "trials": completed,
        "tuner": tuner,
        "metrics": {name: best.metrics.get_best_value(name) for name in sorted(best.metrics.metrics)},
    }
    write_json(Path(out) / "best_hparams.json", result)
    return result
