"""How this process executes training: the one place that asks which hardware it runs on.

Not a paper section. Several execution choices depend on the hardware, and each module used
to ask TensorFlow itself: XLA (``fit.train_frame_classifier``), the same-maths routes
(``routes.routed_layers``), the precision policies (``precision``) and the input path
(``device_input``, the experiments and tuning tasks). :func:`current` decides them once per
process from the devices TensorFlow sees and the CPU's ``/proc/cpuinfo`` flags, into one frozen
:class:`Execution` that those modules read, and that a run records (``env.json`` and
``metrics.json``'s ``finished_on``), so a run states how it executed.

The rules, as measured (docs/architecture.md):

- a visible GPU: XLA on, no routes, inputs cut on the device (the host pipeline cannot feed
  it), ``auto`` precision ``mixed_float16``;
- a TPU without a GPU: inputs cut on the device; no XLA switch of ours, routes as on a CPU;
- a CPU only: XLA off (it slowed training), the routes on (patch matmuls, on a CPU without
  AVX-512 also over wide inputs; frame pairs; fused batch norms), the host pipeline, float32.

Native half precision (the first GPU's compute capability, else the CPU's flags) picks
``--mixed-precision``'s policy (``precision.mixed_policy``).
"""

import dataclasses
import functools

DEVICES = ("gpu", "tpu", "cpu")
# CPU flags of a native half-precision type: bfloat16 alone, and bfloat16 or float16.
_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")
_HALF_PRECISION_FLAGS = (*_BFLOAT16_FLAGS, "avx512_fp16", "amx_fp16")
# NVIDIA's compute capability from which a GPU computes bfloat16 (Ampere).
_BFLOAT16_CAPABILITY = (8, 0)


@dataclasses.dataclass(frozen=True)
class Execution:
    """How this process trains, decided once (:func:`current`).

    ``device``: where the compiled steps run, ``"gpu"``, ``"tpu"`` or ``"cpu"``; ``gpus``: the
    names of the visible GPUs; ``cpu_model`` and ``cpu_avx512``: this CPU (None where
    ``/proc/cpuinfo`` does not tell; AVX-512 decides which convolutions the patch-matmul route
    takes). The decisions: ``xla`` (the default ``jit_compile`` of the SHORT recipe), ``routes``
    (whether the trainers route layers by default), ``inputs_on_device`` (window ids or slice
    indices cut inside the compiled step instead of the host pipeline), ``auto_precision`` (the
    policy ``configure_precision("auto")`` sets), ``bfloat16_native`` and
    ``half_precision_native`` (whether mixed precision computes natively or is emulated).
    """

    device: str
    gpus: tuple
    cpu_model: str | None
    cpu_avx512: bool | None
    xla: bool
    routes: bool
    inputs_on_device: bool
    auto_precision: str
    bfloat16_native: bool
    half_precision_native: bool

    def __post_init__(self):
        if self.device not in DEVICES:
            raise ValueError(f"An Execution's device must be one of {DEVICES}. Got {self.device!r}.")

    @property
    def input_path(self):
        """The input path in words, as sidecars and records name it."""
        return "ids cut on the device" if self.inputs_on_device else "host pipeline"

    def to_dict(self):
        """The record for ``env.json`` and ``metrics.json`` (JSON-ready)."""
        return {**dataclasses.asdict(self), "gpus": list(self.gpus), "input_path": self.input_path}


def decide(*, gpus, tpu, cpu, cpuinfo_flags, gpu_capability=None):
    """The :class:`Execution` of a machine with visible GPUs named ``gpus`` (the first of
    compute capability ``gpu_capability``), a TPU (``tpu``), CPU facts ``cpu`` (as
    :func:`cpu_facts` gives them) and ``cpuinfo_flags``."""
    device = "gpu" if gpus else "tpu" if tpu else "cpu"
    on_gpu = device == "gpu"
    if on_gpu:
        bfloat16 = tuple(gpu_capability or (0, 0)) >= _BFLOAT16_CAPABILITY
    else:
        bfloat16 = any(flag in cpuinfo_flags for flag in _BFLOAT16_FLAGS)
    return Execution(
        device=device,
        gpus=tuple(gpus),
        cpu_model=cpu["model"],
        cpu_avx512=cpu["avx512"],
        xla=on_gpu,
        routes=not on_gpu,
        inputs_on_device=device != "cpu",
        auto_precision="mixed_float16" if on_gpu else "float32",
        bfloat16_native=bfloat16,
        half_precision_native=on_gpu or any(flag in cpuinfo_flags for flag in _HALF_PRECISION_FLAGS),
    )


@functools.cache
def current():
    """This process's :class:`Execution`, decided on the first call and kept: the visible GPUs
    (their names and the first one's compute capability), else a TPU, else the CPU."""
    import tensorflow as tf

    visible = tf.config.get_visible_devices("GPU")
    details = [tf.config.experimental.get_device_details(gpu) for gpu in visible]
    return decide(
        gpus=[detail.get("device_name", gpu.name) for gpu, detail in zip(visible, details)],
        tpu=not visible and bool(tf.config.list_logical_devices("TPU")),
        cpu=cpu_facts(),
        cpuinfo_flags=_cpu_flags(),
        gpu_capability=details[0].get("compute_capability") if details else None,
    )


@functools.cache
def _cpu_flags(cpuinfo_path="/proc/cpuinfo"):
    """Every flag name of this CPU's ``/proc/cpuinfo`` (empty where there is none)."""
    return frozenset(_cpuinfo(cpuinfo_path)[1] or ())


@functools.cache
def cpu_facts(cpuinfo_path="/proc/cpuinfo"):
    """``{"model": name, "avx512": bool}`` of this CPU from ``/proc/cpuinfo``; a value is
    None where that file does not tell (not Linux, or a CPU without x86 flags)."""
    model, flags = _cpuinfo(cpuinfo_path)
    return {"model": model, "avx512": None if flags is None else "avx512f" in flags}


def _cpuinfo(cpuinfo_path):
    """The first processor's model name and flag list in ``cpuinfo_path`` (None: not there)."""
    model, flags = None, None
    try:
        with open(cpuinfo_path) as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model is None:
                    model = value.strip()
                elif key == "flags" and flags is None:
                    flags = value.split()
    except OSError:
        pass
    return model, flags
