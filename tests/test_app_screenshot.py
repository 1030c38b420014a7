"""`python -m tools.app_screenshot`: Chromium drives the app by its widget keys and saves a real PNG."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from tools.app_screenshot import main as screenshot_main
from tools.app_server import CHROMIUM


@pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"{CHROMIUM} is missing: `make browser` installs Debian's "
                    "chromium (as root or with sudo), as `make test` does")
def test_the_screenshot_tool_generates_once_and_saves_the_page(trained_run, tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "app.png"
    screenshot_main([str(out), str(trained_run), "seed=60 _ 62 _ 64 _ 65 _", "steps=32"])
    assert capsys.readouterr().out.strip() == f"saved {out}"
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (900, 1560)  # the tool's viewport, as docs/app.png
    assert 30_000 < len(data) < 5_000_000, len(data)
    pixels = np.asarray(Image.open(out).convert("L"), dtype=np.float64)
    assert pixels.std() > 10 and (pixels < 128).mean() > 0.005, "the screenshot is blank"
    assert (pixels[1000:] < 250).mean() > 0.01, "nothing below the settings: no melody was generated"
