"""Shared fixtures: small real corpora from music21's bundled Essen files, and hand-written tunes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from src.data.corpus import EncodingConfig, corpus_files, load_or_build

ESSEN_DIR = corpus_files("essen_erk")[0]


def write_tunes(folder: Path, tunes: dict[str, str]) -> Path:
    """Write each ABC tune body to `folder/<name>.abc` with a standard header."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in tunes.items():
        (folder / f"{name}.abc").write_text(f"X:1\nT:{name}\n{body.strip()}\n")
    return folder


@pytest.fixture(scope="session")
def erk5_dir(tmp_path_factory) -> Path:
    """A folder corpus holding one real Essen file (erk5.abc, 27 tunes)."""
    folder = tmp_path_factory.mktemp("erk5")
    shutil.copy(ESSEN_DIR / "erk5.abc", folder / "erk5.abc")
    return folder


@pytest.fixture(scope="session")
def erk5_corpus(erk5_dir, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return load_or_build(EncodingConfig(corpus=str(erk5_dir)), cache, workers=1)
