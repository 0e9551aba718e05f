"""Seeding: one call that seeds every random generator a run touches and makes TF ops
deterministic, and the seeds of one unit of work among units that run side by side.

Not a paper section: it makes a rerun with the same seed on the same CPU give identical
results (on a GPU some cuDNN kernels remain non-deterministic or slower; see README).
"""

import os
import random
import threading

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


class UnitSeeds:
    """The process-wide random generators as one unit of work sees them when units run on
    several threads at once.

    ``keras.utils.set_random_seed`` seeds process-wide generators (Python's ``random``, which
    every unseeded Keras initializer and dropout layer draws its seed from when it is built;
    NumPy's; TensorFlow's global seed, which tf.data shuffles combine with their own): two
    units seeding and building at the same time would draw from each other's streams. A unit
    does its drawing (building models and datasets) inside ``with seeds:``. The blocks of all
    units are serialised by one lock, the first block of a unit seeds everything with ``seed``
    and every later one continues the unit's Python and NumPy streams where its last block
    left them, so a unit draws what it would draw running alone after
    ``keras.utils.set_random_seed(seed)``, whatever ran on the other threads meanwhile.

        seeds = UnitSeeds(row_seed(run_seed, row.id, fold.name))
        with seeds:
            model = build()
        model.fit(...)  # no draws from the global generators while training
        with seeds:
            second = build()  # as if built right after `model` in a one-thread run
    """

    _lock = threading.RLock()  # one for the process: the generators it guards are the process's

    def __init__(self, seed):
        self.seed = seed
        self._streams = None  # (Python, NumPy) generator states when the unit's last block ended
        self._depth = 0  # blocks of this unit open (a block inside a block continues it)

    def __enter__(self):
        self._lock.acquire()
        self._depth += 1
        try:
            if self._depth == 1:
                self._install()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info):
        self._depth -= 1
        if not self._depth:
            self._streams = (random.getstate(), np.random.get_state())
        self._lock.release()

    def _install(self):
        """Seed the process's generators (first block) or put back the unit's streams."""
        import keras
        import tensorflow as tf

        if self._streams is None:
            keras.utils.set_random_seed(self.seed)
            return
        python_state, numpy_state = self._streams
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        tf.random.set_seed(self.seed)
