"""One way to check a setting: each function checks one value and returns it (an int, a float, a bool, one
of the options) or raises UserError in the one form a user mistake is reported in,

    `{setting}={value!r} is not accepted; accepted: {accepted}`

naming the setting as the user writes it (`model.net.max_bar`, `--window`). A bool is never an integer
or a number here (`True == 1` in Python, not on a command line). `note` follows the description of what
is accepted: after a space, or directly when it starts with `,` or `;`
(`integer("max_span", v, 0, note="(0 = off)")` -> `accepted: an integer >= 0 (0 = off)`). The exit code
and the `error: ` line are src/errors.py's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import NoReturn, TypeVar

from src.errors import UserError

T = TypeVar("T")


def refusal(setting: str, value: object, accepted: str) -> str:
    """The one message form of a refused setting."""
    return f"{setting}={value!r} is not accepted; accepted: {accepted}"


def refuse(setting: str, value: object, accepted: str) -> NoReturn:
    """Raise UserError for `setting=value`, saying what is `accepted`."""
    raise UserError(refusal(setting, value, accepted))


def check(setting: str, value: T, ok: bool | Callable[[T], bool], accepted: str) -> T:
    """`value` when `ok` (a bool, or a test of the value) holds, else UserError saying what is `accepted`."""
    if not (ok(value) if callable(ok) else ok):
        refuse(setting, value, accepted)
    return value


def is_integer(value: object) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """A finite int or float that is not a bool."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an int past the floats
        return False


def integer(setting: str, value: object, low: int | None = None, high: int | None = None,
            note: str = "") -> int:
    """An int (not a bool) in low..high, both included, either bound optional:
    `integer("model.net.max_bar", v, 1, 255)` -> `accepted: an integer 1..255`."""
    inside = is_integer(value) and (low is None or value >= low) and (high is None or value <= high)
    return check(setting, value, inside, _with(integer_range(low, high), note))


def number(setting: str, value: object, *, gt: float | None = None, ge: float | None = None,
           lt: float | None = None, le: float | None = None, note: str = "") -> float:
    """A finite int or float (not a bool) within the bounds given: above `gt` or from `ge`, below `lt` or
    up to `le`: `number("top_p", v, gt=0, le=1)` -> `accepted: a number in (0, 1]`. Returns it as a float."""
    if gt is not None and ge is not None or lt is not None and le is not None:
        raise ValueError("one lower bound (gt or ge) and one upper bound (lt or le) at most")
    inside = is_number(value) and (gt is None or value > gt) and (ge is None or value >= ge) and (
        lt is None or value < lt) and (le is None or value <= le)
    check(setting, value, inside, _with(number_range(gt, ge, lt, le), note))
    return float(value)


def boolean(setting: str, value: object, note: str = "") -> bool:
    """true or false (a bool: not 0, 1 or text)."""
    return check(setting, value, isinstance(value, bool), _with("true or false", note))


def choice(setting: str, value: T, options: Iterable, note: str = "") -> T:
    """One of `options` (a mapping: one of its keys): `accepted: a, b, c`."""
    options = list(options)
    try:
        ok = not isinstance(value, bool) and value in options
    except TypeError:  # an unhashable value against a mapping's keys
        ok = False
    return check(setting, value, ok, _with(", ".join(str(o) for o in options), note))


def keys(group: str, settings: Mapping, accepted: Collection[str], owner: str | None = None,
         note: str = "") -> None:
    """Every key of `settings` (the settings under `group`) is one of `accepted`; the first that is not:
    `group.key=value is not accepted; accepted: a setting of OWNER: a, b, c` (OWNER defaults to group)."""
    for key, value in settings.items():
        if key not in accepted:
            listed = f"a setting of {owner or group}: {', '.join(accepted)}"
            refuse(f"{group}.{key}", value, _with(listed, note))


def integer_range(low: int | None, high: int | None) -> str:
    """`an integer 1..255`, `an integer >= 0`, `an integer <= 9`, `an integer`."""
    if low is not None and high is not None:
        first, last = _bound(low), _bound(high)
        spaced = "**" in first + last  # 0 .. 2**63 - 1 reads better than 0..2**63 - 1
        return f"an integer {first}{' .. ' if spaced else '..'}{last}"
    if low is not None:
        return f"an integer >= {_bound(low)}"
    if high is not None:
        return f"an integer <= {_bound(high)}"
    return "an integer"


def number_range(gt: float | None = None, ge: float | None = None, lt: float | None = None,
                 le: float | None = None) -> str:
    """`a number in (0, 1]`, `a number > 0`, `a number >= 0`, `a number`."""
    low, high = (gt if gt is not None else ge), (lt if lt is not None else le)
    if low is not None and high is not None:
        return f"a number in {'(' if gt is not None else '['}{low}, {high}{')' if lt is not None else ']'}"
    if low is not None:
        return f"a number {'>' if gt is not None else '>='} {low}"
    if high is not None:
        return f"a number {'<' if lt is not None else '<='} {high}"
    return "a number"


def _bound(n: int) -> str:
    """A bound as written: 2**63 - 1 rather than its 19 digits."""
    for power in range(32, 129):
        if n == 2**power - 1:
            return f"2**{power} - 1"
        if n == 2**power:
            return f"2**{power}"
    return str(n)


def _with(description: str, note: str) -> str:
    if not note:
        return description
    return description + (note if note[0] in ",;" else f" {note}")
