"""What a causal net reads at each step besides its symbol, as integer columns: where the step falls in its
bar and the song's mode (the meter plan), the song's style and tune type, where the step falls in the
song's form (the form plan), and the song's compass (its span). Training reads them from each song
(src/data/sequences.py); the sampler computes the same columns for the meter and form it plans
(src/models/generation/meters.py), through `form_plan`, so a net reads its plan the same way in both.

Columns of a context row (uint8), each 0 where unknown:
    position   the step's place in its bar (steps from the downbeat)
    bar        its bar's length in steps (0: unknown)
    mode       0 major, 1 minor
    style      1 + the style's index in the model's style list (0: unknown)
    tune_type  the index of the tune type in TUNE_TYPES (0: unknown)
    part       the part played (0 = the first; at most MAX_PARTS - 1)
    part_bar   the bar of that part (1 = its first full bar; 0 = the pickup before the tune's first bar)
    part_bars  how many bars that part has
    repeat     1 where the part repeats an earlier one (`AABB`: the second A and B), + 2 in the last part
    span       1 + the semitones from the song's lowest pitch to its highest (at most MAX_SPAN + 1)
"""

from __future__ import annotations

import numpy as np

from src.data.labels import TUNE_TYPES, UNKNOWN
from src.data.meter import MODES

COLUMNS = ("position", "bar", "mode", "style", "tune_type", "part", "part_bar", "part_bars", "repeat", "span")
WIDTH = len(COLUMNS)
METER_WIDTH = 3  # position, bar, mode: what nets without labels or form read
MAX_PARTS = 8
MAX_PART_BARS = 63
MAX_SPAN = 47  # semitones; a wider song reads as this wide
UNKNOWN_SPAN_EVERY = 8  # one training song in 8 reads its span as unknown, so a net learns to do without
#                         (a seed continued, a gap filled: the sampler tells no span there)


def label_ids(style: str, tune_type: str, styles: tuple[str, ...]) -> tuple[int, int]:
    """(style id, tune type id) of a song's labels against the model's style list; 0 where unknown."""
    style_id = styles.index(style) + 1 if style in styles else 0
    type_id = TUNE_TYPES.index(tune_type) if tune_type in TUNE_TYPES else TUNE_TYPES.index(UNKNOWN)
    return style_id, type_id


def form_plan(bars: np.ndarray, form: str, part_bars: list[int] | tuple[int, ...]) -> np.ndarray:
    """Steps' bar numbers (n,) (0 in a pickup, 1 from the first downbeat) and a form (`AABB`, each
    part's bars) -> (n, 4) uint8 columns part, part_bar, part_bars and repeat (see the module
    docstring). The pickup is bar 0 of the first part; steps past the form's last bar stay in its last
    part (their part_bar passes part_bars: the song should have ended). No form: all 0 (unknown)."""
    n = len(bars)
    out = np.zeros((n, 4), np.uint8)
    if not form or not part_bars or len(form) != len(part_bars):
        return out
    ends = np.cumsum(part_bars)  # each part's last bar
    part = np.minimum(np.searchsorted(ends, np.maximum(bars, 1), side="left"), len(ends) - 1)  # (n,)
    starts = ends - np.asarray(part_bars)  # bars before each part
    out[:, 0] = np.minimum(part, MAX_PARTS - 1)
    out[:, 1] = np.clip(bars - starts[part], 0, MAX_PART_BARS)
    out[:, 2] = np.minimum(np.asarray(part_bars)[part], MAX_PART_BARS)
    repeats = np.array([form[k] in form[:k] for k in range(len(form))], np.uint8)
    out[:, 3] = repeats[part] + 2 * (part == len(form) - 1)
    return out


def span_id(semitones: int | None) -> int:
    """The span column of a song `semitones` wide (None: unknown, 0)."""
    return 0 if semitones is None else 1 + min(max(int(semitones), 0), MAX_SPAN)


def context_rows(positions: np.ndarray, bars: np.ndarray, mode: str, labels: tuple[int, int], form: str,
                 part_bars: list[int] | tuple[int, ...], span: int | None = None) -> np.ndarray:
    """Context rows (n, WIDTH) uint8 of steps with (position, bar length) (n, 2) and bar numbers (n,), in
    a song of `mode`, (style, tune type) ids `labels`, `form` and `span` semitones (None: unknown)."""
    n = len(positions)
    meter = np.concatenate([positions, np.full((n, 1), MODES.index(mode))], axis=1)
    ids = np.broadcast_to(np.asarray(labels), (n, 2))
    return np.concatenate([meter, ids, form_plan(bars, form, part_bars), np.full((n, 1), span_id(span))],
                          axis=1).astype(np.uint8)


def song_context(positions: np.ndarray, mode: str, labels: tuple[int, int], form: str,
                 part_bars: list[int], span: int | None = None) -> np.ndarray:
    """One song's context rows (n, WIDTH) uint8 from its steps' (position, bar length) (n, 2), its mode,
    its (style, tune type) ids, its form and its span; bars are counted at its downbeats."""
    return context_rows(positions, np.cumsum(positions[:, 0] == 0), mode, labels, form, part_bars, span)
