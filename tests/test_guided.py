import keras
import numpy as np
import pytest
import tensorflow as tf

from ser_keras.interpret.guided import (
    gradient_model,
    guided_gradients,
    guided_model,
    input_gradients,
    is_guided,
    plain_gradients,
)

# Hidden units: h0 = relu(x0), h1 = relu(x1), h2 = relu(x2); class 0 score = h0 - h1 + h2.
# At x = (1, 2, -1) units 0 and 1 are active, unit 2 is not.
X = np.array([[1.0, 2.0, -1.0]], dtype=np.float32)
HIDDEN_KERNEL = np.eye(3, dtype=np.float32)
OUTPUT_KERNEL = np.array([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0]], dtype=np.float32)
PLAIN_CLASS0 = np.array([[1.0, -1.0, 0.0]])  # ReLU mask only
GUIDED_CLASS0 = np.array([[1.0, 0.0, 0.0]])  # ReLU mask and positive upstream gradient


def _dense_activation():
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(3, activation="relu", name="hidden")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="out")(hidden))


def _separate_relu():
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(3, name="hidden")(inputs)
    hidden = keras.layers.ReLU()(hidden)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="out")(hidden))


def _activation_layer():
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(3, name="hidden")(inputs)
    hidden = keras.layers.Activation("relu")(hidden)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="out")(hidden))


def _conv():
    inputs = keras.Input((3,))
    frames = keras.layers.Reshape((1, 3))(inputs)
    hidden = keras.layers.Conv1D(3, 1, activation="relu", name="hidden")(frames)
    hidden = keras.layers.Flatten()(hidden)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="out")(hidden))


def _with_weights(model):
    hidden = model.get_layer("hidden")
    hidden.set_weights([HIDDEN_KERNEL.reshape(hidden.kernel.shape), np.zeros(3, np.float32)])
    model.get_layer("out").set_weights([OUTPUT_KERNEL, np.zeros(2, np.float32)])
    return model


BUILDERS = [_dense_activation, _separate_relu, _activation_layer, _conv]


@pytest.mark.parametrize("builder", BUILDERS)
def test_guided_gradients_match_hand_computed_values(builder):
    model = _with_weights(builder())
    np.testing.assert_allclose(guided_gradients(model, X, 0), GUIDED_CLASS0, atol=1e-6)
    np.testing.assert_allclose(plain_gradients(model, X, 0), PLAIN_CLASS0, atol=1e-6)


def _tape_gradient(model, x, class_index):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        probabilities = model(x, training=False)
        logit_like = tf.math.log(probabilities[:, class_index])
    return tape.gradient(logit_like, x).numpy()


def test_original_model_keeps_plain_gradients_after_guided_clone_is_used():
    model = _with_weights(_dense_activation())
    model.predict(X, verbose=0)  # traces the original's predict function first
    before = _tape_gradient(model, X, 0)
    clone = guided_model(model)
    np.testing.assert_allclose(guided_gradients(clone, X, 0), GUIDED_CLASS0, atol=1e-6)
    model.predict(X, verbose=0)
    np.testing.assert_allclose(_tape_gradient(model, X, 0), before, atol=1e-6)
    np.testing.assert_allclose(plain_gradients(model, X, 0), PLAIN_CLASS0, atol=1e-6)
    assert model.get_layer("hidden").activation is keras.activations.relu
    assert is_guided(clone) and not is_guided(model)


def test_softmax_is_kept_for_probability_target():
    model = _with_weights(_dense_activation())
    probability = plain_gradients(model, X, 0, target="probability")
    np.testing.assert_allclose(probability, _tape_gradient(model, X, 0) * model.predict(X, verbose=0)[:, :1], rtol=1e-5)


def test_batch_norm_runs_in_inference_mode():
    inputs = keras.Input((2,))
    hidden = keras.layers.Dense(1, use_bias=False, name="sum")(inputs)
    hidden = keras.layers.BatchNormalization(epsilon=1e-3, name="bn")(hidden)
    hidden = keras.layers.ReLU()(hidden)
    model = keras.Model(inputs, keras.layers.Dense(1, use_bias=False, name="out")(hidden))
    model.get_layer("sum").set_weights([np.ones((2, 1), np.float32)])
    # gamma 1, beta 0, moving mean 0, moving variance + epsilon = 4 -> scale 1/2.
    model.get_layer("bn").set_weights([np.ones(1), np.zeros(1), np.zeros(1), np.full(1, 4 - 1e-3)])
    model.get_layer("out").set_weights([np.full((1, 1), 2.0, np.float32)])
    gradients = guided_gradients(model, np.ones((1, 2), np.float32), 0)
    np.testing.assert_allclose(gradients, [[1.0, 1.0]], rtol=1e-5)


def _two_head_model():
    inputs = keras.Input((6, 1))
    features = keras.layers.Conv1D(2, 3, activation="relu")(inputs)
    features = keras.layers.Flatten()(features)
    arousal = keras.layers.Dense(5, activation="softmax", name="arousal")(features)
    valence = keras.layers.Dense(5, activation="softmax", name="valence")(features)
    return keras.Model(inputs, [arousal, valence])


def test_multi_output_heads_predicted_class_and_batching():
    keras.utils.set_random_seed(0)
    model = _two_head_model()
    x = np.random.default_rng(0).normal(size=(7, 6, 1)).astype(np.float32)
    clone = guided_model(model)
    predicted = np.argmax(model.predict(x, verbose=0)[1], axis=1)
    by_name = guided_gradients(clone, x, "predicted", output="valence", batch_size=3)
    explicit = guided_gradients(clone, x, predicted, output="valence", batch_size=7)
    assert by_name.shape == x.shape
    np.testing.assert_allclose(by_name, explicit, atol=1e-6)
    arousal = guided_gradients(clone, x, 2, output="arousal")
    assert not np.allclose(arousal, explicit)


def test_errors_name_the_offending_value():
    model = _two_head_model()
    x = np.zeros((1, 6, 1), np.float32)
    with pytest.raises(ValueError, match="output=<name>"):
        guided_gradients(model, x, 0)
    with pytest.raises(ValueError, match="'dominance'"):
        guided_gradients(model, x, 0, output="dominance")
    with pytest.raises(ValueError, match="class_index 5"):
        guided_gradients(model, x, 5, output="arousal")
    with pytest.raises(ValueError, match="target"):
        gradient_model(model, guided=True, target="score")
    with pytest.raises(TypeError, match="gradient_model"):
        input_gradients(model, x, 0, output="arousal")


def test_reloaded_h5_model_gives_the_same_guided_gradients(tmp_path):
    model = _with_weights(_separate_relu())
    model.save(tmp_path / "model.h5")
    reloaded = keras.models.load_model(tmp_path / "model.h5")
    reloaded.predict(X, verbose=0)
    np.testing.assert_allclose(guided_gradients(reloaded, X, 0), GUIDED_CLASS0, atol=1e-6)


def test_capped_relu_is_refused_for_guided_but_fine_for_plain():
    inputs = keras.Input((3,))
    hidden = keras.layers.ReLU(max_value=6.0)(keras.layers.Dense(3, name="hidden")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(hidden))
    _with_weights(model)
    with pytest.raises(ValueError, match="max_value=6.0"):
        guided_model(model)
    np.testing.assert_allclose(plain_gradients(model, X, 0), PLAIN_CLASS0, atol=1e-6)
