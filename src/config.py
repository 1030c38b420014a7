"""Compose Hydra configs outside `@hydra.main` (prepare, sample, tests) with clear override errors;
literal `name=value` settings for the sample and evaluate commands."""

from __future__ import annotations

import contextlib
import re
import tempfile
from pathlib import Path

import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, InstantiationException, OverrideParseException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from src.checks import refuse
from src.errors import UserError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "conf"


def compose_config(name: str, overrides: list[str] | None = None) -> DictConfig:
    """Compose `conf/<name>.yaml` with command-line style overrides; bad ones raise UserError."""
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return compose(config_name=name, overrides=list(overrides or []))
    except (HydraException, OmegaConfBaseException) as err:
        raise UserError(_explain_compose_error(err)) from None


def run_config(overrides: list[str], run_dir: Path) -> DictConfig:
    """The config `python -m src.train` would run, with `${hydra:...}` resolvable and the run folder at
    `run_dir` (set as the current Hydra config: tests, and the checks before training, build from it)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=list(overrides), return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(run_dir)
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    return cfg


def _explain_compose_error(err: BaseException) -> str:
    """Hydra's multi-line composition errors as one line naming the key and what is accepted."""
    if isinstance(err, OverrideParseException):
        return _explain_unreadable_override(err.override)
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    first = lines[0] if lines else type(err).__name__
    options = next((i for i, line in enumerate(lines) if line.startswith("Available options")), None)
    if options is not None:
        accepted = []
        for line in lines[options + 1:]:
            if line.startswith("Config search path"):
                break
            accepted.append(line)
        return f"{first}; accepted: {', '.join(accepted)}"
    if first.startswith("Could not override"):
        moved = re.match(r"Could not override 'model\.(?!net\.)(\w+)'", first)
        if moved:  # the network's settings moved under model.net
            return (f"{first.rstrip('.')}: no such key; the network's settings are under model.net: "
                    f"accepted: model.net.{moved.group(1)}=... (or '+key=value' to add a key)")
        return f"{first.rstrip('.')}: no such key; accepted: the keys in conf/ (or '+key=value' to add one)"
    return first


def _explain_unreadable_override(override: str) -> str:
    """How to quote a value Hydra's override grammar cannot read bare (a path with a space, say)."""
    key, sep, value = override.partition("=")
    if not sep:
        return (f"{override!r} is not key=value (a value split at a space by the shell?); accepted: "
                "key=value, a value with a space quoted, e.g. 'data.corpus=\"/home/me/my tunes\"'")
    bare = value.strip().strip("'\"").replace('"', '\\"')
    return (f"{override!r} cannot be read: a value with a space, a non-ASCII letter or any of "
            f"()[]{{}},:='\" must be quoted; accepted: double quotes inside the shell's single quotes, "
            f"e.g. '{key}=\"{bare}\"'")


def one_line(err: BaseException) -> str:
    """The first meaningful line of an exception message."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def to_plain(cfg) -> dict:
    """OmegaConf -> plain dict (resolved), for hyperparameters that must load with weights_only."""
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)


def build(node, **kwargs):
    """`hydra.utils.instantiate`, letting a UserError raised by the constructor through unwrapped."""
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as err:
        cause = err.__cause__
        while cause is not None and not isinstance(cause, UserError):
            cause = cause.__cause__
        if cause is not None:
            raise cause from None
        raise


def generation_defaults() -> dict:
    """The generation settings and their defaults (conf/generation.yaml): GenerationRequest's."""
    return OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "generation.yaml"))


def literal_settings(argv: list[str], name: str, text_keys: tuple[str, ...],
                     generation: tuple[str, ...] = ()) -> dict:
    """`key=value` pairs over `conf/<name>.yaml` (under the `generation` settings it takes from
    conf/generation.yaml), without Hydra's grammar (so `key=f#m` or a path with `,` passes): keys in
    `text_keys` are taken as text, others as YAML scalars."""
    defaults = generation_defaults()
    settings = {key: defaults[key] for key in generation}
    settings.update(OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / f"{name}.yaml")))
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep or key not in settings:
            raise UserError(f"unknown argument {arg!r}; accepted: {', '.join(f'{k}=' for k in settings)}")
        settings[key] = value if key in text_keys else _scalar(key, value)
    return settings


def check_writable(out_dir: Path, setting: str = "out_dir") -> None:
    """Fail before any work when `out_dir` cannot be made and written: its missing folders are made and
    a file written in it, then all of that removed (permission bits alone miss /proc, read-only mounts)."""
    out_dir = Path(out_dir)
    missing = []
    probe = out_dir
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    made: list[Path] = []
    try:
        if not probe.is_dir():
            raise NotADirectoryError(f"{probe} is not a folder")
        for folder in reversed(missing):
            folder.mkdir()
            made.append(folder)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as err:
        why = f"{err.strerror}: {err.filename}" if err.strerror and err.filename else str(err)
        raise UserError(f"{setting}={out_dir} cannot be written ({why}); accepted: a folder this user can "
                        "create and write") from None
    finally:
        for folder in reversed(made):  # nothing is left behind by the check
            with contextlib.suppress(OSError):
                folder.rmdir()


def _scalar(name: str, value: str):
    try:
        return yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        pass
    refuse(name, value, "a YAML value: a number, true, false, null, text or a list like [a, b]")


def parse_device(text: str, setting: str = "device"):
    """A torch device from `device=` (cpu, cuda, cuda:N, mps) that this machine has, or a UserError naming
    the ones it has (a missing GPU would otherwise surface later as an unreadable checkpoint)."""
    import torch

    here = available_devices()
    try:
        device = torch.device(text)
        name = (f"cuda:{device.index or 0}" if device.type == "cuda"
                else device.type if device.index in (None, 0) else str(device))  # cpu:0 is cpu
    except RuntimeError:  # not a device's name
        name = None
    if name not in here:
        refuse(setting, text, f"a device of this machine: {', '.join(here)}")
    return device


def available_devices() -> list[str]:
    """The devices this machine has: cpu, then cuda:0.. and mps where torch sees them."""
    import torch

    cuda = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    mps = ["mps"] if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available() else []
    return ["cpu", *cuda, *mps]
