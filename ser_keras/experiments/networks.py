"""The one registry of ELOR networks (ELOR §3.2–3.5, Table 5): for each, the paper's name,
config class, graph builder, input kind, search space and paper trial budget, and the small
network of ``--quick`` smoke runs. Table 5, the tuning scripts and the analyses read it; a
plug-in network (:func:`register_network`) joins it without touching the package.

Input kinds are what :meth:`ser_keras.experiments.data.ElorData.dataset` feeds: ``raw``
(6 s waveform), ``mfcc`` (599 × 26 MFCC), ``is10`` (1582 IS10 functionals) and ``raw+is10``.
Networks that take IS10 are built with the training slices' functional mean and variance.
"""

import dataclasses

import keras

from ser_keras.models.elor import (
    ElorConfig,
    ElorFtrConfig,
    FtrConfig,
    HeadConfig,
    LomConfig,
    build_elor,
    build_elor_ftr,
    build_ftr,
    build_lom,
)
from ser_keras.training.split_heads import head_layers, head_outputs
from ser_keras.tuning.spaces import ELOR_SPACE, FTR_SPACE, LOM_SPACE

INPUT_KINDS = {
    "raw": "raw 6 s waveform",
    "mfcc": "MFCC 599×26",
    "is10": "IS10 functionals",
    "raw+is10": "raw 6 s waveform + IS10",
}
# Small networks for --quick smoke runs only (said in the output): the paper-centre ELoR
# needs about 7 GFLOP per slice forward, hours per fold on 2 CPU cores.
_QUICK_TRUNK = {"conv_filters": (8, 8, 8), "conv_kernel_sizes": (10, 10, 10), "pool_sizes": (10, 10, 10)}
_QUICK_HEADS = {"head_units": (32, 32)}


@dataclasses.dataclass(frozen=True)
class NetworkSpec:
    """One ELOR network. ``builder(config)`` — or, for IS10 inputs,
    ``builder(config, functional_mean=..., functional_variance=...)`` — returns the uncompiled
    two-head (valence, arousal) model; ``space`` is its keras-tuner search space (None: not
    searched, e.g. ELoR+FTR, which the paper built from the tuned ELoR and FTR values)."""

    id: str
    paper_name: str
    config_class: type
    builder: object
    input_kind: str
    space: object = None
    paper_trials: int | None = None
    quick_hparams: dict = dataclasses.field(default_factory=dict)
    origin: str = "paper"

    def __post_init__(self):
        if self.input_kind not in INPUT_KINDS:
            raise ValueError(
                f"Network {self.id!r}: input kind {self.input_kind!r} is not one of {sorted(INPUT_KINDS)}."
            )

    @property
    def inputs_text(self):
        return INPUT_KINDS[self.input_kind]

    @property
    def uses_functionals(self):
        return "is10" in self.input_kind

    def build(self, config, data=None, train=None):
        """The model of ``config``; IS10 networks standardise with ``data``'s training slices ``train``."""
        if not self.uses_functionals:
            return self.builder(config)
        mean, variance = data.functional_statistics(train)
        return self.builder(config, functional_mean=mean, functional_variance=variance)


NETWORKS = {
    spec.id: spec
    for spec in (
        NetworkSpec("elor", "ELoR", ElorConfig, build_elor, "raw", ELOR_SPACE, 70, {**_QUICK_TRUNK, **_QUICK_HEADS}),
        NetworkSpec(
            "lom", "LoM", LomConfig, build_lom, "mfcc", LOM_SPACE, 150, {"conv_filters": (8, 8, 8), **_QUICK_HEADS}
        ),
        NetworkSpec("ftr", "FTR", FtrConfig, build_ftr, "is10", FTR_SPACE, 150, dict(_QUICK_HEADS)),
        NetworkSpec(
            "elor_ftr",
            "ELoR+FTR",
            ElorFtrConfig,
            build_elor_ftr,
            "raw+is10",
            None,
            None,
            {**_QUICK_TRUNK, **_QUICK_HEADS},
        ),
    )
}
PAPER_NETWORKS = tuple(NETWORKS)
# The paper's networks, the heaviest fold first: the main thread's order (split-head training
# FLOPs per slice: the raw trunk makes ELoR+FTR and ELoR ~500x LoM at the paper's sizes, ~20x
# at --quick's; LoM ~10x FTR at both).
HEAVIEST_FIRST = ("elor_ftr", "elor", "lom", "ftr")


def network_id(name):
    """Our id for a network named by id or by the paper (``'ELoR+FTR'`` → ``'elor_ftr'``)."""
    by_paper = {spec.paper_name.lower(): spec.id for spec in NETWORKS.values()}
    key = str(name).strip().lower()
    if key in NETWORKS or key in by_paper:
        return by_paper.get(key, key)
    raise ValueError(
        f"Unknown network {name!r}; use one of {', '.join(NETWORKS)} "
        f"(or {', '.join(spec.paper_name for spec in NETWORKS.values())})."
    )


def searchable():
    """Ids of the networks with a search space."""
    return tuple(spec.id for spec in NETWORKS.values() if spec.space is not None)


def register_network(id, input, build, *, paper_name=None, config_class=HeadConfig):
    """Add a plug-in ELOR network, trained and scored exactly as the paper's (split-head
    updates, early stopping, pooled WAR/UAR per head, ``.h5`` + sidecar, comparisons).

    ``input``: one of :data:`INPUT_KINDS`; ``build(config)`` — for IS10 inputs
    ``build(config, functional_mean=..., functional_variance=...)`` — returns an uncompiled
    functional model with two softmax outputs named ``valence`` and ``arousal`` (5 classes
    each), as a list of layers of those names or a dict with those keys; its input may leave
    axes open (e.g. ``(None, 26)`` MFCC frames); ``config_class``: its config dataclass
    (default :class:`~ser_keras.models.elor.HeadConfig`: head sizes, dropout, L2, learning rate,
    momentum, batch size). An id or name already registered is refused.
    """
    name = paper_name or id
    taken = {key.lower() for spec in NETWORKS.values() for key in (spec.id, spec.paper_name)}
    if id.lower() in taken or name.lower() in taken:
        raise ValueError(f"Plug-in network {id!r} ({name!r}) clashes with a registered network.")
    if not callable(build):
        raise ValueError(f"Plug-in network {id!r}: build must be a callable (config) -> keras.Model.")
    NETWORKS[id] = NetworkSpec(id, name, config_class, build, input, origin="plugin")
    return NETWORKS[id]


def check_plugin_network(spec, config, data, train):
    """Build a plug-in network once and check its two heads before any training: outputs
    matched to ``valence`` and ``arousal`` by name, each ``(None, classes)``, each with a
    trainable layer of its own (what the split-head updates step)."""
    try:
        model = spec.build(config, data, train)
    except Exception as error:
        raise ValueError(f"Plug-in network {spec.id!r}: build failed: {type(error).__name__}: {error}") from error
    if not isinstance(model, keras.Model):
        raise ValueError(f"Plug-in network {spec.id!r}: build returned {type(model).__name__}, not a keras.Model.")
    try:
        shapes = {head: tuple(output.shape) for head, output in head_outputs(model).items()}
        head_layers(model)
    except ValueError as error:
        raise ValueError(f"Plug-in network {spec.id!r}: {error}") from error
    expected = {head: (None, config.num_classes) for head in shapes}
    if shapes != expected:
        raise ValueError(f"Plug-in network {spec.id!r}: output shapes {shapes}; expected {expected}.")
