"""ser-keras: Keras 3 replications of short-segment SER (Purohit et al., ICASSP 2023) and
ELoR (Wieser et al., Neural Comput. Appl. 2020).

The plug-in API — ``register_row``, ``register_network`` and ``NetworkSpec`` — puts your own
model beside the papers' rows (README "Add your own model"); it is imported on first use.

Importing the package changes nothing in the process (environment, warnings, logging, import
hooks). To get the command line's quiet console and its oneDNN default in your own code,
call ``ser_keras.console.quiet()`` before TensorFlow is imported.
"""

from ser_keras import console  # noqa: F401  (ser_keras.console.quiet() after `import ser_keras`)

__version__ = "0.1.0"

_PLUGIN_API = {
    "register_row": "ser_keras.experiments.rows",
    "register_network": "ser_keras.experiments.networks",
    "NetworkSpec": "ser_keras.experiments.networks",
}


def __getattr__(name):
    # The plug-in API pulls in Keras; importing ser_keras alone must not.
    if name in _PLUGIN_API:
        import importlib

        return getattr(importlib.import_module(_PLUGIN_API[name]), name)
    raise AttributeError(f"module 'ser_keras' has no attribute {name!r}")
