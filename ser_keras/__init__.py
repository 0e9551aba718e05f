"""ser-keras: Keras 3 replications of short-segment SER (Purohit et al., ICASSP 2023) and
ELoR (Wieser et al., Neural Comput. Appl. 2020)."""

from ser_keras import console

__version__ = "0.1.0"

# Before any submodule imports TensorFlow, whose C++ log level is fixed when it loads (issue 17.1).
console.silence_by_default()
