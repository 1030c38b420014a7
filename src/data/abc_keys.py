"""Keys and pitches as ABC writes them: `K:` with its mode (`Am`, `Edor`), the key signature, and each
pitch spelled against it with its accidental and octave marks (src/data/abc_notation.py writes tunes)."""

from __future__ import annotations

from dataclasses import dataclass

LETTERS = "CDEFGAB"
NATURAL = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
SHARPS, FLATS = "FCGDAEB", "BEADGCF"  # the order key signatures add them
# mode -> semitones from the major key whose signature it shares to its tonic; its suffix after K:
MODES = {"major": (0, ""), "ionian": (0, ""), "dorian": (2, "dor"), "phrygian": (4, "phr"),
         "lydian": (5, "lyd"), "mixolydian": (7, "mix"), "minor": (9, "m"), "aeolian": (9, "m"),
         "locrian": (11, "loc")}
_MAJOR_SHARPS = {0: 0, 7: 1, 2: 2, 9: 3, 4: 4, 11: 5, 6: 6, 1: -5, 8: -4, 3: -3, 10: -2, 5: -1}
_ACCIDENTAL = {-2: "__", -1: "_", 0: "=", 1: "^", 2: "^^"}


@dataclass(frozen=True)
class AbcKey:
    """A key as `K:` names it: the tonic's pitch class and the mode (major, minor or a church mode)."""

    tonic: int
    mode: str = "major"

    @property
    def sharps(self) -> int:
        """The key signature: sharps (> 0) or flats (< 0)."""
        return _MAJOR_SHARPS[(self.tonic - MODES[self.mode][0]) % 12]

    @property
    def alters(self) -> dict[str, int]:
        """Each letter's alteration under the key signature."""
        count = self.sharps
        letters = SHARPS[:count] if count > 0 else FLATS[:-count]
        return {letter: (1 if count > 0 else -1) if letter in letters else 0 for letter in LETTERS}

    def tonic_name(self) -> str:
        """The tonic as the key signature spells it: `D`, `Bb`, `F#`."""
        alters = self.alters
        letter = next(x for x in LETTERS if (NATURAL[x] + alters[x]) % 12 == self.tonic)
        return letter + {1: "#", -1: "b", 0: ""}[alters[letter]]

    def field(self) -> str:
        """`K:` as written: `D`, `Am`, `Edor`, `Bb`, `F#m`."""
        return self.tonic_name() + MODES[self.mode][1]

    def spell(self, pitch: int) -> tuple[str, int]:
        """(letter, alteration) of a MIDI pitch: in the scale when it is; else a natural sign, the raised
        sixth or seventh of a minor mode as sharps, flats in flat keys and sharps otherwise."""
        pc, alters = pitch % 12, self.alters
        for letter in LETTERS:
            if (NATURAL[letter] + alters[letter]) % 12 == pc:
                return letter, alters[letter]
        for letter in LETTERS:
            if NATURAL[letter] == pc:
                return letter, 0
        raised = MODES[self.mode][0] in (2, 4, 9, 11) and (pc - self.tonic) % 12 in (9, 11)
        if self.sharps < 0 and not raised:
            return next(x for x in LETTERS if (NATURAL[x] - 1) % 12 == pc), -1
        return next(x for x in LETTERS if (NATURAL[x] + 1) % 12 == pc), 1


def pitch_text(pitch: int | None, key: AbcKey, altered: dict[str, int]) -> str:
    """A pitch with its accidental (module docstring; `altered`: the bar's so far) and octave; `z`."""
    if pitch is None:
        return "z"
    letter, alter = key.spell(pitch)
    sign = ""
    if alter != key.alters[letter] or altered.get(letter, alter) != alter:
        sign = _ACCIDENTAL[alter]
        altered[letter] = alter
    octave = (pitch - alter - NATURAL[letter]) // 12 - 1  # 4: the octave of middle C
    if octave >= 5:
        return sign + letter.lower() + "'" * (octave - 5)
    return sign + letter + "," * (4 - octave)
