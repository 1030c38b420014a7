"""User mistakes end with one line, exit code 2 and no traceback (docs/design.md §9)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

USER_ERROR_EXIT = 2


class UserError(Exception):
    """A mistake in what the user asked for: the message says what was wrong and what is accepted."""


def exit_on_user_error(main: Callable[..., T]) -> Callable[..., T]:
    """Wrap a CLI entry point so a UserError prints `error: ...` on stderr and exits 2."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as err:
            print(f"error: {err}", file=sys.stderr)
            raise SystemExit(USER_ERROR_EXIT) from None

    return wrapper
