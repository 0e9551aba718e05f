"""ser-keras: Keras 3 replications of short-segment SER (Purohit et al., ICASSP 2023) and
ELoR (Wieser et al., Neural Comput. Appl. 2020).

The plug-in API — ``register_row``, ``register_network`` and ``NetworkSpec`` — puts your own
model beside the papers' rows (README "Add your own model"); it is imported on first use.
"""

import os

from ser_keras import console

__version__ = "0.1.0"

# Before any submodule imports TensorFlow, whose C++ log level is fixed when it loads (issue 17.1).
console.silence_by_default()
# oneDNN kernels on every x86 CPU, also read when TensorFlow loads: TensorFlow turns them on by
# itself only where it finds AVX-512 VNNI or AMX; on an AVX2-only CPU they train Raw SubSeg
# 2.8x faster (issue 16.3, tools/bench_profile.py). TF_ENABLE_ONEDNN_OPTS=0 keeps TF's Eigen kernels.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

_PLUGIN_API = {"register_row": "ser_keras.experiments.rows", "register_network": "ser_keras.experiments.networks",
               "NetworkSpec": "ser_keras.experiments.networks"}


def __getattr__(name):
    # The plug-in API pulls in Keras; importing ser_keras alone must not.
    if name in _PLUGIN_API:
        import importlib

        return getattr(importlib.import_module(_PLUGIN_API[name]), name)
    raise AttributeError(f"module 'ser_keras' has no attribute {name!r}")
