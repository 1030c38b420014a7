"""The app's plain functions: find checkpoints, load them safely, check a request against the page's
limits, generate melodies and their ABC. The page asks with the command line's setting names and defaults
(conf/generation.yaml), and its request is built by the same constructor (`GenerationRequest`)."""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from src.app.media import Rendered, render
from src.checks import choice, integer
from src.data.abc_notation import tune_book, tune_text
from src.data.meter import check_qpm
from src.data.score_writer import generation_tunes
from src.data.units import SCORE_SUFFIXES
from src.errors import UserError
from src.models.checkpoint import CHECKPOINT_NAMES, load_module, read_checkpoint, upgrade_hparams
from src.models.generation import GenerationRequest
from src.models.generation.request import DEFAULTS
from src.models.generation.tunes import TuneSeed, read_request_tune, seed_kind
from src.models.modules.kinds import MODULES

REPO = Path(__file__).resolve().parents[2]
# A web page is shared: requests are held well below what the command line accepts.
MAX_APP_STEPS = 1000  # about two minutes at 120 qpm; the WAV of one melody stays under 6 MB
APP_STEPS = 256  # the page's length when none is given: a melody to listen to, not the command line's
MAX_SEED_SYMBOLS = 1000
MAX_SEED_CHARS = 8000  # a seed text longer than this is refused before it is even split
MAX_UPLOAD_MB = 1  # an uploaded tune file (the uploader refuses more; the app checks again)
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB << 20
UPLOAD_SUFFIXES = SCORE_SUFFIXES  # what the command line's seed=FILE reads
MAX_ABC_CHARS = 100_000  # pasted ABC: a tune book of a hundred tunes or so
MAX_TUNE_STEPS = 2048  # a tune seed as read (repeats played): 128 bars of 4/4 in 16ths
MAX_MELODIES = 8
MAX_FORM_BARS = 48  # a form asked for: bars of all its parts (AABBCC of 8-bar parts); it sets the length
MAX_TOTAL_STEPS = 2000  # steps x melodies of one request: at most ~11 MB of WAV held per session
MAX_LISTED_RUNS = 200  # newest run checkpoints listed from outputs/
GENERATION_SLOTS = threading.BoundedSemaphore(2)  # 2 cores: more at once only adds memory and waiting
LOADED_MODELS = 3  # modules kept in memory, least recently used dropped first
TYPE_LABELS = {"lstm_attn": "LSTM + attention", "gru": "GRU", "vae": "VAE", "ngram": "n-gram",
               "lstm_attn_lm": "LSTM + attention (causal LM)", "gru_lm": "GRU (causal LM)",
               "transformer_lm": "Transformer (causal LM, infills)"}
EXAMPLE_SEEDS = {
    "C major scale": "60 _ 62 _ 64 _ 65 _ 67 _ _ 69 71 _ 72 _ _",
    "Hänschen klein": "67 _ 64 _ 64 _ _ _ 65 _ 62 _ 62 _ _ _",
    "Alle meine Entchen": "60 _ 62 _ 64 _ 65 _ 67 _ _ _ 67 _ _ _",
    "A minor, dotted": "69 _ _ 71 72 _ 71 _ 69 _ _ _ 64 _ _ _",
    "(empty: a new song)": "",
}


@dataclass(frozen=True)
class ModelEntry:
    """A checkpoint the page offers: where it is, its network type, run and test bits."""

    path: Path
    kind: str  # the model's name (e.g. gru, vae)
    run: str  # "bundled NAME" or the run folder relative to outputs/
    bits: float | None  # test/bits from the run's metrics.json (or models/NAME.metrics.json)
    continues: bool = True  # continues a seed (bits of next symbols); False: a VAE (reconstruction bits)

    @property
    def label(self) -> str:
        bits = f"test {self.bits:.3f} bits" if self.bits is not None else "no test bits"
        return f"{TYPE_LABELS.get(self.kind, self.kind)} · {self.run} · {bits}"


METERS = ("auto", "4/4", "3/4", "2/4", "6/8", "3/8", "6/4", "2/2", "3/2")  # the page's meter choice


@dataclass
class Result:
    """Generated melodies rendered to files, plus one-line notes for the page."""

    entry: ModelEntry
    request: GenerationRequest
    melodies: list[Rendered]
    notes: list[str] = field(default_factory=list)

    @property
    def book(self) -> str:
        """The melodies' ABC tunes as one tune book."""
        return tune_book([melody.abc for melody in self.melodies])


def model_dirs() -> tuple[Path, Path]:
    """(bundled models folder, runs folder): $MELODY_MODELS_DIR and $MELODY_OUTPUTS_DIR, else the repo's."""
    models = os.environ.get("MELODY_MODELS_DIR") or REPO / "models"
    outputs = os.environ.get("MELODY_OUTPUTS_DIR") or REPO / "outputs"
    return Path(models), Path(outputs)


def find_checkpoints(models_dir: Path, outputs_dir: Path) -> list[tuple[Path, str]]:
    """(checkpoint, run label): models/*.ckpt by name, then each run's best (else last), newest first."""
    found = [(p, f"bundled {p.stem}") for p in sorted(models_dir.glob("*.ckpt")) if p.is_file()]
    runs = {folder.parent for folder in outputs_dir.rglob("checkpoints") if folder.is_dir()}
    picked = []
    for run in runs:
        ckpt = next((run / n for n in CHECKPOINT_NAMES if (run / n).is_file()), None)
        if ckpt is not None:
            picked.append((ckpt.stat().st_mtime, ckpt, str(run.relative_to(outputs_dir))))
    picked.sort(key=lambda item: (-item[0], item[2]))
    return found + [(ckpt, run) for _, ckpt, run in picked[:MAX_LISTED_RUNS]]


_describe_cache: dict[tuple, tuple[str, bool] | UserError] = {}
_describe_lock = threading.Lock()


def list_models(models_dir: Path, outputs_dir: Path) -> tuple[list[ModelEntry], list[str]]:
    """The usable checkpoints, and a one-line reason for each file that was refused or unreadable."""
    entries, problems = [], []
    for path, run in find_checkpoints(models_dir, outputs_dir):
        described = _describe(path)
        if isinstance(described, UserError):
            problems.append(str(described))
        else:
            name, continues = described
            entries.append(ModelEntry(path, name, run, _test_bits(path), continues))
    # the bundled models first, best first (the page opens on the first): next-symbol models by test
    # bits, then a VAE (its bits are of reconstruction, an easier task), then unscored ones; then runs
    bundled = sorted((e for e in entries if e.path.parent == models_dir),
                     key=lambda e: (e.bits is None, not e.continues, e.bits or 0.0, e.run))
    return bundled + [e for e in entries if e.path.parent != models_dir], problems


def _describe(path: Path) -> tuple[str, bool] | UserError:
    """(the model's name, whether it continues a seed) from a checkpoint read with weights_only, without
    building the model; cached per file version."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _describe_lock:
        if key not in _describe_cache:
            try:
                hparams = upgrade_hparams(read_checkpoint(path)["hyper_parameters"])
                kind = MODULES.get(hparams["module"])
                name = str(hparams.get("name") or hparams["net"].get("_target_", "?"))
                _describe_cache[key] = (name, kind is None or kind.continues)
            except UserError as err:
                _describe_cache[key] = err
        return _describe_cache[key]


def _test_bits(ckpt: Path) -> float | None:
    """test/bits from the run's metrics.json, or from models/NAME.metrics.json beside a bundled one."""
    run = ckpt.parent.parent if ckpt.parent.name == "checkpoints" else None
    for path in ([run / "metrics.json"] if run else []) + [ckpt.with_suffix(".metrics.json")]:
        try:
            bits = json.loads(path.read_text())["metrics"]["test/bits"]
            return float(bits)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


_loaded: OrderedDict[tuple, torch.nn.Module] = OrderedDict()
_load_lock = threading.Lock()


def load_model(path: Path):
    """The checkpoint's module in eval mode on the CPU (weights_only), shared by every session."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = load_module(path, map_location="cpu")
            while len(_loaded) > LOADED_MODELS:
                _loaded.popitem(last=False)
        _loaded.move_to_end(key)
        return _loaded[key]


def modes(module) -> list[str]:
    """The sampling modes this checkpoint supports, as `python -m src.sample mode=` names them."""
    return list(module.modes)


def plan_choices(module) -> dict[str, list[str]] | None:
    """A model trained with styles: its styles and the tune types its songs had (the page's choices
    beside `auto`); None for any other model."""
    if not (getattr(module.net, "reads_plan", False) and module.encoding.plans):
        return None
    return {"styles": list(module.encoding.styles),
            "tune_types": sorted({row[1] for row in module.encoding.plans} - {"unknown"})}


def check_request(settings: Mapping, module, files: Path | None = None) -> GenerationRequest:
    """The page's settings (the command line's names; defaults from conf/generation.yaml, `steps` the
    page's APP_STEPS) within the web app's limits, as a checked GenerationRequest (UserError). A seed
    file is read only from `files`, the session's folder of pasted and uploaded tunes."""
    settings = {**DEFAULTS, "steps": APP_STEPS, **settings}
    _check_seed_file(str(settings["seed"]), files)
    for name in ("seed", "seed2"):
        text = str(settings[name])
        count = len(text.split()) if len(text) <= MAX_SEED_CHARS else None
        if count is None or count > MAX_SEED_SYMBOLS:
            size = f"{count} symbols" if count is not None else f"{len(text)} characters"
            raise UserError(f"{name}: {size} is too long; accepted: at most {MAX_SEED_SYMBOLS} symbols "
                            "in the web app")
    integer("steps", settings["steps"], 1, MAX_APP_STEPS, note="in the web app")
    integer("num_samples", settings["num_samples"], 1, MAX_MELODIES, note="in the web app")
    total = module.longest_melody(settings["steps"]) * settings["num_samples"]  # a VAE melody: one segment
    if total > MAX_TOTAL_STEPS:
        raise UserError(f"steps x num_samples = {total} is too much for one request; accepted: at most "
                        f"{MAX_TOTAL_STEPS} in the web app")
    choice("mode", settings["mode"], modes(module), note="(the modes of this checkpoint)")
    checked = GenerationRequest.from_settings(settings)
    if isinstance(checked.part_bars, tuple) and sum(checked.part_bars) > MAX_FORM_BARS:
        raise UserError(f"part_bars: {sum(checked.part_bars)} bars in all; accepted: at most {MAX_FORM_BARS} "
                        "bars in the web app")
    _check_tune_length(checked, module)
    return checked


def _check_seed_file(seed: str, files: Path | None) -> None:
    """A seed that names a file must be one of this session's pasted or uploaded tunes: a visitor never
    reads the server's other files."""
    if seed_kind(seed) != "file":
        return
    path = Path(seed.strip()).resolve()
    if files is None or Path(files).resolve() not in path.parents:
        raise UserError(f"seed={seed.strip()!r}: the web app reads no file by its path; accepted: a melody "
                        "such as \"60 _ 62 _\", ABC pasted, or a tune file uploaded")


@functools.lru_cache(maxsize=4)  # the tunes of the requests being checked and generated
def _tune_seed(module, request: GenerationRequest) -> TuneSeed | None:
    """A request's tune seed, read once for the check and the generation (a seed file's path names its
    content: the session folder saves each tune under its digest)."""
    return read_request_tune(module, request)


def _check_tune_length(request: GenerationRequest, module) -> None:
    """A tune seed (a file or an ABC fragment), as read, within the web app's MAX_TUNE_STEPS."""
    tune = _tune_seed(module, request)
    if tune is not None and len(tune.symbols) > MAX_TUNE_STEPS:
        raise UserError(f"seed: the tune is {len(tune.symbols)} steps long as played; accepted: at most "
                        f"{MAX_TUNE_STEPS} steps in the web app (keep some of its bars with seed_bars)")


def _named(err: UserError, files: Path | None) -> UserError:
    """A refusal with the session folder's paths written as the tune's own file name."""
    if files is None:
        return err
    return UserError(re.sub(re.escape(str(files)) + r"/[0-9a-f]+/", "", str(err)))


def generate(entry: ModelEntry, settings: Mapping, qpm: float = 120.0, synth: str = "auto",
             files: Path | None = None) -> Result:
    """Check the page's generation settings (a seed file only from `files`), sample the melodies (at most
    two requests at once), and render each one at `qpm` with `synth`, with its ABC as the command's."""
    module = load_model(entry.path)
    check_qpm(qpm)
    try:
        checked = check_request(settings, module, files)
        with GENERATION_SLOTS, torch.inference_mode():
            generation = module.generate(checked, tune=_tune_seed(module, checked))
    except UserError as err:
        raise _named(err, files) from None
    comments = (f"melody-generator {module.kind}: {entry.run}",)
    tunes = generation_tunes(generation, module.encoding.step, "melody", qpm, comments)
    notes, rendered = list(generation.notes), []
    for k, (melody, tune) in enumerate(zip(generation.melodies, tunes, strict=True)):
        if not melody:
            notes.append(f"melody {k + 1} is empty: the model ended the song at once ('/'); "
                         "raise min_steps or try another rng_seed")
            continue
        rendered.append(render(melody, tune.step, qpm, tune.time_signature, title=tune.title, synth=synth,
                               pickup=tune.pickup, abc=tune_text(melody, tune), key=tune.key))
    return Result(entry, checked, rendered, notes)
