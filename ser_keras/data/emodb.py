"""Reader for the Berlin EmoDB naming scheme ``SSTTTEv.wav`` (the small real test corpus).

Not used by either paper; it gives the toolkit a real, human-recorded corpus for tests and
benchmarks. Labels are normalised to the IEMOCAP codes where they exist (W→ang, F→hap,
N→neu, T→sad) so the four-class view of SHORT applies unchanged.
"""

import logging
import re
from pathlib import Path

from ser_keras.data.corpus import Corpus, Utterance, fingerprint
from ser_keras.data.iemocap import CorpusLayoutError

logger = logging.getLogger(__name__)

EMOTIONS = {"W": "ang", "L": "bor", "E": "dis", "A": "fea", "F": "hap", "T": "sad", "N": "neu"}
SPEAKER_GENDER = {
    "03": "M",
    "08": "F",
    "09": "F",
    "10": "M",
    "11": "M",
    "12": "M",
    "13": "F",
    "14": "F",
    "15": "M",
    "16": "F",
}
_NAME = re.compile(r"^(\d\d)([ab]\d\d)([WLEAFTN])([a-z])$")


def read_emodb(root, *, spec=None):
    """Read every ``SSTTTEv.wav`` under ``root``; other WAV names are reported and skipped."""
    root = Path(root)
    if not root.is_dir():
        raise CorpusLayoutError(f"EmoDB folder {root} not found; expected a folder of SSTTTEv.wav files.")
    utterances, files, problems = [], [], []
    for wav in sorted(root.glob("*.wav")):
        match = _NAME.match(wav.stem)
        if match is None:
            problems.append(f"{wav}: name is not SSTTTEv.wav (speaker, text, emotion, version); skipped")
            continue
        speaker, _, emotion, _ = match.groups()
        utterances.append(
            Utterance(
                id=wav.stem,
                path=str(wav.resolve()),
                speaker=speaker,
                label=EMOTIONS[emotion],
                gender=SPEAKER_GENDER.get(speaker),
            )
        )
        files.append((wav.name, wav))
    if not utterances:
        raise CorpusLayoutError(f"{root} holds no SSTTTEv.wav files; expected EmoDB's wav folder.")
    for problem in problems:
        logger.warning(problem)
    return Corpus(spec or f"emodb:{root}", "emodb", str(root), tuple(utterances), fingerprint(files), tuple(problems))
