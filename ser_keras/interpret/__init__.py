"""Analysis tools of SHORT §3 and ELOR "Learned representations": re-exports only."""

from ser_keras.interpret.descriptors import describe_signal
from ser_keras.interpret.frequency import (
    DEFAULT_BANDS,
    band_fractions,
    band_levels,
    cumulative_frequency_response,
    dominant_band,
    first_conv_kernel,
    response_centroid,
)
from ser_keras.interpret.guided import (
    PREDICTED,
    gradient_model,
    guided_gradients,
    guided_model,
    input_gradients,
    is_guided,
    plain_gradients,
    select_output,
)
from ser_keras.interpret.importance import (
    GROUPS,
    SPECTRAL_GROUPS,
    RankedFeature,
    compare_functional_names,
    feature_group,
    group_counts,
    spectral_count,
    top_features,
)
from ser_keras.interpret.maximize import Maximization, maximize_activation
from ser_keras.interpret.relevance import (
    amplitude_envelope,
    class_relevances,
    pearson_rows,
    spliced_window_positions,
    utterance_class_relevances,
    utterance_relevance,
    window_relevance,
)
