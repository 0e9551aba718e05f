"""Hyperparameter search spaces of the ELOR networks and SHORT's LLD MLP, defined once.

ELOR, "Hyperparamter optimization": every network was tuned with hyperopt/TPE on a 20 %
validation split; the ELoR space was "a uniform distribution with a mean based on the
hyperparameters suggested by Trigeorgis et al." (70 evaluations), LoM was centred on
Barros et al. (150) and FTR got 150 evaluations. SHORT §2.3 chose the LLD MLP's depth and
width "based on the cross-validation set". keras-tuner replaces hyperopt here.

Each range is uniform and centred on the config default (``ser_keras.models.elor``),
which is Trigeorgis et al.'s front end for ELoR; scale parameters (L2 weight, learning
rate, batch size) are uniform in log space around their centre. Tuple config fields are
tuned per element: ``conv_filters_2`` is the second entry of ``conv_filters``.

ELoR (centre: Trigeorgis et al. 2016, conv3 repeating conv2; see ``ElorConfig``)

===================== ============= ======== ==================================================
hyperparameter        range         centre   distribution
===================== ============= ======== ==================================================
conv_filters_1..3     20 .. 60      40       uniform integer (centre +- 50 %)
conv_kernel_sizes_1   10 .. 30      20       uniform integer (centre +- 50 %)
conv_kernel_sizes_2,3 20 .. 60      40       uniform integer (centre +- 50 %)
pool_sizes_1          1 .. 3        2        uniform integer
pool_sizes_2,3        5 .. 15       10       uniform integer (centre +- 50 %)
head_units_1,2        128 .. 384    256      uniform integer, step 32 (centre +- 50 %)
dropout_rate          0.25 .. 0.75  0.5      uniform
l2_alpha              1e-5 .. 1e-3  1e-4     log-uniform (one decade either side)
learning_rate         1e-3 .. 1e-1  1e-2     log-uniform (one decade either side)
momentum              0.81 .. 0.99  0.9      uniform (centre +- 0.09, below 1)
batch_size            16, 32, 64    32       choice (a factor 2 either side)
===================== ============= ======== ==================================================

LoM (centre: ``LomConfig``; our sources lack Barros et al.'s values): conv_filters_1..3
20 .. 60; conv_kernel_sizes_1..3 3 .. 7 frames (centre 5); pool_sizes_1..3 1 .. 3 (centre
2); head and optimiser ranges as ELoR.

FTR (centre: ``FtrConfig``): the head and optimiser ranges of ELoR (head_units_1,2,
dropout_rate, l2_alpha, learning_rate, momentum, batch_size).

ELoR+FTR is not searched: the paper combined the tuned ELoR and FTR values by hand, and
``replicate/wieser_table5.py --hparams`` gives it ELoR's values unless told otherwise.

SHORT LLD MLP: ``depth`` 1 .. 3 hidden layers (integer) and ``width`` one of 256, 512,
1024, 2048 units per layer (choice) -- a superset of ``LLD_MLP_GRID``.
"""

import dataclasses
from dataclasses import dataclass

from ser_keras.models.elor import ElorConfig, FtrConfig, LomConfig

KINDS = ("int", "float", "log", "choice")


@dataclass(frozen=True)
class Range:
    """One tuned config field (``index``: element of a tuple field, 0-based)."""

    field: str
    kind: str
    low: float = None
    high: float = None
    step: int = None
    values: tuple = ()
    index: int = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Range kind must be one of {KINDS}; got {self.kind!r} for {self.field!r}.")
        if self.kind == "choice":
            if not self.values:
                raise ValueError(f"A choice range needs values; {self.field!r} has none.")
        elif self.low is None or self.high is None or not self.low < self.high:
            raise ValueError(f"Range {self.field!r} needs low < high; got {self.low!r} .. {self.high!r}.")
        if self.kind == "log" and self.low <= 0:
            raise ValueError(f"A log range needs low > 0; {self.field!r} has {self.low!r}.")

    @property
    def name(self):
        """The keras-tuner hyperparameter name."""
        return self.field if self.index is None else f"{self.field}_{self.index + 1}"

    def declare(self, hp, default):
        """Register this range with a ``keras_tuner.HyperParameters``; return the value."""
        if self.kind == "choice":
            return hp.Choice(self.name, list(self.values), default=default)
        if self.kind == "int":
            return hp.Int(self.name, int(self.low), int(self.high), step=self.step or 1, default=int(default))
        sampling = "log" if self.kind == "log" else "linear"
        return hp.Float(self.name, float(self.low), float(self.high), sampling=sampling, default=float(default))


def _per_element(field, count, **spec):
    return tuple(Range(field, index=index, **spec) for index in range(count))


@dataclass(frozen=True)
class SearchSpace:
    """Ranges over the fields of ``config_class``; the rest keep the base config's values."""

    network: str
    config_class: type
    ranges: tuple

    def __post_init__(self):
        names = [r.name for r in self.ranges]
        if len(set(names)) != len(names):
            raise ValueError(f"Search space {self.network!r} repeats a hyperparameter: {names}.")
        known = {field.name for field in dataclasses.fields(self.config_class)}
        unknown = sorted({r.field for r in self.ranges} - known)
        if unknown:
            raise ValueError(
                f"Search space {self.network!r} tunes {unknown}, not fields of {self.config_class.__name__}."
            )

    @property
    def names(self):
        return tuple(r.name for r in self.ranges)

    def declare(self, hp, base=None):
        """Register every range with ``hp`` (defaults: ``base``'s values); return ``{name: value}``."""
        base = base or self.config_class()
        values = {}
        for tuned in self.ranges:
            default = getattr(base, tuned.field)
            if tuned.index is not None:
                default = default[tuned.index]
            values[tuned.name] = tuned.declare(hp, default)
        return values

    def hparams(self, values, base=None):
        """Config fields ``{field: value}`` (tuples for per-element fields) from hp values."""
        base = base or self.config_class()
        fields = {}
        for tuned in self.ranges:
            if tuned.name not in values:
                raise ValueError(
                    f"No value for hyperparameter {tuned.name!r} of {self.network!r}; got {sorted(values)}."
                )
            value = values[tuned.name]
            if tuned.index is None:
                fields[tuned.field] = value
            else:
                elements = list(fields.get(tuned.field, getattr(base, tuned.field)))
                if tuned.index >= len(elements):
                    raise ValueError(f"{tuned.name!r} indexes past {tuned.field} {tuple(elements)} of the base config.")
                elements[tuned.index] = value
                fields[tuned.field] = tuple(elements)
        return fields

    def values(self, fields):
        """Hyperparameter values ``{name: value}`` of the tuned ones among config ``fields``."""
        found = {}
        for tuned in self.ranges:
            if tuned.field in fields:
                value = fields[tuned.field]
                found[tuned.name] = value if tuned.index is None else value[tuned.index]
        return found

    def config(self, values, base=None):
        """The config with ``values`` applied over ``base`` (default: the config defaults)."""
        base = base or self.config_class()
        return dataclasses.replace(base, **self.hparams(values, base))


HEAD_RANGES = (
    *_per_element("head_units", 2, kind="int", low=128, high=384, step=32),
    Range("dropout_rate", "float", 0.25, 0.75),
    Range("l2_alpha", "log", 1e-5, 1e-3),
    Range("learning_rate", "log", 1e-3, 1e-1),
    Range("momentum", "float", 0.81, 0.99),
    Range("batch_size", "choice", values=(16, 32, 64)),
)

ELOR_SPACE = SearchSpace(
    "elor",
    ElorConfig,
    (
        *_per_element("conv_filters", 3, kind="int", low=20, high=60),
        Range("conv_kernel_sizes", "int", 10, 30, index=0),
        Range("conv_kernel_sizes", "int", 20, 60, index=1),
        Range("conv_kernel_sizes", "int", 20, 60, index=2),
        Range("pool_sizes", "int", 1, 3, index=0),
        Range("pool_sizes", "int", 5, 15, index=1),
        Range("pool_sizes", "int", 5, 15, index=2),
        *HEAD_RANGES,
    ),
)

LOM_SPACE = SearchSpace(
    "lom",
    LomConfig,
    (
        *_per_element("conv_filters", 3, kind="int", low=20, high=60),
        *_per_element("conv_kernel_sizes", 3, kind="int", low=3, high=7),
        *_per_element("pool_sizes", 3, kind="int", low=1, high=3),
        *HEAD_RANGES,
    ),
)

FTR_SPACE = SearchSpace("ftr", FtrConfig, HEAD_RANGES)


# SHORT §2.3 (MLP on 25-frame LLD contexts): depth and width, decided on validation.
MLP_DEPTH = Range("depth", "int", 1, 3)
MLP_WIDTH = Range("width", "choice", values=(256, 512, 1024, 2048))


def declare_mlp(hp, default_hidden=(256,)):
    """Register the LLD-MLP depth and width with ``hp``; return ``hidden_layers``."""
    depth = MLP_DEPTH.declare(hp, len(default_hidden))
    width = MLP_WIDTH.declare(hp, default_hidden[0])
    return (width,) * depth
