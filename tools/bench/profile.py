"""Where a Raw SubSeg and an ELoR training step spend their time, and what variants
that keep the published maths gain.

1. Trace: the TF profiler over a few training steps of SHORT's recipe (one pre-built batch of
   256 windows, after a tracing epoch, validation excluded) of the published Raw SubSeg and of
   its Conv2D twin; TF ops ranked by self time, by op type, by kind (weighted layers, bias,
   ReLU, max-pooling, reshapes, optimizer) and by layer.
2. Network variants, one process, alternating: published (Conv1D) vs. the Conv2D twin (the
   same network on a (1, 4000, 1) image: no ExpandDims/Squeeze around each convolution, so
   the graph optimiser may fuse bias and ReLU into it; same weights, same outputs, checked).
3. Evaluation batch: prediction windows/s at batch 256, 1024 and 4096.
4. oneDNN settings, each in a fresh process (TensorFlow reads them when it loads), published
   and twin: TF_ENABLE_ONEDNN_OPTS 0 and 1 (TF turns oneDNN on by itself only on CPUs with
   AVX-512 VNNI or AMX), TF_ONEDNN_USE_SYSTEM_ALLOCATOR=1, TF_ONEDNN_THREADPOOL_USE_CALLER_THREAD=1.
   Not tried: TF_ONEDNN_ASSUME_FROZEN_WEIGHTS (inference only: it caches weights that training
   changes) and TF_SET_ONEDNN_FPMATH_MODE (bf16 arithmetic: other maths).
5. ELoR: a trace of split-head steps (batch 32 of 6 s) with TensorFlow's own ops and through
   the routes of ser_keras.training.routes (the default on a CPU: stride-1 Conv1D kernel
   gradients as frame-pair matmuls, batch norms as the fused op), and the step speed-up.
Rates on both clocks, best of rounds; on a shared machine compare only ratios of one run.
The published network trains as the trainers train it: on a CPU with its conv3 and conv4 as
patch matmuls (ser_keras.training.routes); the Conv2D twin has no Conv1D to route.

    python -m tools.bench.profile --quick --json profile.json
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

from ser_keras import console
from tools.bench import harness

FULL = {
    "trace_steps": 5,
    "steps": 5,
    "epochs": 2,
    "rounds": 2,
    "setting_rounds": 2,
    "eval_windows": 4096,
    "eval_rounds": 3,
    "elor_steps": 2,
}
QUICK = {
    "trace_steps": 3,
    "steps": 3,
    "epochs": 1,
    "rounds": 1,
    "setting_rounds": 1,
    "eval_windows": 2048,
    "eval_rounds": 2,
    "elor_steps": 1,
}
BATCH_SIZE = 256
EVALUATION_BATCHES = (256, 1024, 4096)
ONEDNN_ON = {"TF_ENABLE_ONEDNN_OPTS": "1"}
ONEDNN_SETTINGS = {
    "onednn_off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "onednn_on": ONEDNN_ON,
    "onednn_on_system_allocator": {**ONEDNN_ON, "TF_ONEDNN_USE_SYSTEM_ALLOCATOR": "1"},
    "onednn_on_caller_thread": {**ONEDNN_ON, "TF_ONEDNN_THREADPOOL_USE_CALLER_THREAD": "1"},
}
ONEDNN_VARIABLES = sorted({variable for setting in ONEDNN_SETTINGS.values() for variable in setting})
TOP = 12
# ELoR's step traced with TensorFlow's own ops and through the routes.
ELOR_ROUTES = {"elor_tensorflow_ops": False, "elor_routed": True}


def _builders():
    from ser_keras.models.raw_cnn import RAW_SUBSEG, build_raw_cnn
    from tools.bench.harness.profile import conv2d_twin

    return {"published": lambda: build_raw_cnn(RAW_SUBSEG), "conv2d_twin": lambda: conv2d_twin(RAW_SUBSEG)}


def twin_difference():
    """Largest |posterior difference| between Raw SubSeg and its Conv2D twin with the same weights."""
    import numpy as np

    from ser_keras.models.raw_cnn import RAW_SUBSEG, build_raw_cnn
    from tools.bench.harness.profile import conv2d_twin, copy_weights_to_twin

    network, twin = build_raw_cnn(RAW_SUBSEG), conv2d_twin(RAW_SUBSEG)
    copy_weights_to_twin(network, twin)
    windows = np.random.default_rng(0).standard_normal((16, 4000), dtype=np.float32)
    return float(np.abs(twin.predict(windows, verbose=0) - network.predict(windows, verbose=0)).max())


def trace(build, steps, logdir):
    """Op self times of ``steps`` traced training steps: ``(ranked tables, step ms, ops seen)``."""
    from tools.bench.harness import in_memory_dataset
    from tools.bench.harness.profile import trace_frame_training

    model = build()
    dataset = in_memory_dataset((4000,), batch_size=BATCH_SIZE)
    path, seconds = trace_frame_training(model, dataset, dataset, steps=steps, logdir=logdir)
    return _op_tables(path, model, steps, seconds)


def trace_elor(routes, steps, logdir):
    """Like :func:`trace`, for ELoR split-head steps (one batch of 32 random 6 s slices), with
    TensorFlow's own ops or (``routes``) through the routes of the trainer's default on a CPU."""
    import keras
    import numpy as np
    import tensorflow as tf

    from ser_keras.models.elor import HEADS, ElorConfig, build_elor
    from ser_keras.training.split_heads import SplitHeadTrainer
    from tools.bench.harness.profile import trace_split_head_training

    config = ElorConfig()
    keras.utils.set_random_seed(0)
    trainer = SplitHeadTrainer(
        lambda: build_elor(config), learning_rate=config.learning_rate, momentum=config.momentum, routes=routes
    )
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((config.batch_size, config.input_length), dtype=np.float32))
    labels = {head: tf.constant(rng.integers(0, config.num_classes, config.batch_size)) for head in HEADS}
    path, seconds = trace_split_head_training(trainer, x, labels, steps=steps, logdir=logdir)
    return _op_tables(path, trainer.model, steps, seconds)


def _op_tables(path, model, steps, seconds):
    from tools.bench.harness.profile import network_part, op_kind, op_self_times, rank

    layer_names = {layer.name for layer in model.layers}
    times = op_self_times(path)
    tables = {
        "op type": rank(times, lambda name, op_type: op_type, steps=steps, top=TOP),
        "kind": rank(times, lambda name, op_type: op_kind(op_type, network_part(name, layer_names)), steps=steps),
        "layer / op type": rank(
            times, lambda name, op_type: f"{network_part(name, layer_names)} {op_type}", steps=steps, top=TOP
        ),
    }
    return tables, 1e3 * seconds / steps, sorted({op_type for _, op_type, _ in times})


def print_tables(title, tables, step_ms):
    print(f"\n{title}: {step_ms:.0f} ms per traced step (wall); op self time per step, share of all op time")
    for heading, rows in tables.items():
        print(f"  by {heading}:")
        for group, milliseconds, share, count in rows:
            print(f"    {group:<48} {milliseconds:9.2f} ms  {100 * share:5.1f} %  ({count} events)")


def setting_rates(rounds, budget):
    """Training rates of both networks under each oneDNN setting, each run in a fresh process."""
    measured = {name: [] for name in ONEDNN_SETTINGS}
    for _ in range(rounds):
        for name, variables in ONEDNN_SETTINGS.items():
            with tempfile.TemporaryDirectory() as folder:
                out = os.path.join(folder, "rates.json")
                arguments = [
                    "--rates-only",
                    "--json",
                    out,
                    "--steps",
                    str(budget["steps"]),
                    "--epochs",
                    str(budget["epochs"]),
                ]
                command, environment = harness.tool_command("profile", arguments, variables)
                done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise RuntimeError(
                        f"tools.bench.profile under {variables} exited with {done.returncode}:\n{done.stderr[-2000:]}"
                    )
                with open(out) as handle:
                    measured[name].append(json.load(handle))
    return {
        name: {network: harness.best([run[network] for run in runs]) for network in runs[0]}
        for name, runs in measured.items()
    }


def measure(quick, logdir):
    from ser_keras.models.raw_cnn import build_raw_subseg
    from tools.bench.harness.profile import OP_KINDS, evaluation_rates, training_rates

    budget = QUICK if quick else FULL
    builders = _builders()
    difference = twin_difference()
    print(f"Conv2D twin vs published, same weights: max |posterior difference| {difference:.2e}")
    traces = {}
    for name, build in builders.items():
        tables, step_ms, op_types = trace(build, budget["trace_steps"], os.path.join(logdir, name))
        onednn = any(op_type.startswith("_Mkl") for op_type in op_types)
        print_tables(f"{name} (oneDNN kernels {'on' if onednn else 'off'})", tables, step_ms)
        traces[name] = {"tables": tables, "step_ms": step_ms, "onednn": onednn}
    for name, routes in ELOR_ROUTES.items():
        tables, step_ms, _ = trace_elor(routes, budget["elor_steps"], os.path.join(logdir, name))
        print_tables(f"{name} (ELoR split-head step, batch 32)", tables, step_ms)
        traces[name] = {"tables": tables, "step_ms": step_ms}
    variants = training_rates(
        builders, batch_size=BATCH_SIZE, steps=budget["steps"], epochs=budget["epochs"], rounds=budget["rounds"]
    )
    evaluation = evaluation_rates(
        build_raw_subseg(), EVALUATION_BATCHES, windows=budget["eval_windows"], rounds=budget["eval_rounds"]
    )
    settings = setting_rates(budget["setting_rounds"], budget)

    records = [harness.record("conv2d_twin_max_posterior_difference", difference, "abs")]
    for name, figures in traces.items():
        records.append(harness.record(f"{name}_traced_step", figures["step_ms"], "ms"))
        for kind, _, share, _ in figures["tables"]["kind"]:
            records.append(
                harness.record(f"{name}_op_time_{kind.replace(' / ', '_').replace(' ', '_')}", share, "of op time")
            )
    records.append(
        harness.record(
            "elor_routed_vs_tensorflow_step",
            traces["elor_tensorflow_ops"]["step_ms"] / traces["elor_routed"]["step_ms"],
            "speed-up",
        )
    )
    for clock in harness.CLOCKS:
        records.append(
            harness.record(
                f"conv2d_twin_vs_published ({clock})",
                variants["conv2d_twin"][clock] / variants["published"][clock],
                "ratio",
            )
        )
        for batch_size in EVALUATION_BATCHES[1:]:
            records.append(
                harness.record(
                    f"evaluation_batch_{batch_size}_vs_256 ({clock})",
                    evaluation[batch_size][clock] / evaluation[256][clock],
                    "ratio",
                )
            )
        for name, rates in settings.items():
            for network, rate in rates.items():
                records.append(harness.record(f"{name}_{network}_rate ({clock})", rate[clock], "windows/s"))
                if name != "onednn_off":
                    records.append(
                        harness.record(
                            f"{name}_vs_onednn_off_{network} ({clock})",
                            rate[clock] / settings["onednn_off"][network][clock],
                            "ratio",
                        )
                    )
    details = {
        "quick": quick,
        "budget": budget,
        "batch_size": BATCH_SIZE,
        "traces": traces,
        "variants": variants,
        "evaluation": {str(size): rate for size, rate in evaluation.items()},
        "onednn_settings": settings,
        "environment": {variable: os.environ.get(variable) for variable in ONEDNN_VARIABLES},
        "op_kinds": OP_KINDS,
    }
    return records, details


def main(argv=None):
    # Set up as the ser-keras commands are, before TensorFlow loads: oneDNN on, TensorFlow quiet.
    console.quiet()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer traced steps and rounds")
    parser.add_argument("--trace-dir", help="keep the profiler traces here (TensorBoard's profile tab reads them)")
    parser.add_argument("--json", metavar="OUT", help="write {records, details} to this JSON file")
    parser.add_argument(
        "--rates-only",
        action="store_true",
        help="only the two networks' training rates, as JSON to --json (the oneDNN runs)",
    )
    parser.add_argument("--steps", type=int, default=FULL["steps"], help="with --rates-only: timed steps per epoch")
    parser.add_argument("--epochs", type=int, default=FULL["epochs"], help="with --rates-only: timed epochs")
    args = parser.parse_args(argv)
    if args.rates_only:
        from ser_keras.io import write_json
        from tools.bench.harness.profile import training_rates

        write_json(
            args.json,
            training_rates(_builders(), batch_size=BATCH_SIZE, steps=args.steps, epochs=args.epochs, rounds=1),
        )
        return
    with tempfile.TemporaryDirectory() as scratch:
        records, details = measure(args.quick, args.trace_dir or scratch)
    harness.finish(records, details, args.json)


if __name__ == "__main__":
    sys.exit(main())
