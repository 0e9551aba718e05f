"""Project the GPU time of the paper's ELoR search (70 trials; 49 days on a GTX 1080).

    python tuning/project_budget.py                       # measures 2 CPU steps at batch 32
    python tuning/project_budget.py --measure-steps 0     # analytic only

Counts the FLOPs of one alternating split-head training step of the default (search-space
centre) ELoR and their mean over the ELoR search space, measures this machine's samples/s,
and projects trials x epochs x samples at --utilisation of each GPU's dense peak.
Samples: the paper's 8522 E-2 slices; a leave-one-speaker-out fold keeps 9/10 as its
training pool, split 80:20 for tuning. Writes <out>/budget.json.
"""

import argparse

from ser_keras.experiments.networks import NETWORKS
from ser_keras.io import write_json
from ser_keras.models.elor import ElorConfig
from ser_keras.tuning.budget import (
    GPU_PEAK_TFLOPS,
    forward_flops,
    gpu_days,
    mean_step_flops,
    measure_step_throughput,
    split_head_step_flops,
    trial_flops,
)
from ser_keras.tuning.spaces import ELOR_SPACE

PAPER_DAYS = 49.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=8522, help="6 s slices in the corpus (paper: 8522)")
    parser.add_argument("--trials", type=int, default=NETWORKS["elor"].paper_trials)
    parser.add_argument("--epochs", type=int, default=30, help="epochs per trial (our search's cap)")
    parser.add_argument("--utilisation", type=float, default=0.5, help="fraction of the GPU peak reached")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--measure-steps", type=int, default=2, help="timed CPU steps (0: skip)")
    parser.add_argument("--out", default="runs/budget")
    args = parser.parse_args(argv)

    config = ElorConfig()
    pool = args.samples * 9 // 10
    train, validation = pool - round(pool * 0.2), round(pool * 0.2)
    step, forward, mean_step = split_head_step_flops(config), forward_flops(config), mean_step_flops(ELOR_SPACE)
    report = {
        "forward_gflop_per_sample": forward / 1e9,
        "step_gflop_per_sample": step / 1e9,
        "mean_space_step_gflop_per_sample": mean_step / 1e9,
        "train_samples": train,
        "validation_samples": validation,
        "trials": args.trials,
        "epochs": args.epochs,
        "utilisation": args.utilisation,
    }
    print(
        f"ELoR centre: forward {forward / 1e9:.2f} GFLOP/sample; split-head step {step / 1e9:.1f} GFLOP/sample "
        f"(mean over the search space {mean_step / 1e9:.1f})"
    )
    if args.measure_steps:
        rate = measure_step_throughput(config, batch_size=args.batch_size, steps=args.measure_steps)
        report.update(cpu_samples_per_s=rate, cpu_gflops=rate * step / 1e9)
        print(f"this machine: {rate:.2f} samples/s at batch {args.batch_size} = {rate * step / 1e9:.1f} GFLOP/s")
    total = args.trials * trial_flops(config, epochs=args.epochs, train_samples=train, validation_samples=validation)
    mean_total = total * mean_step / step
    report["search_pflop"] = {"centre": total / 1e15, "space_mean": mean_total / 1e15}
    print(
        f"{args.trials} trials x {args.epochs} epochs x {train} train + {validation} val samples: "
        f"{total / 1e15:.0f} PFLOP at the centre, {mean_total / 1e15:.0f} PFLOP for the space's mean trial"
    )
    report["projection_days"] = {}
    for gpu, peak in GPU_PEAK_TFLOPS.items():
        days = (gpu_days(total, peak, args.utilisation), gpu_days(mean_total, peak, args.utilisation))
        report["projection_days"][gpu] = {"centre": days[0], "space_mean": days[1]}
        print(
            f"  {gpu:24s} at {args.utilisation:.0%} of {peak:6.1f} TFLOPS: {days[0]:7.2f} days "
            f"(space mean {days[1]:7.2f}); paper {PAPER_DAYS:.0f} days on a GTX 1080"
        )
    implied = PAPER_DAYS / gpu_days(mean_total / args.epochs, GPU_PEAK_TFLOPS["GTX 1080 fp32"], args.utilisation)
    report["paper_implied_epochs_per_trial"] = implied
    print(f"49 days on a GTX 1080 at {args.utilisation:.0%} = {implied:.0f} epochs of the mean trial")
    write_json(f"{args.out}/budget.json", report)
