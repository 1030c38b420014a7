"""The fixed symbol vocabulary (docs/design.md §1): `/ _ r` then one symbol per MIDI pitch."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from src.checks import integer
from src.errors import UserError

BOUNDARY, HOLD, REST = "/", "_", "r"
BOUNDARY_ID, HOLD_ID, REST_ID = 0, 1, 2
FIRST_PITCH_ID = 3
IGNORE_ID = -100  # a target position with nothing to predict (padding after a song in a batch)


@dataclass(frozen=True)
class Vocabulary:
    """Symbols <-> ids. Fixed by config (pitch range), never by the corpus."""

    min_pitch: int = 48
    max_pitch: int = 84
    symbols: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        integer("data.max_pitch", self.max_pitch, 0, 127)
        integer("data.min_pitch", self.min_pitch, 0, self.max_pitch,
                note=f"(up to data.max_pitch={self.max_pitch})")
        pitches = tuple(str(p) for p in range(self.min_pitch, self.max_pitch + 1))
        object.__setattr__(self, "symbols", (BOUNDARY, HOLD, REST, *pitches))

    def __len__(self) -> int:
        return len(self.symbols)

    @property
    def mapping(self) -> dict[str, int]:
        """symbol -> id, as written to mapping.json and stored in checkpoints."""
        return {s: i for i, s in enumerate(self.symbols)}

    @classmethod
    def from_mapping(cls, mapping: dict[str, int]) -> Vocabulary:
        """Rebuild from a stored mapping, checking it is one this project writes."""
        pitches = sorted(int(s) for s in mapping if s not in (BOUNDARY, HOLD, REST))
        if not pitches:
            raise UserError("stored vocabulary has no pitch symbols")
        vocab = cls(pitches[0], pitches[-1])
        if vocab.mapping != dict(mapping):
            raise UserError("stored vocabulary is not of the form ['/', '_', 'r', min..max pitch]")
        return vocab

    def pitch_to_id(self, pitch: int) -> int:
        return FIRST_PITCH_ID + pitch - self.min_pitch

    def id_to_pitch(self, token: int) -> int:
        return token - FIRST_PITCH_ID + self.min_pitch

    def encode(self, symbols: list[str]) -> np.ndarray:
        """Symbols -> uint8 ids; raises UserError naming the first bad symbol."""
        index = self.mapping
        ids = np.empty(len(symbols), dtype=np.uint8)
        for i, symbol in enumerate(symbols):
            token = index.get(symbol)
            if token is None:
                raise UserError(self._explain_bad_symbol(symbol, i))
            ids[i] = token
        return ids

    def decode(self, ids) -> list[str]:
        """Ids (any int sequence) -> symbols."""
        return [self.symbols[int(t)] for t in ids]

    def parse_melody(self, text: str) -> list[str]:
        """A melody in the original notation (`60 _ 62 _ r _`) -> validated symbols.

        An empty string is a valid (empty) melody. A melody may not start with `_`.
        """
        symbols = text.split()
        self.encode(symbols)  # validates every symbol
        if symbols and symbols[0] == HOLD:
            raise UserError("a melody cannot start with '_' (a hold needs a note or rest before it)")
        return symbols

    def _explain_bad_symbol(self, symbol: str, position: int) -> str:
        accepted = (
            f"accepted: a MIDI pitch {self.min_pitch}..{self.max_pitch}, "
            f"'{HOLD}' (hold), '{REST}' (rest) or '{BOUNDARY}' (song boundary)"
        )
        try:
            pitch = int(symbol)
        except ValueError:
            return f"symbol {symbol!r} at position {position + 1} is not a pitch number; {accepted}"
        if str(pitch) != symbol and self.min_pitch <= pitch <= self.max_pitch:  # '060', '+60', '٦٠'
            return (f"symbol {symbol!r} at position {position + 1} is not written as a plain pitch "
                    f"number (write {pitch}); {accepted}")
        return (
            f"pitch {pitch} at position {position + 1} is outside the model's range "
            f"{self.min_pitch}..{self.max_pitch}; {accepted}"
        )


def events_to_symbols(events: list[tuple[int | None, int]]) -> list[str]:
    """(pitch or None for a rest, duration in steps) events -> symbols: onset, then `_` holds."""
    symbols: list[str] = []
    for pitch, steps in events:
        symbols.append(REST if pitch is None else str(pitch))
        symbols.extend([HOLD] * (steps - 1))
    return symbols


def symbols_to_events(symbols: list[str]) -> list[tuple[int | None, int]]:
    """Symbols of one song (no `/`) -> (pitch or None, duration in steps) events."""
    events: list[tuple[int | None, int]] = []
    for position, symbol in enumerate(symbols):
        if symbol == HOLD:
            if not events:
                raise ValueError("a melody cannot start with '_'")
            pitch, steps = events[-1]
            events[-1] = (pitch, steps + 1)
        elif symbol == BOUNDARY:
            raise ValueError(f"'/' at position {position + 1}: pass one song at a time")
        else:
            events.append((None if symbol == REST else int(symbol), 1))
    return events


def held_symbol(symbols: list[str], index: int) -> str:
    """The note or rest a hold at `index` continues: the last symbol before it that is not `_` (`r`
    when none)."""
    for position in range(index - 1, -1, -1):
        if symbols[position] != HOLD:
            return symbols[position]
    return REST


def tidy_rests(events: list[tuple[int | None, int]]) -> tuple[list[tuple[int | None, int]], int]:
    """Events with neighbouring rests merged and the outer ones dropped, and the steps dropped before
    the first note (a song starts on its first note and ends when its last note ends)."""
    merged: list[tuple[int | None, int]] = []
    for pitch, steps in events:
        if merged and pitch is None and merged[-1][0] is None:
            merged[-1] = (None, merged[-1][1] + steps)
        else:
            merged.append((pitch, steps))
    leading = merged.pop(0)[1] if merged and merged[0][0] is None else 0
    if merged and merged[-1][0] is None:
        merged.pop()
    return merged, leading

