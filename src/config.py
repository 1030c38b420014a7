"""Compose Hydra configs outside `@hydra.main` (prepare, sample, tests) with clear override errors."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from src.errors import UserError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "conf"


def compose_config(name: str, overrides: list[str] | None = None) -> DictConfig:
    """Compose `conf/<name>.yaml` with command-line style overrides; bad ones raise UserError."""
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return compose(config_name=name, overrides=list(overrides or []))
    except (HydraException, OmegaConfBaseException) as err:
        raise UserError(one_line(err)) from None


def one_line(err: BaseException) -> str:
    """The first meaningful line of an exception message."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def to_plain(cfg) -> dict:
    """OmegaConf -> plain dict (resolved), for hyperparameters that must load with weights_only."""
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
