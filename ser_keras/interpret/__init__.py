"""Analysis tools of SHORT §3 and ELOR "Learned representations": re-exports only."""

from ser_keras.interpret.guided import (
    gradient_model,
    guided_gradients,
    guided_model,
    input_gradients,
    is_guided,
    plain_gradients,
)
