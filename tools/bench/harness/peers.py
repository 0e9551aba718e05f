"""The PyTorch peer of benchmark 3: SHORT's Raw SubSeg training step (§2.3) in PyTorch on the CPU.

Runs in its own interpreter (a venv with torch and numpy, no TensorFlow and no ser_keras), so
the two frameworks' thread pools never share a process.
"""

from tools.bench.harness.records import CHECKOUT
from tools.bench.harness.timing import best_rate


def torch_raw_cnn_rate(stages, *, hidden_units, num_classes=4, window=4000, batch_size=256, steps=10, rounds=3, seed=0):
    """Training windows/s of a raw CNN built from ``stages`` (dicts of ``ConvStage`` fields)
    in PyTorch on the CPU: same layers, SGD(0.1, momentum 0.5), cross-entropy, one
    pre-built random batch. Returns ``{"windows_per_s": {"wall", "cpu"}, "torch", "threads"}``."""
    import torch

    torch.manual_seed(seed)
    layers, channels, length = [], 1, window
    for stage in stages:
        layers += [
            torch.nn.Conv1d(channels, stage["filters"], stage["kernel_size"], stride=stage["strides"]),
            torch.nn.ReLU(),
        ]
        channels, length = stage["filters"], (length - stage["kernel_size"]) // stage["strides"] + 1
        if stage["pool_size"]:
            layers.append(torch.nn.MaxPool1d(stage["pool_size"]))
            length //= stage["pool_size"]
    layers += [
        torch.nn.Flatten(),
        torch.nn.Linear(channels * length, hidden_units),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden_units, num_classes),
    ]
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

    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); "
        "from tools.bench.harness.peers import torch_raw_cnn_rate; "
        "arguments = json.loads(sys.argv[2]); "
        "print(json.dumps(torch_raw_cnn_rate(arguments.pop('stages'), **arguments)))"
    )
    done = subprocess.run(
        [python, "-c", code, CHECKOUT, json.dumps({"stages": stages, **options})],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"The PyTorch peer under {python} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
