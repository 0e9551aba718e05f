"""SGD with momentum whose dense updates each run as one TensorFlow op: one pass over the
weights per update instead of Keras' five (seven with Nesterov momentum).

Not a paper section of its own: it is the optimizer of SHORT's recipe (§2.3; momentum 0.5, no
Nesterov: :mod:`ser_keras.training.fit`) and of ELOR's split heads ("ELoR network", training:
"SGD with Nesterov momentum"; :mod:`ser_keras.training.split_heads`).
"""

import keras
import tensorflow as tf


class MomentumSGD(keras.optimizers.SGD):
    """Keras' SGD with momentum whose dense updates each run as one TensorFlow op.

    Keras updates a variable with five ops (seven with Nesterov momentum), each a pass over
    it: two products, their difference assigned to the momentum, then its addition (with
    Nesterov momentum, that of the same expression again) to the weights.
    ``ResourceApplyKerasMomentum`` evaluates the same expressions, ``m = m * momentum - g * lr;
    w += m`` (``w += m * momentum - g * lr``), in one pass: the same maths and rounding, and
    weights bit for bit Keras' after training (tests, both forms). It pays most where the
    update is a large part of a step, as in the LLD MLPs' large dense layers
    (docs/architecture.md). Sparse gradients and distribution strategies take Keras' own
    update.
    """

    def update_step(self, gradient, variable, learning_rate):
        if (
            self.momentum == 0
            or isinstance(gradient, tf.IndexedSlices)
            or not isinstance(variable, tf.Variable)
            or tf.distribute.has_strategy()
        ):
            return super().update_step(gradient, variable, learning_rate)
        momentum = self.momentums[self._get_variable_index(variable)]
        tf.raw_ops.ResourceApplyKerasMomentum(
            var=variable.handle,
            accum=momentum.value.handle,
            lr=tf.cast(learning_rate, variable.dtype),
            grad=tf.cast(gradient, variable.dtype),
            momentum=tf.cast(self.momentum, variable.dtype),
            use_locking=False,
            use_nesterov=self.nesterov,
        )
