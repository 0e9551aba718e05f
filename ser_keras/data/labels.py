"""Label views of SHORT §2.1 (four classes, hap ∪ exc) and ELOR §3 (E-2 valence/arousal 0–4).

A view maps corpus records to the integer targets a protocol trains on, counting what it
drops so a run record can say so.
"""

import collections
import dataclasses

FOUR_CLASSES = ("ang", "hap", "neu", "sad")
DIMENSIONS = ("valence", "arousal")  # the models' head order (it seeds the split-head draw order)
# The papers' presentation order of the dimensions (ELOR Table 5 columns, Figs. 4/5 panels).
TABLE_DIMENSIONS = ("arousal", "valence")
DIMENSION_CLASSES = 5

# Common spellings from manifests and other corpora, mapped to the IEMOCAP codes.
_SPELLINGS = {
    "anger": "ang",
    "angry": "ang",
    "happy": "hap",
    "happiness": "hap",
    "joy": "hap",
    "excited": "exc",
    "excitement": "exc",
    "neutral": "neu",
    "sadness": "sad",
    "frustration": "fru",
    "frustrated": "fru",
    "surprise": "sur",
    "surprised": "sur",
    "fear": "fea",
    "fearful": "fea",
    "disgust": "dis",
    "disgusted": "dis",
    "boredom": "bor",
    "bored": "bor",
    "other": "oth",
}
# SHORT §2.1: ``exc`` merges into ``hap``.
_FOUR_CLASS_CODES = {"ang": "ang", "hap": "hap", "exc": "hap", "neu": "neu", "sad": "sad"}
LABEL_VIEWS = ("four_class", "all")


def normalise_label(label):
    """A free-text label as its IEMOCAP code where one exists (``'Angry'`` → ``'ang'``), else
    lower-cased; None for a missing or blank label."""
    if label is None or not label.strip():
        return None
    text = label.strip().lower()
    return _SPELLINGS.get(text, text)


def four_class_label(label):
    """Return the four-class code for a raw label, or None when the view drops it."""
    code = normalise_label(label)
    return None if code is None else _FOUR_CLASS_CODES.get(code)


@dataclasses.dataclass(frozen=True)
class CategoricalView:
    """Utterances kept by a categorical view with their integer targets."""

    name: str
    classes: tuple
    utterances: tuple
    targets: tuple
    dropped: dict

    def counts(self):
        """Utterances per class name, in class order."""
        tally = collections.Counter(self.targets)
        return {name: tally.get(index, 0) for index, name in enumerate(self.classes)}


def categorical_view(utterances, view="four_class"):
    """Select utterances and integer targets for ``view`` ('four_class' or 'all')."""
    if view not in LABEL_VIEWS:
        raise ValueError(f"The 'labels' view must be one of {LABEL_VIEWS}. Got {view!r}.")
    kept, names, dropped = [], [], collections.Counter()
    for utterance in utterances:
        name = four_class_label(utterance.label) if view == "four_class" else utterance.label
        if name is None:
            dropped[str(utterance.label)] += 1
            continue
        kept.append(utterance)
        names.append(name)
    classes = FOUR_CLASSES if view == "four_class" else tuple(sorted(set(names)))
    index = {name: position for position, name in enumerate(classes)}
    return CategoricalView(view, classes, tuple(kept), tuple(index[n] for n in names), dict(dropped))


def dimension_class(rating):
    """Map an evaluator rating on the 1–5 scale to the ELOR class 0–4 (rating − 1).

    Half-point ratings round half up; the ELOR paper uses the raw E-2 integers.
    """
    if rating is None:
        return None
    value = int(float(rating) + 0.5) - 1
    if not 0 <= value < DIMENSION_CLASSES:
        raise ValueError(f"A dimensional rating must lie in 1..5. Got {rating!r}.")
    return value


@dataclasses.dataclass(frozen=True)
class DimensionalView:
    """Utterances kept by the ELOR view with their valence/arousal classes 0–4.

    ``source`` says where the ratings came from: ``'A-E2'`` (one evaluator's dimensional
    line, IEMOCAP layout) or ``'valence/arousal'`` (the record's own values: manifests).
    """

    evaluator: str | None
    source: str
    utterances: tuple
    valence: tuple
    arousal: tuple
    dropped: dict

    def targets(self, dimension):
        if dimension not in DIMENSIONS:
            raise ValueError(f"The 'dimension' must be one of {DIMENSIONS}. Got {dimension!r}.")
        return getattr(self, dimension)


def dimensional_view(utterances, evaluator="E2"):
    """ELOR §3.1 labels: each kept utterance's (valence, arousal) as classes 0–4.

    Where the corpus carries evaluator lines (IEMOCAP and the synthetic corpus), the ratings
    of ``evaluator`` are used and utterances that evaluator did not rate are dropped; the
    paper uses E-2 only. Corpora without evaluator lines (manifests) use each record's
    ``valence``/``arousal``; records without both are dropped. ``evaluator=None`` always
    uses the records' values (IEMOCAP: the turn-line mean, rounded half up).
    """
    utterances = tuple(utterances)
    by_evaluator = evaluator is not None and any(u.ratings for u in utterances)
    source = f"A-{evaluator}" if by_evaluator else "valence/arousal"
    kept, valence, arousal, dropped = [], [], [], collections.Counter()
    for utterance in utterances:
        rating = utterance.rating(evaluator) if by_evaluator else (utterance.valence, utterance.arousal)
        if rating is None or None in rating:
            dropped[f"no {source} rating"] += 1
            continue
        kept.append(utterance)
        valence.append(dimension_class(rating[0]))
        arousal.append(dimension_class(rating[1]))
    return DimensionalView(
        evaluator if by_evaluator else None, source, tuple(kept), tuple(valence), tuple(arousal), dict(dropped)
    )
