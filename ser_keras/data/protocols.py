"""Cross-validation protocols: leave-one-session-out (SHORT §2.1) and leave-one-speaker-out
(ELOR §4), each with a seeded 80:20 train/validation split of the fold's training pool.

A fold holds index arrays into the list of utterances it was built from and refuses to
exist if a speaker appears in both its training pool and its test set.
"""

import dataclasses

import numpy as np

PROTOCOLS = ("leave-one-session-out", "leave-one-speaker-out")


@dataclasses.dataclass(frozen=True)
class Fold:
    """Indices of one fold's training, validation and test utterances."""

    name: str
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray

    def check_speaker_disjoint(self, speakers):
        """Raise if any speaker is both in the training pool and in the test set."""
        pool = set(speakers[i] for i in np.concatenate([self.train, self.validation]))
        shared = sorted(pool & set(speakers[i] for i in self.test))
        if shared:
            raise ValueError(f"Fold {self.name}: speaker(s) {shared} in both training and test.")


def default_protocol(utterances):
    """Sessions where every utterance has one (IEMOCAP), speakers otherwise."""
    if all(u.session is not None for u in utterances) and len({u.session for u in utterances}) > 1:
        return PROTOCOLS[0]
    return PROTOCOLS[1]


def train_validation_split(pool, targets=None, *, validation_fraction=0.2, seed=0):
    """Split ``pool`` indices into (train, validation), stratified by target when given."""
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"The 'validation_fraction' parameter must be in (0, 1). Got {validation_fraction!r}.")
    rng = np.random.default_rng(seed)
    pool = np.asarray(pool)
    groups = (
        [pool]
        if targets is None
        else [pool[np.asarray(targets)[pool] == t] for t in np.unique(np.asarray(targets)[pool])]
    )
    validation = []
    for group in groups:
        shuffled = rng.permutation(group)
        validation.extend(shuffled[: int(round(len(group) * validation_fraction))])
    validation = np.sort(np.asarray(validation, dtype=np.int64))
    return np.setdiff1d(pool, validation), validation


def make_folds(utterances, protocol, *, targets=None, seed=0, validation_fraction=0.2, only=None):
    """Build the folds of ``protocol`` over ``utterances``; ``only`` keeps the named folds.

    Fold names are the held-out session (``Ses01``) or speaker (``Ses01F``, ``03``).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"The 'protocol' parameter must be one of {PROTOCOLS}. Got {protocol!r}.")
    key = "session" if protocol == PROTOCOLS[0] else "speaker"
    groups = np.array([getattr(u, key) for u in utterances], dtype=object)
    if key == "session" and any(g is None for g in groups):
        raise ValueError(
            "leave-one-session-out needs a session for every utterance; "
            "this corpus has none. Use --protocol leave-one-speaker-out."
        )
    names = sorted(set(groups))
    if only:
        unknown = [name for name in only if name not in names]
        if unknown:
            raise ValueError(
                f"Fold(s) {unknown} not in this corpus; its {key}s are {names}. "
                f"A missing session folder removes its fold."
            )
    speakers = [u.speaker for u in utterances]
    folds = []
    # The offset counts every fold, so a fold chosen with ``only`` splits as in the full run.
    for offset, name in enumerate(names):
        if only and name not in only:
            continue
        test = np.flatnonzero(groups == name)
        train, validation = train_validation_split(
            np.flatnonzero(groups != name), targets, validation_fraction=validation_fraction, seed=seed + offset
        )
        fold = Fold(name, train, validation, test)
        fold.check_speaker_disjoint(speakers)
        folds.append(fold)
    return folds
