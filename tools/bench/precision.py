"""Benchmark --mixed-precision: training rates of Raw SubSeg, the LLD MLP (3 × 1024)
and ELoR's split-head step in float32 and in the mixed policy ``--mixed-precision`` picks here.

The policy is the one the replicate scripts take on this machine
(``ser_keras.training.precision.mixed_policy``): bfloat16 where the hardware computes it
natively, else float16 with loss scaling for the Keras-compiled networks; the split-head loop
has no loss scaling, so ELoR always takes bfloat16. Float32 and mixed rounds alternate in one
process (a model takes the global policy it is built under); the best round of each counts,
and the figure is the mixed / float32 speed-up on both clocks.

    python -m tools.bench.precision --quick --json precision.json
"""

import sys

from ser_keras import console
from tools.bench import harness

QUICK = {"steps": 6, "epochs": 2, "rounds": 2, "elor_steps": 1, "elor_rounds": 1}
FULL = {"steps": 20, "epochs": 3, "rounds": 3, "elor_steps": 3, "elor_rounds": 2}


def _under_policy(policy, measure):
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        return measure()
    finally:
        keras.mixed_precision.set_global_policy(previous)


def measure(corpus, *, quick):
    from ser_keras.models.elor import ElorConfig
    from ser_keras.models.raw_cnn import RAW_SUBSEG
    from ser_keras.training.precision import mixed_policy, native_bfloat16

    budget = QUICK if quick else FULL
    store = harness.load_window_store(corpus)
    policies = {
        "raw_subseg": mixed_policy(),
        "lld_mlp_3x1024": mixed_policy(),
        "elor": mixed_policy(loss_scaling=False),
    }
    workloads = {
        "raw_subseg": lambda: harness.raw_cnn_rates(
            store, RAW_SUBSEG, steps=budget["steps"], epochs=budget["epochs"], in_memory=False
        )["pipeline"],
        "lld_mlp_3x1024": lambda: harness.lld_mlp_rate(
            store, (1024, 1024, 1024), steps=budget["steps"], epochs=budget["epochs"]
        )[1],
        "elor": lambda: harness.elor_rate(
            store, ElorConfig(), steps=budget["elor_steps"], rounds=budget["elor_rounds"]
        )[1],
    }
    print(f"bfloat16 native here: {native_bfloat16()}; mixed policies: {policies}", flush=True)
    records, details = (
        [],
        {"corpus": corpus, "quick": quick, "native_bfloat16": native_bfloat16(), "policies": policies, "rates": {}},
    )
    for name, workload in workloads.items():
        rounds = 1 if name == "elor" else budget["rounds"]
        measured = {"float32": [], policies[name]: []}
        for _ in range(rounds):
            for policy in measured:
                measured[policy].append(_under_policy(policy, workload))
        best = {policy: harness.best(values) for policy, values in measured.items()}
        details["rates"][name] = best
        unit = "samples/s" if name == "elor" else "windows/s"
        for clock in ("wall", "cpu"):
            fp32, mixed = best["float32"][clock], best[policies[name]][clock]
            records += [
                harness.record(f"{name}_float32_rate ({clock})", fp32, unit),
                harness.record(f"{name}_{policies[name]}_rate ({clock})", mixed, unit),
                harness.record(f"{name}_mixed_speedup ({clock})", mixed / fp32, "x"),
            ]
        print(
            f"{name}: float32 {best['float32']['cpu']:.4g} {unit} (cpu clock), {policies[name]} "
            f"{best[policies[name]]['cpu']:.4g}: {best[policies[name]]['cpu'] / best['float32']['cpu']:.2f}x",
            flush=True,
        )
    return records, details


def main(argv=None):
    # Set up as the ser-keras commands are, before TensorFlow loads: oneDNN on, TensorFlow quiet.
    console.quiet()
    parser = harness.benchmark_parser(__doc__, corpus="synthetic:small", quick_help="fewer timed steps and rounds")
    args = parser.parse_args(argv)
    records, details = measure(args.corpus, quick=args.quick)
    harness.finish(records, details, args.json)


if __name__ == "__main__":
    sys.exit(main())
