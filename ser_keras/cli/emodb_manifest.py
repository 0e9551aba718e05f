"""Write a CSV manifest of EmoDB with valence/arousal derived from the acted emotion, so the
ELOR protocol (dimensional labels, leave-one-speaker-out) runs on a real corpus.

    python tools/emodb_manifest.py --out runs/emodb_manifest.csv
    python replicate/wieser_table5.py --corpus manifest:runs/emodb_manifest.csv --quick --out runs/table5_emodb

EmoDB has categorical labels only; the ratings below are a mapping, not listener ratings.
Values on IEMOCAP's 1–5 scale place each emotion's adjective on Russell's circumplex
(Russell 1980, "A circumplex model of affect", JPSP 39(6), Fig. 2: x = pleasure, y = arousal,
rounded to the 5-point grid): angry high arousal / unpleasant, happy pleasant / aroused,
sad unpleasant / low arousal, bored low arousal / mildly unpleasant, afraid high arousal /
unpleasant. Disgust is not among Russell's 28 words: negative valence, middle arousal. The
high/low halves agree with the binary EmoDB mapping of Schuller et al. 2009 ("Acoustic
emotion recognition: a benchmark comparison of performances", ASRU, Table 2: arousal high =
anger, fear, joy; valence positive = joy, neutral) except that neutral sits at the middle (3)
and disgust at middle arousal (Schuller: low). No emotion maps to valence 4, so that class is
absent (UAR over the present classes, as the table status says).
"""

import argparse
import collections
import csv
import io
from pathlib import Path

from ser_keras.data.emodb import read_emodb
from ser_keras.io import write_text

# The checkout sits beside shared/ (ser_keras/cli/ -> ser_keras/ -> checkout -> its parent).
DEFAULT_EMODB = Path(__file__).resolve().parents[3] / "shared" / "data" / "emodb" / "wav"
# (valence, arousal) per normalised EmoDB label on the 1-5 scale (see module docstring).
VALENCE_AROUSAL = {
    "ang": (2, 5),
    "hap": (5, 4),
    "neu": (3, 3),
    "sad": (1, 2),
    "bor": (2, 1),
    "fea": (1, 4),
    "dis": (1, 3),
}
COLUMNS = ("path", "speaker", "label", "session", "valence", "arousal", "gender")


def manifest_text(emodb_folder):
    """The manifest CSV text (absolute WAV paths) and the per-label counts."""
    corpus = read_emodb(Path(emodb_folder))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    counts = collections.Counter()
    for utterance in corpus.utterances:
        valence, arousal = VALENCE_AROUSAL[utterance.label]
        writer.writerow(
            [utterance.path, utterance.speaker, utterance.label, "", valence, arousal, utterance.gender or ""]
        )
        counts[utterance.label] += 1
    return buffer.getvalue(), dict(counts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emodb", default=str(DEFAULT_EMODB), help=f"EmoDB wav folder (default: {DEFAULT_EMODB})")
    parser.add_argument("--out", default="runs/emodb_manifest.csv", help="manifest CSV to write")
    args = parser.parse_args(argv)
    try:
        text, counts = manifest_text(args.emodb)
    except ValueError as error:
        parser.exit(2, f"error: {error}\n")
    write_text(args.out, text)
    summary = ", ".join(
        f"{label} {n} (v{VALENCE_AROUSAL[label][0]} a{VALENCE_AROUSAL[label][1]})"
        for label, n in sorted(counts.items())
    )
    print(f"wrote {args.out}: {sum(counts.values())} utterances; {summary}")
