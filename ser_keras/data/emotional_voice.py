"""Source-filter synthesis of emotional speech: the voice behind the embedded synthetic corpus.

Not a paper section: it renders the turns of :mod:`ser_keras.data.synthetic`, the stand-in for
IEMOCAP (SHORT §2.1, ELOR §3.1). Glottal flow-derivative pulses (Rosenberg) follow an F0 contour
with jitter and shimmer, get a spectral tilt and aspiration noise, and pass through four formant
resonators switched per syllable; noise bursts and frication make consonants. Emotion moves the
cues the literature reports: F0 level and range, speaking rate, loudness, voice quality
(open quotient, tilt, breathiness) and pauses. Everything is vectorised numpy/scipy.
"""

import dataclasses

import numpy as np
import scipy.signal

from ser_keras.data.audio import SAMPLE_RATE

# Category offsets beyond what the arousal rating implies: F0 level (semitones), F0 range
# (semitones), speaking-rate change (relative), loudness (dB), open quotient (tenseness),
# spectral tilt (one-pole low-pass coefficient), aspiration, jitter, extra pause (s),
# probability of a phrase-final rise.
PROFILE_FIELDS = ("f0", "range", "rate", "loud", "oq", "tilt", "breath", "jitter", "pause", "rise")
PROFILES = {
    "ang": (1.0, 1.0, 0.10, 2.0, -0.08, -0.15, -0.02, 0.008, -0.08, 0.10),
    "hap": (1.5, 2.0, 0.00, 0.0, 0.00, -0.03, 0.00, 0.000, 0.00, 0.50),
    "exc": (1.8, 2.5, 0.08, 1.0, -0.02, -0.06, 0.00, 0.002, -0.03, 0.45),
    "neu": (0.0, 0.0, 0.00, 0.0, 0.00, 0.00, 0.00, 0.000, 0.00, 0.15),
    "sad": (-1.0, -1.0, -0.15, -2.0, 0.08, 0.15, 0.06, 0.004, 0.35, 0.05),
    "fru": (0.3, 0.3, 0.03, 1.0, -0.04, -0.07, 0.01, 0.004, 0.00, 0.10),
    "sur": (2.0, 3.0, 0.00, 0.5, 0.00, 0.00, 0.02, 0.000, 0.05, 0.80),
}
# Formants (Hz) and bandwidths of five vowels for an adult male tract (Peterson & Barney).
VOWEL_FORMANTS = np.array(
    [
        [730, 1090, 2440, 3400],
        [270, 2290, 3010, 3500],
        [300, 870, 2240, 3300],
        [530, 1840, 2480, 3500],
        [570, 840, 2410, 3300],
    ],
    dtype=float,
)
FORMANT_BANDWIDTHS = np.array([60.0, 90.0, 120.0, 180.0])
_FRICATIVE_FILTER = scipy.signal.butter(2, 3000, btype="highpass", fs=SAMPLE_RATE, output="sos")


@dataclasses.dataclass(frozen=True)
class Voice:
    """A speaker's habitual voice: F0, vocal-tract scaling and voice-quality offsets."""

    f0: float  # Hz
    tract: float  # formant scale factor (shorter tract -> higher formants)
    oq: float
    tilt: float
    rate: float
    loud: float  # dB
    breath: float


def random_voice(rng, *, female):
    """Draw a speaker's voice: female F0 180-235 Hz and a shorter tract, male 95-135 Hz."""
    return Voice(
        f0=rng.uniform(180.0, 235.0) if female else rng.uniform(95.0, 135.0),
        tract=rng.uniform(1.12, 1.22) if female else rng.uniform(0.93, 1.03),
        oq=rng.normal(0.0, 0.04),
        tilt=rng.normal(0.0, 0.06),
        rate=rng.uniform(0.9, 1.1),
        loud=rng.normal(0.0, 1.5),
        breath=rng.uniform(0.0, 0.04) + 0.02 * female,
    )


def synthesise(n, *, blend, arousal, valence, voice, rng):
    """Render ``n`` int16 samples at 16 kHz of ``voice`` speaking with emotion ``blend``.

    ``blend`` is ``((category, weight), ...)`` over the keys of :data:`PROFILES`; ``arousal``
    and ``valence`` are latent 1-5 ratings the cues follow continuously.
    """
    if n < SAMPLE_RATE // 2:
        raise ValueError(
            f"The 'n' parameter of synthesise must be at least {SAMPLE_RATE // 2} samples "
            f"(0.5 s, room for one syllable). Got {n!r}."
        )
    arousal, valence = arousal - 3.0, valence - 3.0
    # Many IEMOCAP turns are mildly expressed: scaling the category offsets makes classes overlap.
    offsets = rng.uniform(0.3, 1.3) * sum(np.array(PROFILES[code]) * weight for code, weight in blend)
    p = dict(zip(PROFILE_FIELDS, offsets))
    cues = {
        "f0": voice.f0 * 2.0 ** ((3.0 * arousal + p["f0"] + rng.normal(0.0, 1.2)) / 12.0),
        "range": max(0.5, (2.5 + 2.0 * arousal + p["range"] + 0.5 * valence) * rng.lognormal(0.0, 0.3)),
        "rate": 4.2 * voice.rate * max(0.5, 1.0 + 0.15 * arousal + p["rate"]) * rng.lognormal(0.0, 0.12),
        "pause": max(0.08, 0.25 - 0.05 * arousal + p["pause"]),
        "rise": float(np.clip(p["rise"], 0.0, 1.0)),
    }
    syllables = _syllables(rng, n, cues)
    envelopes, semitones = _envelopes_and_contour(rng, n, syllables, cues)
    oq = float(np.clip(0.6 - 0.06 * arousal - 0.02 * valence + p["oq"] + voice.oq + rng.normal(0.0, 0.05), 0.3, 0.85))
    tilt = float(np.clip(0.5 - 0.12 * arousal + p["tilt"] + voice.tilt + rng.normal(0.0, 0.08), 0.0, 0.9))
    quality = {
        "oq": oq,
        "tilt": tilt,
        "breath": max(0.0, 0.05 - 0.02 * arousal + p["breath"] + voice.breath + rng.normal(0.0, 0.02)),
        "jitter": max(0.002, 0.006 + p["jitter"] + rng.normal(0.0, 0.002)),
        "shimmer": max(0.01, 0.05 + 2.0 * p["jitter"] + rng.normal(0.0, 0.015)),
    }
    excitation = _excitation(rng, n, cues["f0"] * 2.0 ** (semitones / 12.0), envelopes, quality)
    speech = _vocal_tract(rng, excitation, syllables, voice.tract * (1.0 + 0.04 * arousal))
    # Loudness follows arousal and category; the recording level varies per turn (sd 3 dB).
    level_db = min(-16.0, -28.0 + 5.0 * arousal + p["loud"] + voice.loud + rng.normal(0.0, 2.5) + rng.normal(0.0, 3.0))
    active = envelopes[0] > 0.1
    speech *= 10.0 ** (level_db / 20.0) / max(float(np.sqrt(np.mean(speech[active] ** 2))), 1e-9)
    hum = scipy.signal.lfilter([1.0], [1.0, -0.9], rng.standard_normal(n))
    speech += hum / hum.std() * 10.0 ** (rng.uniform(-62.0, -48.0) / 20.0)
    return np.clip(np.round(np.tanh(speech) * 32767.0), -32768, 32767).astype(np.int16)


def _syllables(rng, n, cues):
    """(start, vowel onset, end, vowel, stressed, phrase-final) sample positions of each syllable."""
    start, end = int(rng.uniform(0.05, 0.25) * SAMPLE_RATE), n - int(rng.uniform(0.05, 0.2) * SAMPLE_RATE)
    syllables, cursor = [], start
    while cursor < end - 0.15 * SAMPLE_RATE:
        phrase = []
        for _ in range(2 + rng.poisson(4)):
            length = int(SAMPLE_RATE / cues["rate"] * rng.lognormal(0.0, 0.25))
            onset, stop = cursor + int(length * rng.uniform(0.25, 0.45)), min(cursor + length, end)
            if stop - onset < 0.04 * SAMPLE_RATE:
                break
            phrase.append([cursor, onset, stop, int(rng.integers(5)), bool(rng.random() < 0.35), False])
            cursor = stop
        if phrase:
            phrase[-1][5] = True
            syllables.extend(phrase)
        cursor += int(SAMPLE_RATE * cues["pause"] * rng.lognormal(0.0, 0.5))
    if not syllables:
        syllables.append([start, start + (end - start) // 4, end, int(rng.integers(5)), True, True])
    return syllables


def _envelopes_and_contour(rng, n, syllables, cues):
    """Voiced, fricative and burst envelopes and the F0 contour in semitones."""
    voiced, fricative, burst, target = (np.zeros(n) for _ in range(4))
    phrase_start = syllables[0][0]
    for start, onset, stop, _, stressed, final in syllables:
        gain = 1.0 if stressed else rng.uniform(0.55, 0.85)
        voiced[onset:stop] = gain * np.sin(np.pi * (np.arange(stop - onset) + 0.5) / (stop - onset)) ** 0.6
        if rng.random() < 0.5:
            fricative[start:onset] = 0.5 * gain * np.sin(np.pi * (np.arange(onset - start) + 0.5) / (onset - start))
        else:  # closure silence, then a release burst
            length = min(onset - start, SAMPLE_RATE // 60)
            burst[onset - length : onset] = gain * np.exp(-np.arange(length) / (0.004 * SAMPLE_RATE))
        target[start:stop] = cues["range"] * (rng.uniform(0.6, 1.0) if stressed else rng.uniform(0.0, 0.35))
        if final:
            middle = (onset + stop) // 2
            rises = rng.random() < cues["rise"]
            target[middle:stop] += cues["range"] * (0.8 if rises else -0.4)
            declination = 0.5 + 0.2 * cues["range"]
            target[phrase_start:stop] += np.linspace(declination, -declination, stop - phrase_start)
            phrase_start = stop
    smoothing = np.exp(-1.0 / (0.03 * SAMPLE_RATE))
    contour = scipy.signal.filtfilt([1.0 - smoothing], [1.0, -smoothing], target)
    knots = rng.normal(0.0, 0.4, n // 800 + 2)
    contour += np.interp(np.arange(n), np.arange(len(knots)) * 800, knots)
    return (voiced, fricative, burst), contour


def _excitation(rng, n, f0, envelopes, quality):
    """Glottal flow-derivative pulses (Rosenberg) with jitter, shimmer, tilt and aspiration."""
    f0 = np.clip(f0, 50.0, 500.0)
    cycle = (np.cumsum(f0) / SAMPLE_RATE).astype(np.int64)
    f0 = f0 * (1.0 + quality["jitter"] * rng.standard_normal(cycle[-1] + 1)[cycle])
    phase = np.cumsum(f0) / SAMPLE_RATE
    cycle = phase.astype(np.int64)
    position = phase - cycle
    opening, closing = 0.6 * quality["oq"], 0.4 * quality["oq"]
    flow = np.where(
        position < opening,
        0.5 * (1.0 - np.cos(np.pi * position / opening)),
        np.where(
            position < opening + closing, np.cos(0.5 * np.pi * np.minimum(position - opening, closing) / closing), 0.0
        ),
    )
    pulses = np.diff(flow, prepend=0.0) * (1.0 + quality["shimmer"] * rng.standard_normal(cycle[-1] + 1)[cycle])
    tilt = quality["tilt"]  # one-pole low-pass: higher = steeper spectral tilt (lax, breathy)
    pulses = scipy.signal.lfilter([1.0 - tilt], [1.0, -tilt], pulses)
    scale = float(pulses.std()) or 1.0
    white = rng.standard_normal((3, n)) * scale
    aspiration = np.diff(white[0], prepend=0.0) * (0.4 + 0.6 * (position < quality["oq"])) * 4.0 * quality["breath"]
    voiced, fricative, burst = envelopes
    return (
        voiced * (pulses + aspiration)
        + fricative * scipy.signal.sosfilt(_FRICATIVE_FILTER, white[1])
        + burst * white[2]
    )


def _vocal_tract(rng, excitation, syllables, tract):
    """Cascade of four formant resonators, switched per syllable with the filter state carried."""
    output, state = np.empty_like(excitation), np.zeros((4, 2))
    bounds = [0] + [syllable[0] for syllable in syllables[1:]] + [len(excitation)]
    for (start, stop), syllable in zip(zip(bounds[:-1], bounds[1:]), syllables):
        formants = VOWEL_FORMANTS[syllable[3]] * tract * (1.0 + rng.normal(0.0, 0.03, 4))
        radius = np.exp(-np.pi * FORMANT_BANDWIDTHS / SAMPLE_RATE)
        cosine = 2.0 * radius * np.cos(2.0 * np.pi * formants / SAMPLE_RATE)
        sos = np.column_stack([1.0 - cosine + radius**2, np.zeros(4), np.zeros(4), np.ones(4), -cosine, radius**2])
        output[start:stop], state = scipy.signal.sosfilt(sos, excitation[start:stop], zi=state)
    return output
