"""`python -m tools.app_screenshot OUT.png RUN_OR_CKPT [seed=...] [steps=96]`: the app after one Generate.

Serves the app on a copy of one checkpoint (and its metrics.json), lets Debian's Chromium type the seed
and the length and press Generate Melody, found by their widget keys, and saves the page (docs/app.png is
made this way).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from src.app.core import EXAMPLE_SEEDS
from src.models.checkpoint import resolve_checkpoint
from tools.app_server import CHROMIUM, CHROMIUM_FLAGS, serve


def screenshot(out: Path, ckpt: Path, seed: str, steps: int, size: tuple[int, int] = (900, 1560)) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="app-shot-") as tmp:
        root = Path(tmp)
        run = root / "outputs" / ckpt.parent.parent.name
        (run / "checkpoints").mkdir(parents=True)
        shutil.copy(ckpt, run / "checkpoints" / "best.ckpt")
        if (ckpt.parent.parent / "metrics.json").is_file():
            shutil.copy(ckpt.parent.parent / "metrics.json", run / "metrics.json")
        with serve(root / "models", root / "outputs") as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch_persistent_context(
                root / "profile", executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_FLAGS),
                viewport={"width": size[0], "height": size[1]})
            page = browser.new_page()
            page.goto(server.url)
            for key, value in (("seed", seed), ("steps", str(steps))):
                field = widget(page, key, "input")
                field.fill(value)
                field.press("Enter")
            page.wait_for_timeout(1000)  # let the page take the values before the click
            widget(page, "generate", "button").click()
            widget(page, "midi_0", "button").wait_for(timeout=120_000)  # the first melody's download
            page.wait_for_timeout(1500)  # the sheet's image
            page.screenshot(path=str(out))
            browser.close()


def widget(page, key: str, tag: str):
    """The `tag` of the app's widget `key=` (src/app/main.py): Streamlit marks its container `st-key-KEY`.
    Keys are the page's stable names; labels are wording that changes."""
    return page.locator(f".st-key-{key} {tag}").first


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        raise SystemExit("usage: python -m tools.app_screenshot OUT.png RUN_OR_CKPT [seed=...] [steps=96]")
    options = dict(a.split("=", 1) for a in args[2:])
    out = Path(args[0])
    screenshot(out, resolve_checkpoint(args[1]), options.get("seed", EXAMPLE_SEEDS["C major scale"]),
               int(options.get("steps", 96)))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
