"""Check a run's `trainer.*`, `callbacks.*` and `logger.*` values before any work, writing nothing:
types against the Lightning constructors' annotations, the numbers Lightning divides by, monitors, then
every object built once as `src.train` builds it. A bad value is one line before the run folder exists."""

from __future__ import annotations

import collections.abc
import contextlib
import logging
import re
import tempfile
import types
import typing
from collections.abc import Iterator
from pathlib import Path

from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from hydra.utils import get_object
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from src.checks import check, integer, is_integer, is_number
from src.config import build, one_line, run_config
from src.data.corpus import Corpus
from src.errors import UserError
from src.quiet import quiet_lightning

# what Lightning and Hydra raise for a value they cannot take (a bug raises something else)
CONFIG_ERRORS = (HydraException, OmegaConfBaseException, MisconfigurationException, TypeError, ValueError)
# what Lightning raises during fit about a setting only the data shows wrong -> the setting to name
RUNTIME_PATTERNS = {"conditioned on metric": "callbacks.early_stopping.monitor",
                    "`val_check_interval`": "trainer.val_check_interval"}
HINTS = {"No supported gpu backend": "; accepted: trainer=cpu on a machine without a GPU"}
MONITOR = re.compile(r"^(train|val)/\w+$")


def check_run_objects(overrides: list[str]) -> None:
    """Instantiate every callback and logger and the trainer as `src.train` will; raise UserError."""
    # the trainer's start-up lines and warnings belong to the real run, not to this check
    with _run_config(overrides) as cfg, quiet_lightning(logging.ERROR, None), config_errors("config"):
        _check_numbers(cfg)
        _check_types("trainer", cfg.trainer)
        for group in ("callbacks", "logger"):
            for name, node in cfg[group].items():
                _check_types(f"{group}.{name}", node)
        callbacks = []
        for name, node in cfg.callbacks.items():
            if node is not None:
                callbacks.append(_build(f"callbacks.{name}", node))
                _check_monitor(f"callbacks.{name}.monitor", getattr(callbacks[-1], "monitor", None))
                if isinstance(callbacks[-1], ModelCheckpoint):
                    with config_errors(f"callbacks.{name}.filename"):
                        callbacks[-1].format_checkpoint_name({"epoch": 0, "step": 0})
        loggers = []
        for name, node in cfg.logger.items():
            if node is not None:
                loggers.append(_build(f"logger.{name}", node))
                with config_errors(f"logger.{name}"):
                    getattr(loggers[-1], "log_dir", None)  # joins save_dir, name and version: no folder made
        _build("trainer", cfg.trainer, callbacks=callbacks, logger=loggers)


def check_bar_table(max_bar: int | None, corpus: Corpus) -> str | None:
    """Whether the net's position table (`model.net.max_bar` steps, None: it reads no meter) holds the
    bars of the training songs: a step in a longer bar reads an unknown meter. The warning line when
    some do not; UserError when more than half of the training steps would not."""
    songs = corpus.split("train")
    if max_bar is None or not songs:
        return None
    bars = [corpus.song_positions(s)[:, 1] for s in songs]  # + the '/'
    lost = sum(int((b > max_bar).sum()) for b in bars)
    if not lost:
        return None
    steps, longest = sum(len(b) for b in bars), max(int(b.max()) for b in bars)
    where = (f"{lost:,} of {steps:,} training steps ({lost / steps:.1%}), in "
             f"{sum(int(b.max()) > max_bar for b in bars)} of {len(songs)} songs; the longest bar is "
             f"{longest} steps")
    if 2 * lost > steps:
        raise UserError(f"model.net.max_bar={max_bar} is shorter than the bars of most training steps "
                        f"({where}): they would read an unknown meter; accepted: model.net.max_bar >= "
                        f"{longest}")
    return (f"warning: model.net.max_bar={max_bar} is shorter than some bars ({where}): those steps read an "
            f"unknown meter; model.net.max_bar >= {longest} holds them all")


def _check_numbers(cfg: DictConfig) -> None:
    """Values Lightning takes without checking and divides by or loops on later."""
    seed = cfg.get("seed")
    check("seed", seed, seed is None or is_integer(seed), "an integer (or null)")
    every = cfg.trainer.get("check_val_every_n_epoch")
    if every is not None:
        integer("trainer.check_val_every_n_epoch", every, 1,
                note=", or null (validate by val_check_interval steps across epochs)")
    interval = cfg.trainer.get("val_check_interval")
    check("trainer.val_check_interval", interval, not is_number(interval) or interval > 0,
          "a fraction of an epoch in (0, 1], a number of steps >= 1, or null (once per epoch)")


def _check_types(where: str, node) -> None:
    """Each value of a Lightning object's config against its constructor's annotation, where that is
    plain (int, str, Literal, Optional, ...): Lightning stores many of them unchecked and fails later."""
    if not isinstance(node, DictConfig) or not str(node.get("_target_", "")).startswith("lightning."):
        return
    try:
        target = get_object(node._target_)
        hints = typing.get_type_hints(target.__init__ if isinstance(target, type) else target)
    except Exception:  # unresolvable annotations: the constructor checks what it checks
        return
    for key in node:
        if key.startswith("_") or key not in hints:
            continue
        value = node[key]
        value = OmegaConf.to_container(value) if isinstance(value, DictConfig | ListConfig) else value
        check(f"{where}.{key}", value, _matches(value, hints[key]) is not False, _describe(hints[key]))


def _matches(value, hint) -> bool | None:
    """Whether `value` fits the annotation `hint`; None where the annotation is not a plain one."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is typing.Any:
        return True
    if hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        results = [_matches(value, arg) for arg in args]
        return True if True in results else None if None in results else False
    if origin is typing.Literal:
        return any(value == arg and type(value) is type(arg) for arg in args)
    plain = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}
    if hint in plain:
        return isinstance(value, plain[hint])
    if hint in (list, tuple) or origin in (list, tuple, collections.abc.Sequence, collections.abc.Iterable):
        return isinstance(value, list | tuple)
    if hint is dict or origin in (dict, collections.abc.Mapping):
        return isinstance(value, dict)
    return None


def _describe(hint) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in args)
    if origin is typing.Literal:
        return " or ".join(repr(arg) for arg in args)
    if hint is type(None):
        return "null"
    return getattr(hint, "__name__", str(hint))


def _check_monitor(where: str, monitor) -> None:
    """A monitored metric must be one the module can log: `train/...`, `val/...` (the names are checked
    against the logged ones when first used)."""
    check(where, monitor, monitor is None or isinstance(monitor, str) and bool(MONITOR.match(monitor)),
          "a logged metric's name such as val/loss or val/bits (train/..., val/...), or null")


def fit_config_error(err: BaseException) -> str | None:
    """The one-line message for what Lightning raises during `fit` about a setting that only the data
    can show wrong (a monitor naming no metric, a validation interval past the epoch); None otherwise."""
    text = str(err)
    if isinstance(err, MisconfigurationException):
        return explain("trainer", err)
    for pattern, where in RUNTIME_PATTERNS.items():
        if isinstance(err, ValueError | RuntimeError) and pattern in text:
            return explain(where, err)
    return None


def explain(where: str, err: BaseException) -> str:
    """`where: <the first line of the innermost cause>` for a config error raised while building."""
    while err.__cause__ is not None:
        err = err.__cause__
    key = getattr(err, "full_key", None)  # OmegaConf names the key, e.g. a broken interpolation
    message = one_line(err)
    hint = next((h for text, h in HINTS.items() if text in message), "")
    return f"{key or where}: {message}{hint}"


@contextlib.contextmanager
def config_errors(where: str) -> Iterator[None]:
    """Turn what Lightning, Hydra or a constructor raises for a bad value into a one-line UserError."""
    try:
        yield
    except UserError:
        raise
    except CONFIG_ERRORS as err:
        raise UserError(explain(where, err)) from None


def _build(where: str, node, **kwargs):
    with config_errors(where):
        return build(node, **kwargs)


@contextlib.contextmanager
def _run_config(overrides: list[str]) -> Iterator[DictConfig]:
    """The composed config with `${hydra:...}` resolvable, its run folder a path that is never made."""
    placeholder = Path(tempfile.gettempdir()) / "melody-generator-preflight-never-written"
    try:
        yield run_config(overrides, placeholder)
    finally:
        GlobalHydra.instance().clear()
        HydraConfig.instance().cfg = None
