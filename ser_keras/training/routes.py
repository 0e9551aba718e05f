"""Same-maths routes for layers that TensorFlow trains slowly on a CPU.

Not a paper section: execution details of training SHORT's raw CNNs (§2.3) and the ELOR
networks' convolution trunks ("ELoR network", Fig. 2). A route replaces a built layer's
``call`` on the instance only, so the layer classes, configs and weights, and with them a
saved ``.h5``, stay plain Keras. Three routes, each applied where it was measured to pay off
(the measurements: docs/architecture.md):

``patch_matmul``: a Conv1D with few output positions (SHORT's conv3 and conv4: 1-5 positions,
256-512 channels) as one matmul of its gathered input patches with the reshaped kernel. On
such shapes oneDNN's convolutions reach well under half of the matmul ceiling, and the same
products as one matmul train both raw CNNs faster. On an x86 CPU without AVX-512, where oneDNN
falls back to its AVX2 convolutions, which are slow over many input channels, also SHORT's
conv2 (128 input channels, a kernel of two or three strides).

``frame_pairs``: the kernel gradient of a stride-1 Conv1D over long inputs (ELoR's conv2:
40 x 40 channels, kernel 40, 47,951 positions per 6 s slice). TensorFlow's filter-gradient
kernels, oneDNN's and Eigen's alike, reduce over that many positions at a tenth of the speed
of the forward convolution; a profiler trace gives that one op more than half of an ELoR
step. The same gradient, ``dW[j, c, f] = sum over n, t of x[n, t + j, c] * dy[n, t, f]``, is
cut into frames of ``B`` positions: frame ``i`` of ``dy`` meets frames ``i .. i + span - 1``
of ``x`` only (``span = 1 + ceil((k - 1) / B)``), so ``span`` matmuls of (frames x
B*channels) matrices give every product of such a frame pair, and tap ``j`` is the sum of
the diagonal ``r + j`` / ``r`` of the blocks: ``span * B / k`` times the multiply-adds of the
direct reduction (1.25 with ``B`` about ``k / 4``), at matmul speed. Its input gradient is
a forward convolution of the zero-padded upstream gradient with the flipped kernel, which
oneDNN computes faster than TensorFlow's backprop-input op.

``fused_batch_norm``: a BatchNormalization layer in training mode (ELoR's, after each
convolution: 32 x 95,981 x 40 values after conv1) as TensorFlow's fused batch-norm op, one
pass for the moments and one for the normalisation and their gradients, where Keras builds
them from separate reductions and elementwise ops. The moving statistics are updated as
Keras updates them, from the population variance (the op returns the unbiased one).

Same maths, other summation order: outputs and gradients agree with TensorFlow's to float
rounding (tests). :func:`route_layers` applies the routes; the trainers route only while they
train (:func:`routed_layers`), so predictions and saved models run TensorFlow's own ops and a
reloaded ``.h5`` predicts bit for bit what the trained model predicted. Which layers a route
takes depends on the hardware (a GPU: none; the CPU's vector instructions), as
:mod:`ser_keras.training.execution` decides once per process, so a trained
model's rounding does too: the trainers report the routed layers, and ``env.json`` the CPU.
"""

import contextlib
import types

import keras
import numpy as np
import tensorflow as tf

from ser_keras.training import execution


def frame_length(kernel_size, in_channels):
    """Default frame length ``B``: a quarter of the kernel, rounded up until a row of
    ``B * in_channels`` float32 values is a whole number of 64-byte lines (a frame offset then
    slices the flat input without a copy). ELoR's conv2 (k 40, 40 channels) gets ``B`` 10: five
    frames meet, 1.25 times the direct multiply-adds; longer frames multiply more products that
    no tap uses (1.5 and 2 times at ``B`` 20 and 40) and measured slower."""
    frame = max(-(-(kernel_size - 1) // 4), 1)
    while frame * in_channels % 16:
        frame += 1
    return frame


def conv1d_kernel_gradient(inputs, upstream, kernel_size, frame=None):
    """Gradient ``(k, in_channels, out_channels)`` of a stride-1 'valid' Conv1D's kernel.

    ``inputs``: ``(batch, length, in_channels)``; ``upstream``: the gradient of its output,
    ``(batch, length - k + 1, out_channels)``; ``frame``: frame length ``B`` (default
    :func:`frame_length`).
    """
    in_channels, out_channels = inputs.shape[-1], upstream.shape[-1]
    frame = frame or frame_length(kernel_size, in_channels)
    # Upstream frame i meets input frames i .. i + span - 1.
    span = 1 + -(-(kernel_size - 1) // frame)
    positions = tf.shape(upstream)[1]
    # span - 1 frames more than the outputs need: their upstream part is zero, so a pair that
    # reaches into the next example's input frames adds nothing.
    frames = (positions + frame - 1) // frame + span - 1
    x = tf.pad(inputs, [[0, 0], [0, frames * frame - tf.shape(inputs)[1]], [0, 0]])
    dy = tf.pad(upstream, [[0, 0], [0, frames * frame - positions], [0, 0]])
    x = tf.reshape(x, [-1, frame * in_channels])
    dy = tf.reshape(dy, [-1, frame * out_channels])
    rows = tf.shape(x)[0]
    blocks = [tf.matmul(x[offset:], dy[: rows - offset], transpose_a=True) for offset in range(span)]
    # pairs[s, c, r, f]: sum of x[B*i + s, c] * dy[B*i + r, f] over frames i, for offsets s < span * B.
    # Under a mixed-precision policy the diagonal sums run in float32.
    accumulator = tf.float32 if inputs.dtype in (tf.bfloat16, tf.float16) else inputs.dtype
    pairs = tf.reshape(
        tf.cast(tf.concat(blocks, axis=0), accumulator), [span * frame, in_channels, frame, out_channels]
    )
    taps = np.arange(kernel_size)[:, None] + np.arange(frame)[None, :]
    diagonal = np.stack([taps, np.broadcast_to(np.arange(frame), taps.shape)], axis=-1)
    gradient = tf.reduce_sum(tf.gather_nd(tf.transpose(pairs, [0, 2, 1, 3]), diagonal), axis=1)
    return tf.cast(gradient, inputs.dtype)


def conv1d_input_gradient(upstream, kernel):
    """Gradient ``(batch, length, in_channels)`` of a stride-1 'valid' Conv1D's input, from
    ``upstream`` ``(batch, length - k + 1, out_channels)`` and ``kernel`` ``(k, in, out)``:
    ``dx[t] = sum over j of dy[t - j] @ kernel[j].T``, a forward 'valid' convolution of ``dy``
    padded by ``k - 1`` zeros on both sides with the tap-reversed, transposed kernel. oneDNN's
    forward convolution computes it faster than TensorFlow's backprop-input op on ELoR's conv2
    and conv3 (measured on an AVX-512 CPU)."""
    taps = kernel.shape[0]
    padded = tf.pad(upstream, [[0, 0], [taps - 1, taps - 1], [0, 0]])
    return tf.nn.conv1d(padded, tf.transpose(tf.reverse(kernel, [0]), [0, 2, 1]), stride=1, padding="VALID")


@tf.custom_gradient
def _valid_conv1d(inputs, kernel):
    """Stride-1 'valid' Conv1D whose kernel gradient is :func:`conv1d_kernel_gradient` and
    input gradient :func:`conv1d_input_gradient`."""
    outputs = tf.nn.conv1d(inputs, kernel, stride=1, padding="VALID")
    # Named like TensorFlow's own gradient ops (gradient_tape/<layer scope>/...), so profiles
    # and graphs show them under their layer.
    scope = f"gradient_tape/{tf.get_current_name_scope()}/"

    def gradient(upstream):
        with tf.name_scope(scope):
            return conv1d_input_gradient(upstream, kernel), conv1d_kernel_gradient(inputs, upstream, kernel.shape[0])

    return outputs, gradient


def _plain_conv1d(layer):
    return (
        isinstance(layer, keras.layers.Conv1D)
        and tuple(layer.dilation_rate) == (1,)
        and layer.groups == 1
        and layer.data_format == "channels_last"
    )


def _frame_pair_call(layer, inputs):
    """``Conv1D.call`` with the frame-pair kernel gradient (stride 1, 'valid' or 'same')."""
    if layer.padding == "same":  # TensorFlow's 'SAME' for stride 1: the odd sample goes right.
        total = layer.kernel_size[0] - 1
        inputs = tf.pad(inputs, [[0, 0], [total // 2, total - total // 2], [0, 0]])
    outputs = _valid_conv1d(inputs, tf.convert_to_tensor(layer.kernel))
    return _bias_and_activation(layer, outputs)


def _patch_matmul_call(layer, inputs):
    """``Conv1D.call`` ('valid', any stride) as one matmul of the gathered input patches."""
    kernel_size, stride = layer.kernel_size[0], layer.strides[0]
    channels = inputs.shape[-1]
    positions = (inputs.shape[1] - kernel_size) // stride + 1
    taps = (np.arange(positions)[:, None] * stride + np.arange(kernel_size)).reshape(-1)
    patches = tf.reshape(tf.gather(inputs, taps, axis=1), [-1, kernel_size * channels])
    kernel = tf.reshape(tf.convert_to_tensor(layer.kernel), [kernel_size * channels, layer.filters])
    outputs = tf.reshape(tf.matmul(patches, kernel), [-1, positions, layer.filters])
    return _bias_and_activation(layer, outputs)


def _bias_and_activation(layer, outputs):
    if layer.use_bias:
        outputs = tf.nn.bias_add(outputs, layer.bias)
    return outputs if layer.activation is None else layer.activation(outputs)


def _patch_matmul_pays_off(layer):
    """At most 5 output positions; on an x86 CPU without AVX-512 also at least 128 input
    channels under a kernel of at most three strides (so the patches hold each input value
    at most three times).

    With so few positions oneDNN's convolution runs far below matmul speed, on AVX-512 CPUs
    too; routing more positions (conv2's 8 or 38 with AVX-512) measured slower. Without
    AVX-512, oneDNN's convolutions over many input channels are slow enough that the patch
    gather pays for itself; over few channels (the waveform, 32 or 64) TensorFlow's op stays
    faster. The measurements: docs/architecture.md."""
    if layer.output.shape[1] <= 5:
        return True
    kernel_size, stride, in_channels = layer.kernel_size[0], layer.strides[0], layer.input.shape[-1]
    return execution.current().cpu_avx512 is False and in_channels >= 128 and kernel_size <= 3 * stride


def _frame_pairs_pay_off(layer):
    """TensorFlow's op is the faster one for short kernels on short inputs and on a single
    input channel (ELoR's conv1 on the waveform); the frame pairs win from kernel 16 up and on
    long inputs, where TensorFlow's reduction over positions is slowest (ELoR's conv2: more
    than five times faster). Measured on an AVX-512 CPU: docs/architecture.md."""
    length, in_channels = layer.input.shape[1], layer.input.shape[-1]
    return in_channels > 1 and (layer.kernel_size[0] >= 16 or (length or 0) >= 16384)


def patch_matmul_computes(layer):
    """Whether the patch-matmul route can compute ``layer``: a Conv1D with 'valid' padding,
    any stride, no dilation, one group, channels last, an input of known length."""
    return _plain_conv1d(layer) and layer.padding == "valid" and layer.input.shape[1] is not None


def frame_pairs_compute(layer):
    """Whether the frame-pair route can compute ``layer``: a stride-1 Conv1D with 'valid' or
    'same' padding, no dilation, one group, channels last."""
    return _plain_conv1d(layer) and tuple(layer.strides) == (1,) and layer.padding in ("valid", "same")


def _fused_batch_norm_call(layer, inputs, training=None, mask=None):
    """``BatchNormalization.call`` with the training-mode statistics and normalisation from
    TensorFlow's fused op; inference (and masked inputs) as Keras computes them."""
    if not (training and layer.trainable) or mask is not None:
        return type(layer).call(layer, inputs, training=training, mask=mask)
    # Like Keras: float32 statistics under every policy, the result in the compute dtype.
    x = tf.cast(inputs, tf.float32)
    shape = tf.shape(x)
    channels = x.shape[-1]
    gamma = tf.cast(layer.gamma, tf.float32) if layer.scale else tf.ones([channels])
    beta = tf.cast(layer.beta, tf.float32) if layer.center else tf.zeros([channels])
    # The op normalises an NHWC image over N, H and W: every position of every example.
    outputs, mean, unbiased_variance, *_ = tf.raw_ops.FusedBatchNormV3(
        x=tf.reshape(x, [shape[0], -1, 1, channels]),
        scale=gamma,
        offset=beta,
        mean=tf.zeros([0]),
        variance=tf.zeros([0]),
        epsilon=layer.epsilon,
        exponential_avg_factor=1.0,
        data_format="NHWC",
        is_training=True,
    )
    count = tf.cast(tf.reduce_prod(shape[:-1]), tf.float32)
    variance = unbiased_variance * ((count - 1.0) / count)
    layer.moving_mean.assign(tf.cast(layer.moving_mean, tf.float32) * layer.momentum + mean * (1.0 - layer.momentum))
    layer.moving_variance.assign(
        tf.cast(layer.moving_variance, tf.float32) * layer.momentum + variance * (1.0 - layer.momentum)
    )
    return tf.cast(tf.reshape(outputs, shape), layer.compute_dtype)


def fused_batch_norm_computes(layer):
    """Whether the fused-batch-norm route can compute ``layer``: a BatchNormalization over the
    last axis without renormalisation or cross-replica (synchronized) statistics."""
    return (
        isinstance(layer, keras.layers.BatchNormalization)
        and layer.built
        and layer.axis in (-1, layer.input_spec.ndim - 1)
        and not layer.renorm
        and not layer.synchronized
    )


def _fused_batch_norm_pays_off(layer):
    """Everywhere it computes: the fused op was faster than Keras' own call on every shape
    measured, from ELoR's conv1 output down to 144 positions (docs/architecture.md)."""
    return True


# name: (whether it can compute a layer, whether it pays off there, the layer's call).
# The first route that fits a layer takes it.
ROUTES = {
    "patch_matmul": (patch_matmul_computes, _patch_matmul_pays_off, _patch_matmul_call),
    "frame_pairs": (frame_pairs_compute, _frame_pairs_pay_off, _frame_pair_call),
    "fused_batch_norm": (fused_batch_norm_computes, _fused_batch_norm_pays_off, _fused_batch_norm_call),
}


def route_layers(model, force=None):
    """Route each layer of ``model`` (nested models included, e.g. a network behind the
    device-input window gather) through the first route of :data:`ROUTES` that can compute it
    and pays off there; with ``force`` (a route name), through that route wherever it can
    compute the layer, paid off or not (tests, benchmarks).

    Returns ``{layer: route name}`` of the layers changed.
    """
    if force is not None and force not in ROUTES:
        raise ValueError(f"`force` must be one of {sorted(ROUTES)} or None. Got {force!r}.")
    routed = {}
    for layer in _layers(model):
        for name, (computes, pays_off, call) in ROUTES.items():
            if (force in (None, name)) and computes(layer) and (force == name or pays_off(layer)):
                layer.call = types.MethodType(call, layer)
                routed[layer] = name
                break
    return routed


def _layers(model):
    for layer in model.layers:
        yield from _layers(layer) if isinstance(layer, keras.Model) else (layer,)


@contextlib.contextmanager
def routed_layers(model, enabled=None):
    """:func:`route_layers` for the ``with`` block (if ``enabled``; ``None``: as this process's
    :class:`~ser_keras.training.execution.Execution` decides, where no GPU is visible, the
    hardware the routes were measured on); the layers get their own ``call`` back when it ends.
    Graphs traced inside the block keep the routes."""
    if enabled is None:
        enabled = execution.current().routes
    routed = route_layers(model) if enabled else {}
    try:
        yield routed
    finally:
        for layer in routed:
            del layer.call
