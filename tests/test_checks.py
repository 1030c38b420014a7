"""src/checks.py: one message form, bools never numbers, bounds as described, values returned."""

import math

import pytest

from src.checks import (
    boolean,
    check,
    choice,
    integer,
    integer_range,
    is_integer,
    is_number,
    keys,
    number,
    number_range,
    refusal,
    refuse,
)
from src.errors import UserError


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(UserError) as info:
        call(*args, **kwargs)
    return str(info.value)


def test_the_one_message_form():
    assert refusal("model.net.max_bar", 0, "an integer 1..255") == (
        "model.net.max_bar=0 is not accepted; accepted: an integer 1..255")
    assert refusal("key", "H", "a tonic") == "key='H' is not accepted; accepted: a tonic"
    assert refused(refuse, "x", [1], "a number") == "x=[1] is not accepted; accepted: a number"


def test_check_takes_a_bool_or_a_test_and_returns_the_value():
    assert check("x", "a", True, "text") == "a"
    assert check("x", 3, lambda v: v > 2, "more than 2") == 3
    assert refused(check, "x", 1, lambda v: v > 2, "more than 2") == (
        "x=1 is not accepted; accepted: more than 2")
    assert refused(check, "x", None, False, "text") == "x=None is not accepted; accepted: text"


def test_integer_bounds_are_inclusive_and_described():
    assert integer("model.net.max_bar", 1, 1, 255) == 1
    assert integer("model.net.max_bar", 255, 1, 255) == 255
    assert refused(integer, "model.net.max_bar", 256, 1, 255) == (
        "model.net.max_bar=256 is not accepted; accepted: an integer 1..255")
    assert refused(integer, "model.net.max_bar", 0, 1, 255) == (
        "model.net.max_bar=0 is not accepted; accepted: an integer 1..255")
    assert refused(integer, "top_k", -1, 0, note="(0 = off)") == (
        "top_k=-1 is not accepted; accepted: an integer >= 0 (0 = off)")
    assert refused(integer, "x", 10, high=9) == "x=10 is not accepted; accepted: an integer <= 9"
    assert integer("seed", -5) == -5
    assert refused(integer, "seed", "5") == "seed='5' is not accepted; accepted: an integer"


def test_integer_refuses_bools_floats_and_text():
    for value in (True, False, 1.0, 2.5, "3", None, [1]):
        assert refused(integer, "model.net.hidden_size", value, 1).startswith(
            f"model.net.hidden_size={value!r} is not accepted; accepted: an integer >= 1")


def test_big_bounds_read_as_powers_of_two():
    assert integer("rng_seed", 2**63 - 1, 0, 2**63 - 1) == 2**63 - 1
    assert refused(integer, "rng_seed", 2**63, 0, 2**63 - 1) == (
        "rng_seed=9223372036854775808 is not accepted; accepted: an integer 0 .. 2**63 - 1")
    assert integer_range(0, 2**32) == "an integer 0 .. 2**32"
    assert integer_range(1, 1000) == "an integer 1..1000"
    assert integer_range(None, None) == "an integer"


def test_number_bounds_open_and_closed():
    assert number("top_p", 1, gt=0, le=1) == 1.0 and isinstance(number("top_p", 1, gt=0, le=1), float)
    assert refused(number, "top_p", 0, gt=0, le=1) == "top_p=0 is not accepted; accepted: a number in (0, 1]"
    assert refused(number, "top_p", 1.5, gt=0, le=1) == (
        "top_p=1.5 is not accepted; accepted: a number in (0, 1]")
    assert number("model.net.dropout", 0, ge=0, lt=1) == 0.0
    assert refused(number, "model.net.dropout", 1, ge=0, lt=1) == (
        "model.net.dropout=1 is not accepted; accepted: a number in [0, 1)")
    assert refused(number, "optimizer.lr", 0, gt=0) == (
        "optimizer.lr=0 is not accepted; accepted: a number > 0")
    assert number("optimizer.weight_decay", 0, ge=0) == 0.0
    assert refused(number, "w", -0.1, ge=0) == "w=-0.1 is not accepted; accepted: a number >= 0"
    assert refused(number, "w", 2, lt=2) == "w=2 is not accepted; accepted: a number < 2"
    assert number("w", 2, le=2) == 2.0
    assert refused(number, "w", 3, le=2) == "w=3 is not accepted; accepted: a number <= 2"
    assert number_range() == "a number" and number_range(gt=0, le=1000) == "a number in (0, 1000]"
    assert refused(number, "model.free_bits", -1, ge=0, note="(nats per latent dimension)") == (
        "model.free_bits=-1 is not accepted; accepted: a number >= 0 (nats per latent dimension)")
    with pytest.raises(ValueError):
        number("w", 1, gt=0, ge=0)


def test_number_refuses_bools_text_and_what_is_not_finite():
    for value in (True, False, "0.5", None, math.nan, math.inf, -math.inf, 10**400):
        assert refused(number, "temperature", value, gt=0) == (
            f"temperature={value!r} is not accepted; accepted: a number > 0")


def test_predicates():
    assert is_integer(3) and not is_integer(True) and not is_integer(3.0)
    assert is_number(3) and is_number(0.5) and not is_number(False) and not is_number(math.nan)


def test_a_note_after_a_comma_follows_directly():
    assert refused(integer, "max_span", -2, 0, note=", semitones (0 = off)") == (
        "max_span=-2 is not accepted; accepted: an integer >= 0, semitones (0 = off)")


def test_boolean_takes_only_bools():
    assert boolean("quick", True) is True and boolean("quick", False) is False
    for value in (0, 1, "true", None):
        assert refused(boolean, "quick", value) == f"quick={value!r} is not accepted; accepted: true or false"


def test_choice_lists_the_options():
    assert choice("mode", "vary", ("continue", "vary")) == "vary"
    assert refused(choice, "mode", "jam", ("continue", "vary")) == (
        "mode='jam' is not accepted; accepted: continue, vary")
    assert choice("optimizer.name", "adamw", {"adam": 1, "adamw": 2}) == "adamw"  # a mapping's keys
    assert refused(choice, "x", {"a": 1}, {"a": 1}) == "x={'a': 1} is not accepted; accepted: a"
    assert refused(choice, "split", "train", ("test", "val"), note="(held out)") == (
        "split='train' is not accepted; accepted: test, val (held out)")
    assert refused(choice, "x", True, (1, 2)) == "x=True is not accepted; accepted: 1, 2"


def test_keys_names_the_first_unknown_key_and_its_value():
    keys("optimizer", {"lr": 1, "name": "adam"}, ("name", "lr", "weight_decay"))
    assert refused(keys, "optimizer", {"lr": 1, "momentum": 0.9}, ("name", "lr")) == (
        "optimizer.momentum=0.9 is not accepted; accepted: a setting of optimizer: name, lr")
    assert refused(keys, "model.net", {"width": 3}, ["hidden_size"], owner="GRUNet", note="(see conf/)") == (
        "model.net.width=3 is not accepted; accepted: a setting of GRUNet: hidden_size (see conf/)")
