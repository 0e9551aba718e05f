"""Typed result records of every table and analysis: a :class:`ResultRow` per reported
number and a :class:`Claim` per paper statement checked on a run.

Not a paper section: the shape of what ``metrics.json`` carries (schema in
``ser_keras/schemas/metrics.schema.json``, validated by the tests). A row's ``origin`` says
whether it is one of the papers' rows, a baseline, or a user's plug-in row.
"""

import dataclasses

from ser_keras.stats import POINT_VERDICTS, TESTED_VERDICTS, VERDICTS, point_verdict


@dataclasses.dataclass(frozen=True)
class ResultRow:
    """One reported number: ours (``value`` in %, or None when the row could not run) with its
    95 % interval ``ci95`` over ``ci_clusters`` units of ``ci_unit`` (speakers), beside the
    paper's ``paper`` value (None: not published)."""

    id: str
    system: str
    classifier: str
    metric: str
    value: float | None
    ci95: tuple | None = None
    ci_unit: str | None = None
    ci_clusters: int | None = None
    paper: float | None = None
    status: str = "ok"
    per_fold: dict | None = None
    origin: str = "paper"

    def to_dict(self):
        row = dataclasses.asdict(self)
        row["ci95"] = None if self.ci95 is None else list(self.ci95)
        if self.per_fold is None:
            del row["per_fold"]
        return row

    @classmethod
    def from_dict(cls, data):
        fields = {field.name for field in dataclasses.fields(cls)}
        row = {key: value for key, value in data.items() if key in fields}
        if row.get("ci95") is not None:
            row["ci95"] = tuple(row["ci95"])
        return cls(**row)


@dataclasses.dataclass(frozen=True)
class Scoring:
    """How a run's ``predictions.csv`` is scored: the pooled ``metrics`` ("UAR", "WAR") over
    ``num_classes`` classes — what lets another tool (``compare_runs``) rescore it."""

    metrics: tuple
    num_classes: int

    def to_dict(self):
        return {"metrics": list(self.metrics), "num_classes": self.num_classes}


@dataclasses.dataclass(frozen=True)
class Claim:
    """A paper statement checked on this run: ``verdict`` is one of
    :data:`~ser_keras.stats.VERDICTS` — a tested verdict, a point comparison's "untested"
    words, or "n/a" when the run lacks what the claim needs; ``detail`` says on which numbers."""

    claim: str
    verdict: str
    detail: str = ""

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"A claim's verdict must be one of {VERDICTS}. Got {self.verdict!r}.")

    @classmethod
    def from_points(cls, claim, as_stated, detail=""):
        """A claim read off point values with no test (True, False, or None = n/a): its verdict
        says "untested" so that it never reads like a tested one."""
        return cls(claim, point_verdict(as_stated), detail)

    @property
    def tested(self):
        """Whether the verdict comes from a statistical test."""
        return self.verdict in TESTED_VERDICTS

    @property
    def holds(self):
        """True / False for a decided claim — by a test, or read off point values (then
        :attr:`tested` is False) — and None for inconclusive, too few speakers and n/a."""
        return {"holds": True, "does not hold": False, POINT_VERDICTS[0]: True, POINT_VERDICTS[1]: False}.get(
            self.verdict
        )

    def to_dict(self):
        return {
            "claim": self.claim,
            "verdict": self.verdict,
            "holds": self.holds,
            "tested": self.tested,
            "detail": self.detail,
        }
