"""The benchmark library: analytic FLOP counts against hand counts, and the record schema."""

import json
import sys

import keras
import pytest

from ser_keras import benchmarks


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
    assert benchmarks.flops_by_layer(_tiny_cnn()) == [("conv1", CONV1), ("conv2", CONV2), ("dense", DENSE)]


def test_forward_and_training_flops():
    model = _tiny_cnn()
    assert benchmarks.forward_flops(model) == CONV1 + CONV2 + DENSE == 3768
    # Backward: weight gradients of every layer, input gradients of all but the first.
    assert benchmarks.training_flops(model) == 3 * (CONV1 + CONV2 + DENSE) - CONV1 == 9384


def test_dense_on_sequences_counts_every_position():
    inputs = keras.Input(shape=(5, 7))
    model = keras.Model(inputs, keras.layers.Dense(3, name="d")(inputs))
    assert benchmarks.forward_flops(model) == 2 * 5 * 7 * 3


def test_raw_subseg_training_flops():
    from ser_keras.models.raw_cnn import build_raw_subseg

    # conv1 398x30x128, conv2 38x10x128x256, conv3 5x4x256x512, conv4 3x3x512x512, 1536x10, 10x4.
    forward = 2 * (398 * 30 * 128 + 38 * 10 * 128 * 256 + 5 * 4 * 256 * 512 + 3 * 3 * 512 * 512 + 1536 * 10 + 10 * 4)
    model = build_raw_subseg()
    assert benchmarks.forward_flops(model) == forward
    assert benchmarks.training_flops(model) == 3 * forward - 2 * 398 * 30 * 128


def test_uncounted_kernel_layer_raises():
    inputs = keras.Input(shape=(10, 2))
    model = keras.Model(inputs, keras.layers.Conv1DTranspose(2, 3, name="up")(inputs))
    with pytest.raises(TypeError, match="up"):
        benchmarks.forward_flops(model)


def test_split_head_flops_count_each_head_backward_once():
    inputs = keras.Input(shape=(8,))
    trunk = keras.layers.Dense(6, name="trunk")(inputs)
    outputs = {head: keras.layers.Dense(2, name=head)(trunk) for head in ("valence", "arousal")}
    model = keras.Model(inputs, outputs)
    trunk_f, head_f = 2 * 8 * 6, 2 * 6 * 2
    # Per update: full forward + trunk weight grads + one head's weight and input grads.
    per_update = (trunk_f + 2 * head_f) + trunk_f + 2 * head_f
    assert benchmarks.split_head_training_flops(model) == 2 * per_update


def test_record_targets_and_holds():
    assert benchmarks.record("r", 0.93, "ratio", at_least=0.9) == {
        "name": "r", "value": 0.93, "unit": "ratio", "target": ">= 0.9", "holds": True}
    assert benchmarks.record("r", 0.5, "ratio", at_least=0.9)["holds"] is False
    assert benchmarks.record("m", 3.0, "GB", at_most=2.5)["holds"] is False
    assert benchmarks.record("m", 2.0, "GB", at_most=2.5)["holds"] is True
    assert benchmarks.record("s", None, "x", at_least=1)["holds"] is None
    assert benchmarks.record("n", 7.0, "x")["target"] is None


def test_record_rejects_bad_input():
    with pytest.raises(ValueError, match="at most one bound"):
        benchmarks.record("r", 1.0, "x", at_least=1, at_most=2)
    with pytest.raises(ValueError, match="finite"):
        benchmarks.record("r", float("nan"), "x")


def test_check_records_schema():
    records = [benchmarks.record("a", 1.0, "x", at_least=0.5), benchmarks.record("b", None, "y")]
    assert benchmarks.check_records(records) is records
    json.dumps(records)
    with pytest.raises(ValueError, match="exactly the keys"):
        benchmarks.check_records([{"name": "a", "value": 1.0}])
    with pytest.raises(ValueError, match="null exactly"):
        benchmarks.check_records([{"name": "a", "value": 1.0, "unit": "x", "target": None, "holds": True}])
    with pytest.raises(ValueError, match="must be a list"):
        benchmarks.check_records({"name": "a"})


def test_tables_show_every_record():
    records = [benchmarks.record("speed", 0.5, "ratio", at_least=0.9), benchmarks.record("peer", None, "ratio")]
    text = benchmarks.format_table(records)
    assert "MISSES" in text and "skipped" in text and ">= 0.9" in text
    markdown = benchmarks.markdown_table(records)
    assert markdown.count("\n") == 4 and "| speed | 0.5 | ratio | >= 0.9 | **misses** |" in markdown


def test_rates_on_both_clocks_and_best():
    import os

    measured = benchmarks.rates(100, {"wall": 2.0, "cpu": 4.0})
    assert measured == {"wall": 50.0, "cpu": 100 * (os.cpu_count() or 1) / 4.0}
    assert benchmarks.best([{"wall": 1.0, "cpu": 5.0}, {"wall": 3.0, "cpu": 2.0}]) == {"wall": 3.0, "cpu": 5.0}
    with pytest.raises(ValueError, match="rounds"):
        benchmarks.best_rate(lambda: None, 1, rounds=0)


def test_layer_profile_times_every_weighted_layer_with_the_first_layer_input_gradient_left_out(monkeypatch):
    import os

    from ser_keras.benchmarks import timing

    # A clock that advances one second per reading: every timed round takes exactly 1 s on
    # both clocks, so each rate must be training FLOPs x examples per round, in FLOP/s.
    readings = iter(range(10 ** 6))
    monkeypatch.setattr(timing, "clock", lambda: dict.fromkeys(benchmarks.CLOCKS, float(next(readings))))
    profile = benchmarks.layer_training_rates(_tiny_cnn(), batch_size=4, rounds=1, steps=2)
    assert [(name, flops) for name, flops, _ in profile] == [
        ("conv1", 2 * CONV1), ("conv2", 3 * CONV2), ("dense", 3 * DENSE)]
    for _, flops, rate in profile:
        assert rate == {"wall": flops * 4 * 2, "cpu": flops * 4 * 2 * (os.cpu_count() or 1)}


def test_precision_benchmark_times_each_model_under_both_policies(monkeypatch):
    # Fake workloads report the policy they were built under: the figure must be mixed / float32
    # of the same model, and the global policy must be float32 again afterwards.
    from ser_keras.cli import bench_precision
    from ser_keras.training import precision

    rates = {"float32": 100.0, "mixed_float16": 150.0, "mixed_bfloat16": 120.0}
    seen = []

    def fake(name):
        def measure(*args, **kwargs):
            policy = keras.mixed_precision.global_policy().name
            seen.append((name, policy))
            rate = {"wall": rates[policy], "cpu": 2 * rates[policy]}
            return {"pipeline": rate} if name == "raw" else (None, rate)
        return measure

    monkeypatch.setattr(benchmarks, "load_window_store", lambda corpus: None)
    monkeypatch.setattr(benchmarks, "raw_cnn_rates", fake("raw"))
    monkeypatch.setattr(benchmarks, "lld_mlp_rate", fake("mlp"))
    monkeypatch.setattr(benchmarks, "elor_rate", fake("elor"))
    monkeypatch.setattr(precision, "native_bfloat16", lambda: False)
    records, details = bench_precision.measure("synthetic:tiny", quick=True)
    values = {record["name"]: record["value"] for record in records}
    assert values["raw_subseg_mixed_speedup (cpu)"] == pytest.approx(1.5)
    assert values["lld_mlp_3x1024_mixed_speedup (wall)"] == pytest.approx(1.5)
    assert values["elor_mixed_speedup (cpu)"] == pytest.approx(1.2)  # no loss scaling: bfloat16
    assert {policy for _, policy in seen} == {"float32", "mixed_float16", "mixed_bfloat16"}
    assert ("elor", "mixed_float16") not in seen
    assert keras.mixed_precision.global_policy().name == "float32"
    assert details["policies"]["elor"] == "mixed_bfloat16"


def test_end_to_end_reports_cores_busy_beside_the_wall_time(monkeypatch):
    from ser_keras.cli import bench_end_to_end

    monkeypatch.setattr(benchmarks, "script_wall_time", lambda *args, **kwargs: (600.0, 1080.0))
    records, details = bench_end_to_end.measure(quick=False, timeout_s=10)
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
    seconds, cpu_seconds = benchmarks.script_wall_time(str(script), ["0"], log_path=tmp_path / "log",
                                                       timeout_s=120)
    assert cpu_seconds >= 0.75 and seconds > 0
    with pytest.raises(RuntimeError, match="exited with 3"):
        benchmarks.script_wall_time(str(script), ["3"], log_path=tmp_path / "log", timeout_s=120)


def test_gpu_benchmark_runs_on_the_cpu_through_both_input_paths(monkeypatch, tiny_root, capsys):
    # The prepared GPU check must at least run where there is no GPU: every model through the
    # device-input path and the host pipeline, and it says that the figures are CPU figures.
    from ser_keras.cli import bench_gpu
    from ser_keras.experiments.networks import NETWORKS
    from ser_keras.models import elor

    small = elor.ElorConfig.from_dict({**NETWORKS["elor"].quick_hparams, "batch_size": 8})
    monkeypatch.setattr(elor, "ElorConfig", lambda: small)
    monkeypatch.setattr(bench_gpu, "gpu_name", lambda: None)
    records, details = bench_gpu.measure("synthetic:tiny", quick=True, batch_size=8, steps=2, rounds=1)
    assert "No GPU visible: CPU figures" in capsys.readouterr().out
    values = {record["name"]: record["value"] for record in records}
    for model in ("raw_subseg", "raw_seg", "elor"):
        for clock in benchmarks.CLOCKS:
            assert values[f"{model}_device_input_rate ({clock})"] > 0
            assert values[f"device_vs_host_{model} ({clock})"] == pytest.approx(
                values[f"{model}_device_input_rate ({clock})"] / values[f"{model}_host_pipeline_rate ({clock})"], rel=2e-3)
    assert values["elor_routed_vs_tensorflow (wall)"] > 0
    assert details["gpu"] is None and details["projection"] is None


def test_op_kinds_of_elor_parts():
    from ser_keras.benchmarks.profile import op_kind

    assert op_kind("_MklNativeConv2DBackpropFilter", "conv2") == "weighted layers"
    assert op_kind("Mul", "conv1_batchnorm") == "batch normalization"
    assert op_kind("Sum", "conv1_batchnorm") == "batch normalization"
    assert op_kind("Sum", "compile_loss") == "softmax / loss"
    assert op_kind("Mul", "sgd_valence") == "optimizer"
    assert op_kind("Mul", "conv1") == "other"


@pytest.mark.parametrize("routed", [False, True])
def test_split_head_trace_shows_which_ops_compute_the_routed_layers(tmp_path, routed):
    import tensorflow as tf

    from ser_keras.benchmarks.profile import network_part, op_self_times, trace_split_head_training
    from ser_keras.models.elor import ElorConfig, build_elor
    from ser_keras.training.split_heads import SplitHeadTrainer

    config = ElorConfig(input_length=200, conv_filters=(3, 3), conv_kernel_sizes=(5, 16), pool_sizes=(2, 2),
                        head_units=(4,))  # conv2 takes 3 channels through a kernel of 16: routed
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
    from ser_keras.cli import run_benchmarks
    from ser_keras.runs import describe_machine

    def fake_tool(name, arguments, out, timeout_s):
        return [benchmarks.record(f"{name}_ratio", 0.5, "ratio", at_least=0.9)], {"ran": name}

    monkeypatch.setattr(run_benchmarks, "run_tool", fake_tool)
    run_benchmarks.main(["--quick", "--out", str(tmp_path), "--only", "pipeline,memory"])
    details = json.loads((tmp_path / "details.json").read_text())
    assert details["pipeline"] == {"ran": "pipeline"} and details["memory"] == {"ran": "memory"}
    environment = details["environment"]
    assert set(environment["cpu"]) == {"model", "avx512"} and "git_sha" in environment
    heading, blank, *table = (tmp_path / "benchmarks.md").read_text().splitlines()
    assert heading.startswith(f"Machine: {describe_machine(environment)}; code: git ") and heading.endswith("--quick run.")
    assert blank == "" and table[2] == "| pipeline_ratio | 0.5 | ratio | >= 0.9 | **misses** |"
    assert [item["name"] for item in json.loads((tmp_path / "benchmarks.json").read_text())] == [
        "pipeline_ratio", "memory_ratio"]


def test_ops_of_a_multi_step_loop_count_under_their_part():
    """With several steps per call every op sits inside the loop's scopes: the SGD update
    must still count as the optimizer, a layer's op under its layer."""
    from ser_keras.benchmarks.profile import network_part, op_kind

    loop = "while/body/_1/while/cond/then/_175/while/cond/StatefulPartitionedCall"
    layers = {"conv1", "conv2"}
    assert network_part(f"{loop}/sgd/Mul_9", layers) == "sgd"
    assert op_kind("Mul", network_part(f"{loop}/sgd/Mul_9", layers)) == "optimizer"
    assert network_part(f"{loop}/gradient_tape/raw_subseg_1/conv2_1/convolution/Conv2DBackpropFilter", layers) == "conv2"
    assert network_part(f"{loop}/compile_loss/sparse_categorical_crossentropy/Sum", layers) == "compile_loss"
    assert network_part("StatefulPartitionedCall/SGD/AssignAddVariableOp", layers) == "SGD"
