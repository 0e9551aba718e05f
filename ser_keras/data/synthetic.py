"""Embedded default corpus: synthetic emotional speech written in the IEMOCAP release layout.

Not a paper section: it stands in for IEMOCAP (SHORT §2.1, ELOR §3.1), which is licensed and
absent, so every IEMOCAP code path runs on every test through the real reader. This module
plans the corpus (sessions, speakers, dialogs, categories, durations, evaluator lines with the
release's syntax and irregularities), writes it, and caches it; the audio of each turn comes
from the source-filter synthesiser in :mod:`ser_keras.data.emotional_voice`. Each turn draws
from its own seed (corpus seed + turn index), so the same seed gives byte-identical files
whatever the number of worker processes.
"""

import dataclasses
import fcntl
import hashlib
import logging
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import soundfile

from ser_keras.data.audio import SAMPLE_RATE
from ser_keras.data.emotional_voice import random_voice, synthesise
from ser_keras.io import write_text

logger = logging.getLogger(__name__)

SIZES = ("tiny", "small", "full")
GENERATOR_VERSION = "1"
CACHE_ENVIRONMENT_VARIABLE = "SER_KERAS_CACHE"
MANIFEST_NAME = "MANIFEST.sha256"
COMPLETE_NAME = "COMPLETE"
CODES = ("ang", "hap", "exc", "neu", "sad", "fru", "sur", "xxx")
CATEGORY_NAMES = {
    "ang": "Anger",
    "hap": "Happiness",
    "exc": "Excited",
    "neu": "Neutral",
    "sad": "Sadness",
    "fru": "Frustration",
    "sur": "Surprise",
}
# Labels evaluators confuse with each one (multi-label lines and dissenting votes).
NEIGHBOURS = {
    "ang": ("fru", "exc"),
    "hap": ("exc", "neu"),
    "exc": ("hap", "sur"),
    "neu": ("fru", "sad"),
    "sad": ("neu", "fru"),
    "fru": ("ang", "neu"),
    "sur": ("exc", "hap"),
}
# Mean (valence, activation, dominance) per category on the 1-5 scale, IEMOCAP-like.
RATING_MEANS = {
    "ang": (1.9, 3.7, 3.8),
    "hap": (3.9, 3.1, 3.0),
    "exc": (3.9, 3.6, 3.3),
    "neu": (2.9, 2.6, 2.8),
    "sad": (2.2, 2.2, 2.3),
    "fru": (2.1, 3.0, 3.1),
    "sur": (3.4, 3.6, 2.9),
}
TICKS_PER_SECOND = 10000  # turn times carry 4 decimals
DURATION_STEP_SAMPLES = 8  # 0.5 ms: n / 16000 s then has exactly 4 decimals, as on turn lines
_COMMENTS = ("()",) * 10 + (
    "(curious)",
    "(mildly aggravated but staying polite, attitude)",
    "(sarcastic)",
    "(tired)",
    "(laughing)",
)


@dataclasses.dataclass(frozen=True)
class SizeConfig:
    """How many turns of each category per session, which dialogs, and how long turns are."""

    counts: tuple  # ((code, (session1, ..., session5)), ...) in CODES order
    dialogs: tuple  # dialog stems after "SesNN": ("F_impro01", "M_script01_1", ...)
    median_seconds: float
    sigma: float
    max_seconds: float
    long_turns: int  # turns of 8.5-10.5 s forced into Session 1 so 6 s slicing is exercised


def _per_session(total):
    base, extra = divmod(total, 5)
    return tuple(base + (session < extra) for session in range(5))


def _dialogs(improvised, scripts):
    names = [f"impro{number:02d}" for number in range(1, improvised + 1)] + list(scripts)
    return tuple(f"{perspective}_{name}" for name in names for perspective in "FM")


SIZE_CONFIGS = {
    "tiny": SizeConfig(
        counts=(
            ("ang", (1,) * 5),
            ("hap", (1,) * 5),
            ("exc", (1, 0, 1, 0, 1)),
            ("neu", (1,) * 5),
            ("sad", (1,) * 5),
            ("fru", (1, 0, 0, 1, 0)),
            ("sur", (0, 1, 0, 0, 0)),
            ("xxx", (0, 0, 1, 0, 1)),
        ),
        dialogs=("F_impro01", "M_script01_1"),
        median_seconds=2.0,
        sigma=0.35,
        max_seconds=4.0,
        long_turns=1,
    ),
    "small": SizeConfig(
        counts=tuple((code, (count,) * 5) for code, count in zip(CODES, (21, 9, 12, 25, 17, 8, 2, 6))),
        dialogs=_dialogs(2, ("script01_1",)),
        median_seconds=3.4,
        sigma=0.55,
        max_seconds=15.0,
        long_turns=0,
    ),
    "full": SizeConfig(
        counts=tuple(
            (code, _per_session(total)) for code, total in zip(CODES, (1103, 595, 1041, 1708, 1084, 500, 100, 300))
        ),
        dialogs=_dialogs(8, ("script01_1", "script01_2", "script01_3", "script02_1", "script02_2", "script03_1")),
        median_seconds=3.4,
        sigma=0.55,
        max_seconds=15.0,
        long_turns=0,
    ),
}


@dataclasses.dataclass(frozen=True)
class Turn:
    """One planned turn: where it goes, what it sounds like, and its annotation lines."""

    index: int
    session: int
    dialog: str
    name: str
    speaker: int  # 0..9: session-major, female first
    code: str
    blend: tuple  # ((category, weight), ...) the acoustics are drawn from
    arousal: float  # latent 1-5 value the voice and the raters follow
    valence: float
    n_samples: int
    start_ticks: int
    evaluation_lines: tuple
    vad: tuple  # turn-line [V, A, D]: mean of the non-self dimensional evaluators


def _check_arguments(size, seed):
    if size not in SIZE_CONFIGS:
        raise ValueError(f"The 'size' parameter must be one of {', '.join(SIZES)}. Got {size!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"The 'seed' parameter must be a non-negative int. Got {seed!r}.")


def _rng(seed, *key):
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def plan_corpus(size, *, seed=0):
    """Return the tuple of :class:`Turn` that ``generate_corpus`` renders, in writing order."""
    _check_arguments(size, seed)
    config = SIZE_CONFIGS[size]
    turns = []
    for session in range(1, 6):
        turns.extend(_plan_session(config, session, int(seed), len(turns)))
    return tuple(turns)


def _plan_session(config, session, seed, first_index):
    rng = _rng(seed, 0, session)
    codes = [code for code, per_session in config.counts for _ in range(per_session[session - 1])]
    codes = [codes[i] for i in rng.permutation(len(codes))]
    durations = np.clip(rng.lognormal(np.log(config.median_seconds), config.sigma, len(codes)), 1.0, config.max_seconds)
    if session == 1 and config.long_turns:
        durations[: config.long_turns] = rng.uniform(8.5, 10.5, config.long_turns)
    steps = np.round(durations * SAMPLE_RATE / DURATION_STEP_SAMPLES).astype(int)
    # ELOR needs E-2 on most turns but not all: exactly 30 % of each session lack it.
    without_e2 = set(rng.choice(len(codes), size=round(0.3 * len(codes)), replace=False).tolist())
    bias = rng.normal(0.0, 0.25, (7, 3))  # evaluator E1..E6 leniency per dimension (0: self)
    turns, prefix = [], f"Ses{session:02d}"
    for slot, stem in enumerate(config.dialogs):
        dialog = f"{prefix}{stem}"
        clock = int(rng.uniform(2.0, 8.0) * TICKS_PER_SECOND)
        gender = "FM"[rng.integers(2)]
        spoken = {"F": 0, "M": 0}
        for position in range(slot, len(codes), len(config.dialogs)):
            if rng.random() < 0.8:
                gender = "M" if gender == "F" else "F"
            name = f"{dialog}_{gender}{spoken[gender]:03d}"
            spoken[gender] += 1
            n_samples = int(steps[position]) * DURATION_STEP_SAMPLES
            turn = _plan_turn(rng, bias, codes[position], gender, position not in without_e2)
            turns.append(
                Turn(
                    index=first_index + len(turns),
                    session=session,
                    dialog=dialog,
                    name=name,
                    speaker=2 * (session - 1) + (gender == "M"),
                    code=codes[position],
                    n_samples=n_samples,
                    start_ticks=clock,
                    **turn,
                )
            )
            clock += n_samples * TICKS_PER_SECOND // SAMPLE_RATE + int(rng.uniform(0.1, 1.5) * TICKS_PER_SECOND)
    return turns


def _plan_turn(rng, bias, code, gender, rated_by_e2):
    if code == "xxx":  # no majority: the voice mixes two categories and the votes split
        first, second = (str(c) for c in rng.choice(("ang", "hap", "neu", "sad", "fru"), size=2, replace=False))
        weight = float(rng.uniform(0.3, 0.7))
        blend = ((first, weight), (second, 1.0 - weight))
    elif rng.random() < 0.3:  # leakage from a confusable category keeps classes overlapping
        weight = float(rng.uniform(0.6, 0.9))
        blend = ((code, weight), (str(rng.choice(NEIGHBOURS[code])), 1.0 - weight))
    else:
        blend = ((code, 1.0),)
    latent = sum(np.array(RATING_MEANS[c]) * w for c, w in blend) + rng.normal(0.0, (0.5, 0.45, 0.45))
    others = sorted(rng.choice((1, 3, 4, 5, 6), size=2 if rated_by_e2 else 3, replace=False).tolist())
    evaluators = sorted(others + [2]) if rated_by_e2 else others
    votes = _votes(rng, code, blend, len(evaluators))
    ratings = [np.clip(np.round(latent + bias[e] + rng.normal(0.0, 0.55, 3)), 1, 5).astype(int) for e in evaluators]
    categorical = [_categorical_line(rng, f"C-E{e}", labels) for e, labels in zip(evaluators, votes)]
    dimensional = [_dimensional_line(rng, f"A-E{e}", r) for e, r in zip(evaluators, ratings)]
    if rng.random() < 0.35:  # the speaker's self-evaluation, excluded from the turn-line mean
        categorical.append(_categorical_line(rng, f"C-{gender}1", votes[0]))
        dimensional.append(_dimensional_line(rng, f"A-{gender}1", np.round(latent + rng.normal(0.0, 0.7, 3))))
    lines = categorical + dimensional
    return {
        "blend": blend,
        "arousal": float(latent[1]),
        "valence": float(latent[0]),
        "vad": tuple(float(x) for x in np.mean(ratings, axis=0)),
        "evaluation_lines": tuple(lines),
    }


def _votes(rng, code, blend, n_evaluators):
    """Categorical votes with a majority for ``code`` (none for ``xxx``); some multi-label."""
    if code == "xxx":
        pool = [blend[0][0], blend[1][0]] + [c for c in ("neu", "fru", "exc") if c not in (blend[0][0], blend[1][0])]
        votes = [[pool[i % len(pool)]] for i in range(n_evaluators)]
    else:
        dissenters = min(rng.binomial(n_evaluators, 0.2), (n_evaluators - 1) // 2)
        votes = [[code] for _ in range(n_evaluators)]
        for i in rng.choice(n_evaluators, size=dissenters, replace=False):
            votes[i] = [str(rng.choice(NEIGHBOURS[code]))]
    for labels in votes:
        if rng.random() < 0.15:
            labels.append(str(rng.choice([c for c in NEIGHBOURS[labels[0]] if c not in labels])))
    return votes


def _categorical_line(rng, evaluator, labels):
    return f"{evaluator}:\t" + " ".join(f"{CATEGORY_NAMES[c]};" for c in labels) + f"\t{_comment(rng)}"


def _dimensional_line(rng, evaluator, ratings):
    valence, arousal, dominance = (int(x) for x in np.clip(ratings, 1, 5))
    return f"{evaluator}:\tval {valence}; act {arousal}; dom  {dominance};\t{_comment(rng)}"


def _comment(rng):
    return _COMMENTS[rng.integers(len(_COMMENTS))]


def _time(ticks):
    return f"{ticks // TICKS_PER_SECOND}.{ticks % TICKS_PER_SECOND:04d}"


def evaluation_text(turns):
    """The EmoEvaluation file of one dialog's turns, in the release's syntax."""
    blocks = []
    for turn in turns:
        end = turn.start_ticks + turn.n_samples * TICKS_PER_SECOND // SAMPLE_RATE
        valence, arousal, dominance = turn.vad
        blocks.append(
            "\n".join(
                (
                    f"[{_time(turn.start_ticks)} - {_time(end)}]\t{turn.name}\t{turn.code}\t"
                    f"[{valence:.4f}, {arousal:.4f}, {dominance:.4f}]",
                )
                + turn.evaluation_lines
            )
            + "\n"
        )
    return "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n" + "\n".join(blocks)


def _render(job):
    turn, path, voice, seed = job
    samples = synthesise(
        turn.n_samples,
        blend=turn.blend,
        arousal=turn.arousal,
        valence=turn.valence,
        voice=voice,
        rng=_rng(seed, 1, turn.index),
    )
    soundfile.write(path, samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")


def generate_corpus(out_dir, *, size, seed=0, workers=None):
    """Write the ``size`` corpus for ``seed`` into the empty or new folder ``out_dir``.

    ``workers`` processes render the audio (default: up to 2 for corpora over 200 turns);
    the result does not depend on it. Ends by writing ``MANIFEST.sha256``.
    """
    turns = plan_corpus(size, seed=seed)
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ValueError(
            f"The 'out_dir' parameter of generate_corpus must be an empty or new folder. "
            f"Got {str(out_dir)!r}, which holds files."
        )
    voices = tuple(random_voice(_rng(seed, 2, speaker), female=speaker % 2 == 0) for speaker in range(10))
    jobs, dialogs = [], {}
    for turn in turns:
        wav = out_dir / f"Session{turn.session}" / "sentences" / "wav" / turn.dialog / f"{turn.name}.wav"
        wav.parent.mkdir(parents=True, exist_ok=True)
        jobs.append((turn, str(wav), voices[turn.speaker], seed))
        dialogs.setdefault((turn.session, turn.dialog), []).append(turn)
    for (session, dialog), dialog_turns in sorted(dialogs.items()):
        evaluation = out_dir / f"Session{session}" / "dialog" / "EmoEvaluation" / f"{dialog}.txt"
        evaluation.parent.mkdir(parents=True, exist_ok=True)
        write_text(evaluation, evaluation_text(dialog_turns))
    workers = workers or (min(2, os.cpu_count() or 1) if len(turns) > 200 else 1)
    if workers == 1:
        for job in jobs:
            _render(job)
    else:  # spawn, not fork: callers may already hold TensorFlow threads
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for _ in pool.imap_unordered(_render, jobs, chunksize=16):
                pass
    write_manifest(out_dir)
    return out_dir


def write_manifest(root):
    """Write ``MANIFEST.sha256`` (``sha256sum -c`` format) over every file under ``root``."""
    root = Path(root)
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name not in (MANIFEST_NAME, COMPLETE_NAME)):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path.relative_to(root).as_posix()}\n")
    write_text(root / MANIFEST_NAME, "".join(lines))


def cache_directory():
    """``$SER_KERAS_CACHE``, or ``~/.cache/ser_keras`` when unset."""
    return Path(os.environ.get(CACHE_ENVIRONMENT_VARIABLE) or Path.home() / ".cache" / "ser_keras").expanduser()


def _is_complete(folder):
    marker = folder / COMPLETE_NAME
    return marker.is_file() and marker.read_text().startswith(f"generator {GENERATOR_VERSION} ")


def ensure_synthetic_corpus(size, seed=0):
    """Return the cached ``size`` corpus for ``seed``, generating it first when needed.

    Generation happens in a temporary sibling folder under an exclusive file lock; the
    manifest and then the ``COMPLETE`` marker are written last and the folder is renamed into
    place, so an interrupted run never leaves a folder that looks usable.
    """
    _check_arguments(size, seed)
    root = cache_directory()
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"synthetic-iemocap-{size}-seed{seed}"
    if _is_complete(target):
        logger.debug("synthetic corpus up to date, skipping (%s)", target)
        return target
    with open(root / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_complete(target):  # another process finished it while this one waited
            logger.debug("synthetic corpus up to date, skipping (%s)", target)
            return target
        if target.exists():
            logger.warning(
                "%s lacks a current %s marker (interrupted or older generator); regenerating", target, COMPLETE_NAME
            )
            shutil.rmtree(target)
        for stale in root.glob(f".{target.name}.tmp-*"):  # left by killed runs; the lock rules out live ones
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=root))
        try:
            logger.info("generating synthetic corpus %s (seed %d) into %s", size, seed, target)
            generate_corpus(staging, size=size, seed=seed)
            (staging / COMPLETE_NAME).write_text(f"generator {GENERATOR_VERSION} size {size} seed {seed}\n")
            staging.chmod(0o755)  # mkdtemp makes it private; the cache is ordinary shared data
            try:
                os.rename(staging, target)
            except OSError:
                if not _is_complete(target):
                    raise
                logger.info("another process completed %s first; using it", target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target
