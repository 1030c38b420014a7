"""`EncodingRecord`: the data settings a checkpoint carries, in one checked, frozen record.

The cache, the data module, the model and the evaluation all read the same record: what decides the
tokens (corpus, grid, pitch range, key normalization, split fractions: its hash names the cache
folder) and the layout the model was trained on (window length, window kind, segment length, extra
training songs). The vocabulary comes with it (`record.vocab`), built once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from fractions import Fraction
from functools import cached_property

from src.checks import boolean, check, choice, integer, number, refuse
from src.data.melody import check_melody, check_off_grid
from src.data.meter import MAX_GRID_DENOMINATOR, grid_of
from src.data.vocab import Vocabulary
from src.errors import UserError

CACHE_FIELDS = ("corpus", "step", "min_pitch", "max_pitch", "normalize_key", "normalize_octave",
                "val_fraction", "test_fraction", "expand_repeats", "melody", "off_grid")
# grids that hold an eighth note: every bar of x/2, x/4, x/8, and a bar line on any eighth, is whole steps
STEPS = ("1/q of a quarter note with q even, up to 64, e.g. 1/2 (8ths), 1/4 (16ths), 1/8, 1/12 (16ths and "
         "eighth-note triplets), 1/16, 1/24")
WINDOWS = ("next", "every", "segments")  # one target per window | every position | whole segments
# keys every checkpoint's encoding holds (older ones may lack the rest: their defaults apply)
REQUIRED = ("mapping", "sequence_length", "step", "min_pitch", "max_pitch")
# what the training songs held: no data setting
SONGS_HELD = ("meters", "longest_bar", "medians", "keys", "styles", "plans", "style_keys", "spans", "ranges")
# tuples of rows in the checkpoint
ROWS = ("meters", "medians", "keys", "plans", "style_keys", "spans", "ranges")


@dataclass(frozen=True)
class EncodingRecord:
    """What decides the tokens, and how the model reads them (docs/design.md §1-3)."""

    corpus: str = "essen_erk"
    step: float = 0.25  # quarter notes per grid step: 1/q (q even, <= 64), exact once read back as a fraction
    min_pitch: int = 48
    max_pitch: int = 84
    normalize_key: bool = True
    normalize_octave: bool = False  # each song moved by octaves: its median pitch nearest the range's middle
    val_fraction: float = 0.05
    test_fraction: float = 0.05
    expand_repeats: bool = True  # repeat signs and volta endings played out (src/data/repeats.py)
    melody: str = "auto"  # which part and which of overlapping notes is the melody (src/data/melody.py)
    off_grid: str = "snap"  # a note off the grid: snap it to the nearest step, or skip its song (a checkpoint
    #                         without the key was built before snap was the default: skip)
    sequence_length: int = 64  # window length; the sampler's prompt is this many '/'
    windows: str = "next"  # chosen by the model kind (src/models/modules/kinds.py), never by hand
    segment_length: int | None = None  # windows=segments: symbols per segment
    history: int = 0  # windows=every: ids before each training window a look-back reads
    extra_train: str | None = None  # a second corpus whose train songs are trained on too
    # what the training songs hold, stored once the corpus is read (empty in older checkpoints):
    # (time signature, pickup steps, mode, songs) rows, the sampler's `auto` meter; the longest bar
    meters: tuple[tuple[str, int, str, int], ...] = ()
    longest_bar: int = 0
    # with normalize_octave: (mode, median note pitch in the song's own register, songs) rows, where
    # `octave=auto` moves a melody back to (src/models/generation/octaves.py)
    medians: tuple[tuple[str, float, int], ...] = ()
    # with normalize_key: (tonic name, mode, songs) rows of the keys the songs were written in, which
    # `key=auto` draws each melody's key from (src/models/generation/key_draw.py)
    keys: tuple[tuple[str, str, int], ...] = ()
    # the training songs' styles (a model reading labels reads style id = 1 + its index here; 0 unknown),
    # and per style what the sampler draws from (src/models/generation/plan_draw.py): (style, tune type,
    # time signature, pickup, mode, form, part bars as "8 8 8 8", songs) rows, (style, tonic, mode, songs)
    # key rows, (style, range in semitones that 95% of its songs keep within, songs): its max_span, and
    # (style, semitones from lowest to highest pitch, songs) rows, the span a net reading it is told
    styles: tuple[str, ...] = ()
    plans: tuple[tuple[str, str, str, int, str, str, str, int], ...] = ()
    style_keys: tuple[tuple[str, str, str, int], ...] = ()
    spans: tuple[tuple[str, int, int], ...] = ()
    ranges: tuple[tuple[str, int, int], ...] = ()

    def __post_init__(self) -> None:
        exact = abs(float(grid_of(self.step)) - self.step) <= 1e-12  # the float of a fraction
        check("data.step", self.step, 0 < self.step <= 4 and exact,
              f"a length of 0 < step <= 4 quarter notes whose fraction has a denominator <= "
              f"{MAX_GRID_DENOMINATOR}, e.g. 0.25 (16ths) or 1/12 (16ths and eighth-note triplets)")
        grid = grid_of(self.step)
        check("data.step", str(grid), (Fraction(1, 2) / grid).denominator == 1,
              f"{STEPS}: a grid that holds an eighth note (else bars of 3/8 and bar lines on an eighth fall "
              "between steps)")
        number("data.val_fraction", self.val_fraction, ge=0, lt=1)
        number("data.test_fraction", self.test_fraction, ge=0, lt=1)
        check("data.test_fraction", self.test_fraction, self.val_fraction + self.test_fraction < 1,
              f"a number below 1 - data.val_fraction (data.val_fraction={self.val_fraction}: the two sum "
              "below 1)")
        integer("data.sequence_length", self.sequence_length, 1)
        choice("data.windows", self.windows, WINDOWS)
        if self.windows == "segments":
            integer("segment_length", self.segment_length, 1)
        check_melody(self.melody)
        check_off_grid(self.off_grid)
        integer("history", self.history, 0)
        self.vocab  # noqa: B018 (validates the pitch range, once)

    @cached_property
    def vocab(self) -> Vocabulary:
        """The fixed vocabulary of this pitch range: `/ _ r min_pitch..max_pitch`."""
        return Vocabulary(self.min_pitch, self.max_pitch)

    def cache_fields(self) -> dict:
        """The settings that decide the tokens: the cache folder's hash is over these alone."""
        return {name: getattr(self, name) for name in CACHE_FIELDS}

    def data_settings(self) -> dict:
        """The `MelodyDataModule` arguments of this record (everything but what the songs held)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in SONGS_HELD}

    def with_corpus(self, corpus: str) -> EncodingRecord:
        """The same encoding of another corpus (the extra training songs)."""
        return replace(self, corpus=corpus, extra_train=None)

    def to_checkpoint(self) -> dict:
        """Plain data for `hyper_parameters.encoding` (loads with weights_only); layout keys only where
        they differ from a plain window model, as checkpoints have always stored them."""
        record = {"mapping": self.vocab.mapping, "step": self.step, "min_pitch": self.min_pitch,
                  "max_pitch": self.max_pitch, "normalize_key": self.normalize_key,
                  "sequence_length": self.sequence_length, "corpus": self.corpus,
                  "val_fraction": self.val_fraction, "test_fraction": self.test_fraction}
        if self.windows != "next":
            record["windows"] = self.windows
        if self.windows == "segments":
            record["segment_length"] = self.segment_length
        if self.history:
            record["history"] = self.history
        if self.extra_train:
            record["extra_train"] = self.extra_train
        if not self.expand_repeats:
            record["expand_repeats"] = False
        if self.melody != "auto":
            record["melody"] = self.melody
        if self.off_grid != "skip":
            record["off_grid"] = self.off_grid
        if self.normalize_octave:
            record["normalize_octave"] = True
        if self.meters:
            record["meters"] = [list(row) for row in self.meters]
            record["longest_bar"] = self.longest_bar
        for name in ROWS[1:]:
            if getattr(self, name):
                record[name] = [list(row) for row in getattr(self, name)]
        if self.styles:
            record["styles"] = list(self.styles)
        return record

    @classmethod
    def from_checkpoint(cls, encoding: Mapping) -> EncodingRecord:
        """The record a checkpoint stores; its vocabulary must be this project's for its range."""
        missing = [k for k in REQUIRED if k not in encoding]
        if missing:
            raise UserError(f"encoding lacks {', '.join(missing)}; needs {', '.join(REQUIRED)}")
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in encoding.items() if k in names}
        for name in ROWS:
            values[name] = tuple(tuple(row) for row in values.get(name, ()))
        values["styles"] = tuple(values.get("styles", ()))
        values.setdefault("off_grid", "skip")  # stored only where it is not skip
        record = cls(**values)
        if not isinstance(encoding["mapping"], Mapping) or dict(encoding["mapping"]) != record.vocab.mapping:
            raise UserError("stored vocabulary is not of the form ['/', '_', 'r', min_pitch..max_pitch] "
                            "of its encoding")
        return record

    @classmethod
    def from_data_config(cls, data: Mapping, **layout) -> EncodingRecord:
        """The record of a `data` config group (keys it does not hold are ignored), with the model
        kind's `layout` (windows, segment_length)."""
        kinds = {"corpus": str, "step": float, "min_pitch": int, "max_pitch": int, "normalize_key": bool,
                 "normalize_octave": bool,
                 "val_fraction": float, "test_fraction": float, "sequence_length": int,
                 "expand_repeats": bool, "melody": str, "off_grid": str}
        values = {}
        for key, kind in kinds.items():
            if key not in data:
                continue
            value = data[key]
            if key == "step" and isinstance(value, str):  # a fraction such as 1/12, read exactly
                value = step_from_text(value)
            checked = {bool: boolean, int: integer, float: number}.get(kind)
            values[key] = checked(f"data.{key}", value) if checked else str(value)
        extra = data.get("extra_train")
        return cls(**values, extra_train=extra, **layout)


def step_from_text(text: str) -> float:
    """`data.step` written as a fraction (`1/12`) or a decimal (`0.25`) -> its float."""
    try:
        return float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        pass
    refuse("data.step", text, "a number or a fraction of a quarter note, e.g. 0.25 or 1/12")
