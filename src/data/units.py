"""Score files as units of parsing work (one ABC tune, or one whole file of another format), before
music21 sees them: size and content checks, ABC files split into tunes, and what parsing returns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SCORE_SUFFIXES = (".abc", ".krn", ".xml", ".musicxml", ".mxl", ".mid", ".midi")
MIDI_SUFFIXES = (".mid", ".midi")
TEXT_SUFFIXES = (".abc", ".krn", ".xml", ".musicxml")
# Bounds on what one unit may cost to parse (music21 reads ABC at ~9k notes/s, MusicXML at ~1 MB/s):
MAX_FILE_BYTES = 256 << 20  # larger files are not read at all
MAX_UNIT_BYTES = 4 << 20  # one MusicXML, kern or MIDI file
MAX_TUNE_CHARS = 256 << 10  # one ABC tune (~100k notes, ~12 s)


@dataclass(frozen=True)
class Unit:
    """One piece of parsing work: a whole file, or one tune of a multi-tune ABC file."""

    path: str  # absolute path of the file
    source: str  # path relative to the corpus root, as written to songs.json
    index: int = 0  # tune index within the file
    text: str | None = None  # the tune's ABC text when the unit is one tune


@dataclass
class Song:
    """A parsed monophonic song: (MIDI pitch or None for a rest, steps) events, no leading/trailing rest."""

    source: str
    index: int
    title: str
    events: list[tuple[int | None, int]]
    declared_key: tuple[int, str] | None  # (tonic pitch class, "major" | "minor") if the file states a mode
    time_signature: str  # the opening meter; "4/4" when the file states none
    meter_stated: bool = True  # False: a MIDI file without a time-signature event (4/4 assumed)
    # (first step, length) of each bar in steps, relative to the first sounding step: a pickup's bar
    # starts before 0 (src/data/meter.py)
    bars: list[tuple[int, int]] = field(default_factory=list)
    grid: int = 0  # q of the coarsest grid 1/q quarter note that holds every note (e.g. 12 with triplets)
    melody: str = "only part"  # how its part was chosen (src/data/melody.py)
    overlapped: bool = False  # notes overlapped (chords, voices): the top one was kept at each onset
    key_changes: int = 0  # key changes after the opening key (the tune is moved by one key: its estimated)
    snapped: int = 0  # notes moved to the nearest step (data.off_grid=snap); with no length left: dropped
    rhythm: str = ""  # an ABC tune's R: field as written (its tune type), else empty
    form: str = "A"  # its parts as played, one letter each (`AABB`: src/data/form.py)
    part_bars: tuple[int, ...] = ()  # the bars of each part played


@dataclass
class Skip:
    """A unit or song left out, with the reason counted in the report."""

    source: str
    index: int
    reason: str
    detail: str = field(default="")
    grid: int = 0  # q of the coarsest grid 1/q quarter note that holds it, when it was read (0: not)


def list_units(path: Path, root: Path) -> list[Unit | Skip]:
    """Split a file into parse units (ABC: one per `X:` tune); unreadable files become Skips."""
    source = str(path.relative_to(root))
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return [Skip(source, 0, "too_large", f"{size} bytes; accepted: at most {MAX_FILE_BYTES}")]
        data = path.read_bytes()
    except OSError as err:
        return [Skip(source, 0, "unreadable", str(err))]
    if not data.strip():
        return [Skip(source, 0, "empty")]
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES and b"\x00" in data[:8192]:
        return [Skip(source, 0, "binary")]
    if suffix != ".abc":
        if len(data) > MAX_UNIT_BYTES:
            return [Skip(source, 0, "too_large", f"{len(data)} bytes; accepted: at most {MAX_UNIT_BYTES}")]
        return [Unit(str(path), source)]
    text = decode_text(data)
    tunes = [t for t in re.split(r"(?m)^(?=X:)", text) if t.startswith("X:")]
    if not tunes:
        return [Skip(source, 0, "parse_error", "no 'X:' tune header")]
    too_large = "tune of {} characters; accepted: at most {}"
    return [Unit(str(path), source, i, tune) if len(tune) <= MAX_TUNE_CHARS else
            Skip(source, i, "too_large", too_large.format(len(tune), MAX_TUNE_CHARS))
            for i, tune in enumerate(tunes)]


def decode_text(data: bytes) -> str:
    """UTF-8, else Latin-1."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # the Essen ABC files are Latin-1


def states_meter(unit: Unit) -> bool:
    """Whether the file states its meter: a MIDI file without a time-signature event (0xFF 0x58) is
    read as music21's 4/4."""
    if unit.text is not None or Path(unit.path).suffix.lower() not in MIDI_SUFFIXES:
        return True
    return b"\xff\x58" in Path(unit.path).read_bytes()

