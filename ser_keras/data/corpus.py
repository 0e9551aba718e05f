"""Corpus records and the ``--corpus`` spec shared by every script (SHORT §2.1, ELOR §3).

A corpus is a tuple of :class:`Utterance` records plus a content fingerprint. Readers for the
IEMOCAP release layout, EmoDB, a CSV manifest and the embedded synthetic IEMOCAP corpus all
produce the same records, so protocols, features and models never know which corpus they see.
"""

import dataclasses
import hashlib
import os
from pathlib import Path

CORPUS_KINDS = ("synthetic", "iemocap", "emodb", "manifest")
DEFAULT_CORPUS = "synthetic:small"


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One turn: where its audio is, who spoke it and how it was rated.

    ``label`` is the raw categorical code (IEMOCAP consensus code, or the normalised
    EmoDB / manifest label). ``valence``/``arousal`` are on the 1–5 rating scale: the turn
    line's evaluator mean for IEMOCAP, the given value elsewhere. ``ratings`` keeps every
    dimensional evaluator line as ``(evaluator, valence, arousal, dominance)`` and
    ``categorical`` every categorical line as ``(evaluator, labels)``; self-evaluations
    (``F1``/``M1``) keep their own evaluator names.
    """

    id: str
    path: str
    speaker: str
    session: str | None = None
    label: str | None = None
    valence: float | None = None
    arousal: float | None = None
    gender: str | None = None
    duration: float | None = None
    dialog: str | None = None
    improvised: bool | None = None
    ratings: tuple = ()
    categorical: tuple = ()

    def rating(self, evaluator):
        """``(valence, arousal)`` given by ``evaluator`` (e.g. 'E2'), or None if unrated."""
        for name, valence, arousal, _ in self.ratings:
            if name == evaluator:
                return valence, arousal
        return None


@dataclasses.dataclass(frozen=True)
class Corpus:
    """Utterance records of one corpus, its spec string and its content fingerprint."""

    spec: str
    kind: str
    root: str
    utterances: tuple
    sha256: str
    problems: tuple = ()

    @property
    def speakers(self):
        return tuple(sorted({u.speaker for u in self.utterances}))

    @property
    def sessions(self):
        return tuple(sorted({u.session for u in self.utterances if u.session is not None}))


def fingerprint(files):
    """SHA-256 over each file's relative name, size and first/last bytes.

    Cheap enough for a 7-hour corpus on every start, yet any edit to an annotation file
    (hashed whole) or any re-encoded WAV changes it; this keys the feature cache.
    """
    digest = hashlib.sha256()
    for name, path in sorted(files):
        size = os.path.getsize(path)
        digest.update(f"{name}\0{size}\0".encode())
        with open(path, "rb") as handle:
            if size <= 1 << 20 or not str(path).endswith(".wav"):
                digest.update(handle.read())
            else:
                digest.update(handle.read(1 << 20))
                handle.seek(-65536, os.SEEK_END)
                digest.update(handle.read())
    return digest.hexdigest()


def parse_corpus_spec(spec):
    """Split ``KIND:ARG`` and check the kind, listing the valid ones on a typo."""
    kind, _, argument = str(spec).partition(":")
    if kind not in CORPUS_KINDS or not argument:
        raise ValueError(
            f"The corpus spec {spec!r} is not understood. Use one of: synthetic:{{tiny,small,full}}, "
            "iemocap:PATH (IEMOCAP_full_release folder), emodb:PATH (folder of SSTTTEv.wav), "
            "manifest:PATH.csv."
        )
    return kind, argument


def load_corpus(spec=DEFAULT_CORPUS):
    """Read the corpus named by ``spec`` (see :func:`parse_corpus_spec`)."""
    from ser_keras.data import emodb, iemocap, manifest

    kind, argument = parse_corpus_spec(spec)
    if kind == "synthetic":
        from ser_keras.data import synthetic

        root = synthetic.ensure_synthetic_corpus(argument)
        return iemocap.read_iemocap(root, spec=spec, kind="synthetic")
    if kind == "iemocap":
        return iemocap.read_iemocap(Path(argument), spec=spec)
    if kind == "emodb":
        return emodb.read_emodb(Path(argument), spec=spec)
    return manifest.read_manifest(Path(argument), spec=spec)
