"""What to generate: `GenerationRequest`, each setting checked once, where it is made, and `Generation`,
what comes back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from src.checks import choice, integer, number, refuse
from src.config import generation_defaults
from src.data.abc_keys import AbcKey
from src.data.keys import parse_key
from src.data.labels import TUNE_TYPES
from src.errors import UserError
from src.models.generation.forms import Plan, check_form
from src.models.generation.meters import AUTO, Meter, check_meter_settings
from src.models.generation.sampling import Sampling
from src.models.generation.tunes import seed_kind

MAX_STEPS = 10_000
DEFAULT_SPAN = 17  # max_span=auto without per-style spans: chosen on essen_erk's validation songs
MAX_SAMPLES = 1_000
MAX_ENDINGS = 64  # last bars drawn per melody: the batch grows by this factor for them
AUTO_KEY = "auto"  # key=auto: each melody's key drawn as the training songs had them
OCTAVES = ("auto", "model")  # where a one-register model's unseeded melodies are written
MODES = ("continue", "infill", "prior", "vary", "interpolate")  # the last three need a VAE checkpoint


DEFAULTS = generation_defaults()  # conf/generation.yaml: each setting's default, with what it means


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate (each setting as conf/generation.yaml describes it, its default from there).
    `seed` is a melody in the notation (`60 _ 62 _`), written in `key` when given; a tuple of such
    melodies (all of one length) gives each melody its own seed, and `meters` each its own meter."""

    seed: str | tuple[str, ...] = DEFAULTS["seed"]
    seed2: str = DEFAULTS["seed2"]
    tune: str = DEFAULTS["tune"]
    seed_bars: str = DEFAULTS["seed_bars"]
    mode: str = DEFAULTS["mode"]
    steps: int = DEFAULTS["steps"]
    min_steps: int = DEFAULTS["min_steps"]
    temperature: float = DEFAULTS["temperature"]
    top_k: int = DEFAULTS["top_k"]
    top_p: float = DEFAULTS["top_p"]
    end_floor: float = DEFAULTS["end_floor"]
    max_span: int | str = DEFAULTS["max_span"]
    endings: int = DEFAULTS["endings"]
    num_samples: int = DEFAULTS["num_samples"]
    rng_seed: int = DEFAULTS["rng_seed"]
    key: str | None = DEFAULTS["key"]
    time_signature: str = DEFAULTS["time_signature"]
    pickup: int | str = DEFAULTS["pickup"]
    meters: tuple[Meter, ...] = ()  # with a tuple of seeds: each seed's own meter (e.g. its song's)
    # with meters: each seed's (style, tune type, form, part bars), for a model trained with styles (the
    # evaluation's seeded set: its song's own)
    labels: tuple[tuple[str, str, str, tuple[int, ...]], ...] = ()
    span: str = DEFAULTS["span"]
    bars: str = DEFAULTS["bars"]
    octave: str = DEFAULTS["octave"]
    style: str = DEFAULTS["style"]
    tune_type: str = DEFAULTS["tune_type"]
    form: str = DEFAULTS["form"]
    part_bars: str | tuple[int, ...] = DEFAULTS["part_bars"]

    def __post_init__(self) -> None:
        _check_numbers(self)
        if isinstance(self.seed, tuple):
            if not self.seed or not all(isinstance(s, str) for s in self.seed):
                raise UserError("seed: a tuple of seeds must hold one melody text per melody")
            object.__setattr__(self, "num_samples", len(self.seed))
        elif not isinstance(self.seed, str):
            object.__setattr__(self, "seed", str(self.seed))  # seed=60 on a command line is an int
        object.__setattr__(self, "seed2", str(self.seed2).strip())
        if self.key is not None and str(self.key).strip():
            object.__setattr__(self, "key", str(self.key).strip())
            if self.key != AUTO_KEY:
                parse_key(self.key)
        else:
            object.__setattr__(self, "key", None)
        _check_mode(self)
        choice("octave", self.octave, OCTAVES)
        _check_tune(self)
        _check_plan(self)
        signature, pickup = check_meter_settings(self.time_signature, self.pickup)
        object.__setattr__(self, "time_signature", signature)
        object.__setattr__(self, "pickup", pickup)

    @classmethod
    def from_settings(cls, settings: Mapping) -> GenerationRequest:
        """The request of a command's `name=value` settings: the keys it knows, checked."""
        return cls(**{f.name: settings[f.name] for f in fields(cls) if f.name in settings})

    @property
    def sampling(self) -> Sampling:
        """How each symbol is drawn, as the samplers take it."""
        span = DEFAULT_SPAN if self.max_span == AUTO else self.max_span
        return Sampling(self.temperature, self.top_k, self.top_p, self.min_steps, self.end_floor, span,
                        self.endings)

    def asked(self, mode: str | None) -> dict:
        """What the request fixes of a melody's plan (src/models/generation/forms.py), None where drawn."""
        auto = {AUTO: None}
        return {"style": auto.get(self.style, self.style),
                "tune_type": auto.get(self.tune_type, self.tune_type),
                "time_signature": auto.get(self.time_signature, self.time_signature),
                "pickup": auto.get(self.pickup, self.pickup), "mode": mode,
                "form": auto.get(self.form, self.form),
                "part_bars": None if self.part_bars == AUTO else self.part_bars}

    @property
    def seeds(self) -> list[str]:
        """One seed text per melody."""
        return list(self.seed) if isinstance(self.seed, tuple) else [self.seed] * self.num_samples


@dataclass
class Generation:
    """Melodies (symbols, in the requested key), each one's meter, and one-line notes on how the
    request was read; the key each is written in, and a tune seed's R: field and title."""

    melodies: list[list[str]]
    notes: list[str] = field(default_factory=list)
    meters: list[Meter] = field(default_factory=list)
    keys: list[AbcKey] = field(default_factory=list)
    rhythm: str | None = None
    title: str | None = None
    plans: list[Plan] = field(default_factory=list)  # each melody's style, tune type and form, where planned


def _check_numbers(request: GenerationRequest) -> None:
    """Each number's range; the first failure names the setting and what is accepted."""
    integer("steps", request.steps, 1, MAX_STEPS)
    integer("min_steps", request.min_steps, 0)
    integer("num_samples", request.num_samples, 1, MAX_SAMPLES)
    integer("top_k", request.top_k, 0, note="(0 = off)")
    integer("rng_seed", request.rng_seed, 0, 2**63 - 1)
    number("temperature", request.temperature, gt=0)
    number("top_p", request.top_p, gt=0, le=1)
    number("end_floor", request.end_floor, ge=0, lt=1, note="(0 = off)")
    integer("endings", request.endings, 1, MAX_ENDINGS, note="(1 = the last bars drawn once)")
    if request.max_span != AUTO:
        integer("max_span", request.max_span, 0, note=", semitones (0 = off), or auto")


def _check_plan(request: GenerationRequest) -> None:
    """`style=`, `tune_type=` (auto or a name), `form=` and `part_bars=` (src/models/generation/forms.py)."""
    for name in ("style", "tune_type"):
        value = str(getattr(request, name)).strip()
        if not value:
            refuse(name, value, "auto, or a name such as oneills (style) or reel (tune_type)")
        object.__setattr__(request, name, value)
    if request.tune_type != AUTO and request.tune_type not in TUNE_TYPES:
        refuse("tune_type", request.tune_type, f"auto or one of {', '.join(TUNE_TYPES)}")
    if not isinstance(request.part_bars, tuple):
        form, bars = check_form(request.form, request.part_bars)
        object.__setattr__(request, "form", form)
        object.__setattr__(request, "part_bars", bars)
    if request.form != AUTO and request.mode != "continue":
        raise UserError(f"form= is kept by mode=continue, not mode={request.mode}; accepted: form=auto")


def _check_range(name: str, value: object) -> tuple[int, int]:
    """`span=A:B` or `bars=A:B`: two integers, 0 <= A, A < B for a span, A <= B for bars."""
    if isinstance(value, tuple):  # already checked
        return value
    parts = str(value).split(":")
    try:
        first, last = (int(p) for p in parts) if len(parts) == 2 else (None, None)
    except ValueError:
        first = last = None
    empty = first is not None and (last <= first if name == "span" else last < first)  # bars, seed_bars
    if first is None or first < 0 or empty:
        what = ("seed steps, 0-based, B excluded: 0 <= A < B, e.g. span=16:32" if name == "span" else
                "bars, 1 = the first full bar, 0 = a pickup, both included: 0 <= A <= B, e.g. bars=5:8")
        refuse(name, value, f"{name}=A:B with {what}")
    return first, last


def _check_tune(request: GenerationRequest) -> None:
    """`tune=` and `seed_bars=` need a tune seed; a tune file brings its own key and meter."""
    object.__setattr__(request, "tune", str(request.tune).strip())
    kind = seed_kind(request.seed) if isinstance(request.seed, str) else "tokens"
    if request.key == AUTO_KEY and (any(text.strip() for text in request.seeds) or request.seed2):
        raise UserError("key=auto draws each new melody's key; a seed is read in the key you name: "
                        "accepted: key=auto without a seed, or a key such as key=D with it")
    if kind == "tokens":
        for name in ("tune", "seed_bars"):
            if getattr(request, name):
                raise UserError(f"{name}= needs a tune as the seed: seed=FILE (.abc, .mid, .musicxml, .mxl, "
                                ".krn) or an ABC fragment such as seed=\"GABc d2B2|\"")
        return
    if request.seed_bars:
        object.__setattr__(request, "seed_bars", _check_range("seed_bars", request.seed_bars))
    if kind == "file":
        for name, value in (("key", request.key), ("time_signature", request.time_signature != "auto"),
                            ("pickup", request.pickup != "auto")):
            if value:
                raise UserError(f"{name}= is the tune file's own (its K:, M: and first bar); accepted: "
                                f"{name}= left out with seed=FILE (it is read with a fragment: "
                                "seed=\"GABc d2B2|\")")


def _check_mode(request: GenerationRequest) -> None:
    """The mode, and the seeds it needs or refuses."""
    mode, seed2 = request.mode, request.seed2
    choice("mode", mode, MODES)
    has_seed = any(text.strip() for text in request.seeds)
    if mode == "infill":
        if not has_seed:
            raise UserError("mode=infill needs a seed: the melody to regenerate part of, such as "
                            "seed=\"60 _ 62 _ 64 _ _ _ 65 _ 64 _ 62 _ _ _\"")
        if bool(request.span) == bool(request.bars):
            raise UserError("mode=infill needs one of span=A:B (seed steps, 0-based, B excluded) or "
                            "bars=A:B (bars, 1 = the first full bar, both included)")
        for name in ("span", "bars"):
            if getattr(request, name):
                object.__setattr__(request, name, _check_range(name, getattr(request, name)))
    elif request.span or request.bars:
        raise UserError(f"span= and bars= are only used by mode=infill, not mode={mode}")
    if mode == "prior" and has_seed:
        raise UserError("mode=prior takes no seed (it draws new melodies); accepted: seed= empty, "
                        "or mode=vary to vary the seed")
    if mode in ("vary", "interpolate") and not has_seed:
        raise UserError(f"mode={mode} needs a seed: a melody such as seed=\"60 _ 62 _ 64 _ _ _\"")
    if mode == "interpolate" and not seed2:
        raise UserError("mode=interpolate needs seed2: the melody the path ends at")
    if mode != "interpolate" and seed2:
        raise UserError(f"seed2 is only used by mode=interpolate, not mode={mode}")
    if mode == "interpolate" and request.num_samples < 2:
        raise UserError("mode=interpolate needs num_samples >= 2 (the two ends are included)")
