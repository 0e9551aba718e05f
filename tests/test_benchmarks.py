"""The benchmarks of tools/bench/: analytic FLOP counts against hand counts, the record schema,
the benchmarks' own logic on fakes, and the generated page docs/performance.md."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from tools.bench import harness
from tools.bench.harness.flops import flops_by_layer, forward_flops, split_head_training_flops, training_flops

ROOT = Path(__file__).resolve().parent.parent


def _tiny_cnn():
    """100 samples -> Conv1D(4, 5, stride 2) -> pool 2 -> Conv1D(3, 3) -> Dense 2."""
    inputs = keras.Input(shape=(100,))
    x = keras.layers.Reshape((100, 1))(inputs)
    x = keras.layers.Conv1D(4, 5, strides=2, name="conv1")(x)  # 48 steps
    x = keras.layers.MaxPooling1D(2)(x)  # 24 steps
    x = keras.layers.Conv1D(3, 3, activation="relu", name="conv2")(x)  # 22 steps
    x = keras.layers.Flatten()(x)  # 66
    outputs = keras.layers.Dense(2, activation="softmax", name="dense")(x)
    return keras.Model(inputs, outputs)


# 2 FLOPs per multiply-add: positions x kernel weights.
CONV1 = 2 * 48 * (5 * 1 * 4)
CONV2 = 2 * 22 * (3 * 4 * 3)
DENSE = 2 * 66 * 2


def test_flops_by_layer_matches_hand_counts():
    assert flops_by_layer(_tiny_cnn()) == [("conv1", CONV1), ("conv2", CONV2), ("dense", DENSE)]


def test_forward_and_training_flops():
    model = _tiny_cnn()
    assert forward_flops(model) == CONV1 + CONV2 + DENSE == 3768
    # Backward: weight gradients of every layer, input gradients of all but the first.
    assert training_flops(model) == 3 * (CONV1 + CONV2 + DENSE) - CONV1 == 9384


def test_dense_on_sequences_counts_every_position():
    inputs = keras.Input(shape=(5, 7))
    model = keras.Model(inputs, keras.layers.Dense(3, name="d")(inputs))
    assert forward_flops(model) == 2 * 5 * 7 * 3


def test_raw_subseg_training_flops():
    from ser_keras.models.raw_cnn import build_raw_subseg

    # conv1 398x30x128, conv2 38x10x128x256, conv3 5x4x256x512, conv4 3x3x512x512, 1536x10, 10x4.
    forward = 2 * (398 * 30 * 128 + 38 * 10 * 128 * 256 + 5 * 4 * 256 * 512 + 3 * 3 * 512 * 512 + 1536 * 10 + 10 * 4)
    model = build_raw_subseg()
    assert forward_flops(model) == forward
    assert training_flops(model) == 3 * forward - 2 * 398 * 30 * 128


def test_uncounted_kernel_layer_raises():
    inputs = keras.Input(shape=(10, 2))
    model = keras.Model(inputs, keras.layers.Conv1DTranspose(2, 3, name="up")(inputs))
    with pytest.raises(TypeError, match="up"):
        forward_flops(model)


def test_split_head_flops_count_each_head_backward_once():
    inputs = keras.Input(shape=(8,))
    trunk = keras.layers.Dense(6, name="trunk")(inputs)
    outputs = {head: keras.layers.Dense(2, name=head)(trunk) for head in ("valence", "arousal")}
    model = keras.Model(inputs, outputs)
    trunk_f, head_f = 2 * 8 * 6, 2 * 6 * 2
    # Per update: full forward + trunk weight grads + one head's weight and input grads.
    per_update = (trunk_f + 2 * head_f) + trunk_f + 2 * head_f
    assert split_head_training_flops(model) == 2 * per_update


def test_record_targets_and_holds():
    assert harness.record("r", 0.93, "ratio", at_least=0.9) == {
        "name": "r",
        "value": 0.93,
        "unit": "ratio",
        "target": ">= 0.9",
        "holds": True,
    }
    assert harness.record("r", 0.5, "ratio", at_least=0.9)["holds"] is False
    assert harness.record("m", 3.0, "GB", at_most=2.5)["holds"] is False
    assert harness.record("m", 2.0, "GB", at_most=2.5)["holds"] is True
    assert harness.record("s", None, "x", at_least=1)["holds"] is None
    assert harness.record("n", 7.0, "x")["target"] is None


def test_record_rejects_bad_input():
    with pytest.raises(ValueError, match="at most one bound"):
        harness.record("r", 1.0, "x", at_least=1, at_most=2)
    with pytest.raises(ValueError, match="finite"):
        harness.record("r", float("nan"), "x")


def test_check_records_schema():
    records = [harness.record("a", 1.0, "x", at_least=0.5), harness.record("b", None, "y")]
    assert harness.check_records(records) is records
    json.dumps(records)
    with pytest.raises(ValueError, match="exactly the keys"):
        harness.check_records([{"name": "a", "value": 1.0}])
    with pytest.raises(ValueError, match="null exactly"):
        harness.check_records([{"name": "a", "value": 1.0, "unit": "x", "target": None, "holds": True}])
    with pytest.raises(ValueError, match="must be a list"):
        harness.check_records({"name": "a"})


def test_tables_show_every_record():
    records = [harness.record("speed", 0.5, "ratio", at_least=0.9), harness.record("peer", None, "ratio")]
    text = harness.format_table(records)
    assert "MISSES" in text and "skipped" in text and ">= 0.9" in text
    markdown = harness.markdown_table(records)
    assert markdown.count("\n") == 4 and "| speed | 0.5 | ratio | >= 0.9 | **misses** |" in markdown


def test_rates_on_both_clocks_and_best():
    import os

    measured = harness.rates(100, {"wall": 2.0, "cpu": 4.0})
    assert measured == {"wall": 50.0, "cpu": 100 * (os.cpu_count() or 1) / 4.0}
    assert harness.best([{"wall": 1.0, "cpu": 5.0}, {"wall": 3.0, "cpu": 2.0}]) == {"wall": 3.0, "cpu": 5.0}
    with pytest.raises(ValueError, match="rounds"):
        harness.best_rate(lambda: None, 1, rounds=0)


def test_layer_profile_times_every_weighted_layer_with_the_first_layer_input_gradient_left_out(monkeypatch):
    import os

    from tools.bench.harness import timing

    # A clock that advances one second per reading: every timed round takes exactly 1 s on
    # both clocks, so each rate must be training FLOPs x examples per round, in FLOP/s.
    readings = iter(range(10**6))
    monkeypatch.setattr(timing, "clock", lambda: dict.fromkeys(harness.CLOCKS, float(next(readings))))
    profile = harness.layer_training_rates(_tiny_cnn(), batch_size=4, rounds=1, steps=2)
    assert [(name, flops) for name, flops, _ in profile] == [
        ("conv1", 2 * CONV1),
        ("conv2", 3 * CONV2),
        ("dense", 3 * DENSE),
    ]
    for _, flops, rate in profile:
        assert rate == {"wall": flops * 4 * 2, "cpu": flops * 4 * 2 * (os.cpu_count() or 1)}


def test_precision_benchmark_times_each_model_under_both_policies(monkeypatch):
    # Fake workloads report the policy they were built under: the figure must be mixed / float32
    # of the same model, and the global policy must be float32 again afterwards.
    from ser_keras.training import precision
    from tools.bench import precision as precision_benchmark

    rates = {"float32": 100.0, "mixed_float16": 150.0, "mixed_bfloat16": 120.0}
    seen = []

    def fake(name):
        def measure(*args, **kwargs):
            policy = keras.mixed_precision.global_policy().name
            seen.append((name, policy))
            rate = {"wall": rates[policy], "cpu": 2 * rates[policy]}
            return {"pipeline": rate} if name == "raw" else (None, rate)

        return measure

    monkeypatch.setattr(harness, "load_window_store", lambda corpus: None)
    monkeypatch.setattr(harness, "raw_cnn_rates", fake("raw"))
    monkeypatch.setattr(harness, "lld_mlp_rate", fake("mlp"))
    monkeypatch.setattr(harness, "elor_rate", fake("elor"))
    monkeypatch.setattr(precision, "native_bfloat16", lambda: False)
    records, details = precision_benchmark.measure("synthetic:tiny", quick=True)
    values = {record["name"]: record["value"] for record in records}
    assert values["raw_subseg_mixed_speedup (cpu)"] == pytest.approx(1.5)
    assert values["lld_mlp_3x1024_mixed_speedup (wall)"] == pytest.approx(1.5)
    assert values["elor_mixed_speedup (cpu)"] == pytest.approx(1.2)  # no loss scaling: bfloat16
    assert {policy for _, policy in seen} == {"float32", "mixed_float16", "mixed_bfloat16"}
    assert ("elor", "mixed_float16") not in seen
    assert keras.mixed_precision.global_policy().name == "float32"
    assert details["policies"]["elor"] == "mixed_bfloat16"


def test_end_to_end_reports_cores_busy_beside_the_wall_time(monkeypatch):
    from tools.bench import end_to_end

    monkeypatch.setattr(harness, "script_wall_time", lambda *args, **kwargs: (600.0, 1080.0))
    records, details = end_to_end.measure(quick=False, timeout_s=10)
    by_name = {record["name"]: record for record in records}
    assert by_name["table1_wall_time"]["value"] == 10.0 and by_name["table1_wall_time"]["holds"] is False
    assert by_name["table1_cores_busy"]["value"] == 1.8 and by_name["table1_cores_busy"]["holds"] is True
    assert by_name["wieser_table5_quick_wall_time"]["holds"] is True
    assert details["logs"]["table1"]["cpu_seconds"] == 1080.0


_FORK_SERVER_WORK = """
import multiprocessing, sys, time

def burn(seconds):
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass

if __name__ == "__main__":
    with multiprocessing.get_context("forkserver").Pool(2) as pool:
        pool.map(burn, [0.4, 0.4])
    sys.exit(int(sys.argv[1]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the reaper adopts orphans on Linux only")
def test_script_cpu_time_counts_the_fork_server_workers(tmp_path):
    # The workers are children of the fork server, which the script never waits for: without
    # the reaper their 0.8 CPU-s were lost (≈ 0.1 s counted) and cores busy came out low.
    script = tmp_path / "work.py"
    script.write_text(_FORK_SERVER_WORK)
    seconds, cpu_seconds = harness.script_wall_time(str(script), ["0"], log_path=tmp_path / "log", timeout_s=120)
    assert cpu_seconds >= 0.75 and seconds > 0
    with pytest.raises(RuntimeError, match="exited with 3"):
        harness.script_wall_time(str(script), ["3"], log_path=tmp_path / "log", timeout_s=120)


def test_gpu_benchmark_runs_on_the_cpu_through_both_input_paths(monkeypatch, tiny_root, capsys):
    # The prepared GPU check must at least run where there is no GPU: every model through the
    # device-input path and the host pipeline, and it says that the figures are CPU figures.
    from ser_keras.experiments.networks import NETWORKS
    from ser_keras.models import elor
    from tools.bench import gpu

    small = elor.ElorConfig.from_dict({**NETWORKS["elor"].quick_hparams, "batch_size": 8})
    monkeypatch.setattr(elor, "ElorConfig", lambda: small)
    monkeypatch.setattr(gpu, "gpu_name", lambda: None)
    records, details = gpu.measure("synthetic:tiny", quick=True, batch_size=8, steps=2, rounds=1)
    assert "No GPU visible: CPU figures" in capsys.readouterr().out
    values = {record["name"]: record["value"] for record in records}
    for model in ("raw_subseg", "raw_seg", "elor"):
        for clock in harness.CLOCKS:
            assert values[f"{model}_device_input_rate ({clock})"] > 0
            assert values[f"device_vs_host_{model} ({clock})"] == pytest.approx(
                values[f"{model}_device_input_rate ({clock})"] / values[f"{model}_host_pipeline_rate ({clock})"],
                rel=2e-3,
            )
    assert values["elor_routed_vs_tensorflow (wall)"] > 0
    assert details["gpu"] is None and details["projection"] is None


def test_op_kinds_of_elor_parts():
    from tools.bench.harness.profile import op_kind

    assert op_kind("_MklNativeConv2DBackpropFilter", "conv2") == "weighted layers"
    assert op_kind("Mul", "conv1_batchnorm") == "batch normalization"
    assert op_kind("Sum", "conv1_batchnorm") == "batch normalization"
    assert op_kind("Sum", "compile_loss") == "softmax / loss"
    assert op_kind("Mul", "sgd_valence") == "optimizer"
    assert op_kind("Mul", "conv1") == "other"


@pytest.mark.parametrize("routed", [False, True])
def test_split_head_trace_shows_which_ops_compute_the_routed_layers(tmp_path, routed):
    import tensorflow as tf

    from ser_keras.models.elor import ElorConfig, build_elor
    from ser_keras.training.split_heads import SplitHeadTrainer
    from tools.bench.harness.profile import network_part, op_self_times, trace_split_head_training

    config = ElorConfig(
        input_length=200, conv_filters=(3, 3), conv_kernel_sizes=(5, 16), pool_sizes=(2, 2), head_units=(4,)
    )  # conv2 takes 3 channels through a kernel of 16: routed
    trainer = SplitHeadTrainer(lambda: build_elor(config), learning_rate=0.01, routes=routed)
    x = tf.random.normal((4, 200))
    labels = {head: tf.constant([0, 1, 2, 3]) for head in ("valence", "arousal")}
    path, seconds = trace_split_head_training(trainer, x, labels, steps=1, logdir=tmp_path)
    assert seconds > 0
    layers = {layer.name for layer in trainer.model.layers}
    ops = op_self_times(path)
    conv2_ops = {op_type for name, op_type, _ in ops if network_part(name, layers) == "conv2"}
    assert any("Conv2DBackpropFilter" in op_type for op_type in conv2_ops) is not routed
    assert any("MatMul" in op_type for op_type in conv2_ops) is routed
    batch_norm_ops = {op_type for name, op_type, _ in ops if network_part(name, layers) == "conv1_batchnorm"}
    assert any("FusedBatchNorm" in op_type for op_type in batch_norm_ops) is routed


def test_run_benchmarks_names_the_machine_and_the_code_beside_its_figures(tmp_path, monkeypatch):
    from ser_keras.runs import describe_machine
    from tools.bench import run_benchmarks

    def fake_tool(name, arguments, out, timeout_s):
        return [harness.record(f"{name}_ratio", 0.5, "ratio", at_least=0.9)], {"ran": name}

    monkeypatch.setattr(run_benchmarks, "run_tool", fake_tool)
    page = tmp_path / "performance.md"
    run_benchmarks.main(
        ["--quick", "--out", str(tmp_path), "--only", "pipeline,memory,end_to_end", "--docs", str(page)]
    )
    details = json.loads((tmp_path / "details.json").read_text())
    assert details["pipeline"] == {"ran": "pipeline"} and details["memory"] == {"ran": "memory"}
    environment = details["environment"]
    assert set(environment["cpu"]) == {"model", "avx512"} and "git_sha" in environment
    heading, blank, *table = (tmp_path / "benchmarks.md").read_text().splitlines()
    assert heading.startswith(f"Machine: {describe_machine(environment)}; code: git ")
    assert heading.endswith("--quick run.")
    assert blank == "" and table[2] == "| pipeline_ratio | 0.5 | ratio | >= 0.9 | **misses** |"
    skipped = ["table1_wall_time", "table1_cores_busy", "wieser_table5_quick_wall_time"]  # end_to_end in --quick
    assert [item["name"] for item in json.loads((tmp_path / "benchmarks.json").read_text())] == [
        "pipeline_ratio",
        "memory_ratio",
        *skipped,
    ]
    assert details["run"]["sections"] == {
        "pipeline": ["pipeline_ratio"],
        "memory": ["memory_ratio"],
        "end_to_end": skipped,
    }
    assert details["run"]["command"] == (
        f"python -m tools.bench.run_benchmarks --quick --out {tmp_path} --only pipeline,memory,end_to_end --docs {page}"
    )
    text = page.read_text()
    assert heading in text and "0 of 5 targets hold; 3 not measured in this run." in text


def _page_fixture(folder):
    """A run's two files as run_benchmarks writes them: two benchmarks, three records."""
    records = [
        harness.record("pipeline_vs_in_memory_raw_subseg (cpu)", 0.93, "ratio", at_least=0.9),
        harness.record("matmul_4096_ceiling (cpu)", 216.8, "GFLOP/s"),
        harness.record("stream_peak_rss", 3.5, "GB", at_most=3.128),
    ]
    details = {
        "memory": {"full_epoch": True},
        "environment": {
            "cpu": {"model": "AMD EPYC", "avx512": True},
            "cpu_count": 2,
            "gpus": [],
            "git_sha": "735c7f9298bb0cee0da94743f59fee3844cb7171",
            "git_dirty": False,
        },
        "run": {
            "date": "2026-12-03",
            "quick": False,
            "command": "python -m tools.bench.run_benchmarks --out b",
            "sections": {"pipeline": [item["name"] for item in records[:2]], "memory": [records[2]["name"]]},
        },
    }
    (folder / "benchmarks.json").write_text(json.dumps(records))
    (folder / "details.json").write_text(json.dumps(details))
    return records, details


def test_performance_page_says_how_it_was_made_and_lists_every_figure_under_its_benchmark(tmp_path):
    from tools.bench import run_benchmarks

    _page_fixture(tmp_path)
    page = tmp_path / "performance.md"
    run_benchmarks.main(["--out", f"{tmp_path}/", "--docs", str(page), "--docs-only"])
    lines = page.read_text().splitlines()
    assert lines[0] == "# Performance"
    assert lines[2] == (
        f"Generated from `{tmp_path}/benchmarks.json` and `{tmp_path}/details.json` by `python -m "
        f"tools.bench.run_benchmarks --out {tmp_path} --docs {page} --docs-only`; do not edit by hand."
    )
    assert lines[4] == (
        "Figures of the run of 2026-12-03 (`python -m tools.bench.run_benchmarks --out b`). "
        "Machine: AMD EPYC (AVX-512), 2 CPU cores, no GPU; code: git 735c7f9298bb; full run."
    )
    assert "1 of 2 targets hold." in lines
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == ["## Targets", "## pipeline", "## memory"]
    # Each benchmark is introduced by the first sentence of its docstring.
    memory = lines.index("## memory")
    assert lines[memory + 2] == (
        "Peak RSS while streaming one epoch of shuffled 250 ms windows. (`python -m tools.bench.memory`)"
    )
    assert lines[memory + 6] == "| stream_peak_rss | 3.5 | GB | <= 3.128 | **misses** |"
    assert sum(line.startswith("| pipeline_vs_in_memory_raw_subseg (cpu) | 0.93 |") for line in lines) == 2
    assert sum(line.startswith("| matmul_4096_ceiling (cpu) | 216.8 |") for line in lines) == 1


def test_performance_page_refuses_figures_its_sections_do_not_account_for(tmp_path):
    from tools.bench.harness.page import performance_page

    records, details = _page_fixture(tmp_path)
    with pytest.raises(ValueError, match="each record"):
        performance_page(records + [harness.record("stray", 1.0, "x")], details, out="b", docs="p.md")
    with pytest.raises(ValueError, match="no 'run'"):
        performance_page(records, {"environment": details["environment"]}, out="b", docs="p.md")
    with pytest.raises(ValueError, match="Unknown fields"):
        performance_page(records, {**details, "run": {**details["run"], "machine": "x"}}, out="b", docs="p.md")


def test_docs_only_names_the_missing_run(tmp_path, capsys):
    from tools.bench import run_benchmarks

    with pytest.raises(SystemExit):
        run_benchmarks.main(["--out", str(tmp_path), "--docs", str(tmp_path / "p.md"), "--docs-only"])
    assert f"{tmp_path}/benchmarks.json does not exist" in capsys.readouterr().err


def test_committed_performance_page_is_generated_from_the_committed_figures():
    # docs/performance.md is written by the generator alone: regenerate it from tools/bench/results.
    from ser_keras.io import read_json
    from tools.bench.harness.page import performance_page

    out = ROOT / "tools" / "bench" / "results"
    page = performance_page(
        harness.check_records(read_json(out / "benchmarks.json")),
        read_json(out / "details.json"),
        out="tools/bench/results",
        docs="docs/performance.md",
    )
    assert (ROOT / "docs" / "performance.md").read_text() == page


def test_benchmarks_run_as_modules_from_any_folder(tmp_path):
    # Not installed: tool_command puts the checkout on PYTHONPATH for python -m tools.bench.<name>.
    command, environment = harness.tool_command("windows", ["--help"])
    done = subprocess.run(command, env=environment, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "stream shuffled 250 ms windows" in done.stdout


def test_every_benchmark_starts_as_the_commands_do_with_onednn_on():
    # Its figures must be those of the commands: console.quiet() picks oneDNN where TensorFlow would not.
    names = (
        "pipeline",
        "torch",
        "memory",
        "features",
        "precision",
        "gpu_projection",
        "gpu",
        "profile",
        "windows",
        "elor_epoch",
    )
    code = (
        "import importlib, os, sys\n"
        "for name in sys.argv[1:]:\n"
        "    os.environ.pop('TF_ENABLE_ONEDNN_OPTS', None)\n"
        "    try:\n"
        "        importlib.import_module(f'tools.bench.{name}').main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "    print('oneDNN', name, os.environ.get('TF_ENABLE_ONEDNN_OPTS'))\n"
    )
    _, environment = harness.tool_command("windows", [])
    environment.pop("TF_ENABLE_ONEDNN_OPTS", None)
    done = subprocess.run(
        [sys.executable, "-c", code, *names], env=environment, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    settings = [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("oneDNN ")]
    assert settings == [[name, "1"] for name in names]


def test_the_pytorch_peer_imports_without_tensorflow_or_ser_keras():
    # The peer runs under a venv with torch and numpy only.
    code = (
        "import sys; sys.modules['tensorflow'] = None; sys.modules['ser_keras'] = None; "
        "sys.path.insert(0, sys.argv[1]); from tools.bench.harness.peers import torch_raw_cnn_rate; "
        "print('imported')"
    )
    done = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "imported" in done.stdout, done.stderr[-2000:]


def test_ops_of_a_multi_step_loop_count_under_their_part():
    """With several steps per call every op sits inside the loop's scopes: the SGD update
    must still count as the optimizer, a layer's op under its layer."""
    from tools.bench.harness.profile import network_part, op_kind

    loop = "while/body/_1/while/cond/then/_175/while/cond/StatefulPartitionedCall"
    layers = {"conv1", "conv2"}
    assert network_part(f"{loop}/sgd/Mul_9", layers) == "sgd"
    assert op_kind("Mul", network_part(f"{loop}/sgd/Mul_9", layers)) == "optimizer"
    weight_gradient = f"{loop}/gradient_tape/raw_subseg_1/conv2_1/convolution/Conv2DBackpropFilter"
    assert network_part(weight_gradient, layers) == "conv2"
    assert network_part(f"{loop}/compile_loss/sparse_categorical_crossentropy/Sum", layers) == "compile_loss"
    assert network_part("StatefulPartitionedCall/SGD/AssignAddVariableOp", layers) == "SGD"
