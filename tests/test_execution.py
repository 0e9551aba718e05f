"""How a process executes training (ser_keras.training.execution): the rules, decided once, and
every module that used to ask TensorFlow for its devices reads that one decision instead."""

import sys
import types
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import ser_keras
from ser_keras.experiments.elor import ElorExperiment
from ser_keras.experiments.short import ShortExperiment
from ser_keras.runs import environment
from ser_keras.training import device_input, execution, precision
from ser_keras.training.fit import train_frame_classifier
from ser_keras.training.routes import routed_layers

AVX2_CPU = {"model": "AMD EPYC", "avx512": False}
H100 = execution.decide(
    gpus=["NVIDIA H100 80GB HBM3"], tpu=False, cpu=AVX2_CPU, cpuinfo_flags=("avx2",), gpu_capability=(9, 0)
)
CPU = execution.decide(gpus=[], tpu=False, cpu=AVX2_CPU, cpuinfo_flags=("avx2",))
# The modules that each asked TensorFlow (or /proc/cpuinfo) for the hardware before.
FORMER_DECIDERS = (
    "training/fit.py",
    "training/routes.py",
    "training/precision.py",
    "training/device_input.py",
    "runs.py",
    "tuning/tasks.py",
    "experiments/short.py",
    "experiments/elor.py",
)
DEVICE_QUERIES = ("list_physical_devices", "list_logical_devices", "get_visible_devices", "get_device_details")


def test_a_gpu_takes_xla_the_device_input_and_no_routes_and_a_cpu_the_opposite():
    assert (H100.device, H100.xla, H100.routes, H100.inputs_on_device, H100.auto_precision) == (
        "gpu",
        True,
        False,
        True,
        "mixed_float16",
    )
    assert (CPU.device, CPU.xla, CPU.routes, CPU.inputs_on_device, CPU.auto_precision) == (
        "cpu",
        False,
        True,
        False,
        "float32",
    )
    tpu = execution.decide(gpus=[], tpu=True, cpu=AVX2_CPU, cpuinfo_flags=())
    assert (tpu.device, tpu.xla, tpu.routes, tpu.inputs_on_device) == ("tpu", False, True, True)
    assert H100.input_path == "ids cut on the device" and CPU.input_path == "host pipeline"
    assert H100.gpus == ("NVIDIA H100 80GB HBM3",) and (H100.cpu_model, H100.cpu_avx512) == ("AMD EPYC", False)
    with pytest.raises(ValueError, match="'npu'"):
        execution.Execution("npu", (), None, None, False, True, False, "float32", False, False)


@pytest.mark.parametrize(
    "gpus, capability, flags, bfloat16, half",
    [
        (["V100"], (7, 0), (), False, True),  # any GPU computes float16; bfloat16 from Ampere on
        (["A100"], (8, 0), (), True, True),
        ([], None, ("avx2", "avx512f"), False, False),  # emulated on this CPU
        ([], None, ("avx512f", "avx512_bf16"), True, True),
        ([], None, ("amx_bf16",), True, True),
        ([], None, ("avx512_fp16",), False, True),
    ],
)
def test_native_half_precision_follows_the_gpus_capability_else_the_cpu_flags(gpus, capability, flags, bfloat16, half):
    decided = execution.decide(gpus=gpus, tpu=False, cpu=AVX2_CPU, cpuinfo_flags=flags, gpu_capability=capability)
    assert (decided.bfloat16_native, decided.half_precision_native) == (bfloat16, half)


def test_cpu_facts_read_x86_flags_and_say_none_where_there_are_none(tmp_path):
    x86 = tmp_path / "x86"
    x86.write_text(
        "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 fma\n\n"
        "processor\t: 1\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 fma\n"
    )
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd\n")
    avx512 = tmp_path / "avx512"
    avx512.write_text("model name\t: Intel Xeon\nflags\t\t: avx2 avx512f avx512bw\n")
    assert execution.cpu_facts(str(x86)) == {"model": "AMD EPYC", "avx512": False}
    assert execution.cpu_facts(str(avx512)) == {"model": "Intel Xeon", "avx512": True}
    assert execution.cpu_facts(str(arm)) == {"model": None, "avx512": None}
    assert execution.cpu_facts(str(tmp_path / "missing")) == {"model": None, "avx512": None}


def test_this_machine_is_decided_once_from_what_tensorflow_sees(monkeypatch):
    asked = []
    for name in DEVICE_QUERIES:
        real = getattr(tf.config, name, None) or getattr(tf.config.experimental, name)

        def spy(*args, _real=real, _name=name):
            asked.append(_name)
            return _real(*args)

        monkeypatch.setattr(tf.config if hasattr(tf.config, name) else tf.config.experimental, name, spy)
    execution.current.cache_clear()
    first = execution.current()
    asked_once = list(asked)
    assert asked_once and execution.current() is first
    _read_every_decision()
    assert asked == asked_once  # read again and again, asked once
    visible = tf.config.get_visible_devices("GPU")
    assert first.device == ("gpu" if visible else "cpu") and len(first.gpus) == len(visible)
    assert (first.cpu_model, first.cpu_avx512) == tuple(execution.cpu_facts().values())


@pytest.mark.parametrize("decided", [H100, CPU], ids=["gpu", "cpu"])
def test_every_former_decider_follows_the_one_decision_without_asking_tensorflow(monkeypatch, decided):
    # Pretend the machine (a GPU on this CPU, or a CPU on a GPU box): each consumer must follow
    # the decision and none of the package's modules may ask TensorFlow for its devices.
    monkeypatch.setattr(execution, "current", lambda: decided)
    asked_by_us = []
    for name in DEVICE_QUERIES:
        owner = tf.config if hasattr(tf.config, name) else tf.config.experimental
        real = getattr(owner, name)

        def spy(*args, _real=real, _name=name):
            caller = sys._getframe(1).f_globals.get("__name__", "")
            if caller.startswith("ser_keras"):
                asked_by_us.append((caller, _name))
            return _real(*args)

        monkeypatch.setattr(owner, name, spy)
    on_gpu = decided.device == "gpu"

    asked_xla = []
    compile_model = keras.Model.compile

    def compile_spy(self, *args, **kwargs):
        asked_xla.append(kwargs.get("jit_compile"))
        return compile_model(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "compile", compile_spy)
    summary, model = _train_tiny_cnn()
    # What the trainer asks Keras for; Keras itself may still decline XLA for a layer it cannot
    # compile on this machine, which is not the decision under test.
    assert asked_xla == [on_gpu]
    assert summary["routes"] == ({} if on_gpu else {"conv": "patch_matmul"})
    with routed_layers(model) as routed:
        assert bool(routed) is not on_gpu
    try:
        assert precision.configure_precision("auto") == ("mixed_float16" if on_gpu else "float32")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert precision.native_bfloat16() is on_gpu and precision.half_precision_native() is on_gpu
    assert precision.mixed_policy() == ("mixed_bfloat16" if on_gpu else "mixed_float16")
    host = tf.Variable([1, 2, 3], name="owners")
    assert (device_input.device_copy(host, cache={}) is host) is not on_gpu
    no_folds = types.SimpleNamespace(folds=())
    assert ShortExperiment(no_folds, None, None).inputs_on_device is on_gpu
    assert ElorExperiment(no_folds, None, None).inputs_on_device is on_gpu
    recorded = environment()
    assert recorded["execution"] == decided.to_dict() and recorded["gpus"] == list(decided.gpus)
    assert recorded["cpu"] == AVX2_CPU
    assert asked_by_us == []


def test_no_former_decider_asks_tensorflow_or_cpuinfo_itself():
    # The tuning tasks default their input path as the experiments do; read here from the source.
    package = Path(ser_keras.__file__).parent
    for path in FORMER_DECIDERS:
        source = (package / path).read_text()
        assert not [query for query in (*DEVICE_QUERIES, "/proc/cpuinfo") if query in source], path
        assert "from ser_keras.training import execution" in source, path


def _read_every_decision():
    decided = execution.current()
    with routed_layers(_tiny_cnn(), enabled=None):
        pass
    precision.native_bfloat16(), precision.half_precision_native(), precision.mixed_policy()
    device_input.device_copy(tf.Variable([1]), cache={})
    ShortExperiment(types.SimpleNamespace(folds=()), None, None)
    assert environment()["execution"] == decided.to_dict()


def _tiny_cnn():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((20, 4))
    conv = keras.layers.Conv1D(8, 4, strides=4, activation="relu", name="conv")(inputs)  # 5 positions
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(conv)))


def _train_tiny_cnn():
    model = _tiny_cnn()
    rng = np.random.default_rng(0)
    data = tf.data.Dataset.from_tensor_slices(
        (rng.normal(size=(16, 20, 4)).astype("float32"), rng.integers(0, 2, 16))
    ).batch(8)
    return train_frame_classifier(model, data, data, max_epochs=1, verbose=0), model
