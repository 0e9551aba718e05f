"""Training samples/s on a GPU with the inputs cut on the device, against the host
pipeline and the projection.

Raw SubSeg and Raw Seg (SHORT §2.3, 250 ms windows, the SGD recipe of ``train_frame_classifier``;
fresh networks, the two paths alternating round by round, the best epoch counting) and ELoR
(ELOR §3, 6 s slices, split-head steps; one path after the other, best round) are trained
through two input paths (ELoR's device path also through the other choice of
``ser_keras.training.routes``, routed vs TensorFlow's own ops, to check the trainer's default there):
  device  the stream carries ids only; the int16 corpus sits on the device and windows (slices)
          are cut there, inside the compiled train steps (``ser_keras.training.device_input``
          for the frame networks, the split-head trainer's input stage for ELoR);
  host    the tf.data pipelines of today (``window_dataset``, ``slice_dataset``).
An epoch is timed from its start to the first validation batch, after reading a weight back
(which waits for the device's queued steps); no per-step sync, as in real training.
On a GPU also: utilisation (``nvidia-smi`` sampled every 200 ms during the device-path
trainings, tracing epochs included), peak device memory, and each device-path rate against
``tools.bench.gpu_projection``'s assumption for that card (dense TF32 peak x 0.7 x the model's
efficiency from ``--pipeline-json``, else 1.0). Without a GPU the same code runs on the CPU and
says so; target there: device / host Raw SubSeg >= 0.95 (the new path is no slower on a CPU).

    python -m tools.bench.gpu --json gpu.json                        # on the GPU machine
    python -m tools.bench.gpu --quick --corpus synthetic:small       # anywhere, a few minutes
"""

import contextlib
import json
import shutil
import subprocess
import sys
import threading

from ser_keras import console
from tools.bench import harness

FULL = {"steps": 200, "epochs": 2, "rounds": 2, "elor_steps": 20, "elor_rounds": 3}
QUICK = {"steps": 12, "epochs": 2, "rounds": 2, "elor_steps": 1, "elor_rounds": 1}
# The projection's card for a detected GPU: the H200 is an H100 die with more memory (same dense TF32 peak).
PROJECTED_CARDS = {"H100": "H100 SXM", "H200": "H100 SXM", "A100": "A100 SXM"}
MONITOR_PERIOD_MS = 200


def gpu_name():
    """The first visible GPU's name (``"NVIDIA H200"``), or None without one."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")


class DeviceMonitor:
    """``nvidia-smi`` utilisation sampled in the background, and TF's peak GPU memory, over
    every block run ``with`` it (a monitor may be entered again; its samples add up).

    ``summary()``: ``{"utilisation_mean_pct", "utilisation_median_pct", "samples",
    "peak_memory_bytes"}``, None where the tool or the figure is unavailable.
    """

    def __init__(self):
        self.samples, self.peak_memory = [], None
        self._process = self._reader = None

    def __enter__(self):
        import tensorflow as tf

        tf.config.experimental.reset_memory_stats("GPU:0")
        if shutil.which("nvidia-smi"):
            self._process = subprocess.Popen(
                [
                    "nvidia-smi",
                    "--query-gpu=utilization.gpu",
                    "--format=csv,noheader,nounits",
                    "-i",
                    "0",
                    f"-lms={MONITOR_PERIOD_MS}",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            self._reader = threading.Thread(target=self._read, args=(self._process,), daemon=True)
            self._reader.start()
        return self

    def _read(self, process):
        for line in process.stdout:
            with contextlib.suppress(ValueError):
                self.samples.append(float(line.strip()))

    def __exit__(self, *exc_info):
        import tensorflow as tf

        peak = tf.config.experimental.get_memory_info("GPU:0")["peak"]
        self.peak_memory = peak if self.peak_memory is None else max(self.peak_memory, peak)
        if self._process is not None:
            self._process.terminate()
            self._process.wait()
            self._reader.join(timeout=5)
            self._process = self._reader = None

    def summary(self):
        import numpy as np

        samples = np.asarray(self.samples)
        return {
            "utilisation_mean_pct": float(samples.mean()) if len(samples) else None,
            "utilisation_median_pct": float(np.median(samples)) if len(samples) else None,
            "samples": len(samples),
            "peak_memory_bytes": self.peak_memory,
        }


def _drained_epoch_timer():
    """Seconds (both clocks) of each epoch's training steps: from its start to its first
    validation batch, after a weight read that waits for every queued step."""
    import keras

    class DrainedEpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds, self._started = [], None

        def on_epoch_begin(self, epoch, logs=None):
            self._started = harness.clock()

        def on_test_begin(self, logs=None):
            keras.ops.convert_to_numpy(self.model.trainable_weights[-1])
            self.seconds.append(harness.elapsed(self._started))

    return DrainedEpochTimer()


def _frame_rate(model, train, validation, *, batch_size, steps, epochs):
    """Examples/s (both clocks) of the SHORT recipe: ``epochs`` timed epochs after a tracing one."""
    from ser_keras.training.fit import train_frame_classifier

    timer = _drained_epoch_timer()
    train_frame_classifier(
        model, train, validation.take(1), steps_per_epoch=steps, max_epochs=epochs + 1, verbose=0, callbacks=[timer]
    )
    if len(timer.seconds) != epochs + 1:
        raise RuntimeError(f"Expected {epochs + 1} timed epochs, got {len(timer.seconds)}: the schedule stopped early.")
    return harness.best([harness.rates(batch_size * steps, seconds) for seconds in timer.seconds[1:]])


def frame_rates(store, config, *, batch_size, steps, epochs, rounds, on_gpu, seed=0):
    """``{"device", "host"}`` training rates of a SHORT raw CNN over the shuffled windows of
    ``store``, and ``"monitor"`` (device path, GPU only)."""
    import numpy as np

    from ser_keras.data.windows import frame_counts, frame_index, window_dataset, window_id_dataset
    from ser_keras.models.raw_cnn import build_raw_cnn
    from ser_keras.training.device_input import device_corpus, with_window_gather

    owners, frames = frame_index(frame_counts(store.lengths))
    targets = np.random.default_rng(seed).integers(0, 4, store.num_utterances)
    stream = {"targets": targets, "batch_size": batch_size, "shuffle": True, "seed": seed, "repeat": True}
    first = slice(0, batch_size)  # one untimed validation batch
    host = (
        window_dataset(store, owners, frames, **stream),
        window_dataset(store, owners[first], frames[first], targets, batch_size=batch_size),
    )
    device = (
        window_id_dataset(owners, frames, **stream),
        window_id_dataset(owners[first], frames[first], targets, batch_size=batch_size),
    )
    corpus = device_corpus(store)
    measured = {"host": [], "device": []}
    monitor = DeviceMonitor() if on_gpu else None
    for _ in range(rounds):
        measured["host"].append(
            _frame_rate(build_raw_cnn(config), *host, batch_size=batch_size, steps=steps, epochs=epochs)
        )
        with monitor or contextlib.nullcontext():
            measured["device"].append(
                _frame_rate(
                    with_window_gather(build_raw_cnn(config), corpus),
                    *device,
                    batch_size=batch_size,
                    steps=steps,
                    epochs=epochs,
                )
            )
    return {
        **{path: harness.best(values) for path, values in measured.items()},
        "monitor": monitor and monitor.summary(),
    }


def elor_rates(store, *, steps, rounds, on_gpu, seed=0):
    """``{"device", "host"}`` split-head training rates of ELoR over 6 s slices of ``store``
    (samples/s), and ``"monitor"`` (device path, GPU only)."""
    import numpy as np
    import tensorflow as tf

    from ser_keras.data.windows import batched_stream, slice_starts
    from ser_keras.models.elor import HEADS, ElorConfig, build_elor
    from ser_keras.training.device_input import device_corpus
    from ser_keras.training.split_heads import SplitHeadTrainer

    config = ElorConfig()
    owners, starts = slice_starts(store.lengths)
    full = len(owners) // config.batch_size * config.batch_size
    if full == 0:
        raise ValueError(f"The corpus gives {len(owners)} slices, fewer than one batch of {config.batch_size}.")
    rng = np.random.default_rng(seed)
    labels = {head: tf.constant(rng.integers(0, config.num_classes, config.batch_size), tf.int32) for head in HEADS}
    corpus = device_corpus(store, tf.distribute.get_strategy())
    slice_ids = tf.data.Dataset.from_tensor_slices(np.stack([owners[:full], starts[:full]], axis=1).astype(np.int64))
    batches = iter(batched_stream(slice_ids.repeat(), config.batch_size, lambda ids: ids))

    def device_rate(routes, monitor=None):
        trainer = SplitHeadTrainer(
            lambda: build_elor(config),
            learning_rate=config.learning_rate,
            momentum=config.momentum,
            seed=seed,
            routes=routes,
            input_stage=lambda ids: corpus.slices(ids[:, 0], ids[:, 1]),
        )

        def run_round():
            for _ in range(steps):
                trainer.train_step(next(batches), labels)

        trainer.train_step(next(batches), labels)  # traces both head updates
        with monitor or contextlib.nullcontext():
            return harness.best_rate(run_round, config.batch_size * steps, rounds=rounds)

    monitor = DeviceMonitor() if on_gpu else None
    device = device_rate(None, monitor)  # the trainer's default: routed on a CPU only
    # Routed and TensorFlow's own ops, to check the default on this device.
    routes = {
        "routed": device_rate(True) if on_gpu else device,
        "tensorflow": device_rate(False) if not on_gpu else device,
    }
    _, host = harness.elor_rate(store, config, steps=steps, rounds=rounds, seed=seed)
    return {"device": device, "host": host, "monitor": monitor and monitor.summary(), "routes": routes}


def projected_rates(name, efficiency):
    """Samples/s ``tools.bench.gpu_projection`` assumes on the GPU ``name`` per model, or None for a
    card it does not list. ``efficiency``: the model's share of the matmul ceiling (1.0 if absent)."""
    from ser_keras.models.elor import build_elor
    from ser_keras.models.raw_cnn import build_raw_seg, build_raw_subseg
    from tools.bench.gpu_projection import GEMM_SHARE, GPUS
    from tools.bench.harness.flops import split_head_training_flops, training_flops

    card = next((card for key, card in PROJECTED_CARDS.items() if key in (name or "")), None)
    if card is None:
        return None
    work = {
        "raw_subseg": training_flops(build_raw_subseg()),
        "raw_seg": training_flops(build_raw_seg()),
        "elor": split_head_training_flops(build_elor()),
    }
    peak = GPUS[card]["tf32"] * 1e12 * GEMM_SHARE
    return {"card": card, "rates": {model: peak * efficiency.get(model, 1.0) / flops for model, flops in work.items()}}


def measure(corpus, *, quick, batch_size=256, precision="float32", pipeline=None, steps=None, rounds=None):
    from ser_keras.models.raw_cnn import RAW_SEG, RAW_SUBSEG
    from ser_keras.training.device_input import device_corpus
    from ser_keras.training.precision import configure_precision

    name = gpu_name()
    on_gpu = name is not None
    budget = dict(QUICK if quick else FULL)
    budget.update({key: value for key, value in (("steps", steps), ("rounds", rounds)) if value is not None})
    precision = configure_precision(precision)
    store = harness.load_window_store(corpus)
    placement = device_corpus(store).rows.device
    print(
        f"GPU: {name}; corpus tensor on {placement}; precision {precision}."
        if on_gpu
        else f"No GPU visible: CPU figures ({'--quick sizes' if quick else 'full sizes'}); the corpus stays on "
        f"{placement}; no utilisation and no projection ratio.",
        flush=True,
    )
    timing = {
        "batch_size": batch_size,
        "steps": budget["steps"],
        "epochs": budget["epochs"],
        "rounds": budget["rounds"],
        "on_gpu": on_gpu,
    }
    models = {
        "raw_subseg": frame_rates(store, RAW_SUBSEG, **timing),
        "raw_seg": frame_rates(store, RAW_SEG, **timing),
        "elor": elor_rates(store, steps=budget["elor_steps"], rounds=budget["elor_rounds"], on_gpu=on_gpu),
    }
    efficiency = {model: min(1.0, figures["efficiency"]["cpu"]) for model, figures in (pipeline or {}).items()}
    projection = projected_rates(name, efficiency) if on_gpu else None
    records = []
    for model, figures in models.items():
        unit = "samples/s" if model == "elor" else "windows/s"
        for clock in harness.CLOCKS:
            records += [
                harness.record(f"{model}_device_input_rate ({clock})", figures["device"][clock], unit),
                harness.record(f"{model}_host_pipeline_rate ({clock})", figures["host"][clock], unit),
                harness.record(
                    f"device_vs_host_{model} ({clock})",
                    figures["device"][clock] / figures["host"][clock],
                    "ratio",
                    at_least=0.95 if model == "raw_subseg" else None,
                ),
            ]
        if model == "elor":
            routes = figures["routes"]
            records.append(
                harness.record(
                    "elor_routed_vs_tensorflow (wall)", routes["routed"]["wall"] / routes["tensorflow"]["wall"], "ratio"
                )
            )
        if projection is not None:
            records.append(
                harness.record(
                    f"{model}_device_vs_projection_{projection['card'].split()[0].lower()}",
                    figures["device"]["wall"] / projection["rates"][model],
                    "ratio",
                )
            )
        monitor = figures["monitor"]
        if monitor is not None:
            records.append(harness.record(f"{model}_gpu_utilisation_mean", monitor["utilisation_mean_pct"], "%"))
            records.append(harness.record(f"{model}_peak_gpu_memory", monitor["peak_memory_bytes"] / harness.GB, "GB"))
    details = {
        "corpus": corpus,
        "quick": quick,
        "gpu": name,
        "corpus_placement": placement,
        "precision": precision,
        "budget": budget,
        "batch_size": batch_size,
        "models": models,
        "projection": projection,
        "efficiency_from_pipeline_json": efficiency or None,
    }
    return records, details


def main(argv=None):
    # Set up as the ser-keras commands are, before TensorFlow loads: oneDNN on, TensorFlow quiet.
    console.quiet()
    from ser_keras.training.precision import PRECISIONS

    parser = harness.benchmark_parser(
        __doc__, corpus="synthetic:full", quick_help="few, short timed rounds (the CPU-sized run)"
    )
    parser.add_argument("--batch-size", type=int, default=256, help="frame networks' batch (SHORT: 256)")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="Keras dtype policy (default float32: the projection assumes TF32)",
    )
    parser.add_argument("--steps", type=int, help="timed steps per epoch of the frame networks (overrides the budget)")
    parser.add_argument("--rounds", type=int, help="rounds per path of the frame networks (overrides the budget)")
    parser.add_argument("--pipeline-json", help="JSON written by tools.bench.pipeline (model efficiencies)")
    args = parser.parse_args(argv)
    pipeline = None
    if args.pipeline_json:
        with open(args.pipeline_json) as handle:
            pipeline = json.load(handle)["details"]["models"]
    records, details = measure(
        args.corpus,
        quick=args.quick,
        batch_size=args.batch_size,
        precision=args.precision,
        pipeline=pipeline,
        steps=args.steps,
        rounds=args.rounds,
    )
    harness.finish(records, details, args.json)


if __name__ == "__main__":
    sys.exit(main())
