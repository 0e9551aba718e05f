"""Time real training epochs of the ELOR Table-5 networks on one fold of a corpus, and project
the cost of the full Table 5 from them.

Each network trains on the fold as ``wieser_table5`` trains it (the same prepared data,
config, run record and ``ElorExperiment.run_fold``), for ``--epochs`` epochs, into a temporary
run folder removed afterwards. A callback stamps the end of each epoch (training, validation
and the epoch checkpoint), which separates:

  first epoch    from the unit's start to its first epoch's end: model build and tf.function
                 tracing included;
  steady epoch   between the last two epoch ends (``--epochs`` >= 2); with one epoch the first
                 epoch stands in for it, tracing included;
  test + saving  from the last epoch's end to the unit's end: test prediction, .h5 and sidecar.

Projection: the steady epoch x the budget's maximum epochs x the corpus's folds is the upper
bound (no early stop); the same at 30 epochs is a typical figure under an assumption (early
stopping there); the per-fold overhead (tracing, test, saving) is shown beside them.

Times are on two clocks: wall, which another job's load stretches, and CPU (the process's CPU
seconds over the cores: the machine to itself with every core kept busy, so a lower bound of an
idle machine's wall time; under load the wall difference behind "tracing" may come out
negative). Units run one after another here; a run shares them between two threads. GPU
figures scale the CPU-clock hours by the ratio of the projected ELoR search on that GPU to this
CPU in the benchmark figures (``tools.bench.gpu_projection``: a FLOP bound).

    python -m tools.bench.elor_epoch --corpus manifest:runs/emodb/emodb_manifest.csv --fold 03 \\
        --networks elor,elor_ftr --epochs 2 --json elor_epoch.json
"""

import argparse
import dataclasses
import os
import sys
import tempfile

from ser_keras import console
from tools.bench import harness

# An assumption, not a measurement: with patience 10, a fold whose validation loss stops
# improving around epoch 20 ends at epoch 30.
TYPICAL_EPOCHS = 30
BENCHMARKS = os.path.join(harness.CHECKOUT, "tools", "bench", "results", "benchmarks.json")
# Records of tools.bench.gpu_projection: hours of the same ELoR work on each device.
GPU_RECORDS = {"H100 SXM": "projected_elor_search_h100", "A100 SXM": "projected_elor_search_a100"}
CPU_RECORD = "projected_elor_search_this_cpu"
BENCHMARK_RATE_RECORD = "elor_pipeline_rate (cpu)"


def epoch_stamps():
    """A Keras callback that reads both clocks at each epoch's end (``.ends``)."""
    import keras

    class EpochStamps(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.ends = []

        def on_epoch_end(self, epoch, logs=None):
            self.ends.append(harness.clock())

    return EpochStamps()


def _cpu_seconds(seconds):
    # Process CPU seconds spread over every core: what the epoch takes with the machine to itself.
    return {"wall": seconds["wall"], "cpu": seconds["cpu"] / (os.cpu_count() or 1)}


def unit_times(started, ends, finished):
    """Seconds (both clocks) of one unit from its :func:`harness.clock` readings: at its start,
    at each epoch's end, at its end."""
    if not ends:
        raise ValueError("The unit reported no epoch end.")

    def span(since, until):
        return _cpu_seconds({clock: until[clock] - since[clock] for clock in harness.CLOCKS})

    steady = span(ends[-2], ends[-1]) if len(ends) >= 2 else None
    first = span(started, ends[0])
    return {
        "first_epoch_s": first,
        "steady_epoch_s": steady,
        "epoch_s": steady or first,
        "epoch_includes_tracing": steady is None,
        "tracing_s": None if steady is None else {clock: first[clock] - steady[clock] for clock in harness.CLOCKS},
        "test_and_save_s": span(ends[-1], finished),
        "unit_s": span(started, finished),
    }


def projection(epoch_s, *, max_epochs, folds, typical_epochs=TYPICAL_EPOCHS):
    """Hours of ``folds`` folds at ``epoch_s`` seconds an epoch: every epoch of the budget, and
    ``typical_epochs`` (never more than the budget)."""
    return {
        "upper_bound_hours": epoch_s * max_epochs * folds / 3600,
        "typical_hours": epoch_s * min(typical_epochs, max_epochs) * folds / 3600,
    }


def gpu_ratios(path):
    """``({gpu: hours on it / hours on this CPU}, benchmark ELoR rate or None)`` from the figures
    of ``run_benchmarks`` (a list of records) or of one tool's ``--json`` (``{"records"}``);
    ``({}, None)`` where the file or its ELoR projection is missing."""
    from ser_keras.io import read_json

    if not os.path.exists(path):
        return {}, None
    figures = read_json(path)
    records = figures.get("records", []) if isinstance(figures, dict) else figures
    values = {item["name"]: item["value"] for item in records}
    cpu = values.get(CPU_RECORD)
    ratios = {gpu: values[name] / cpu for gpu, name in GPU_RECORDS.items() if cpu and values.get(name)}
    return ratios, values.get(BENCHMARK_RATE_RECORD)


def _hours_text(hours):
    return f"{hours['wall']:.3g} h wall ({hours['cpu']:.3g} h CPU clock)"


def measure(parser, args, argv=None):
    from ser_keras.cli.common import open_corpus, open_run, precision_budget, split_list
    from ser_keras.experiments.data import ElorData, pick_fold
    from ser_keras.experiments.elor import ElorExperiment, ElorExperimentConfig, budget
    from ser_keras.experiments.networks import NETWORKS, network_id
    from ser_keras.seeding import seed_everything

    corpus = open_corpus(parser, args.corpus)
    # The split-head loop has no loss scaling: its mixed policy is always bfloat16.
    run_budget = precision_budget(args, budget(corpus.kind, quick=args.quick), loss_scaling=False)
    try:
        networks = tuple(network_id(name) for name in split_list(args.networks))
        prepare = harness.clock()
        data = ElorData(corpus, evaluator=args.evaluator, verbose=0)
        fold = pick_fold(data.folds, args.fold)
        # The budget a real run on this corpus takes; only the epochs to time and the fold differ.
        full = ElorExperimentConfig(
            budget=run_budget.name, networks=networks, evaluator=args.evaluator, verbose=0, **run_budget.settings
        )
        config = dataclasses.replace(full, epochs=args.epochs, folds=(fold.name,))
    except ValueError as error:
        parser.error(str(error))
    folds = len(data.folds)
    print(
        f"{corpus.spec}: {folds} folds ({config.protocol}), timing fold {fold.name}; {run_budget.words}",
        flush=True,
    )
    seed_everything(config.seed)
    ratios, benchmark_rate = gpu_ratios(args.benchmarks)
    figures = {}
    with tempfile.TemporaryDirectory(prefix="elor_epoch_") as folder:
        record = open_run(
            parser,
            argparse.Namespace(out=folder, resume=False),
            script="wieser_table5",
            corpus=corpus,
            label_view=f"dimensional_{data.view.source}",
            protocol=config.protocol,
            budget=run_budget,
            config=config,
            argv=argv,
        )
        experiment = ElorExperiment(data, config, record)
        experiment.prepare_inputs(networks)
        prepare_s = _cpu_seconds(harness.elapsed(prepare))
        print(f"data and inputs prepared in {prepare_s['wall']:.1f} s (once per run)", flush=True)
        for network in networks:
            print(f"training {network} on fold {fold.name} for {config.epochs} epoch(s) ...", flush=True)
            stamps = epoch_stamps()
            started = harness.clock()
            part = experiment.run_fold(network, fold, callbacks=[stamps])
            times = unit_times(started, stamps.ends, harness.clock())
            slices = part["slices"]
            figures[network] = {
                "paper_name": NETWORKS[network].paper_name,
                "slices": slices,
                "epochs_run": part["epochs_run"],
                **times,
                "slices_per_s": {clock: slices["train"] / times["epoch_s"][clock] for clock in harness.CLOCKS},
                "projection": {
                    clock: projection(times["epoch_s"][clock], max_epochs=full.epochs, folds=folds)
                    for clock in harness.CLOCKS
                },
                "fold_overhead_hours": {
                    clock: folds * ((times["tracing_s"] or {}).get(clock, 0.0) + times["test_and_save_s"][clock]) / 3600
                    for clock in harness.CLOCKS
                },
            }
            figures[network]["gpu_hours"] = {
                gpu: {key: hours * ratio for key, hours in figures[network]["projection"]["cpu"].items()}
                for gpu, ratio in ratios.items()
            }
    total = {
        key: {clock: sum(item["projection"][clock][key] for item in figures.values()) for clock in harness.CLOCKS}
        for key in ("upper_bound_hours", "typical_hours")
    }
    details = {
        "corpus": corpus.spec,
        "fold": fold.name,
        "folds": folds,
        "fold_names": [item.name for item in data.folds],
        "epochs_timed": config.epochs,
        "quick": args.quick,
        "budget": {
            "name": run_budget.name,
            "words": run_budget.words,
            "max_epochs": full.epochs,
            "patience": full.patience,
        },
        "typical_epochs": min(TYPICAL_EPOCHS, full.epochs),
        "typical_assumption": f"early stopping ends every fold at epoch {min(TYPICAL_EPOCHS, full.epochs)}",
        "prepare_s": prepare_s,
        "networks": figures,
        "total": total,
        "gpu_source": os.path.relpath(args.benchmarks, harness.CHECKOUT) if ratios else None,
        "gpu_ratios": ratios,
        "gpu_total_hours": {gpu: {key: total[key]["cpu"] * ratio for key in total} for gpu, ratio in ratios.items()},
        "benchmark_elor_rate_cpu_clock": benchmark_rate,
    }
    return details


def report(details):
    """Print the figures; return their records."""
    budget, folds = details["budget"], details["folds"]
    typical = details["typical_epochs"]
    records = []
    for network, item in details["networks"].items():
        slices, epoch = item["slices"], item["epoch_s"]
        print(
            f"\n{item['paper_name']} ({network}), fold {details['fold']}: {slices['train']} training slices per epoch "
            f"(+ {slices['validation']} validation, {slices['test']} test)"
        )
        print(f"  first epoch: {item['first_epoch_s']['wall']:.1f} s wall (model build and tracing included)")
        if item["epoch_includes_tracing"]:
            print(f"  epoch: {epoch['wall']:.1f} s wall ({epoch['cpu']:.1f} s CPU clock), tracing included (1 epoch)")
        else:
            print(
                f"  steady epoch: {epoch['wall']:.1f} s wall ({epoch['cpu']:.1f} s CPU clock); "
                f"tracing and build: {item['tracing_s']['cpu']:.1f} s CPU clock "
                f"({item['tracing_s']['wall']:.1f} s wall)"
            )
        print(
            f"  {item['slices_per_s']['wall']:.3g} slices/s wall ({item['slices_per_s']['cpu']:.3g} CPU clock), "
            f"validation included; test + saving {item['test_and_save_s']['wall']:.1f} s wall"
        )
        upper = {clock: item["projection"][clock]["upper_bound_hours"] for clock in harness.CLOCKS}
        usual = {clock: item["projection"][clock]["typical_hours"] for clock in harness.CLOCKS}
        print(
            f"  {folds} folds on this CPU: at most {budget['max_epochs']} epochs (patience {budget['patience']}) "
            f"{_hours_text(upper)}; at {typical} epochs (assumed early stop) {_hours_text(usual)}; "
            f"+ {item['fold_overhead_hours']['cpu']:.2g} h CPU clock of per-fold overhead (tracing, test, saving)"
        )
        for gpu, hours in item["gpu_hours"].items():
            print(f"  {gpu}: {hours['upper_bound_hours']:.3g} h at most, {hours['typical_hours']:.3g} h at {typical}")
        for clock in harness.CLOCKS:
            records += [
                harness.record(f"{network}_epoch ({clock})", epoch[clock], "s"),
                harness.record(f"{network}_first_epoch ({clock})", item["first_epoch_s"][clock], "s"),
                harness.record(f"{network}_slices_per_s ({clock})", item["slices_per_s"][clock], "slices/s"),
                harness.record(f"{network}_table5_upper_bound_this_cpu ({clock})", upper[clock], "hours"),
                harness.record(f"{network}_table5_at_{typical}_epochs_this_cpu ({clock})", usual[clock], "hours"),
            ]
        records.append(harness.record(f"{network}_train_slices", slices["train"], "slices"))
    total, names = details["total"], " + ".join(details["networks"])
    print(
        f"\nTable 5 ({names}, {folds} folds) on this CPU: at most {_hours_text(total['upper_bound_hours'])}; "
        f"at {typical} epochs (assumed) {_hours_text(total['typical_hours'])}"
    )
    if details["gpu_ratios"]:
        for gpu, hours in details["gpu_total_hours"].items():
            print(
                f"  {gpu}: {hours['upper_bound_hours']:.3g} h at most, {hours['typical_hours']:.3g} h at {typical} "
                f"(CPU-clock hours x {details['gpu_ratios'][gpu]:.3g}: the paper-centre ELoR's FLOP-bound GPU / CPU "
                f"ratio in {details['gpu_source']}, a lower bound)"
            )
            records.append(
                harness.record(f"table5_upper_bound_{gpu.split()[0].lower()}", hours["upper_bound_hours"], "hours")
            )
    else:
        print("  no GPU figure (no ELoR projection in the benchmark figures)")
    rate = details["benchmark_elor_rate_cpu_clock"]
    if rate:
        slices = details["networks"].get("elor", {}).get("slices", {}).get("train")
        at_rate = f": {slices / rate:.3g} s for ELoR's {slices} training slices" if slices else ""
        print(
            f"  for comparison, the benchmarks' ELoR training step: {rate:.3g} samples/s CPU clock (training only, "
            f"no validation){at_rate}"
        )
    for clock in harness.CLOCKS:
        records.append(
            harness.record(f"table5_upper_bound_this_cpu ({clock})", total["upper_bound_hours"][clock], "hours")
        )
    return records


def main(argv=None):
    # Set up as the ser-keras commands are, before TensorFlow loads: oneDNN on, TensorFlow quiet.
    console.quiet()
    from ser_keras.cli.common import add_precision_flag

    parser = harness.benchmark_parser(
        __doc__, corpus="synthetic:small", quick_help="the quick budget: small networks, 64 training slices a fold"
    )
    parser.add_argument("--fold", default=None, help="the fold to time (default: the corpus's first)")
    parser.add_argument("--networks", default="elor,elor_ftr", help="comma-separated networks (default elor,elor_ftr)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs to time (default 1; 2 separates the tracing)")
    parser.add_argument("--evaluator", default="E2", help="evaluator whose ratings label the slices (default E2)")
    parser.add_argument(
        "--benchmarks", default=BENCHMARKS, help="benchmark figures holding the GPU projection (default: committed)"
    )
    add_precision_flag(parser)
    args = parser.parse_args(argv)
    details = measure(parser, args, argv)
    records = report(details)
    print()
    harness.finish(records, details, args.json)


if __name__ == "__main__":
    sys.exit(main())
