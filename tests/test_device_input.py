"""The device-input path: window ids in the stream, windows cut in the step,
the same training as the host pipeline, and a saved network that still takes windows."""

import dataclasses
import subprocess
import sys

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from ser_keras.data.windows import (
    WINDOW,
    ContextTensor,
    WaveformStore,
    context_dataset,
    corpus_tensor,
    frame_counts,
    frame_index,
    window_dataset,
    window_id_dataset,
)
from ser_keras.models.lld_mlp import build_lld_mlp, lld_standardization
from ser_keras.models.raw_cnn import build_raw_subseg
from ser_keras.training.device_input import (
    ContextGather,
    DeviceContexts,
    DeviceCorpus,
    WindowGather,
    device_contexts,
    device_corpus,
    train_frame_classifier_on_device,
    with_input_gather,
    with_window_gather,
)
from ser_keras.training.fit import load_h5, save_h5, train_frame_classifier
from ser_keras.training.schedules import HalvingSchedule

# < one frame, < 250 ms, ragged, a few windows.
LENGTHS = (50, 1000, 4321, 8000, 9600, 12345)
TARGETS = np.array([0, 1, 2, 3, 1, 2])


def _store(lengths=LENGTHS, seed=0):
    rng = np.random.default_rng(seed)
    return WaveformStore.from_signals([0.2 * rng.standard_normal(n).clip(-4, 4) / 4 for n in lengths])


def _collect(dataset):
    batches = list(dataset.as_numpy_iterator())
    if isinstance(batches[0], tuple):
        return tuple(np.concatenate(part) for part in zip(*batches))
    return np.concatenate(batches)


def _identity_network():
    windows = keras.Input(shape=(WINDOW,), name="waveform")
    return keras.Model(windows, keras.layers.Identity(name="same")(windows))


def test_the_stream_carries_window_ids_only_in_the_host_order():
    store = _store()
    owners, frames = frame_index(frame_counts(store.lengths))
    dataset = window_id_dataset(owners, frames, TARGETS, batch_size=8, shuffle=True, seed=4)
    ids_spec, labels_spec = dataset.element_spec
    assert ids_spec.dtype == tf.int32 and ids_spec.shape.as_list() == [None, 2]
    assert labels_spec.dtype == tf.int32 and labels_spec.shape.as_list() == [None]
    assert not any(spec.dtype.is_floating for spec in tf.nest.flatten(dataset.element_spec))
    ids, labels = _collect(dataset)
    # Every (utterance, frame) pair once, labelled by its utterance, shuffled.
    assert sorted(map(tuple, ids.tolist())) == sorted(zip(owners.tolist(), frames.tolist()))
    np.testing.assert_array_equal(labels, TARGETS[ids[:, 0]])
    assert ids[:, 0].tolist() != sorted(ids[:, 0].tolist())
    with pytest.raises(ValueError, match="No windows"):
        window_id_dataset(np.zeros(0, np.int32), np.zeros(0, np.int32))


def test_windows_cut_in_the_compiled_step_equal_the_host_pipeline():
    store = _store()
    owners, frames = frame_index(frame_counts(store.lengths))
    host = _collect(window_dataset(store, owners, frames, batch_size=7, shuffle=True, seed=3))
    wrapped = with_window_gather(_identity_network(), device_corpus(store))
    on_device = wrapped.predict(window_id_dataset(owners, frames, batch_size=7, shuffle=True, seed=3), verbose=0)
    assert on_device.shape == (len(owners), WINDOW) and on_device.dtype == np.float32
    # The same TF ops on the same int16 rows: bit-identical.
    np.testing.assert_array_equal(on_device, host)


def test_a_corpus_copied_under_a_strategy_cuts_the_same_windows_and_slices():
    # The GPU branch of device_corpus, run on the CPU: a mirrored copy of the host tensor.
    store = _store()
    host = corpus_tensor(store)
    copy = DeviceCorpus(host, tf.distribute.MirroredStrategy(["/cpu:0"]))
    owners, frames = frame_index(frame_counts(store.lengths))
    np.testing.assert_array_equal(copy.windows(owners, frames).numpy(), host.windows(owners, frames).numpy())
    starts = np.zeros(len(LENGTHS), np.int64)
    np.testing.assert_array_equal(
        copy.slices(np.arange(len(LENGTHS)), starts).numpy(), host.slices(np.arange(len(LENGTHS)), starts).numpy()
    )
    assert device_corpus(store) is host  # no accelerator here: the host tensor is the device's


def test_windows_stay_float32_under_mixed_precision():
    store = _store()
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        gathered = WindowGather(device_corpus(store))(tf.constant([[2, 0], [3, 7]], tf.int32))
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert gathered.dtype == tf.float32 and gathered.shape == (2, WINDOW)


def _split(store):
    counts = frame_counts(store.lengths)
    return frame_index(counts, [0, 2, 3, 5]), frame_index(counts, [1, 4])


def test_training_on_window_ids_gives_the_weights_of_the_host_pipeline():
    store = _store()
    (train_owners, train_frames), (val_owners, val_frames) = _split(store)
    recipe = {"steps_per_epoch": 3, "max_epochs": 2, "verbose": 0, "schedule": HalvingSchedule(initial_epochs=1)}
    keras.utils.set_random_seed(0)
    host_network = build_raw_subseg()
    device_network = build_raw_subseg()
    device_network.set_weights(host_network.get_weights())
    host = train_frame_classifier(
        host_network,
        window_dataset(store, train_owners, train_frames, TARGETS, batch_size=16, shuffle=True, seed=5, repeat=True),
        window_dataset(store, val_owners, val_frames, TARGETS, batch_size=16),
        **recipe,
    )
    device = train_frame_classifier_on_device(
        device_network,
        store,
        (train_owners, train_frames),
        (val_owners, val_frames),
        TARGETS,
        batch_size=16,
        seed=5,
        **recipe,
    )
    # Same windows (bit-identical, above), same order, same kernels: bit-identical on the CPU;
    # the tolerance leaves room for another device's float32 summation order, far below 1e-5
    # after 6 SGD steps.
    for host_weight, device_weight in zip(host_network.get_weights(), device_network.get_weights(), strict=True):
        np.testing.assert_allclose(device_weight, host_weight, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(device["history"]["loss"], host["history"]["loss"], rtol=1e-5)
    np.testing.assert_allclose(device["history"]["val_loss"], host["history"]["val_loss"], rtol=1e-5)
    assert device["history"]["learning_rate"] == host["history"]["learning_rate"]
    moved = [not np.array_equal(a, b) for a, b in zip(host_network.get_weights(), build_raw_subseg().get_weights())]
    assert any(moved)


RELOAD = """
import sys
import keras, numpy as np
model = keras.models.load_model(sys.argv[1], compile=False)
np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))
print(model.input_shape, [layer.name for layer in model.layers])
"""


def test_the_saved_network_takes_windows_and_reloads_with_plain_keras(tmp_path):
    store = _store()
    (train_owners, train_frames), (val_owners, val_frames) = _split(store)
    keras.utils.set_random_seed(1)
    network = build_raw_subseg()
    checkpoint = tmp_path / "raw_subseg.h5"
    train_frame_classifier_on_device(
        network,
        store,
        (train_owners, train_frames),
        (val_owners, val_frames),
        TARGETS,
        batch_size=16,
        steps_per_epoch=2,
        max_epochs=1,
        verbose=0,
        checkpoint_path=checkpoint,
    )
    with h5py.File(checkpoint) as saved:
        config = saved.attrs["model_config"]
    assert "window_gather" not in config and "WindowGather" not in config
    windows = _collect(window_dataset(store, val_owners, val_frames, batch_size=16))
    np.save(tmp_path / "windows.npy", windows)
    done = subprocess.run(
        [sys.executable, "-c", RELOAD, str(checkpoint), str(tmp_path / "windows.npy"), str(tmp_path / "reloaded.npy")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(None, 4000)" in done.stdout
    np.testing.assert_allclose(
        np.load(tmp_path / "reloaded.npy"), network.predict(windows, verbose=0), rtol=1e-6, atol=1e-7
    )


def test_networks_on_other_inputs_and_bad_checkpoints_are_refused():
    store = _store()
    mlp = build_lld_mlp(4, feature_mean=np.zeros(4), feature_variance=np.ones(4), hidden_layers=(8,))
    with pytest.raises(ValueError, match=r"take 250 ms windows .* Got input shape \(None, 25, 4\)"):
        with_window_gather(mlp, device_corpus(store))
    windows = _split(store)
    with pytest.raises(ValueError, match="must end in '.h5'"):
        train_frame_classifier_on_device(build_raw_subseg(), store, *windows, TARGETS, checkpoint_path="model.keras")


# One LLD matrix per utterance of TARGETS: one frame, fewer and more frames than a context.
LLD_FRAMES = (1, 7, 30, 12, 40, 26)
LLD_FEATURES = 4


def _lld_matrices(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, LLD_FEATURES)).astype(np.float32) for n in LLD_FRAMES]


def _lld_mlp(matrices):
    mean, variance = lld_standardization(np.concatenate(matrices))
    return build_lld_mlp(LLD_FEATURES, feature_mean=mean, feature_variance=variance, hidden_layers=(16,))


def test_contexts_gathered_in_the_compiled_step_equal_the_host_pipeline():
    matrices = _lld_matrices()
    owners, frames = frame_index(LLD_FRAMES)
    # A frame past the LLD stream's end, which the host pipeline reads as the last row.
    owners, frames = np.append(owners, 1).astype(np.int32), np.append(frames, 9).astype(np.int32)
    host = _collect(context_dataset(matrices, owners, frames, batch_size=7, shuffle=True, seed=3))
    contexts = keras.Input(shape=(25, LLD_FEATURES), name="contexts")
    identity = keras.Model(contexts, keras.layers.Identity(name="same")(contexts))
    wrapped = with_input_gather(identity, ContextGather(device_contexts(ContextTensor(matrices))))
    on_device = wrapped.predict(window_id_dataset(owners, frames, batch_size=7, shuffle=True, seed=3), verbose=0)
    assert on_device.shape == (len(owners), 25, LLD_FEATURES) and on_device.dtype == np.float32
    np.testing.assert_array_equal(on_device, host)


def test_a_context_tensor_copied_under_a_strategy_gathers_the_same_float32_contexts():
    host = ContextTensor(_lld_matrices())
    copy = DeviceContexts(host, tf.distribute.MirroredStrategy(["/cpu:0"]))
    owners, frames = frame_index(LLD_FRAMES)
    np.testing.assert_array_equal(copy.contexts(owners, frames).numpy(), host.contexts(owners, frames).numpy())
    assert device_contexts(host) is host  # no accelerator here: the host tensor is the device's
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        gathered = ContextGather(host)(tf.constant([[2, 0], [3, 7]], tf.int32))
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert gathered.dtype == tf.float32 and gathered.shape == (2, 25, LLD_FEATURES)


def test_training_on_context_ids_gives_the_weights_of_the_host_pipeline():
    matrices = _lld_matrices()
    train, validation = frame_index(LLD_FRAMES, [0, 2, 3, 5]), frame_index(LLD_FRAMES, [1, 4])
    recipe = {"steps_per_epoch": 3, "max_epochs": 2, "verbose": 0, "schedule": HalvingSchedule(initial_epochs=1)}
    keras.utils.set_random_seed(0)
    host_network = _lld_mlp(matrices)
    device_network = _lld_mlp(matrices)
    device_network.set_weights(host_network.get_weights())
    host = train_frame_classifier(
        host_network,
        context_dataset(matrices, *train, TARGETS, batch_size=16, shuffle=True, seed=5, repeat=True),
        context_dataset(matrices, *validation, TARGETS, batch_size=16),
        **recipe,
    )
    device = train_frame_classifier(
        with_input_gather(device_network, ContextGather(device_contexts(ContextTensor(matrices)))),
        window_id_dataset(*train, TARGETS, batch_size=16, shuffle=True, seed=5, repeat=True),
        window_id_dataset(*validation, TARGETS, batch_size=16),
        **recipe,
    )
    # As for windows: bit-identical on the CPU, with room for another device's summation order.
    for host_weight, device_weight in zip(host_network.get_weights(), device_network.get_weights(), strict=True):
        np.testing.assert_allclose(device_weight, host_weight, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(device["history"]["loss"], host["history"]["loss"], rtol=1e-5)
    np.testing.assert_allclose(device["history"]["val_loss"], host["history"]["val_loss"], rtol=1e-5)
    moved = [not np.array_equal(a, b) for a, b in zip(host_network.get_weights(), _lld_mlp(matrices).get_weights())]
    assert any(moved)


def test_the_saved_lld_mlp_takes_contexts_and_holds_no_gather(tmp_path):
    matrices = _lld_matrices()
    train, validation = frame_index(LLD_FRAMES, [0, 2, 3, 5]), frame_index(LLD_FRAMES, [1, 4])
    keras.utils.set_random_seed(1)
    network = _lld_mlp(matrices)
    train_frame_classifier(
        with_input_gather(network, ContextGather(device_contexts(ContextTensor(matrices)))),
        window_id_dataset(*train, TARGETS, batch_size=16, shuffle=True, seed=5, repeat=True),
        window_id_dataset(*validation, TARGETS, batch_size=16),
        steps_per_epoch=2,
        max_epochs=1,
        verbose=0,
    )
    checkpoint = tmp_path / "lld_mlp.h5"
    save_h5(network, checkpoint)
    with h5py.File(checkpoint) as saved:
        config = saved.attrs["model_config"]
    assert "context_gather" not in config and "ContextGather" not in config
    reloaded = load_h5(checkpoint)
    assert reloaded.input_shape == (None, 25, LLD_FEATURES)
    contexts = _collect(context_dataset(matrices, *validation, batch_size=16))
    np.testing.assert_allclose(
        reloaded.predict(contexts, verbose=0), network.predict(contexts, verbose=0), rtol=1e-6, atol=1e-7
    )


def test_a_gather_and_a_network_on_other_inputs_are_refused():
    contexts = ContextGather(ContextTensor(_lld_matrices()))
    narrower = build_lld_mlp(3, feature_mean=np.zeros(3), feature_variance=np.ones(3), hidden_layers=(8,))
    with pytest.raises(
        ValueError,
        match=r"take ± 12-frame LLD contexts of shape \(None, 25, 4\)\. "
        r"Got input shape \(None, 25, 3\)",
    ):
        with_input_gather(narrower, contexts)
    with pytest.raises(ValueError, match=r"take ± 12-frame LLD contexts .* Got input shape \(None, 4000\)"):
        with_input_gather(_identity_network(), contexts)


@pytest.mark.integration
def test_table1_network_rows_on_window_ids_equal_the_host_pipeline(tmp_path):
    # The experiment-level wiring: a Raw Seg and an LLD-MLP fold of Table 1 trained and tested
    # through window ids (the path a GPU takes) give the parts and saved networks of the host path.
    from ser_keras.data.corpus import load_corpus
    from ser_keras.experiments.data import ShortData
    from ser_keras.experiments.short import ShortConfig, ShortExperiment, budget
    from ser_keras.runs import RunRecord

    rows = ("raw_seg_cnn", "egemaps_lld_mlp")
    data = ShortData(load_corpus("synthetic:tiny"), folds=("Ses01",), verbose=0)
    config = ShortConfig(budget="quick", rows=rows, verbose=0, **budget("synthetic", quick=True).settings)
    results = {}
    for on_device in (False, True):
        record = RunRecord(tmp_path / str(on_device), script="table1", fingerprint={"budget": "quick"}, config={})
        _, _, parts = ShortExperiment(data, config, record, inputs_on_device=on_device).run(rows)
        for row in rows:
            path = record.out / "models" / parts[row]["Ses01"]["model"]
            with h5py.File(path) as saved:
                assert "gather" not in saved.attrs["model_config"]
            results[on_device, row] = (parts[row]["Ses01"], keras.models.load_model(path, compile=False).get_weights())
    for row in rows:
        (host_part, host_weights), (device_part, device_weights) = results[False, row], results[True, row]
        for key in ("predictions", "validation_uar", "epochs", "chosen"):
            assert device_part[key] == host_part[key], (row, key)
        # atol: a conv bias ahead of BatchNorm has a zero gradient in exact arithmetic, so its
        # ~1e-5 values are that noise alone
        for host_weight, device_weight in zip(host_weights, device_weights, strict=True):
            np.testing.assert_allclose(device_weight, host_weight, rtol=1e-4, atol=2e-5)


# ELOR's 6 s slices: slice indices in the stream, the inputs cut in the split-head steps.


@pytest.fixture(scope="module")
def elor_data(tiny_root):
    from ser_keras.data.corpus import load_corpus
    from ser_keras.experiments.data import ElorData

    return ElorData(load_corpus("synthetic:tiny"), verbose=0)


def test_the_slice_stream_carries_indices_only_and_the_stage_cuts_the_host_batches(elor_data):
    index = np.arange(len(elor_data.owners))[::-1]
    for input_kind in ("raw", "mfcc", "is10", "raw+is10"):
        ids = elor_data.dataset(input_kind, index, batch_size=4, shuffle=True, seed=3, slice_ids=True)
        host = elor_data.dataset(input_kind, index, batch_size=4, shuffle=True, seed=3)
        assert ids.element_spec[0] == tf.TensorSpec((None,), tf.int64)
        stage = tf.function(elor_data.slice_inputs(input_kind, strategy=tf.distribute.get_strategy()))
        streamed = []
        for (slice_ids, id_labels), (inputs, labels) in zip(ids, host, strict=True):
            streamed.extend(slice_ids.numpy())
            cut = keras.tree.flatten(stage(slice_ids))
            for device_part, host_part in zip(cut, keras.tree.flatten(inputs), strict=True):
                np.testing.assert_array_equal(device_part.numpy(), host_part.numpy())
            for head in labels:
                np.testing.assert_array_equal(id_labels[head].numpy(), labels[head].numpy())
        assert sorted(streamed) == sorted(index) and streamed != list(index)  # every slice once, shuffled


def _elor_trainer(elor_data, train, on_device, strategy=None):
    from ser_keras.experiments.networks import NETWORKS
    from ser_keras.training.split_heads import SplitHeadTrainer

    spec = NETWORKS["elor_ftr"]
    config = spec.config_class.from_dict(spec.quick_hparams)
    strategy = strategy or tf.distribute.get_strategy()
    keras.utils.set_random_seed(5)
    stage = elor_data.slice_inputs(spec.input_kind, strategy=strategy) if on_device else None
    trainer = SplitHeadTrainer(
        lambda: spec.build(config, elor_data, train), learning_rate=0.05, seed=5, input_stage=stage, strategy=strategy
    )
    return trainer, spec.input_kind


def test_split_head_training_on_slice_indices_gives_the_weights_of_the_host_pipeline(elor_data, tmp_path):
    train, validation, test = elor_data.fold_slices(elor_data.folds[0])
    results = {}
    for on_device in (False, True):
        trainer, input_kind = _elor_trainer(elor_data, train, on_device)

        def stream(index, **shuffle):
            return elor_data.dataset(input_kind, index, batch_size=4, slice_ids=on_device, **shuffle)  # noqa: B023

        history = trainer.fit(stream(train, shuffle=True, seed=5), stream(validation), epochs=2, patience=2, verbose=0)
        path = tmp_path / f"elor_ftr_{on_device}.h5"
        save_h5(trainer.model, path)
        results[on_device] = (history, trainer.predict(stream(test)), load_h5(path).get_weights())
    (host_history, host_predictions, host_weights), (history, predictions, weights) = results[False], results[True]
    assert history == host_history
    for head in host_predictions:
        np.testing.assert_array_equal(predictions[head], host_predictions[head])
    for weight, host_weight in zip(weights, host_weights, strict=True):
        np.testing.assert_array_equal(weight, host_weight)


def test_the_gpu_branch_copies_the_slice_tables_once_and_trains_as_the_host_path(elor_data, monkeypatch):
    # The branch a GPU machine takes, run on the CPU: every table the cut reads is copied into a
    # mirrored strategy once, and split-head training on slice indices under that strategy
    # matches the host pipeline under the default strategy.
    from ser_keras.training import execution

    train, validation, _ = elor_data.fold_slices(elor_data.folds[0])
    inputs_on_device = dataclasses.replace(execution.current(), inputs_on_device=True)  # that decision only
    histories, weights = [], []
    for on_device in (False, True):
        if on_device:
            monkeypatch.setattr(execution, "current", lambda: inputs_on_device)
        strategy = tf.distribute.MirroredStrategy(["/cpu:0"]) if on_device else None
        trainer, input_kind = _elor_trainer(elor_data, train, on_device, strategy)

        def stream(index, **shuffle):
            return elor_data.dataset(input_kind, index, batch_size=4, slice_ids=on_device, **shuffle)  # noqa: B023

        histories.append(trainer.fit(stream(train, shuffle=True, seed=5), stream(validation), epochs=1, verbose=0))
        weights.append(trainer.model.get_weights())
    elor_data.slice_inputs("raw+is10", strategy=strategy)  # a second cut for the same strategy copies nothing
    copies = {key: list(by_strategy) for key, by_strategy in elor_data._features.items() if key.startswith("_device_")}
    assert copies == {key: [strategy] for key in ("_device_slice_owners", "_device_slice_starts", "_device_is10")}
    assert list(elor_data.store.__dict__["_device_tensors"]) == [strategy]  # the corpus, as for the windows
    for key in histories[0]:
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=1e-5, err_msg=key)
    for ours, theirs in zip(weights[1], weights[0], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


def test_the_saved_elor_network_takes_slices_not_indices(elor_data, tmp_path):
    train, _, _ = elor_data.fold_slices(elor_data.folds[0])
    trainer, _ = _elor_trainer(elor_data, train, on_device=True)
    save_h5(trainer.model, tmp_path / "elor_ftr.h5")
    reloaded = keras.models.load_model(tmp_path / "elor_ftr.h5", compile=False)
    assert [tuple(shape[1:]) for shape in reloaded.input_shape] == [(96000,), (1582,)]


@pytest.mark.integration
def test_table5_folds_on_slice_indices_equal_the_host_pipeline(elor_data, tmp_path):
    # The experiment-level wiring: a Table-5 fold of ELoR+FTR (raw slices and IS10 functionals)
    # and of LoM (MFCC) trained and tested on slice indices give the parts and saved networks of
    # the host path.
    from ser_keras.experiments.elor import ElorExperiment, ElorExperimentConfig, budget
    from ser_keras.runs import RunRecord

    config = ElorExperimentConfig(budget="quick", verbose=0, **budget("synthetic", quick=True).settings)
    fold = elor_data.folds[0]
    results = {}
    for on_device in (False, True):
        record = RunRecord(
            tmp_path / str(on_device), script="wieser_table5", fingerprint={"budget": "quick"}, config={}
        )
        experiment = ElorExperiment(elor_data, config, record, inputs_on_device=on_device)
        for network in ("elor_ftr", "lom"):
            part = experiment.run_fold(network, fold)
            model = load_h5(record.out / "models" / part["model"])
            assert model.input_shape == ([(None, 96000), (None, 1582)] if network == "elor_ftr" else (None, 599, 26))
            results[on_device, network] = (part, model.get_weights())
    for network in ("elor_ftr", "lom"):
        (host_part, host_weights), (device_part, device_weights) = results[False, network], results[True, network]
        # Equal up to float32 noise: two host-path runs of a fold in one process already differ
        # by up to 4e-5 in a weight here with op determinism off (1e-7 with it on, as the scripts
        # run). The largest such differences sit in conv biases ahead of BatchNorm, whose
        # gradient is zero in exact arithmetic: their ~1e-4 values are that noise alone.
        for head in ("arousal", "valence"):
            np.testing.assert_allclose(
                device_part[head].pop("probabilities"), host_part[head].pop("probabilities"), rtol=1e-4, atol=1e-5
            )
        assert set(device_part.pop("compute")) == set(host_part.pop("compute"))  # what each unit cost differs
        assert device_part == host_part  # ids, predictions, epochs, slices
        for host_weight, device_weight in zip(host_weights, device_weights, strict=True):
            np.testing.assert_allclose(device_weight, host_weight, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("search", ["short_mlp", "elor"])
def test_search_trials_on_ids_score_as_on_the_host_pipeline(search, elor_data, tiny_root):
    # tuning/search_short_mlp.py and search_elor.py on a GPU stream ids and gather in the step:
    # a trial with the same values scores what the host-pipeline trial scores.
    import keras_tuner

    from ser_keras.data.corpus import load_corpus
    from ser_keras.experiments.data import ShortData
    from ser_keras.tuning.tasks import elor_hypermodel, short_mlp_hypermodel

    metrics = {}
    for on_device in (False, True):
        if search == "short_mlp":
            data = ShortData(load_corpus("synthetic:tiny"), folds=("Ses01",), verbose=0)
            hypermodel, _ = short_mlp_hypermodel(
                data, data.folds[0], source="egemaps", quick=True, max_epochs=2, inputs_on_device=on_device
            )
        else:
            hypermodel, _, _ = elor_hypermodel(
                elor_data, "lom", elor_data.folds[0], quick=True, epochs=2, patience=2, inputs_on_device=on_device
            )
        stage = hypermodel.data.gather if search == "short_mlp" else hypermodel.input_stage
        assert (stage is not None) == on_device
        hp = keras_tuner.HyperParameters()
        keras.utils.set_random_seed(3)
        model = hypermodel.build(hp)
        metrics[on_device] = hypermodel.fit(hp, model)
    assert metrics[True].keys() == metrics[False].keys()
    for key, value in metrics[False].items():
        assert metrics[True][key] == pytest.approx(value, rel=1e-4), key
