"""Seeds and melodies as symbols: a seed read in the model's key and range, a melody moved to a key, a
new song's opening."""

from __future__ import annotations

from src.data.vocab import BOUNDARY, HOLD, REST
from src.errors import UserError


def song_opening(melody: list[str]) -> list[str]:
    """A new song that opens with a hold can only be timed as a rest: the first `_` becomes `r`."""
    return [REST, *melody[1:]] if melody and melody[0] == HOLD else melody


def transpose_symbols(symbols: list[str], semitones: int) -> list[str]:
    """Move pitch symbols by `semitones`; anything else (including bad symbols, checked later) stays."""
    # ASCII digits only: '²' and '٦٠' are digits to str.isdigit but not pitch numbers (refused later)
    return [str(int(s) + semitones) if s.isascii() and s.isdigit() else s for s in symbols]


def read_seed(module, name: str, text: str, key: str | None = None, shift: int = 0) -> list[str]:
    """Seed text (in `key`, `shift` semitones from the model's) as checked symbols in the model's key."""
    moved = " ".join(transpose_symbols(text.split(), shift))
    try:
        seed = module.vocab.parse_melody(moved)
    except UserError as err:
        note = f" (after moving key {key} to the model's key by {shift:+d})" if shift else ""
        raise UserError(f"{name}: {err}{note}") from None
    if BOUNDARY in seed:
        raise UserError(f"{name} may not contain '/': a seed is the start of one song")
    return seed
