"""One call that seeds every random generator a run touches and makes TF ops deterministic.

Not a paper section: it makes a rerun with the same seed on the same CPU give identical
results (on a GPU some cuDNN kernels remain non-deterministic or slower; see README).
"""

import os
import random

import numpy as np


def seed_everything(seed, *, deterministic=True):
    """Seed Python, NumPy, TensorFlow and Keras; enable TF op determinism if asked."""
    import keras
    import tensorflow as tf

    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"The 'seed' parameter must be a non-negative int. Got {seed!r}.")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
