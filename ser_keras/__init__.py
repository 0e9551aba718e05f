"""ser-keras: Keras 3 replications of short-segment SER (Purohit et al., ICASSP 2023) and
ELoR (Wieser et al., Neural Comput. Appl. 2020)."""

__version__ = "0.1.0"
