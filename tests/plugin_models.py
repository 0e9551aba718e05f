"""A plug-in for the tests: one tiny Table-1 row on 250 ms raw windows and one tiny ELOR
network on 6 s raw slices, registered the way a user's module would (README "Add your own
model")."""

import keras

import ser_keras


def tiny_window_cnn(input_shape, num_classes):
    windows = keras.Input(shape=input_shape, name="window")
    x = keras.layers.Reshape((*input_shape, 1))(windows)
    x = keras.layers.Conv1D(4, 80, strides=40, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(windows, keras.layers.Dense(num_classes, activation="softmax")(x), name="tiny_window_cnn")


def tiny_slice_cnn(config):
    slices = keras.Input(shape=(96000,), name="waveform")
    x = keras.layers.Reshape((96000, 1))(slices)
    x = keras.layers.Conv1D(4, 400, strides=400, activation="relu", name="trunk_conv")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = {head: keras.layers.Dense(config.num_classes, activation="softmax", name=head)(x)
               for head in ("valence", "arousal")}
    return keras.Model(slices, outputs, name="tiny_slice_cnn")


ser_keras.register_row("tiny_window_cnn", "raw_250ms", tiny_window_cnn, system="tiny window CNN (test plug-in)")
ser_keras.register_network("tiny_slice_cnn", "raw", tiny_slice_cnn, paper_name="TinySlice")
