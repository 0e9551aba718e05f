"""Reader for the IEMOCAP_full_release layout (SHORT §2.1, ELOR §3.1).

Parses every ``SessionN/dialog/EmoEvaluation/<dialog>.txt``: turn lines, all ``C-`` and ``A-``
evaluator lines (self-ratings ``F1``/``M1`` kept under their own names) and finds each turn's
``sentences/wav/<dialog>/<turn>.wav``. The speaker is the session plus the first letter of the
turn name's last field (``Ses03M_impro07_F000`` is the Session-3 female). Malformed lines are
reported with file and line number and skipped; a label is never guessed.
"""

import logging
import re
from pathlib import Path

from ser_keras.data.corpus import Corpus, Utterance, fingerprint

logger = logging.getLogger(__name__)

SESSIONS = tuple(f"Session{number}" for number in range(1, 6))
EMOTION_CODES = ("neu", "ang", "hap", "exc", "sad", "fru", "sur", "fea", "dis", "oth", "xxx")
_TURN = re.compile(r"^\[(\d+\.\d+) - (\d+\.\d+)\]\t(\w+)\t(\w+)\t\[(\d+\.\d+), (\d+\.\d+), (\d+\.\d+)\]$")
_TURN_NAME = re.compile(r"^(Ses(\d\d)[FM])_(impro\d+[a-z]?|script\d+_\d+[a-z]?)_([FM])\d+$")
_EVALUATOR = re.compile(r"^([CA])-([A-Z]+\d*):\s*(.*)$")
_DIMENSIONS = re.compile(r"^val\s+(\d+(?:\.\d+)?);\s*act\s+(\d+(?:\.\d+)?);\s*dom\s+(\d+(?:\.\d+)?);")


class CorpusLayoutError(ValueError):
    """The folder does not hold the layout a reader expects; the message says what and where."""


def parse_turn_name(name):
    """Return ``(dialog, session, speaker, gender, improvised)`` for a turn name, or None."""
    match = _TURN_NAME.match(name)
    if match is None:
        return None
    session = f"Ses{match.group(2)}"
    gender = match.group(4)
    dialog = f"{match.group(1)}_{match.group(3)}"
    return dialog, session, session + gender, gender, match.group(3).startswith("impro")


def parse_evaluation_file(path, problems):
    """Parse one EmoEvaluation file into a list of turn dicts; append problems as strings."""
    turns, current, in_skipped_turn = [], None, False
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r")
        where = f"{path}:{number}"
        if not line.strip():
            current, in_skipped_turn = None, False
            continue
        if line.startswith("%"):
            continue
        if line.startswith("["):
            current = _parse_turn_line(line, where, problems)
            in_skipped_turn = current is None
            if current is not None:
                current["line"] = number
                turns.append(current)
            continue
        evaluator = _EVALUATOR.match(line.strip())
        if evaluator is None:
            problems.append(f"{where}: unrecognised line {line.strip()[:60]!r} skipped")
            continue
        if current is None:
            if not in_skipped_turn:  # a skipped turn's own evaluator lines were reported with it
                problems.append(f"{where}: evaluator line outside a turn block (after a blank line?) skipped")
            continue
        kind, name, rest = evaluator.groups()
        if kind == "C":
            labels = tuple(part.strip() for part in rest.split("(")[0].split(";") if part.strip())
            if labels:
                current["categorical"].append((name, labels))
            else:
                problems.append(f"{where}: categorical line with no label skipped")
            continue
        values = _DIMENSIONS.match(rest)
        if values is None:
            problems.append(f"{where}: A-{name} line {rest[:40]!r} lacks 'val N; act N; dom N;' - skipped")
            continue
        valence, arousal, dominance = (float(v) for v in values.groups())
        if not all(1.0 <= v <= 5.0 for v in (valence, arousal, dominance)):
            problems.append(f"{where}: A-{name} rating outside 1..5 ({rest[:40]!r}) skipped")
            continue
        current["ratings"].append((name, valence, arousal, dominance))
    return turns


def _parse_turn_line(line, where, problems):
    match = _TURN.match(line)
    if match is None:
        problems.append(
            f"{where}: malformed turn line {line[:80]!r} skipped "
            "(expected '[START - END]<TAB>TURN<TAB>CODE<TAB>[V, A, D]')"
        )
        return None
    start, end, name, code, valence, arousal, _ = match.groups()
    if float(end) <= float(start):
        problems.append(f"{where}: turn {name} has end {end} <= start {start}; skipped")
        return None
    if code not in EMOTION_CODES:
        problems.append(
            f"{where}: turn {name} has unknown emotion code {code!r} "
            f"(expected one of {', '.join(EMOTION_CODES)}); skipped"
        )
        return None
    if parse_turn_name(name) is None:
        problems.append(f"{where}: turn name {name!r} does not look like SesNNX_dialog_XNNN; skipped")
        return None
    return {
        "name": name,
        "start": float(start),
        "end": float(end),
        "code": code,
        "valence": float(valence),
        "arousal": float(arousal),
        "ratings": [],
        "categorical": [],
    }


def read_iemocap(root, *, spec=None, kind="iemocap"):
    """Read an IEMOCAP_full_release folder (or one written in its layout)."""
    root = Path(root)
    if not root.is_dir():
        raise CorpusLayoutError(
            f"IEMOCAP root {root} is not a folder; expected IEMOCAP_full_release/ holding Session1 ... Session5."
        )
    present = [name for name in SESSIONS if (root / name).is_dir()]
    if not present:
        raise CorpusLayoutError(
            f"{root} holds none of {', '.join(SESSIONS)}; expected the IEMOCAP_full_release folder itself."
        )
    problems = [f"{root}: {name} missing; its speakers are absent" for name in SESSIONS if name not in present]
    utterances, files, seen = [], [], {}
    for session in present:
        evaluation_dir = root / session / "dialog" / "EmoEvaluation"
        wav_dir = root / session / "sentences" / "wav"
        for folder in (evaluation_dir, wav_dir):
            if not folder.is_dir():
                raise CorpusLayoutError(f"{folder} missing; expected it in every IEMOCAP session folder.")
        annotated = set()
        for evaluation in sorted(p for p in evaluation_dir.glob("*.txt") if not p.name.startswith(".")):
            files.append((str(evaluation.relative_to(root)), evaluation))
            for turn in parse_evaluation_file(evaluation, problems):
                record = _utterance(turn, wav_dir, evaluation, problems, seen)
                if record is not None:
                    annotated.add(turn["name"])
                    utterances.append(record)
                    files.append((str(Path(record.path).relative_to(root)), Path(record.path)))
        unannotated = [w for w in wav_dir.glob("*/*.wav") if not w.name.startswith(".") and w.stem not in annotated]
        if unannotated:
            problems.append(
                f"{wav_dir}: {len(unannotated)} WAV files have no annotation and are ignored "
                f"(e.g. {unannotated[0].name})"
            )
    for problem in problems:
        logger.warning(problem)
    return Corpus(spec or f"{kind}:{root}", kind, str(root), tuple(utterances), fingerprint(files), tuple(problems))


def _utterance(turn, wav_dir, evaluation, problems, seen):
    name = turn["name"]
    where = f"{evaluation}:{turn['line']}"
    if name in seen:
        problems.append(f"{where}: duplicate turn id {name} (first at {seen[name]}); the first is kept")
        return None
    seen[name] = where
    dialog, session, speaker, gender, improvised = parse_turn_name(name)
    wav = wav_dir / dialog / f"{name}.wav"
    if not wav.is_file():
        problems.append(f"{where}: turn {name} has no audio at {wav}; skipped")
        return None
    return Utterance(
        id=name,
        path=str(wav.resolve()),
        speaker=speaker,
        session=session,
        label=turn["code"],
        valence=turn["valence"],
        arousal=turn["arousal"],
        gender=gender,
        duration=round(turn["end"] - turn["start"], 4),
        dialog=dialog,
        improvised=improvised,
        ratings=tuple(turn["ratings"]),
        categorical=tuple(turn["categorical"]),
    )
