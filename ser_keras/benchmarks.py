"""Benchmark library: FLOP counts, a matmul ceiling, timed training and streaming, result records.

Not a paper section: the performance checks run by ``tools/bench_*.py``. On a shared
machine absolute speeds move with the load, so the targets are ratios measured in one
process, and every timed figure is the best of several timed rounds. Each rate is taken on
two clocks: ``wall`` (samples per second) and ``cpu`` (samples per CPU-second of the
process, all its threads, times the number of cores: what the process would do with the
machine to itself). Other processes' load moves the wall figure much more than the CPU
figure; a stall with idle cores shows only in the wall figure.

FLOPs are counted analytically from layer shapes. A Conv1D/Conv2D/Dense layer does one
multiply-add per kernel weight per output position: ``2 × positions × kernel size``
FLOPs forward. Biases, activations, pooling, batch normalisation and the window
z-normalisation are elementwise and left out (< 1 % of every model here). A training
step costs the forward pass, the weight gradients (as much again) and the input
gradients (as much again), except for the first weighted layer, whose input gradient
nothing needs: ``3 × forward − forward(first layer)``.

TensorFlow, Keras and PyTorch are imported inside the functions that use them, so table
formatting needs none of them and the PyTorch peer runs in a venv without TensorFlow.
"""

import math
import os
import resource
import sys
import time

RECORD_KEYS = ("name", "value", "unit", "target", "holds")
MATMUL_SIZE = 4096
GB = 1e9
# Figures are shown with 4 significant digits: run-to-run noise is larger than that.
_SIGNIFICANT = 4


# -- result records -------------------------------------------------------------------

def _round(value):
    return float(f"{value:.{_SIGNIFICANT}g}")


def record(name, value, unit, *, at_least=None, at_most=None):
    """One result ``{"name", "value", "unit", "target", "holds"}``.

    ``at_least`` / ``at_most``: the target bound (at most one). ``holds`` is None when
    there is no target or no value (a skipped benchmark has ``value`` None).
    """
    if at_least is not None and at_most is not None:
        raise ValueError(f"Give at most one bound for {name!r}; got at_least={at_least!r} and at_most={at_most!r}.")
    if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
        raise ValueError(f"The value of {name!r} must be a finite number or None. Got {value!r}.")
    bound, sign = (at_least, ">=") if at_least is not None else (at_most, "<=")
    target = None if bound is None else f"{sign} {_round(bound):g}"
    holds = None
    if bound is not None and value is not None:
        holds = bool(value >= bound) if sign == ">=" else bool(value <= bound)
    return {"name": name, "value": None if value is None else _round(value), "unit": unit,
            "target": target, "holds": holds}


def check_records(records):
    """Raise ValueError unless ``records`` is a list of well-formed result records."""
    if not isinstance(records, list):
        raise ValueError(f"Records must be a list. Got {type(records).__name__}.")
    for item in records:
        if not isinstance(item, dict) or tuple(item) != RECORD_KEYS:
            raise ValueError(f"A record must have exactly the keys {RECORD_KEYS} in order. Got {item!r}.")
        if item["holds"] not in (True, False, None):
            raise ValueError(f"'holds' must be true, false or null. Got {item['holds']!r} in {item['name']!r}.")
        if (item["holds"] is None) != (item["target"] is None or item["value"] is None):
            raise ValueError(f"'holds' must be null exactly when target or value is null: {item!r}.")
    return records


def format_table(records):
    """Plain-text table: name, value, unit, target and holds / MISSES / - (no target)."""
    rows = [("name", "value", "unit", "target", "result")]
    for item in records:
        value = "skipped" if item["value"] is None else f"{item['value']:g}"
        result = {True: "holds", False: "MISSES", None: "-"}[item["holds"]]
        rows.append((item["name"], value, item["unit"], item["target"] or "-", result))
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def markdown_table(records):
    """The same table in Markdown (for the README's Performance section)."""
    lines = ["| benchmark | value | unit | target | result |", "|---|---:|---|---|---|"]
    for item in records:
        value = "skipped" if item["value"] is None else f"{item['value']:g}"
        result = {True: "holds", False: "**misses**", None: "–"}[item["holds"]]
        lines.append(f"| {item['name']} | {value} | {item['unit']} | {item['target'] or '–'} | {result} |")
    return "\n".join(lines) + "\n"


def finish(records, details, json_path=None):
    """Check ``records``, print their table and write ``{"records", "details"}`` to ``json_path``."""
    from ser_keras.io import write_json

    print(format_table(check_records(records)))
    if json_path:
        write_json(json_path, {"records": records, "details": details})


# -- FLOP counting --------------------------------------------------------------------

def _weighted_layers(model):
    """Layers in graph order, nested models flattened."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _weighted_layers(layer)
        else:
            yield layer


def layer_forward_flops(layer):
    """Forward FLOPs per example of one layer: ``2 × output positions × kernel size``.

    0 for layers without a kernel (activations, pooling, normalisation, reshapes). A layer
    with a kernel of a kind not counted here raises TypeError, so no compute is missed.
    """
    import keras

    if isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Dense)) and not isinstance(
            layer, (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose)):
        positions = math.prod(int(size) for size in layer.output.shape[1:-1])
        return 2 * positions * math.prod(int(size) for size in layer.kernel.shape)
    if any(variable.path.endswith("kernel") for variable in layer.weights):
        raise TypeError(f"Cannot count FLOPs of layer {layer.name!r} ({type(layer).__name__}).")
    return 0


def flops_by_layer(model):
    """``[(layer name, forward FLOPs per example), ...]`` for every layer with a kernel."""
    return [(layer.name, flops) for layer in _weighted_layers(model) if (flops := layer_forward_flops(layer))]


def forward_flops(model):
    """Forward FLOPs per example of ``model``."""
    return sum(flops for _, flops in flops_by_layer(model))


def training_flops(model):
    """Forward + backward FLOPs per example: ``3 × forward − forward(first weighted layer)``."""
    layers = flops_by_layer(model)
    if not layers:
        raise ValueError(f"Model {model.name!r} has no Conv/Dense layer to count.")
    return 3 * sum(flops for _, flops in layers) - layers[0][1]


# -- timing helpers -------------------------------------------------------------------

def peak_rss_bytes():
    """Peak resident set size of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


CLOCKS = ("wall", "cpu")


def clock():
    """Now on both clocks: ``{"wall": perf_counter, "cpu": process CPU time}``."""
    return {"wall": time.perf_counter(), "cpu": time.process_time()}


def elapsed(since):
    """Seconds on both clocks since ``since`` (a :func:`clock` reading)."""
    now = clock()
    return {name: now[name] - since[name] for name in CLOCKS}


def rates(samples, seconds):
    """``{"wall": samples/s, "cpu": samples per CPU-second x cores}`` for :func:`elapsed` seconds."""
    return {"wall": samples / seconds["wall"], "cpu": samples * (os.cpu_count() or 1) / max(seconds["cpu"], 1e-9)}


def best(measurements):
    """The best of several :func:`rates` results, per clock."""
    return {name: max(measurement[name] for measurement in measurements) for name in CLOCKS}


def best_rate(run_round, samples_per_round, *, rounds):
    """Best :func:`rates` of ``rounds`` calls of ``run_round()`` (each does the same work)."""
    if rounds < 1:
        raise ValueError(f"'rounds' must be >= 1. Got {rounds!r}.")
    measurements = []
    for _ in range(rounds):
        started = clock()
        run_round()
        measurements.append(rates(samples_per_round, elapsed(started)))
    return best(measurements)


def matmul_flops_per_s(size=MATMUL_SIZE, *, rounds=5):
    """Ceiling: FLOP/s (both clocks) of a ``size``² float32 TensorFlow matmul (best round)."""
    import tensorflow as tf

    a = tf.random.normal((size, size), seed=1)
    b = tf.random.normal((size, size), seed=2)
    # Reducing to a scalar forces the product to finish without copying it out.
    product = tf.function(lambda: tf.reduce_sum(tf.linalg.matmul(a, b)))
    product().numpy()
    return best_rate(lambda: product().numpy(), 2 * size ** 3, rounds=rounds)


def _epoch_timer(steps):
    import keras

    class EpochTimer(keras.callbacks.Callback):
        """Seconds (both clocks) from each epoch's start to its last training batch."""

        def __init__(self):
            super().__init__()
            self.seconds, self._started = [], None

        def on_epoch_begin(self, epoch, logs=None):
            self._started = clock()

        def on_train_batch_end(self, batch, logs=None):
            if batch == steps - 1:
                self.seconds.append(elapsed(self._started))

    return EpochTimer()


def frame_training_rate(model, train_ds, val_ds, *, batch_size, steps, epochs):
    """Examples/s (both clocks) of SHORT's training recipe (``train_frame_classifier``) on ``train_ds``.

    Runs ``epochs + 1`` epochs of ``steps`` batches; the first (tracing) is dropped and the
    fastest of the rest counts. ``train_ds`` must repeat; validation runs one batch and is
    not timed.
    """
    from ser_keras.training.fit import train_frame_classifier

    timer = _epoch_timer(steps)
    train_frame_classifier(model, train_ds, val_ds, steps_per_epoch=steps, validation_steps=1,
                           max_epochs=epochs + 1, verbose=0, callbacks=[timer])
    if len(timer.seconds) != epochs + 1:
        raise RuntimeError(f"Expected {epochs + 1} timed epochs, got {len(timer.seconds)}: the schedule stopped early.")
    return best([rates(batch_size * steps, seconds) for seconds in timer.seconds[1:]])


def in_memory_dataset(input_shape, *, batch_size, num_classes=4, seed=0):
    """``(inputs, labels)`` of one pre-built random batch, repeated: no input pipeline cost."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((batch_size, *input_shape), dtype=np.float32)
    labels = rng.integers(0, num_classes, batch_size).astype(np.int32)
    return tf.data.Dataset.from_tensors((inputs, labels)).repeat()


def elor_training_rate(trainer, dataset, *, batch_size, steps, rounds):
    """Samples/s (both clocks) of ELoR split-head training steps (two updates per batch) on ``dataset``.

    One untimed batch traces both head updates; then the fastest of ``rounds`` rounds of
    ``steps`` batches counts.
    """
    batches = iter(dataset.repeat())
    trainer.train_step(*next(batches))

    def run_round():
        for _ in range(steps):
            trainer.train_step(*next(batches))

    return best_rate(run_round, batch_size * steps, rounds=rounds)


def stream_windows(dataset, *, max_batches=None, seconds=None):
    """Iterate a window dataset, stopping after ``max_batches`` batches or ``seconds`` if given.

    Returns ``(windows streamed, seconds taken, seconds to the first batch)``.
    """
    streamed, batches, first, started = 0, 0, None, time.perf_counter()
    for batch in dataset:
        streamed += int((batch[0] if isinstance(batch, tuple) else batch).shape[0])
        batches += 1
        if first is None:
            first = time.perf_counter() - started
        if batches == max_batches or (seconds is not None and time.perf_counter() - started >= seconds):
            break
    return streamed, time.perf_counter() - started, first or 0.0


def stream_epoch_figures(corpus_spec, *, batch_size=256, max_batches=None, seconds=None, seed=0, workers=2):
    """Load ``corpus_spec`` and stream one shuffled epoch of 250 ms windows (or the first
    ``max_batches`` batches / ``seconds``).

    Returns windows/s, the corpus' int16 bytes, peak RSS (call in a fresh process for a
    clean figure) and what materialising the epoch as float32 would take.
    """
    from ser_keras.data.corpus import load_corpus
    from ser_keras.data.windows import WINDOW, count_short, frame_counts, frame_index, load_store, window_dataset

    for name, value in (("max_batches", max_batches), ("seconds", seconds)):
        if value is not None and value <= 0:
            raise ValueError(f"'{name}' must be positive or None. Got {value!r}.")
    corpus = load_corpus(corpus_spec)
    started = time.perf_counter()
    store = load_store(corpus.utterances, workers=workers, progress=False)
    load_s = time.perf_counter() - started
    rss_loaded = peak_rss_bytes()
    owners, frames = frame_index(frame_counts(store.lengths))
    dataset = window_dataset(store, owners, frames, batch_size=batch_size, shuffle=True, seed=seed)
    streamed, elapsed, first = stream_windows(dataset, max_batches=max_batches, seconds=seconds)
    return {
        "corpus": corpus_spec, "utterances": store.num_utterances, "skipped": len(store.skipped),
        "short_utterances": count_short(store), "audio_hours": round(int(store.lengths.sum()) / 16000 / 3600, 3),
        "corpus_int16_bytes": int(store.samples.nbytes), "windows_in_epoch": len(owners),
        "windows_streamed": streamed, "full_epoch": streamed == len(owners), "batch_size": batch_size,
        "load_s": round(load_s, 2), "first_batch_s": round(first, 3), "stream_s": round(elapsed, 2),
        "windows_per_s": round(streamed / elapsed, 1), "peak_rss_after_load_bytes": rss_loaded,
        "peak_rss_bytes": peak_rss_bytes(), "materialised_float32_bytes": len(owners) * WINDOW * 4,
        "cpu_count": os.cpu_count(),
    }


# -- the models of SHORT and ELOR through the real pipelines ---------------------------

def load_window_store(corpus_spec, *, workers=2):
    """The corpus' kept utterances as a :class:`~ser_keras.data.windows.WaveformStore`."""
    from ser_keras.data.corpus import load_corpus
    from ser_keras.data.windows import load_store

    return load_store(load_corpus(corpus_spec).utterances, workers=workers, progress=False)


def raw_cnn_rates(store, config, *, batch_size=256, steps=20, epochs=3, rounds=1, in_memory=True, seed=0):
    """Training windows/s of a SHORT raw CNN through ``window_dataset`` (shuffled 250 ms
    windows of ``store``) and, with ``in_memory``, on a pre-built random batch.

    The two sources alternate ``rounds`` times, each a fresh model trained ``epochs``
    timed epochs; the fastest epoch of each source counts. Returns
    ``{"pipeline": {"wall", "cpu"}, "in_memory": {"wall", "cpu"}}``.
    """
    import numpy as np

    from ser_keras.data.windows import WINDOW, frame_counts, frame_index, window_dataset
    from ser_keras.models.raw_cnn import build_raw_cnn

    owners, frames = frame_index(frame_counts(store.lengths))
    targets = np.random.default_rng(seed).integers(0, 4, store.num_utterances)
    sources = {"pipeline": window_dataset(store, owners, frames, targets, batch_size=batch_size, shuffle=True,
                                          seed=seed, repeat=True)}
    if in_memory:
        sources["in_memory"] = in_memory_dataset((WINDOW,), batch_size=batch_size, seed=seed)
    validation = in_memory_dataset((WINDOW,), batch_size=batch_size, seed=seed + 1)
    measured = {name: [] for name in sources}
    for _ in range(rounds):
        for name, dataset in sources.items():
            measured[name].append(frame_training_rate(build_raw_cnn(config), dataset, validation,
                                                      batch_size=batch_size, steps=steps, epochs=epochs))
    return {name: best(values) for name, values in measured.items()}


def lld_mlp_rate(store, hidden_layers, *, num_features=130, max_utterances=600, batch_size=256, steps=20,
                 epochs=3, seed=0):
    """``(model, windows/s on both clocks)`` of the LLD-context MLP through ``context_dataset``.

    The LLD matrices are random (openSMILE on 7 h of audio takes far longer than the
    benchmark) but have the frame counts of the first ``max_utterances`` utterances.
    """
    import numpy as np

    from ser_keras.data.windows import context_dataset, frame_counts, frame_index
    from ser_keras.models.lld_mlp import LLD_CONTEXT, build_lld_mlp

    rng = np.random.default_rng(seed)
    counts = frame_counts(store.lengths[:max_utterances])
    matrices = [rng.standard_normal((count, num_features), dtype=np.float32) for count in counts]
    owners, frames = frame_index(counts)
    dataset = context_dataset(matrices, owners, frames, rng.integers(0, 4, len(counts)), batch_size=batch_size,
                              shuffle=True, seed=seed, repeat=True)
    model = build_lld_mlp(num_features, feature_mean=np.zeros(num_features), feature_variance=np.ones(num_features),
                          hidden_layers=hidden_layers)
    validation = in_memory_dataset((LLD_CONTEXT, num_features), batch_size=batch_size, seed=seed)
    rate = frame_training_rate(model, dataset, validation, batch_size=batch_size, steps=steps, epochs=epochs)
    return model, rate


def split_head_training_flops(model, heads=("valence", "arousal")):
    """FLOPs per example of one ELOR split-head batch: two updates, each a full forward
    pass and a backward pass through the trunk and one head."""
    head_forward = sum(flops for name, flops in flops_by_layer(model)
                       if any(name == head or name.startswith(f"{head}_") for head in heads))
    return 2 * training_flops(model) - 2 * head_forward


def elor_rate(store, config=None, *, steps=3, rounds=2, seed=0):
    """``(model, samples/s on both clocks)`` of ELoR split-head training on 6 s slices from
    ``slice_dataset``."""
    import numpy as np
    import tensorflow as tf

    from ser_keras.data.windows import slice_dataset, slice_starts
    from ser_keras.models.elor import HEADS, ElorConfig, build_elor
    from ser_keras.training.split_heads import SplitHeadTrainer

    config = config or ElorConfig()
    owners, starts = slice_starts(store.lengths)
    full = len(owners) // config.batch_size * config.batch_size  # whole batches: one traced shape
    if full == 0:
        raise ValueError(f"The corpus gives {len(owners)} slices, fewer than one batch of {config.batch_size}.")
    rng = np.random.default_rng(seed)
    labels = {head: tf.constant(rng.integers(0, config.num_classes, config.batch_size), tf.int32) for head in HEADS}
    dataset = slice_dataset(store, owners[:full], starts[:full], batch_size=config.batch_size).map(
        lambda waveforms: (waveforms, labels))
    trainer = SplitHeadTrainer(lambda: build_elor(config), learning_rate=config.learning_rate,
                               momentum=config.momentum, seed=seed)
    rate = elor_training_rate(trainer, dataset, batch_size=config.batch_size, steps=steps, rounds=rounds)
    return trainer.model, rate


# -- the PyTorch peer -----------------------------------------------------------------

def torch_raw_cnn_rate(stages, *, hidden_units, num_classes=4, window=4000, batch_size=256, steps=10, rounds=3,
                       seed=0):
    """Training windows/s of a raw CNN built from ``stages`` (dicts of ``ConvStage`` fields)
    in PyTorch on the CPU: same layers, SGD(0.1, momentum 0.5), cross-entropy, one
    pre-built random batch. Returns ``{"windows_per_s": {"wall", "cpu"}, "torch", "threads"}``."""
    import torch

    torch.manual_seed(seed)
    layers, channels, length = [], 1, window
    for stage in stages:
        layers += [torch.nn.Conv1d(channels, stage["filters"], stage["kernel_size"], stride=stage["strides"]),
                   torch.nn.ReLU()]
        channels, length = stage["filters"], (length - stage["kernel_size"]) // stage["strides"] + 1
        if stage["pool_size"]:
            layers.append(torch.nn.MaxPool1d(stage["pool_size"]))
            length //= stage["pool_size"]
    layers += [torch.nn.Flatten(), torch.nn.Linear(channels * length, hidden_units), torch.nn.ReLU(),
               torch.nn.Linear(hidden_units, num_classes)]
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    loss_function = torch.nn.CrossEntropyLoss()  # log-softmax + NLL = Keras softmax + sparse cross-entropy
    inputs = torch.randn(batch_size, 1, window)
    labels = torch.randint(0, num_classes, (batch_size,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_function(model(inputs), labels).backward()
        optimizer.step()

    step()

    def run_round():
        for _ in range(steps):
            step()

    rate = best_rate(run_round, batch_size * steps, rounds=rounds)
    return {"windows_per_s": rate, "torch": torch.__version__, "threads": torch.get_num_threads()}


def torch_peer_rate(python, stages, **options):
    """Run :func:`torch_raw_cnn_rate` under the interpreter ``python`` (a venv with torch and
    numpy) in a fresh process, so its threads never share a process with TensorFlow's."""
    import json
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); from ser_keras.benchmarks import torch_raw_cnn_rate; "
            "arguments = json.loads(sys.argv[2]); "
            "print(json.dumps(torch_raw_cnn_rate(arguments.pop('stages'), **arguments)))")
    done = subprocess.run([python, "-c", code, root, json.dumps({"stages": stages, **options})],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"The PyTorch peer under {python} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- features and end-to-end scripts ----------------------------------------------------

def feature_extraction_figures(utterances, *, cache_dir, workers=(1, 2)):
    """Wall time of ComParE LLD + functionals extraction on 1 and 2 worker processes, and of
    a re-run that hits a fresh ``FeatureCache`` in ``cache_dir``.

    The worker-count runs write no cache, so they time extraction alone (each includes
    starting its pool, which a real run pays once). A further run on the last worker count
    fills the cache and the re-run reads it. Returns seconds per run, the real-time factors
    (extraction seconds per audio second) and the speed-ups.
    """
    import soundfile

    from ser_keras.features.cache import FeatureCache
    from ser_keras.features.opensmile_sets import FeatureSet, extract_utterances

    audio_s = sum(u.duration if u.duration is not None else soundfile.info(u.path).duration for u in utterances)
    feature_sets = (FeatureSet.ComParE_2016_LLD, FeatureSet.ComParE_2016_functionals)

    def extract(count, cache=None):
        started = time.perf_counter()
        for feature_set in feature_sets:
            extract_utterances(feature_set, utterances, workers=count, progress=False, cache=cache,
                               cache_namespace=None if cache is None else "benchmark")
        return time.perf_counter() - started

    seconds = {count: extract(count) for count in workers}
    cache = FeatureCache(cache_dir)
    fill_s = extract(workers[-1], cache)
    hit_s = extract(workers[-1], cache)
    return {"utterances": len(utterances), "audio_s": audio_s, "seconds": seconds,
            "real_time_factor": {count: value / audio_s for count, value in seconds.items()},
            "speedup": seconds[workers[0]] / seconds[workers[-1]], "cache_fill_s": fill_s,
            "cache_hit_s": hit_s, "cache_speedup": fill_s / hit_s}


def script_wall_time(script, arguments, *, log_path, timeout_s):
    """Seconds ``python script arguments`` takes (output to ``log_path``); None if the
    script does not exist. A failing script raises RuntimeError with its last output."""
    import subprocess

    if not os.path.exists(script):
        return None
    started = time.perf_counter()
    with open(log_path, "w") as log:
        done = subprocess.run([sys.executable, script, *arguments], stdout=log, stderr=subprocess.STDOUT,
                              timeout=timeout_s, check=False)
    if done.returncode != 0:
        with open(log_path) as log:
            tail = log.read()[-2000:]
        raise RuntimeError(f"{script} exited with {done.returncode}; the end of its output:\n{tail}")
    return time.perf_counter() - started
