"""Feature extraction for SHORT §2.2–2.3 and ELOR FTR: openSMILE sets, HDF5 cache, BoAW.

Only re-exports. ``wav2vec2`` (Keras) is imported from its own module so extraction
worker processes never load TensorFlow.
"""

from ser_keras.features.boaw import BagOfAudioWords
from ser_keras.features.cache import FeatureCache, default_cache_dir
from ser_keras.features.opensmile_sets import (
    FeatureSet,
    extract_signal,
    extract_signals,
    extract_utterance_sets,
    extract_utterances,
    feature_names,
)

__all__ = [
    "BagOfAudioWords",
    "FeatureCache",
    "FeatureSet",
    "default_cache_dir",
    "extract_signal",
    "extract_signals",
    "extract_utterance_sets",
    "extract_utterances",
    "feature_names",
]
