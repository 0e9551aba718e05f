"""Project the full SHORT Table 1 (IEMOCAP) and the 70-trial ELoR search onto GPUs.

Method (printed beside the numbers and stored in the JSON):
  work  = sum over trainings of  epochs x training examples x training FLOPs per example
          + (validation examples per epoch + test examples) x forward FLOPs per example,
          with FLOPs counted from the layer shapes (``tools.bench.harness.flops``);
  time  = work / (published dense TF32 peak x GEMM share x model efficiency),
          GEMM share = 0.7 (what large matmuls typically reach of the datasheet peak),
          model efficiency = the share of the matmul ceiling each model reached on this
          CPU in benchmark 2, CPU clock, capped at 1 (``--pipeline-json``; 1.0 without
          it, a pure FLOP bound).
  The CPU row divides the same work by the FLOP/s each model reached here (CPU clock:
  the machine to itself).
Small 1-D convolutions use a GPU less well than a CPU's matmul ceiling suggests, and the
input pipeline must then deliver the windows/s shown (raw_subseg_input_rate_needed_*), so
the GPU figures are lower bounds.
Not projected: SVM/RF/BoAW rows (CPU work), relevance-signal trainings, feature extraction.

    python -m tools.bench.gpu_projection --pipeline-json pipeline.json --json projection.json
"""

import argparse
import json
import sys

from ser_keras import console
from tools.bench import harness

# Published dense peaks, TFLOP/s (NVIDIA datasheets: the sparsity figures halved).
GPUS = {
    "H100 SXM": {"tf32": 494.7, "fp32": 67.0},
    "A100 SXM": {"tf32": 156.0, "fp32": 19.5},
    "GTX 1080": {"tf32": None, "fp32": 8.87},
}
GEMM_SHARE = 0.7
# IEMOCAP four-class view (ang, hap+exc, neu, sad): 5531 turns, about 7.0 h: one window per 10 ms.
IEMOCAP_FOUR_CLASS_HOURS = 7.0
# Leave-one-session-out: 4/5 of the audio trains (80 % train, 20 % validation), 1/5 tests.
SHORT_SPLIT = {"train": 0.8 * 0.8, "validation": 0.8 * 0.2, "test": 0.2}
SHORT_FOLDS = 5
# Assumption: the LR-halving schedule (4 epochs, then 17 halvings from 0.1 to below 1e-6,
# each after an epoch of < 0.002 improvement) stops after about 25 epochs.
SHORT_EPOCHS = 25
# ELOR: 8522 six-second samples (E-2), 10 leave-one-speaker-out folds; a search trial trains
# on 80 % of a fold's 9-speaker pool and validates on 20 %; assumed 30 epochs per trial
# (early stopping, patience 10). Paper: 70 trials took 49 days on one GTX 1080.
ELOR_SAMPLES, ELOR_TRIALS, ELOR_EPOCHS, ELOR_PAPER_DAYS = 8522, 70, 30, 49


def short_trainings():
    """``[(network, efficiency key, forward FLOPs, training FLOPs, trainings per fold)]``."""
    import numpy as np

    from ser_keras.models.lld_mlp import LLD_MLP_GRID, build_lld_mlp
    from ser_keras.models.raw_cnn import build_raw_seg, build_raw_subseg
    from tools.bench.harness.flops import forward_flops, training_flops

    rows = []
    for name, build in (("raw_subseg", build_raw_subseg), ("raw_seg", build_raw_seg)):
        model = build()
        rows.append((name, name, forward_flops(model), training_flops(model)))
    for features, dimension in (("compare", 130), ("egemaps", 23)):
        for layers in LLD_MLP_GRID:  # the validation grid: every entry trains on every fold
            model = build_lld_mlp(
                dimension, feature_mean=np.zeros(dimension), feature_variance=np.ones(dimension), hidden_layers=layers
            )
            rows.append(
                (
                    f"{features}_lld_mlp_{'x'.join(map(str, layers))}",
                    "lld_mlp_3x1024",
                    forward_flops(model),
                    training_flops(model),
                )
            )
    return rows


def project(pipeline):
    """Hours per device for SHORT Table 1 and the ELoR search, and the per-network work."""
    from ser_keras.models.elor import build_elor
    from tools.bench.harness.flops import forward_flops, split_head_training_flops

    models = (pipeline or {}).get("models", {})
    efficiency = {name: min(1.0, figures["efficiency"]["cpu"]) for name, figures in models.items()}
    windows = IEMOCAP_FOUR_CLASS_HOURS * 3600 * 100
    parts = {}
    for name, key, forward, training in short_trainings():
        train, val, test = (windows * SHORT_SPLIT[part] for part in ("train", "validation", "test"))
        work = SHORT_FOLDS * (SHORT_EPOCHS * (train * training + val * forward) + test * forward)
        parts[name] = (work, key)
    elor = build_elor()
    train, val = ELOR_SAMPLES * 0.9 * 0.8, ELOR_SAMPLES * 0.9 * 0.2
    parts["elor_search"] = (
        ELOR_TRIALS * ELOR_EPOCHS * (train * split_head_training_flops(elor) + val * forward_flops(elor)),
        "elor",
    )

    def hours(names, flops_per_s):
        return sum(parts[name][0] / flops_per_s(parts[name][1]) for name in names) / 3600

    short_names = [name for name in parts if name != "elor_search"]
    table = {}
    for gpu in ("H100 SXM", "A100 SXM"):
        rate = lambda key, gpu=gpu: GPUS[gpu]["tf32"] * 1e12 * GEMM_SHARE * efficiency.get(key, 1.0)  # noqa: E731
        table[gpu] = {"short_table1": hours(short_names, rate), "elor_search": hours(["elor_search"], rate)}
    if models:
        rate = lambda key: models[key]["achieved_flops_per_s"]["cpu"]  # noqa: E731
        table["this CPU"] = {"short_table1": hours(short_names, rate), "elor_search": hours(["elor_search"], rate)}
    subseg = next(row for row in short_trainings() if row[0] == "raw_subseg")
    needed = {
        gpu: GPUS[gpu]["tf32"] * 1e12 * GEMM_SHARE * efficiency.get("raw_subseg", 1.0) / subseg[3]
        for gpu in ("H100 SXM", "A100 SXM")
    }
    paper_utilisation = parts["elor_search"][0] / (ELOR_PAPER_DAYS * 86400 * GPUS["GTX 1080"]["fp32"] * 1e12)
    return table, {
        "work_flop": {name: work for name, (work, _) in parts.items()},
        "efficiency": efficiency,
        "raw_subseg_windows_per_s_needed": needed,
        "paper_gtx1080_implied_utilisation": paper_utilisation,
    }


def main(argv=None):
    # Set up as the ser-keras commands are, before TensorFlow loads: oneDNN on, TensorFlow quiet.
    console.quiet()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline-json", help="JSON written by tools.bench.pipeline (model efficiencies)")
    parser.add_argument("--quick", action="store_true", help="no effect: the projection is arithmetic")
    parser.add_argument("--json", metavar="OUT", help="write {records, details} to this JSON file")
    args = parser.parse_args(argv)
    pipeline = None
    if args.pipeline_json:
        with open(args.pipeline_json) as handle:
            pipeline = json.load(handle)["details"]
    table, details = project(pipeline)
    method = __doc__.split("Method (printed beside the numbers and stored in the JSON):\n")[1].split("\n\n")[0]
    print("Method:\n" + method)
    if pipeline is None:
        print("No --pipeline-json: model efficiency taken as 1.0 (pure FLOP bound); no CPU row.")
    print(
        f"Paper check: 70 ELoR trials in {ELOR_PAPER_DAYS} days on a GTX 1080 means "
        f"{100 * details['paper_gtx1080_implied_utilisation']:.1f} % of its FP32 peak for this work."
    )
    records = []
    for device, hours in table.items():
        slug = "this_cpu" if device == "this CPU" else device.split()[0].lower()
        records.append(harness.record(f"projected_short_table1_{slug}", hours["short_table1"], "hours"))
        records.append(harness.record(f"projected_elor_search_{slug}", hours["elor_search"], "hours"))
    for gpu, rate in details["raw_subseg_windows_per_s_needed"].items():
        records.append(harness.record(f"raw_subseg_input_rate_needed_{gpu.split()[0].lower()}", rate, "windows/s"))
    details.update(
        {
            "method": method,
            "hours": table,
            "gpus_tflops": GPUS,
            "gemm_share": GEMM_SHARE,
            "assumptions": {
                "iemocap_four_class_hours": IEMOCAP_FOUR_CLASS_HOURS,
                "short_epochs": SHORT_EPOCHS,
                "short_folds": SHORT_FOLDS,
                "elor_samples": ELOR_SAMPLES,
                "elor_trials": ELOR_TRIALS,
                "elor_epochs": ELOR_EPOCHS,
            },
        }
    )
    harness.finish(records, details, args.json)


if __name__ == "__main__":
    sys.exit(main())
