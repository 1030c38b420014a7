"""`key=auto`: the training songs' keys recorded in the checkpoint, each melody's key drawn from those of
its mode, the melody moved there and written in it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from src.data.abc_keys import AbcKey
from src.data.keys import KEY_NAMES
from src.errors import UserError
from src.models.checkpoint import load_module
from src.models.generation import GenerationRequest
from src.models.generation.key_draw import draw_keys, shift_of
from src.models.generation.seeds import transpose_symbols
from src.sample import main as sample_main


def test_the_checkpoint_records_the_training_songs_keys(trained_run):
    module = load_module(trained_run / "checkpoints" / "best.ckpt")
    rows = module.encoding.keys
    assert rows and all(mode in ("major", "minor") and count > 0 for _, mode, count in rows)
    meters = sum(row[3] for row in module.encoding.meters)
    assert sum(row[2] for row in rows) == meters  # one key per training song


def test_keys_are_drawn_from_the_songs_of_each_mode():
    rows = (("D", "major", 3), ("G", "major", 1), ("E", "minor", 2))
    keys = draw_keys(rows, ["major"] * 400 + ["minor"] * 50, rng_seed=0)
    counts = Counter(keys[:400])
    assert set(counts) == {AbcKey(2, "major"), AbcKey(7, "major")}
    assert 0.65 < counts[AbcKey(2, "major")] / 400 < 0.85  # 3 of 4 songs
    assert set(keys[400:]) == {AbcKey(4, "minor")}
    assert keys == draw_keys(rows, ["major"] * 400 + ["minor"] * 50, rng_seed=0)
    assert shift_of(AbcKey(2, "major")) == -2 and shift_of(AbcKey(4, "minor")) == 5
    with pytest.raises(UserError, match="key=auto needs a checkpoint"):
        draw_keys((), ["major"], 0)


def test_key_auto_moves_each_melody_to_its_drawn_key(trained_run, tmp_path):
    module = load_module(trained_run / "checkpoints" / "best.ckpt")
    plain = module.generate(GenerationRequest(num_samples=6, steps=24, rng_seed=3))
    drawn = module.generate(GenerationRequest(num_samples=6, steps=24, rng_seed=3, key="auto"))
    assert drawn.meters == plain.meters  # the same meters and modes, then a key for each
    names = {(name, mode) for name, mode, _ in module.encoding.keys}
    for melody, model_key_melody, key, meter in zip(drawn.melodies, plain.melodies, drawn.keys,
                                                      drawn.meters, strict=True):
        assert key.mode == meter.mode and (KEY_NAMES[key.tonic], key.mode) in names
        assert melody == transpose_symbols(model_key_melody, -shift_of(key))
    sample_main([f"ckpt={trained_run}", f"out_dir={tmp_path / 'out'}", "key=auto", "num_samples=6",
                 "steps=24", "rng_seed=3"])
    for k, key in enumerate(drawn.keys):
        assert f"\nK:{key.field()}\n" in (tmp_path / "out" / f"melody_{k:02d}.abc").read_text()
        assert json.loads((tmp_path / "out" / f"melody_{k:02d}.json").read_text())["key"] == key.field()


def test_key_auto_takes_no_seed():
    with pytest.raises(UserError, match="key=auto draws each new melody's key"):
        GenerationRequest(seed="60 _ 62 _", key="auto")


def test_the_bundled_models_draw_keys_as_essens_songs_had_them():
    path = Path(__file__).resolve().parents[1] / "models" / "transformer_lm.ckpt"
    module = load_module(path)
    drawn = module.generate(GenerationRequest(num_samples=8, steps=16, key="auto"))
    names = {(name, mode) for name, mode, _ in module.encoding.keys}
    assert all((KEY_NAMES[key.tonic], key.mode) in names for key in drawn.keys)
    assert len(set(drawn.keys)) > 1  # not every melody in one key
