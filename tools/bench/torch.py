"""The Raw SubSeg training step against the same network in PyTorch (CPU).

Ours: SHORT's training recipe fed by the real ``window_dataset`` pipeline. Peer: the same
layers, optimiser and loss in PyTorch on one pre-built random batch (no input pipeline, so
the comparison favours the peer), run in a separate process so the two frameworks never
share threads. Target: ours / PyTorch >= 2.0. PyTorch is optional: it is taken from
``--torch-python`` (an interpreter with torch and numpy), else ``$SER_KERAS_TORCH_PYTHON``,
else this interpreter if it can import torch; with none of them the benchmark is skipped.

    python -m tools.bench.torch --quick --torch-python /path/to/venv/bin/python --json torch.json
"""

import dataclasses
import importlib.util
import os
import sys

from ser_keras import console
from tools.bench import harness

FULL = {"steps": 40, "epochs": 3, "rounds": 2}
QUICK = {"steps": 15, "epochs": 2, "rounds": 1}


def torch_python(option):
    """The interpreter to run the PyTorch peer under, or None when there is none."""
    if option:
        return option
    if os.environ.get("SER_KERAS_TORCH_PYTHON"):
        return os.environ["SER_KERAS_TORCH_PYTHON"]
    return sys.executable if importlib.util.find_spec("torch") else None


def measure(corpus, python, *, quick, batch_size=256):
    from ser_keras.models.raw_cnn import RAW_SUBSEG

    budget = QUICK if quick else FULL
    stages = [dataclasses.asdict(stage) for stage in RAW_SUBSEG.stages]
    store = harness.load_window_store(corpus)
    ours, peer, versions = [], [], {}
    # Alternate the two so a change in machine load hits both alike.
    for _ in range(budget["rounds"]):
        ours.append(
            harness.raw_cnn_rates(
                store,
                RAW_SUBSEG,
                batch_size=batch_size,
                in_memory=False,
                steps=budget["steps"],
                epochs=budget["epochs"],
            )["pipeline"]
        )
        figures = harness.torch_peer_rate(
            python,
            stages,
            hidden_units=RAW_SUBSEG.hidden_units,
            batch_size=batch_size,
            steps=budget["steps"],
            rounds=budget["epochs"],
        )
        peer.append(figures["windows_per_s"])
        versions = {"torch": figures["torch"], "torch_threads": figures["threads"]}
    ours, peer = harness.best(ours), harness.best(peer)
    records = []
    for clock in harness.CLOCKS:
        records += [
            harness.record(f"raw_subseg_ours_pipeline_rate ({clock})", ours[clock], "windows/s"),
            harness.record(f"raw_subseg_torch_rate ({clock})", peer[clock], "windows/s"),
            harness.record(f"ours_vs_torch_raw_subseg ({clock})", ours[clock] / peer[clock], "ratio", at_least=2.0),
        ]
    return records, {"corpus": corpus, "quick": quick, "torch_python": python, "budget": budget, **versions}


def main(argv=None):
    # Set up as the ser-keras commands are, before TensorFlow loads: oneDNN on, TensorFlow quiet.
    console.quiet()
    parser = harness.benchmark_parser(__doc__, corpus="synthetic:full", quick_help="fewer and shorter timed rounds")
    parser.add_argument("--torch-python", help="interpreter with torch + numpy for the peer")
    args = parser.parse_args(argv)
    python = torch_python(args.torch_python)
    if python is None:
        print("PyTorch is not installed (nor --torch-python / $SER_KERAS_TORCH_PYTHON given): peer benchmark skipped.")
        records = [
            harness.record(f"ours_vs_torch_raw_subseg ({clock})", None, "ratio", at_least=2.0)
            for clock in harness.CLOCKS
        ]
        details = {"skipped": "torch not available"}
    else:
        records, details = measure(args.corpus, python, quick=args.quick)
    harness.finish(records, details, args.json)


if __name__ == "__main__":
    sys.exit(main())
