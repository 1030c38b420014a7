"""The running app: Debian's Chromium generates once (screenshot not blank, no request leaves the machine),
continues a pasted ABC tune and downloads the melody's ABC, and 20 sessions generating at once all
succeed with bounded memory."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

from tests.app_fixtures import app_dirs
from tools.app_load import run_load
from tools.app_screenshot import widget
from tools.app_server import CHROMIUM, CHROMIUM_FLAGS, serve

SEED = "60 _ 62 _ 64 _ 65 _ 67 _ _ 69 71 _ 72 _ _"
TUNE = "X:1\nT:Browser reel\nR:reel\nM:4/4\nL:1/8\nK:D\nDFAd fdAF|GBdg fdAF|DFAd fdAF|E2F2 D4|]\n"
NEEDS_CHROMIUM = pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"{CHROMIUM} is missing: `make browser` "
                                    "installs Debian's chromium (as root or with sudo), as `make test` does")


@pytest.fixture(scope="module")
def server(tmp_path_factory, erk5_dir, trained_run):
    models, outputs = app_dirs(tmp_path_factory.getbasetemp() / "app_models", erk5_dir, trained_run)
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with serve(models, outputs, agent_api=True, log=log) as running:
        yield running


@NEEDS_CHROMIUM
def test_chromium_generates_once_and_the_page_is_not_blank(server, tmp_path):
    from PIL import Image
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(  # a new profile in a new folder
            tmp_path / "profile", executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_FLAGS),
            viewport={"width": 1000, "height": 1400})
        try:
            page = browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            page.goto(server.url, wait_until="domcontentloaded")
            seed = page.get_by_label("Enter a seed melody")
            seed.fill(SEED)
            seed.press("Enter")  # a text input hands its value to the app on Enter (or blur)
            page.get_by_role("button", name="Generate Melody").click()
            page.get_by_role("button", name="Download MIDI").wait_for(timeout=60_000)
            page.locator("audio").first.wait_for(state="attached", timeout=10_000)
            page.locator("img").first.wait_for(timeout=10_000)  # the sheet
            shown = page.locator("code").first.inner_text()
            png = page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
        finally:
            browser.close()
    assert shown.split()[:len(SEED.split())] == SEED.split(), shown
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64)
    assert pixels.std() > 10 and (pixels < 128).mean() > 0.005, "the screenshot is blank"
    web = [urlparse(url) for url in requested]
    hosts = {url.hostname for url in web if url.scheme in ("http", "https", "ws", "wss")}
    assert hosts == {"127.0.0.1"}, f"requests left the machine: {sorted(map(str, hosts))}"


@NEEDS_CHROMIUM
def test_chromium_continues_a_pasted_abc_tune_and_downloads_its_abc(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            tmp_path / "profile", executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_FLAGS),
            viewport={"width": 1000, "height": 1400}, accept_downloads=True)
        try:
            page = browser.new_page()
            page.goto(server.url, wait_until="domcontentloaded")
            page.get_by_text("ABC (paste)").click()
            pasted = widget(page, "abc_text", "textarea")
            pasted.fill(TUNE)
            pasted.press("Control+Enter")  # a text area hands its value to the app on Ctrl+Enter (or blur)
            steps = widget(page, "steps", "input")
            steps.fill("32")
            steps.press("Enter")
            page.get_by_role("button", name="Generate Melody").click()
            download_abc = page.get_by_role("button", name="Download ABC")
            download_abc.wait_for(timeout=60_000)
            shown = page.locator("code", has_text="X:1").first
            shown.wait_for(timeout=60_000)  # the ABC block may render after the download buttons
            abc = shown.inner_text()
            with page.expect_download() as downloading:
                download_abc.click()
            download = downloading.value
            name, text = download.suggested_filename, Path(download.path()).read_text()
        finally:
            browser.close()
    assert abc.startswith("X:1\nT:Browser reel 0\n") and {"R:reel", "M:4/4", "K:D"} <= set(abc.splitlines())
    tune = pitches(TUNE)
    assert pitches(abc)[:len(tune)] == tune, abc  # the tune, where it sits, then the melody
    assert name == "melody_01.abc" and text.strip() == abc.strip()


def pitches(abc: str) -> list[int]:
    """The MIDI pitches of an ABC tune as music21 reads it, tied notes as one."""
    import music21 as m21

    return [n.pitch.midi for n in m21.converter.parse(abc, format="abc").stripTies().recurse().notes]


def test_twenty_sessions_generate_at_once_within_bounded_memory(server):
    report = run_load(server.url, server.pid, "bundled debug", sessions=20, steps=64)
    assert report["succeeded"] == 20, [r for r in report["results"] if r["errors"] or r["status"] != "ready"]
    assert report["rss_peak_mb"] - report["rss_before_mb"] < 400, report
    seed_refusal, steps_refusal = report["refusals"]
    assert len(seed_refusal) == 1 and "symbols is too long; accepted: at most 1000" in seed_refusal[0]
    assert len(steps_refusal) == 1 and "steps=100000 is not accepted" in steps_refusal[0]
