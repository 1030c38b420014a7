"""Tunes as seeds: a score file (`seed=tune.abc`, `.mid`, `.musicxml`/`.mxl`, `.krn`), one tune of a tune
book (`tune=` its X: number or title), bars of it (`seed_bars=A:B`), or a short ABC fragment
(`seed="GABc d2B2|"`, read in `key=` and `time_signature=`).

A tune is read by the corpus's own reader and encoded as the corpus encodes a song (src/data/corpus.py):
its meter and pickup, its key moved to the model's and its octave to the model's register as training
moved them. What comes back says how to move the melodies back, so a tune continues in its own meter
and is written back in its own key and octave.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from src.checks import refuse
from src.data.abc_keys import AbcKey
from src.data.abc_text import abc_field
from src.data.keys import KEY_NAMES, abc_key_mode, parse_key, shift_to_reference
from src.data.meter import bar_steps
from src.data.units import SCORE_SUFFIXES, Skip, Song, Unit, list_units
from src.data.vocab import HOLD, events_to_symbols, held_symbol, symbols_to_events, tidy_rests
from src.errors import UserError
from src.models.generation.meters import Meter

# one symbol of the model's notation: a MIDI pitch, `_`, `r` or `/`
_TOKEN = re.compile(r"^(?:[0-9]+|_|r|/)$")
# what an ABC fragment may hold: notes, rests, accidentals, octave marks, lengths, bar lines, repeats,
# ties, slurs, triplets, broken rhythm and spaces
_FRAGMENT = re.compile(r"[A-Ga-gzZx^_=',0-9/|:\[\]\-()<>.~\s]")


@dataclass(frozen=True)
class TuneSeed:
    """A tune read as a seed: its symbols in the model's key and register, and how it sits."""

    symbols: list[str]
    meter: Meter
    shift: int  # semitones the tune was moved by into the model's key and register (undo: -shift)
    key: AbcKey  # the tune's own key, as its K: names it, else as estimated
    title: str
    rhythm: str | None  # its R: field
    notes: tuple[str, ...] = ()  # how it was read (a tune picked from a book, notes moved, ...)


def seed_kind(text: str) -> str:
    """`tokens` (the model's notation, or empty), `file` (a score file's path) or `abc` (a fragment)."""
    words = text.split()
    if not words or _TOKEN.match(words[0]):  # symbols (a mistyped one is refused as a symbol, later)
        return "tokens"
    if Path(text.strip()).suffix.lower() in SCORE_SUFFIXES:  # a path, spaces and all
        return "file"
    return "abc"


def read_request_tune(module, request) -> TuneSeed | None:
    """A GenerationRequest's tune seed for `module` (its seed a file or an ABC fragment), else None."""
    if not isinstance(request.seed, str) or seed_kind(request.seed) == "tokens":
        return None
    return read_tune(module, request.seed, request.tune, request.seed_bars, request.key,
                     request.time_signature)


def read_tune(module, text: str, tune: str = "", seed_bars: tuple[int, int] | str = "",
              key: str | None = None, time_signature: str = "auto") -> TuneSeed:
    """A file or ABC fragment as a seed for `module` (see the module docstring), checked (UserError)."""
    from src.data import encoding  # music21: only when a tune is read

    record = module.encoding
    notes: list[str] = []
    if seed_kind(text) == "file":
        unit, notes = _unit_of_file(Path(text.strip()), tune)
    else:
        if tune:
            raise UserError("tune= picks a tune from a tune book given as seed=FILE.abc; this seed is an "
                            "ABC fragment")
        unit = Unit("fragment.abc", "seed", 0, _fragment_tune(text, key, time_signature))
    parsed = encoding.parse_unit(unit, record.step, expand_repeats=record.expand_repeats,
                                 melody=record.melody, off_grid=record.off_grid)[0]
    if isinstance(parsed, Skip):
        raise UserError(f"seed={text.strip()!r} could not be read as a tune ({parsed.reason}"
                        f"{': ' + parsed.detail if parsed.detail else ''}); accepted: a readable .abc, "
                        ".mid, .musicxml/.mxl or .krn file, or an ABC fragment such as \"GABc d2B2|\"")
    if parsed.snapped:
        notes.append(f"seed: {parsed.snapped} notes off the {module.encoding.step}-quarter grid moved to "
                     "the nearest step")
    if seed_bars:
        parsed = _bars_of(parsed, *seed_bars)
    return _encoded(module, parsed, unit, notes)


def tune_list(path: str | Path) -> list[tuple[str, str]]:
    """(X: number, title) of each tune of an ABC file (a tune book), in order; [] for other files."""
    path = Path(path)
    if path.suffix.lower() != ".abc" or not path.is_file():
        return []
    units = list_units(path.resolve(), path.resolve().parent)
    return [(abc_field(u.text, "X"), abc_field(u.text, "T")) for u in units if isinstance(u, Unit)]


def _unit_of_file(path: Path, tune: str) -> tuple[Unit, list[str]]:
    """The file's tune to read: a tune book's tune named by `tune` (its X: number or title)."""
    if not path.is_file():
        refuse("seed", str(path), "an existing .abc, .mid, .musicxml/.mxl or .krn file, a melody such as "
               "\"60 _ 62 _\", or an ABC fragment")
    units = [u for u in list_units(path.resolve(), path.resolve().parent) if isinstance(u, Unit)]
    if not units:
        raise UserError(f"seed={path}: no tune could be read from it; accepted: a readable .abc, .mid, "
                        ".musicxml/.mxl or .krn file")
    if path.suffix.lower() != ".abc" or (len(units) == 1 and not tune):
        if tune and path.suffix.lower() != ".abc":
            raise UserError(f"tune= picks a tune from an ABC tune book; {path.name} is not ABC")
        return units[0], []
    listed = [(abc_field(u.text, "X"), abc_field(u.text, "T"), u) for u in units]
    if not tune:
        number, title, unit = listed[0]
        return unit, [f"seed: {path.name} is a tune book of {len(units)} tunes; took X:{number} {title!r} "
                      "(choose with tune=)"]
    wanted = tune.strip().lower()
    for number, title, unit in listed:
        if wanted == title.lower() or wanted == number or (wanted.isdigit() and number.isdigit()
                                                          and int(wanted) == int(number)):
            return unit, []
    matches = [(n, t, u) for n, t, u in listed if wanted in t.lower()]
    if len(matches) == 1:
        return matches[0][2], []
    some = ", ".join(f"{n} {t!r}" for n, t, _ in (matches or listed)[:8])
    raise UserError(f"tune={tune!r} is {'not one' if not matches else 'more than one'} of the {len(units)} "
                    f"tunes of {path.name}; accepted: an X: number or a title, e.g. {some}")


def _fragment_tune(text: str, key: str | None, time_signature: str) -> str:
    """An ABC fragment as a whole tune, in `key` (none given: written in C, its key estimated from its
    notes) and `time_signature` (`auto`: 4/4)."""
    bad = [c for c in text if not _FRAGMENT.match(c)]
    if bad or not re.search(r"[A-Ga-g]", text):
        what = f"; {bad[0]!r} is not ABC" if bad else ""
        refuse("seed", text, "a melody such as \"60 _ 62 _\", a tune file, or an ABC fragment of notes "
               f"(A-G a-g, z rests, ^ _ = accidentals, ' , octaves, lengths, | bar lines){what}")
    meter = "4/4" if time_signature == "auto" else time_signature
    if not key:  # no mode named: the key is estimated from the notes, as for a corpus tune
        return f"X:1\nT:seed\nM:{meter}\nL:1/8\nK:C\n{text.strip()}\n"
    named = AbcKey(*parse_key(key))
    mode = "maj" if named.mode == "major" else ""  # a mode written out: the key is the one given
    return f"X:1\nT:seed\nM:{meter}\nL:1/8\nK:{named.field()}{mode}\n{text.strip()}\n"


def _bars_of(song: Song, first: int, last: int) -> Song:
    """Bars `first`..`last` of a song (0 = its pickup, 1 = its first full bar, both included); a note held
    into the first bar starts there."""
    pickup = song.bars[0][0] < 0
    numbered = {number + (0 if pickup else 1): bar for number, bar in enumerate(song.bars)}
    lowest, highest = min(numbered), max(numbered)
    if not lowest <= first <= last <= highest:
        raise UserError(f"seed_bars={first}:{last} is outside the tune (bars {lowest}..{highest}); accepted: "
                        f"{lowest} <= A <= B <= {highest}")
    start = max(0, numbered[first][0])
    end = numbered[last][0] + numbered[last][1]
    symbols = events_to_symbols(song.events)
    held = held_symbol(symbols, start)  # what a hold at `start` continues
    symbols = symbols[start:end]
    if symbols and symbols[0] == HOLD:
        symbols[0] = held
    events, leading = tidy_rests(symbols_to_events(symbols))
    if not events:
        raise UserError(f"seed_bars={first}:{last} holds no note of the tune")
    bars = [(bar_start - start - leading, length) for number, (bar_start, length) in numbered.items()
            if first <= number <= last]
    return replace(song, events=events, bars=bars)


def _encoded(module, song: Song, unit: Unit, notes: list[str]) -> TuneSeed:
    """The song as the corpus encodes it for this model (key, range, register), with how to undo it."""
    from src.data import encoding
    from src.data.corpus import encode_song

    record = module.encoding
    profiles = np.array(encoding.key_profiles(), dtype=np.float64)
    encoded = encode_song(song, record.vocab, profiles, record.normalize_key, record.normalize_octave)
    if isinstance(encoded, Skip):
        raise UserError(f"seed: the tune's notes span {encoded.detail.removeprefix('pitches ')}, more than "
                        f"this model's range {record.min_pitch}..{record.max_pitch} holds in any octave; "
                        "accepted: a tune that fits it (moved by whole octaves if need be)")
    song_record, ids, _, _ = encoded
    shift = song_record["transposition"]
    octaves = shift - _key_shift(song_record, record.normalize_key)
    if octaves:
        notes.append(f"seed: the tune was moved {octaves:+d} semitones (whole octaves) into the model's "
                     "range and register; the melodies are written back where the tune sits")
    meter = Meter(song.time_signature, song_record["pickup"], song_record["mode"],
                  bar_steps(song.time_signature, record.step))
    if module.max_bar is not None and meter.bar_length > module.max_bar:
        raise UserError(f"seed: the tune is in {song.time_signature}, whose bars of {meter.bar_length} steps "
                        f"are longer than this model's position table ({module.max_bar}); accepted: tunes "
                        f"in meters of at most {module.max_bar} steps a bar")
    untitled = song.title == f"{Path(song.source).stem} #{song.index + 1}"  # the reader's stand-in title
    return TuneSeed(record.vocab.decode(ids), meter, shift, _tune_key(unit, song_record),
                    Path(song.source).stem if untitled else song.title, song.rhythm or None,
                    tuple(notes))


def _key_shift(song_record: dict, normalize_key: bool) -> int:
    """The key part of a song's transposition (the rest is whole octaves)."""
    if not normalize_key:
        return 0
    name, mode = song_record["key"].split()
    return shift_to_reference(KEY_NAMES.index(name), mode)


def _tune_key(unit: Unit, song_record: dict) -> AbcKey:
    """The tune's key as its K: names it (a church mode kept), else the corpus's key of it."""
    named = abc_key_mode(unit.text or "")
    if named is not None:
        return AbcKey(*named)
    name, mode = song_record["key"].split()
    return AbcKey(KEY_NAMES.index(name), mode)
