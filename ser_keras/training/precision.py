"""Mixed-precision switch (no paper section: an execution setting; the papers trained in
float32, so it is off by default and recorded in a run's budget when on).

``--mixed-precision`` picks bfloat16 where the hardware computes it natively (NVIDIA GPUs of
compute capability 8.0 and newer; CPUs with AVX512_BF16 or AMX) and float16 elsewhere.
Builders keep the final softmax in float32. With float16, Keras wraps the optimizer of
``model.compile`` in a ``LossScaleOptimizer`` (whose ``learning_rate`` the halving schedule
still sets); the split-head loop of ELOR has no loss scaling, so it always takes bfloat16
(float32's exponent range, no underflow).
"""

import keras

from ser_keras.training import execution

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")


def configure_precision(precision="auto"):
    """Set Keras' global dtype policy (call before building models); return the policy name."""
    if precision not in PRECISIONS:
        raise ValueError(f"`precision` must be one of {PRECISIONS}. Got {precision!r}.")
    if precision == "auto":
        precision = execution.current().auto_precision
    keras.mixed_precision.set_global_policy(precision)
    return precision


def native_bfloat16():
    """Whether this machine computes bfloat16 natively (the first GPU, else the CPU), as
    :mod:`ser_keras.training.execution` found."""
    return execution.current().bfloat16_native


def half_precision_native():
    """Whether this machine computes a half-precision type natively: any GPU (float16), or a
    CPU with AVX512_BF16, AMX or AVX512_FP16. Elsewhere TensorFlow emulates it, several times
    slower than float32 (``python -m tools.bench.precision`` measures it)."""
    return execution.current().half_precision_native


def mixed_policy(*, loss_scaling=True):
    """The mixed policy for this hardware: bfloat16 where native, else float16 — which needs
    loss scaling, so a training loop without it (``loss_scaling=False``) gets bfloat16."""
    return "mixed_bfloat16" if native_bfloat16() or not loss_scaling else "mixed_float16"
