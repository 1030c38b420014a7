"""src/config.py's up-front checks: an out_dir that cannot be written, a device this machine lacks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from src.config import available_devices, check_writable, parse_device
from src.errors import UserError


def unwritable_dirs(tmp_path: Path) -> list[Path]:
    """Folders that cannot be made or written, each a different way: under a file, behind a dangling
    link, in a kernel file system (which permission bits call writable for root), read-only for a
    user who is not root."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    paths = [blocker / "sub", dangling, dangling / "sub"]
    if Path("/proc/self").is_dir():
        paths += [Path("/proc/x"), Path("/proc/x/y")]
    if os.geteuid() != 0:  # root writes into read-only folders
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        paths += [locked, locked / "sub"]
    return paths


def unavailable_devices() -> list[str]:
    """Devices torch can name that this machine does not have (on any machine: one past the last GPU)."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    names = [f"cuda:{count}", "cuda:7", "meta"]
    if not count:
        names.append("cuda")
    if "mps" not in available_devices():
        names.append("mps")
    return [n for n in names if n not in available_devices()]


def test_every_kind_of_unwritable_out_dir_is_one_line_naming_it(tmp_path):
    for path in unwritable_dirs(tmp_path):
        with pytest.raises(UserError) as refused:
            check_writable(path)
        message = str(refused.value)
        assert message.startswith(f"out_dir={path} cannot be written (") and "\n" not in message, message
        assert message.endswith("; accepted: a folder this user can create and write")


def test_the_check_leaves_nothing_behind(tmp_path):
    check_writable(tmp_path / "new" / "deeper")
    check_writable(tmp_path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(UserError, match=r"^--out=.*a-file/sub cannot be written"):
        check_writable(unwritable_dirs(tmp_path)[0], "--out")


def test_a_device_this_machine_lacks_is_refused_naming_those_it_has():
    here = ", ".join(available_devices())
    assert available_devices()[0] == "cpu"
    for name in unavailable_devices():
        with pytest.raises(UserError) as refused:
            parse_device(name)
        assert str(refused.value) == (
            f"device={name!r} is not accepted; accepted: a device of this machine: {here}")
    with pytest.raises(UserError,
                       match=rf"^device='gpu0' is not accepted; accepted: a device of this machine: {here}$"):
        parse_device("gpu0")


def test_the_devices_this_machine_has_are_taken():
    for name in available_devices():
        assert parse_device(name) == torch.device(name)
    assert parse_device("cpu:0").type == "cpu"
