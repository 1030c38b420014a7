"""Shared fixtures: small real corpora from music21's bundled Essen files, and hand-written tunes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from src import config
from src.data.corpus import corpus_files, load_or_build
from src.data.record import EncodingRecord

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
    return load_or_build(EncodingRecord(corpus=str(erk5_dir)), cache, workers=1)


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """One intra-op thread for the whole session: tiny nets gain nothing from more, and a module- or
    session-scoped fixture (built before any function-scoped one) computes with the same thread count,
    hence the same float reduction order, as the tests that compare against it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_data(corpus_dir: Path, cache_dir: Path) -> list[str]:
    return [f"data.corpus={corpus_dir}", f"data.cache_dir={cache_dir}", "data.prepare_workers=1",
            "data.val_fraction=0.2", "data.test_fraction=0.2"]


def run_config(run_dir: Path, overrides: list[str]):
    """Compose the real config as `python -m src.train` would, with the run folder at `run_dir`."""
    return config.run_config(overrides, run_dir)


@pytest.fixture(scope="session")
def trained_run(erk5_dir, tmp_path_factory) -> Path:
    """A run folder of the debug experiment trained on erk5 (a toy model, a few seconds)."""
    from src.train import train

    root = tmp_path_factory.mktemp("trained")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(run_config(root / "run", ["experiment=debug", *small_data(erk5_dir, root / "cache")]))
    finally:
        torch.set_num_threads(threads)
    return root / "run"


@pytest.fixture(scope="session")
def transformer_run(erk5_dir, tmp_path_factory):
    """A tiny transformer_lm trained for a few steps on erk5 (with fill-in-the-middle windows)."""
    from src.train import train

    root = tmp_path_factory.mktemp("transformer")
    train(run_config(root / "run", [
        "experiment=transformer_lm", "model.net.d_model=16", "model.net.num_layers=1", "model.net.ff_size=32",
        "data.sequence_length=64", "data.segment_stride=64", "trainer.max_steps=6",
        "trainer.val_check_interval=3", "callbacks.sample_export.steps=8",
        *small_data(erk5_dir, root / "cache")]))
    return root / "run"


@pytest.fixture(scope="session")
def folk_dir(tmp_path_factory):
    """A folder of two collections: 52 O'Neill's tunes with R: fields (irish/), 27 Essen songs (german/)."""
    root = tmp_path_factory.mktemp("folk")
    for name, source in (("irish", corpus_files("oneills")[0] / "0759-0810.abc"),
                         ("german", ESSEN_DIR / "erk5.abc")):
        (root / name).mkdir()
        shutil.copy(source, root / name / source.name)
    return root


@pytest.fixture(scope="session")
def folk_run(folk_dir, tmp_path_factory):
    """A tiny transformer_folk trained for a few steps on the two collections."""
    from src.train import train

    root = tmp_path_factory.mktemp("folk_run")
    train(run_config(root / "run", [
        "experiment=transformer_folk", "model.net.d_model=16", "model.net.num_layers=1",
        "model.net.ff_size=32", "data.sequence_length=128", "data.segment_stride=128", "trainer.max_steps=4",
        "trainer.val_check_interval=2", "callbacks.sample_export.steps=8",
        *small_data(folk_dir, root / "cache")]))
    return root / "run"


def adam_losses(net, x, y, lr: float, steps: int = 15) -> list[float]:
    """Cross-entropy after each of `steps` Adam steps on one fixed batch (for "loss falls" tests)."""
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(net(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
