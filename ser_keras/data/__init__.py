"""Corpora, label views, protocols and the tf.data windows pipeline (SHORT §2.1, ELOR §3)."""

from ser_keras.data.corpus import CORPUS_KINDS, Corpus, Utterance, load_corpus

__all__ = ["CORPUS_KINDS", "Corpus", "Utterance", "load_corpus"]
