"""The tf.data pipeline's overhead and the models' compute efficiency.

1. Raw SubSeg training windows/s with windows streamed by ``window_dataset`` (shuffled
   250 ms windows of the corpus) vs. on one pre-built random batch, same process.
   Target: pipeline / in-memory >= 0.90.
2. Training FLOPs per window x windows/s through the real pipelines vs. a 4096² float32
   matmul measured in the same run (best of a measurement before and after the models).
   Target >= 0.85 for Raw SubSeg; Raw Seg, the LLD-context MLP (3 x 1024, random LLDs with
   the corpus' frame counts) and ELoR (6 s slices, split-head steps) are reported.
   Profile of Raw SubSeg: each Conv/Dense layer's training FLOP/s run alone; from them, the
   efficiency the weighted layers alone would give and the share of a real step spent
   outside them (bias, ReLU and max-pooling over conv1's output, loss, optimizer, input).
Every figure is given on the wall clock and on the process' CPU clock (see
``tools.bench.harness.timing``): on a loaded machine the CPU-clock ratios are the stable ones.

    python -m tools.bench.pipeline --quick --json pipeline.json
"""

import sys

from ser_keras import console
from tools.bench import harness

FULL = {"steps": 40, "epochs": 3, "rounds": 2, "elor_steps": 2, "elor_rounds": 3, "matmul_rounds": 5}
QUICK = {"steps": 15, "epochs": 2, "rounds": 2, "elor_steps": 1, "elor_rounds": 1, "matmul_rounds": 3}
LLD_MLP_LAYERS = (1024, 1024, 1024)


def measure(corpus, *, quick, batch_size=256):
    from ser_keras.models.raw_cnn import RAW_SEG, RAW_SUBSEG, build_raw_cnn
    from tools.bench.harness.flops import split_head_training_flops, training_flops

    budget = QUICK if quick else FULL
    store = harness.load_window_store(corpus)
    ceiling = harness.matmul_flops_per_s(rounds=budget["matmul_rounds"])
    timing = {key: budget[key] for key in ("steps", "epochs")}
    subseg = harness.raw_cnn_rates(store, RAW_SUBSEG, batch_size=batch_size, rounds=budget["rounds"], **timing)
    seg = harness.raw_cnn_rates(store, RAW_SEG, batch_size=batch_size, in_memory=False, **timing)
    mlp, mlp_rate = harness.lld_mlp_rate(store, LLD_MLP_LAYERS, batch_size=batch_size, **timing)
    elor, elor_rate = harness.elor_rate(store, steps=budget["elor_steps"], rounds=budget["elor_rounds"])
    layers = harness.layer_training_rates(
        build_raw_cnn(RAW_SUBSEG), batch_size=batch_size, rounds=budget["matmul_rounds"]
    )
    ceiling = harness.best([ceiling, harness.matmul_flops_per_s(rounds=budget["matmul_rounds"])])

    models = {
        "raw_subseg": (training_flops(build_raw_cnn(RAW_SUBSEG)), subseg["pipeline"], "windows/s"),
        "raw_seg": (training_flops(build_raw_cnn(RAW_SEG)), seg["pipeline"], "windows/s"),
        "lld_mlp_3x1024": (training_flops(mlp), mlp_rate, "windows/s"),
        "elor": (split_head_training_flops(elor), elor_rate, "samples/s"),
    }
    records, details = (
        [],
        {
            "corpus": corpus,
            "quick": quick,
            "batch_size": batch_size,
            "budget": budget,
            "matmul_flops_per_s": ceiling,
            "in_memory_windows_per_s": subseg["in_memory"],
            "models": {},
        },
    )
    for clock in harness.CLOCKS:
        records += [
            harness.record(
                f"pipeline_vs_in_memory_raw_subseg ({clock})",
                subseg["pipeline"][clock] / subseg["in_memory"][clock],
                "ratio",
                at_least=0.90,
            ),
            harness.record(f"raw_subseg_in_memory_rate ({clock})", subseg["in_memory"][clock], "windows/s"),
            harness.record(f"matmul_4096_ceiling ({clock})", ceiling[clock] / 1e9, "GFLOP/s"),
        ]
    for name, (flops, rate, unit) in models.items():
        efficiency = {clock: flops * rate[clock] / ceiling[clock] for clock in harness.CLOCKS}
        for clock in harness.CLOCKS:
            records.append(harness.record(f"{name}_pipeline_rate ({clock})", rate[clock], unit))
            records.append(
                harness.record(
                    f"efficiency_{name} ({clock})",
                    efficiency[clock],
                    "of matmul",
                    at_least=0.85 if name == "raw_subseg" else None,
                )
            )
        details["models"][name] = {
            "training_flops_per_example": flops,
            "rate": rate,
            "unit": unit,
            "achieved_flops_per_s": {clock: flops * rate[clock] for clock in rate},
            "efficiency": efficiency,
        }
    records += subseg_profile_records(layers, models["raw_subseg"][0], subseg["pipeline"], ceiling, details)
    return records, details


def subseg_profile_records(layers, training_flops, pipeline_rate, ceiling, details):
    """Records of the Raw SubSeg layer profile; per-layer figures go to ``details``."""
    records, details["raw_subseg_layers"] = [], {}
    for clock in harness.CLOCKS:
        layer_seconds = sum(flops / rate[clock] for _, flops, rate in layers)  # per window
        records += [
            harness.record(
                f"raw_subseg_layers_alone_efficiency ({clock})",
                training_flops / layer_seconds / ceiling[clock],
                "of matmul",
            ),
            harness.record(
                f"raw_subseg_step_share_outside_layers ({clock})", 1 - layer_seconds * pipeline_rate[clock], "of step"
            ),
        ]
    for name, flops, rate in layers:
        details["raw_subseg_layers"][name] = {
            "training_flops_per_window": flops,
            "flops_per_s": rate,
            "of_matmul": {c: rate[c] / ceiling[c] for c in harness.CLOCKS},
        }
        print(
            f"raw_subseg {name}: {flops / 1e6:.2f} MFLOP per training window, alone "
            f"{rate['cpu'] / ceiling['cpu']:.2f} of matmul (cpu clock)"
        )
    return records


def main(argv=None):
    # Set up as the ser-keras commands are, before TensorFlow loads: oneDNN on, TensorFlow quiet.
    console.quiet()
    parser = harness.benchmark_parser(__doc__, corpus="synthetic:full", quick_help="fewer and shorter timed rounds")
    args = parser.parse_args(argv)
    records, details = measure(args.corpus, quick=args.quick)
    harness.finish(records, details, args.json)


if __name__ == "__main__":
    sys.exit(main())
