"""Saved ``.h5`` models in the form both Keras 3 and Keras 2 (tf_keras) load.

Not a paper section: the model-file format. Keras 3 writes a legacy ``.h5`` whose
``model_config`` only Keras 3 reads (``batch_shape``, dtype-policy objects, arguments Keras 2
does not know, call nodes as ``{"args", "kwargs"}``); much published SER code loads models with
Keras 2. Keras 3 still reads the Keras-2 form of a config (its legacy ``.h5`` path), and both
read the weight groups Keras 3 writes (by layer order, not by weight name), so
:func:`write_h5` lets Keras write the file, then swaps its ``model_config`` for the Keras-2
form: one file that ``keras.models.load_model`` and ``tf_keras.models.load_model`` both load,
with the same predictions (tests/test_h5_keras2.py). A model with no Keras-2 form here (not a
Functional graph, or a Keras-3-only setting in use) keeps Keras' own file, and the returned
:class:`H5Format` says that only Keras 3 loads it.
"""

import dataclasses
import json
from dataclasses import dataclass

import h5py

KERAS3_READER = "Keras 3: keras.models.load_model"
KERAS2_READER = "Keras 2: tf_keras.models.load_model"

# Arguments Keras 3 serialises and Keras 2 layers and initialisers do not take, each with the
# value that means "not used" (dropped); any other value cannot be written for Keras 2.
_KERAS3_ONLY_ARGUMENTS = {"input_axes": None, "output_axes": None, "quantization_config": None, "optional": False}

# Policies that are only a dtype name; a quantised policy has no Keras 2 form.
_PLAIN_DTYPE_POLICIES = ("DTypePolicy", "FloatDTypePolicy")


class NoKeras2Form(ValueError):
    """A model config that Keras 2 cannot express."""


@dataclass(frozen=True)
class H5Format:
    """Which Keras versions load a saved ``.h5`` (a model sidecar's ``h5_format``).

    ``model_config``: the form of the file's config, ``"Keras 2"`` or ``"Keras 3"``;
    ``why_keras3_only``: what has no Keras-2 form, when ``model_config`` is ``"Keras 3"``.
    """

    model_config: str
    loads_with: tuple[str, ...]
    why_keras3_only: str | None = None

    def to_dict(self):
        return dataclasses.asdict(self)


def write_h5(model, path):
    """Write ``model`` (without optimizer state) to the ``.h5`` file ``path``, in the Keras-2 form
    where it has one; return the :class:`H5Format` written."""
    model.save(path, include_optimizer=False)
    with h5py.File(path, "r+") as handle:
        try:
            config = keras2_model_config(_stored_config(handle))
        except NoKeras2Form as error:
            return H5Format(model_config="Keras 3", loads_with=(KERAS3_READER,), why_keras3_only=str(error))
        handle.attrs["model_config"] = json.dumps(config).encode("utf8")
    return H5Format(model_config="Keras 2", loads_with=(KERAS3_READER, KERAS2_READER))


def _stored_config(handle):
    config = handle.attrs.get("model_config")
    if config is None:
        raise NoKeras2Form("Keras wrote no `model_config` (a subclassed model).")
    return json.loads(config)


def keras2_model_config(config):
    """The Keras-2 form of a Functional model's Keras 3 ``{"class_name", "config"}`` (as Keras writes it)."""
    if config.get("class_name") != "Functional":
        raise NoKeras2Form(f"Only Functional models have a Keras-2 form here. Got class {config.get('class_name')!r}.")
    graph = config["config"]
    return {
        "class_name": "Functional",
        "config": {
            "name": graph["name"],
            "trainable": graph["trainable"],
            "layers": [_keras2_layer(entry) for entry in graph["layers"]],
            # A single input or output stays a bare [layer, node, tensor] triple: both readers
            # then give the model a single tensor, as the Keras 3 original has.
            "input_layers": graph["input_layers"],
            "output_layers": graph["output_layers"],
        },
    }


def _keras2_layer(entry):
    name = entry["name"]
    layer_config = _keras2_object_config(entry["config"], name)
    if entry["class_name"] == "InputLayer":
        layer_config["batch_input_shape"] = layer_config.pop("batch_shape")
    return {
        "class_name": entry["class_name"],
        "config": layer_config,
        "name": name,
        "inbound_nodes": [_keras2_node(node, name) for node in entry["inbound_nodes"]],
    }


def _keras2_object_config(config, layer_name):
    """A layer's (or initialiser's, regulariser's) config without its Keras-3-only arguments."""
    converted = {}
    for key, value in config.items():
        if key in _KERAS3_ONLY_ARGUMENTS:
            if value != _KERAS3_ONLY_ARGUMENTS[key]:
                raise NoKeras2Form(
                    f"Layer {layer_name!r} sets {key}={value!r}, which Keras 2 cannot load; "
                    f"only {_KERAS3_ONLY_ARGUMENTS[key]!r} can be saved in the Keras-2 form."
                )
            continue
        converted[key] = _keras2_value(value, layer_name)
    return converted


def _keras2_value(value, layer_name):
    if isinstance(value, list):
        return [_keras2_value(item, layer_name) for item in value]
    if not isinstance(value, dict):
        return value
    if "class_name" in value and "config" in value:
        if value["class_name"].endswith("DTypePolicy"):
            if value["class_name"] not in _PLAIN_DTYPE_POLICIES:
                raise NoKeras2Form(
                    f"Layer {layer_name!r} has a {value['class_name']} ({value['config']}), which Keras 2 cannot load."
                )
            return value["config"]["name"]  # Keras 2 takes the policy by name ("float32", "mixed_float16")
        return {**value, "config": _keras2_object_config(value["config"], layer_name)}
    return {key: _keras2_value(item, layer_name) for key, item in value.items()}


def _keras2_node(node, layer_name):
    """``{"args": [tensor or [tensors]], "kwargs": {...}}`` -> ``[[layer, node, tensor, kwargs], ...]``."""
    args, kwargs = node["args"], node["kwargs"]
    if len(args) != 1 or _holds_tensor(kwargs):
        raise NoKeras2Form(
            f"Layer {layer_name!r} is called on {len(args)} positional inputs or on tensors "
            "passed by keyword; the Keras-2 form holds one positional input (a tensor or a list)."
        )
    tensors = args[0] if isinstance(args[0], list) else [args[0]]
    if not all(_is_tensor(tensor) for tensor in tensors):
        raise NoKeras2Form(f"Layer {layer_name!r} is called on a value that is not a Keras tensor: {args[0]!r}.")
    return [[*tensor["config"]["keras_history"], kwargs] for tensor in tensors]


def _is_tensor(value):
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _holds_tensor(value):
    if _is_tensor(value):
        return True
    if isinstance(value, dict):
        return any(_holds_tensor(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_tensor(item) for item in value)
    return False
