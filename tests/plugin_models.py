"""A plug-in for the tests, registered the way a user's file would be (README "Add your own
model"): tiny Table-1 rows on 250 ms raw windows and on LLD contexts with an open time axis
(the latter compiling its own recipe), and tiny ELOR networks on 6 s raw slices and on MFCC
frames with an open time axis, whose heads are a list of named layers or a dict."""

import keras

import ser_keras


def tiny_window_cnn(input_shape, num_classes):
    windows = keras.Input(shape=input_shape, name="window")
    x = keras.layers.Reshape((*input_shape, 1))(windows)
    x = keras.layers.Conv1D(4, 80, strides=40, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(windows, keras.layers.Dense(num_classes, activation="softmax")(x), name="tiny_window_cnn")


def open_context_mean(input_shape, num_classes):
    """LLD contexts of any length: the time axis is left open (``input_shape`` is ``(25, D)``)."""
    contexts = keras.Input(shape=(None, input_shape[-1]), name="contexts")
    x = keras.layers.GlobalAveragePooling1D()(contexts)
    return keras.Model(contexts, keras.layers.Dense(num_classes, activation="softmax")(x), name="open_context_mean")


def adam_recipe(model):
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")


def tiny_slice_cnn(config):
    slices = keras.Input(shape=(96000,), name="waveform")
    x = keras.layers.Reshape((96000, 1))(slices)
    x = keras.layers.Conv1D(4, 400, strides=400, activation="relu", name="trunk_conv")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = {
        head: keras.layers.Dense(config.num_classes, activation="softmax", name=head)(x)
        for head in ("valence", "arousal")
    }
    return keras.Model(slices, outputs, name="tiny_slice_cnn")


def _mfcc_trunk():
    frames = keras.Input(shape=(None, 26), name="mfcc")  # any number of frames
    x = keras.layers.Conv1D(4, 5, activation="relu", name="trunk_conv")(frames)
    return frames, keras.layers.GlobalAveragePooling1D()(x)


def open_frames_list(config):
    """Heads returned as a list, named by their layers."""
    frames, x = _mfcc_trunk()
    heads = [
        keras.layers.Dense(config.num_classes, activation="softmax", name=head)(x) for head in ("valence", "arousal")
    ]
    return keras.Model(frames, heads, name="open_frames_list")


def open_frames_dict(config):
    """Heads returned as a dict, named by its keys (the layers have names of their own)."""
    frames, x = _mfcc_trunk()
    heads = {
        head: keras.layers.Dense(config.num_classes, activation="softmax", name=f"{head[0]}_out")(x)
        for head in ("arousal", "valence")
    }
    return keras.Model(frames, heads, name="open_frames_dict")


ser_keras.register_row("tiny_window_cnn", "raw_250ms", tiny_window_cnn, system="tiny window CNN (test plug-in)")
ser_keras.register_row("open_context_mean", "lld_context:egemaps", open_context_mean, recipe=adam_recipe)
ser_keras.register_network("tiny_slice_cnn", "raw", tiny_slice_cnn, paper_name="TinySlice")
ser_keras.register_network("open_frames_list", "mfcc", open_frames_list)
ser_keras.register_network("open_frames_dict", "mfcc", open_frames_dict)
