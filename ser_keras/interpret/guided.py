"""Guided backpropagation (Springenberg et al. 2015) and plain input gradients.

Implements the gradient machinery behind SHORT §3.2 (relevance signals, after Muckenhirn
et al.) and ELOR "Data-driven visualizations" (saliency maps of the predicted class).

The guided ReLU is applied to a *clone* of the trained model: a model whose call has
already been traced into a ``tf.function`` keeps the traced plain ReLU gradient, so
swapping activations on it would silently give plain gradients. Cloning also leaves the
caller's model untouched.

Gradients are taken of the pre-softmax score by default (``target='logit'``): the final
softmax is replaced by a linear activation in the clone, the usual practice for saliency
and activation maximisation (keras-vis, Simonyan et al. 2013), because the softmax couples
the classes and saturates. ``target='probability'`` keeps the softmax.
"""

import keras
import numpy as np
import tensorflow as tf

TARGETS = ("logit", "probability")
PREDICTED = "predicted"


@tf.custom_gradient
def guided_relu(x):
    """ReLU whose backward pass lets a gradient through only where input and gradient are > 0."""

    def backward(upstream):
        return upstream * tf.cast(x > 0, upstream.dtype) * tf.cast(upstream > 0, upstream.dtype)

    return tf.nn.relu(x), backward


def _is_plain_relu_layer(layer):
    if isinstance(layer, keras.layers.ReLU):
        config = layer.get_config()
        if config["max_value"] is not None or config["negative_slope"] or config["threshold"]:
            raise ValueError(
                f"Layer {layer.name!r} is a ReLU with max_value={config['max_value']}, "
                f"negative_slope={config['negative_slope']}, threshold={config['threshold']}; "
                "guided backpropagation is defined here for the plain ReLU only."
            )
        return True
    return isinstance(layer, keras.layers.Activation) and layer.activation is keras.activations.relu


def _output_layer_names(model):
    return {tensor._keras_history.operation.name for tensor in keras.tree.flatten(model.outputs)}


def gradient_model(model, *, guided, target="logit"):
    """Clone ``model`` (weights copied) for input-gradient analysis.

    ``guided=True`` swaps every ReLU (``activation='relu'`` in any layer, ``ReLU`` and
    ``Activation('relu')`` layers) for :func:`guided_relu`. ``target='logit'`` makes the
    softmax of each output layer linear. The clone must be called with ``training=False``
    so BatchNorm uses its moving statistics and Dropout is off.
    """
    if target not in TARGETS:
        raise ValueError(f"The 'target' parameter of gradient_model must be one of {TARGETS}. Got {target!r}.")
    if not isinstance(model, keras.Model):
        raise TypeError(f"gradient_model expects a keras.Model. Got {type(model).__name__}.")
    output_layers = _output_layer_names(model)

    def clone_layer(layer):
        linearise = target == "logit" and layer.name in output_layers
        if guided and _is_plain_relu_layer(layer):
            return keras.layers.Activation(guided_relu, name=layer.name, dtype=layer.dtype_policy)
        if linearise and isinstance(layer, keras.layers.Softmax):
            return keras.layers.Activation("linear", name=layer.name, dtype=layer.dtype_policy)
        clone = layer.__class__.from_config(layer.get_config())
        activation = getattr(clone, "activation", None)
        if guided and activation is keras.activations.relu:
            # The clone is fresh and untraced, so replacing its activation takes effect.
            clone.activation = guided_relu
        elif linearise and activation is keras.activations.softmax:
            clone.activation = keras.activations.linear
        return clone

    clone = keras.models.clone_model(model, clone_function=clone_layer, recursive=True)
    clone.set_weights(model.get_weights())
    clone.gradient_settings = {"guided": guided, "target": target}
    # One traced gradient function per output, reused across calls (tracing is slow).
    clone.gradient_functions = {}
    return clone


def guided_model(model, *, target="logit"):
    """A guided-backpropagation clone of ``model`` (see :func:`gradient_model`)."""
    return gradient_model(model, guided=True, target=target)


def is_guided(model):
    """True when ``model`` is a clone built by :func:`guided_model`."""
    return getattr(model, "gradient_settings", {}).get("guided", False)


def select_output(model, outputs, output):
    """The output named ``output`` from ``outputs`` (a model call's result or ``model.outputs``)."""
    if output is None:
        if isinstance(outputs, (list, tuple, dict)) and len(outputs) != 1:
            raise ValueError(f"Model {model.name!r} has outputs {list(model.output_names)}; pass output=<name>.")
        return keras.tree.flatten(outputs)[0]
    if output not in model.output_names:
        raise ValueError(f"output={output!r} is not one of the model outputs {list(model.output_names)}.")
    if isinstance(outputs, dict):
        return outputs[output]
    return keras.tree.flatten(outputs)[list(model.output_names).index(output)]


def _gradient_function(model, output):
    @tf.function(reduce_retracing=True)
    def gradients(inputs, class_index):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            scores = select_output(model, model(inputs, training=False), output)
            # A negative class index means "the class this model predicts for the sample".
            predicted = tf.argmax(scores, axis=-1, output_type=tf.int32)
            chosen = tf.where(class_index < 0, predicted, class_index)
            # Samples are independent in inference mode, so the gradient of the sum is the
            # per-sample gradient of each sample's own class score.
            total = tf.reduce_sum(tf.gather(scores, chosen, axis=1, batch_dims=1))
        return tape.gradient(total, inputs)

    return gradients


def _class_index_array(class_index, count, num_classes):
    if isinstance(class_index, str):
        if class_index != PREDICTED:
            raise ValueError(f"class_index must be an int, an array or {PREDICTED!r}. Got {class_index!r}.")
        return np.full(count, -1, dtype=np.int32)
    indices = np.broadcast_to(np.asarray(class_index, dtype=np.int32), (count,)).copy()
    bad = indices[(indices < 0) | (indices >= num_classes)]
    if bad.size:
        raise ValueError(f"class_index {bad[0]} is outside the {num_classes} classes of the chosen output.")
    return indices


def input_gradients(gradient_clone, inputs, class_index, *, output=None, batch_size=64):
    """Gradient of a class score w.r.t. the inputs of a clone from :func:`gradient_model`.

    ``inputs``: one array (N, ...) or a list of arrays for a multi-input model; the result
    has the same structure and shapes. ``class_index``: an int, one int per sample, or
    ``'predicted'`` (the argmax of the chosen output for each sample).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1. Got {batch_size}.")
    arrays = [np.asarray(x, dtype=np.float32) for x in keras.tree.flatten(inputs)]
    count = len(arrays[0])
    if any(len(x) != count for x in arrays):
        raise ValueError(f"All inputs must hold the same number of samples. Got {[len(x) for x in arrays]}.")
    head = select_output(gradient_clone, gradient_clone.outputs, output)
    indices = _class_index_array(class_index, count, head.shape[-1])
    if not hasattr(gradient_clone, "gradient_functions"):
        raise TypeError("input_gradients expects a clone built by gradient_model or guided_model.")
    if output not in gradient_clone.gradient_functions:
        gradient_clone.gradient_functions[output] = _gradient_function(gradient_clone, output)
    gradients = gradient_clone.gradient_functions[output]
    pieces = [[] for _ in arrays]
    for start in range(0, count, batch_size):
        batch = [x[start : start + batch_size] for x in arrays]
        batch_inputs = batch if len(batch) > 1 else batch[0]
        result = keras.tree.flatten(gradients(batch_inputs, indices[start : start + batch_size]))
        for piece, grad in zip(pieces, result):
            piece.append(grad.numpy())
    merged = [np.concatenate(piece) if piece else np.zeros_like(x) for piece, x in zip(pieces, arrays)]
    return merged if isinstance(inputs, (list, tuple)) else merged[0]


def guided_gradients(model_or_guided, inputs, class_index, *, output=None, target="logit", batch_size=64):
    """Guided-backpropagation gradients, same shape as ``inputs``.

    Pass a clone from :func:`guided_model` when calling repeatedly (cloning is the slow
    part); an ordinary model is cloned on the fly with ``target``.
    """
    if is_guided(model_or_guided):
        settings_target = model_or_guided.gradient_settings["target"]
        if settings_target != target:
            raise ValueError(f"The guided clone was built with target={settings_target!r}, not {target!r}.")
        clone = model_or_guided
    else:
        clone = guided_model(model_or_guided, target=target)
    return input_gradients(clone, inputs, class_index, output=output, batch_size=batch_size)


def plain_gradients(model, inputs, class_index, *, output=None, target="logit", batch_size=64):
    """Ordinary (non-guided) input gradients of a class score, same shape as ``inputs``."""
    clone = gradient_model(model, guided=False, target=target)
    return input_gradients(clone, inputs, class_index, output=output, batch_size=batch_size)
