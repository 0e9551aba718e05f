"""FLOP counts and GPU-time projection of the ELOR search (ser_keras.tuning.budget)."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from ser_keras.models.elor import (
    ElorConfig,
    ElorFtrConfig,
    FtrConfig,
    LomConfig,
    build_elor,
    build_elor_ftr,
    build_ftr,
    build_lom,
)
from ser_keras.tuning import budget
from ser_keras.tuning.budget import (
    forward_flops,
    gpu_days,
    layer_flops,
    mean_step_flops,
    measure_step_throughput,
    split_head_step_flops,
)
from ser_keras.tuning.spaces import ELOR_SPACE
from tools.bench.harness.flops import flops_by_layer, split_head_training_flops


def profiler_flops(model, shape):
    function = tf.function(lambda x: model(x, training=False)).get_concrete_function(tf.TensorSpec(shape, tf.float32))
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    graph = convert_variables_to_constants_v2(function).graph
    return tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops


@pytest.mark.parametrize(
    "config,build,shape",
    [(ElorConfig(), build_elor, (1, 96000)), (LomConfig(), build_lom, (1, 599, 26))],
    ids=["elor", "lom"],
)
def test_analytic_forward_flops_match_the_tensorflow_profiler(config, build, shape):
    counted = profiler_flops(build(config), shape)
    # The profiler also counts biases, batch norm and pooling (< 2 % here).
    assert forward_flops(config) == pytest.approx(counted, rel=0.02)
    assert forward_flops(config) < counted


def _with_statistics(build, functionals):
    return lambda config: build(config, functional_mean=np.zeros(functionals), functional_variance=np.ones(functionals))


@pytest.mark.parametrize(
    "config,build",
    [
        (
            ElorConfig(
                input_length=16000,
                conv_filters=(23, 51, 37),
                conv_kernel_sizes=(11, 57, 23),
                pool_sizes=(3, 5, 14),
                head_units=(100, 37),
            ),
            build_elor,
        ),
        (
            LomConfig(conv_kernel_sizes=(3, 7, 4), pool_sizes=(1, 3, 2), conv_padding="same", head_units=(64,)),
            build_lom,
        ),
        (FtrConfig(num_functionals=30, head_units=(16, 8, 4)), _with_statistics(build_ftr, 30)),
        (
            ElorFtrConfig(input_length=8000, num_functionals=30, head_units=(32, 16)),
            _with_statistics(build_elor_ftr, 30),
        ),
    ],
    ids=["elor", "lom-same", "ftr", "elor_ftr"],
)
def test_layers_listed_from_a_config_are_those_counted_on_its_graph(config, build):
    model = build(config)
    listed, counted = layer_flops(config), flops_by_layer(model)
    # Keras orders the two heads' layers its own way; the first layer (no input gradient) is the same size.
    assert sorted(listed) == sorted(counted) and listed[0][1] == counted[0][1]
    assert split_head_step_flops(config) == split_head_training_flops(model)


def test_elor_centre_is_dominated_by_conv2_and_the_step_counts_two_half_steps():
    flops = dict(layer_flops(ElorConfig()))
    assert flops["conv2"] == 2 * 40 * 40 * 40 * (47990 - 39)
    assert flops["conv1"] == 2 * 20 * 1 * 40 * (96000 - 19)
    # FTR by hand: per head 2 * (10*4 + 4*3 + 3*5) = 134; a half-step = forward of both heads
    # (268) + backward of one head without the first layer's input gradient (2*134 - 80).
    tiny = FtrConfig(num_functionals=10, head_units=(4, 3))
    assert forward_flops(tiny) == 268
    assert split_head_step_flops(tiny) == 2 * (268 + 2 * 134 - 80)


def test_space_mean_exceeds_the_centre_and_projection_arithmetic():
    assert mean_step_flops(ELOR_SPACE, draws=200) > split_head_step_flops(ElorConfig())
    assert gpu_days(86400e12, 2.0, 0.5) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="1.5"):
        gpu_days(1e12, 2.0, 1.5)


def test_throughput_is_samples_per_second_of_the_timed_steps_only(monkeypatch):
    from ser_keras.training.split_heads import SplitHeadTrainer

    # A clock that reads the number of train steps run so far: each step "takes" 1 s, so
    # the rate is the batch size when the warm-up (tracing) step is left out of the timing.
    steps_run = []
    real_step = SplitHeadTrainer.train_step

    def counted_step(self, *args):
        steps_run.append(1)
        return real_step(self, *args)

    monkeypatch.setattr(SplitHeadTrainer, "train_step", counted_step)
    monkeypatch.setattr(budget.time, "perf_counter", lambda: float(len(steps_run)))
    config = ElorConfig(
        input_length=800, conv_filters=(4, 4, 4), conv_kernel_sizes=(5, 5, 5), pool_sizes=(2, 2, 2), head_units=(8, 8)
    )
    assert measure_step_throughput(config, batch_size=4, steps=3) == 4.0
    assert len(steps_run) == 1 + 3
    with pytest.raises(ValueError, match="steps must be >= 1"):
        measure_step_throughput(config, steps=0)
