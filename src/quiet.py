"""Lightning's start-up lines and warnings, silenced for commands that are not training runs."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric")


@contextlib.contextmanager
def quiet_lightning(
    level: int = logging.WARNING, warning_messages: tuple[str, ...] | None = ()
) -> Iterator[None]:
    """Raise Lightning's loggers to `level` and ignore warnings matching `warning_messages` (regexes;
    None ignores every warning) inside the block; both restored after it."""
    loggers = [logging.getLogger(name) for name in LIGHTNING_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
    try:
        with warnings.catch_warnings():
            if warning_messages is None:
                warnings.simplefilter("ignore")
            for message in warning_messages or ():
                warnings.filterwarnings("ignore", message=message)
            yield
    finally:
        for logger, level_before in zip(loggers, levels, strict=True):
            logger.setLevel(level_before)
