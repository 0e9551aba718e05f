"""Reader for a CSV manifest ``path,speaker,label[,session,valence,arousal,gender]``.

Lets any corpus be used with either paper's protocol. Relative paths resolve against the
CSV's folder and may not escape it (``..`` is refused); a missing column or file is an error
naming the CSV line. Labels are free strings, stored as IEMOCAP codes where a common spelling
maps (``Angry`` → ``ang``) and lower-cased otherwise.
"""

import csv
from pathlib import Path

from ser_keras.data.corpus import Corpus, Utterance, fingerprint
from ser_keras.data.iemocap import CorpusLayoutError
from ser_keras.data.labels import normalise_label

REQUIRED = ("path", "speaker", "label")
OPTIONAL = ("session", "valence", "arousal", "gender")


def read_manifest(csv_path, *, spec=None):
    """Read a manifest CSV into a :class:`Corpus`."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise CorpusLayoutError(f"Manifest {csv_path} not found; expected a CSV with columns {', '.join(REQUIRED)}.")
    root = csv_path.parent.resolve()
    with open(csv_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in REQUIRED if column not in (reader.fieldnames or ())]
        if missing:
            raise CorpusLayoutError(
                f"{csv_path}:1: missing column(s) {', '.join(missing)}; "
                f"expected {', '.join(REQUIRED)} (optional: {', '.join(OPTIONAL)})."
            )
        rows = [(reader.line_num, row) for row in reader]
    utterances, files, seen = [], [(csv_path.name, csv_path)], set()
    for line, row in rows:
        where = f"{csv_path}:{line}"
        empty = [column for column in ("path", "speaker") if not (row.get(column) or "").strip()]
        if empty:
            raise CorpusLayoutError(f"{where}: no value for {', '.join(empty)}; every row needs {', '.join(REQUIRED)}.")
        audio = _resolve(row["path"], root, where)
        if audio.stem in seen:
            raise CorpusLayoutError(
                f"{where}: duplicate utterance id {audio.stem!r}; ids are file stems and must be unique."
            )
        seen.add(audio.stem)
        utterances.append(
            Utterance(
                id=audio.stem,
                path=str(audio),
                speaker=row["speaker"].strip(),
                label=normalise_label(row["label"]),
                session=(row.get("session") or "").strip() or None,
                valence=_rating(row.get("valence"), where),
                arousal=_rating(row.get("arousal"), where),
                gender=(row.get("gender") or "").strip() or None,
            )
        )
        files.append((str(audio), audio))
    if not utterances:
        raise CorpusLayoutError(f"{csv_path} lists no utterances.")
    return Corpus(spec or f"manifest:{csv_path}", "manifest", str(root), tuple(utterances), fingerprint(files))


def _resolve(path, root, where):
    candidate = Path(path.strip())
    if not candidate.is_absolute():
        if ".." in candidate.parts:
            raise CorpusLayoutError(f"{where}: path {path!r} escapes the manifest folder {root} via '..'; refused.")
        candidate = root / candidate
    if not candidate.is_file():
        raise CorpusLayoutError(f"{where}: audio file {candidate} does not exist.")
    return candidate.resolve()


def _rating(value, where):
    if value is None or not value.strip():
        return None
    try:
        rating = float(value)
    except ValueError:
        raise CorpusLayoutError(f"{where}: rating {value!r} is not a number on the 1..5 scale.") from None
    if not 1.0 <= rating <= 5.0:
        raise CorpusLayoutError(f"{where}: rating {value!r} outside the 1..5 scale.")
    return rating
