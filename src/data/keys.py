"""Keys and transposition on note events: the estimated key, the move to C major / A minor, the
octave shift that fits a song into the vocabulary's range (or centres it there), no music21: the profiles
come in; and key names as users write them (`f#m`)."""

from __future__ import annotations

import re

import numpy as np

from src.checks import check
from src.data.abc_text import abc_field

KEY_NAMES = "C C# D Eb E F F# G Ab A Bb B".split()  # tonic pitch class -> name in songs.json
MODES = ("major", "minor")  # the order of encoding.key_profiles()
_KEY = re.compile(r"^([A-Ga-g])([#b]?)(m|min|minor|maj|major)?$")
_PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
MAJOR_MODES = {"major", "ionian", "lydian", "mixolydian"}
MINOR_MODES = {"minor", "aeolian", "dorian", "phrygian", "locrian"}
_ABC_MODE = re.compile(
    r"^\s*([A-Ga-g][#b]?)\s*(m|min|minor|maj|major|ion|ionian|dor|dorian|phr|phrygian|"
    r"lyd|lydian|mix|mixolydian|aeo|aeolian|loc|locrian)\b",
    re.IGNORECASE,
)
_ABC_MODE_NAMES = {"m": "minor", "min": "minor", "maj": "major"}


def abc_key_mode(text: str) -> tuple[int, str] | None:
    """(tonic pitch class, mode: major, minor or a church mode such as dorian) an ABC tune's first `K:`
    names with a mode (`K:Am`, `K:Ddor`), or None for a bare `K:G`."""
    found = _ABC_MODE.match(abc_field(text, "K"))
    if not found:
        return None
    mode = found.group(2).lower()
    mode = _ABC_MODE_NAMES.get(mode, mode)
    full = next((m for m in sorted(MAJOR_MODES | MINOR_MODES) if m.startswith(mode[:3])), "major")
    name = found.group(1)
    tonic = (_PITCH_CLASS[name[0].upper()] + {"#": 1, "b": -1}.get(name[1:], 0)) % 12
    return tonic, full


def abc_declared_key(text: str) -> tuple[int, str] | None:
    """(tonic pitch class, major | minor) an ABC tune's first `K:` names with a mode (`K:Am`, `K:Ddor`),
    or None for a bare `K:G` (music21 reads every `K:` as major, so the mode must be written)."""
    named = abc_key_mode(text)
    if named is None:
        return None
    return named[0], "minor" if named[1] in MINOR_MODES else "major"


def estimate_key(events: list[tuple[int | None, int]], profiles: np.ndarray,
                 candidates: tuple[tuple[int, str], ...] | None = None) -> tuple[int, str]:
    """Duration-weighted pitch-class histogram correlated with the 24 rotated key profiles, or only
    with the (tonic, mode) `candidates` (e.g. C major and A minor for a key-normalized model)."""
    histogram = np.zeros(12)
    for pitch, steps in events:
        if pitch is not None:
            histogram[pitch % 12] += steps
    # rotated[m, t, j] = weight of pitch class j in mode m with tonic t
    rotated = np.stack([[np.roll(profile, tonic) for tonic in range(12)] for profile in profiles])
    h = histogram - histogram.mean()
    r = rotated - rotated.mean(axis=-1, keepdims=True)
    denominator = np.sqrt((r**2).sum(-1) * (h**2).sum()) + 1e-12
    correlation = (r * h).sum(-1) / denominator  # (2, 12)
    if candidates is not None:
        allowed = np.zeros_like(correlation, dtype=bool)
        for tonic, mode in candidates:
            allowed[MODES.index(mode), tonic] = True
        correlation = np.where(allowed, correlation, -np.inf)
    mode, tonic = np.unravel_index(int(np.argmax(correlation)), correlation.shape)
    return int(tonic), MODES[mode]


def shift_to_reference(tonic: int, mode: str) -> int:
    """Nearest move (-5..+6 semitones) of a tonic pitch class to C (major) or A (minor)."""
    return (((0 if mode == "major" else 9) - tonic) + 5) % 12 - 5


def fit_octaves(low: int, high: int, min_pitch: int, max_pitch: int) -> int | None:
    """Whole-octave shift (semitones) nearest zero that puts [low, high] inside the range."""
    for octaves in sorted(range(-10, 11), key=abs):
        if min_pitch <= low + 12 * octaves and high + 12 * octaves <= max_pitch:
            return 12 * octaves
    return None


def centre_octaves(pitches: list[int], min_pitch: int, max_pitch: int) -> int | None:
    """Whole-octave shift (semitones) that brings the median of `pitches` nearest the middle of the range
    while every pitch stays inside it (`data.normalize_octave`): each song in one register, not two."""
    low, high, median = min(pitches), max(pitches), median_pitch(pitches)
    middle = (min_pitch + max_pitch) / 2
    fitting = [12 * k for k in range(-10, 11) if min_pitch <= low + 12 * k and high + 12 * k <= max_pitch]
    return min(fitting, key=lambda shift: (abs(median + shift - middle), abs(shift))) if fitting else None


def median_pitch(pitches) -> float:
    """The median of a song's note pitches, each note once (a whole or half semitone): what
    `centre_octaves` centres, and where `octave=auto` moves a melody back to."""
    return float(np.median(pitches))


def parse_key(text: str) -> tuple[int, str]:
    """`E`, `Bb`, `f#m`, `Am`, `c` (lowercase alone = minor, as in music21) -> (tonic pc, mode)."""
    match = _KEY.match(text.strip())
    check("key", text, match is not None,
          "a tonic A-G with # or b and an optional m for minor, e.g. E, Bb, f#m, Am")
    letter, accidental, mode = match.groups()
    tonic = (_PITCH_CLASS[letter.upper()] + {"#": 1, "b": -1, "": 0}[accidental]) % 12
    minor = mode in ("m", "min", "minor") or (mode is None and letter.islower())
    return tonic, "minor" if minor else "major"
