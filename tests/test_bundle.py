"""`python -m src.bundle`: slim float16 exports that load like any checkpoint and sample the same way."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from src.app.core import REPO
from src.bundle import BUNDLE, MAX_BYTES, SCORED_ON, main, score
from src.errors import UserError
from src.models.checkpoint import file_sha256, load_module
from tests.test_config import unwritable_dirs


def bundle(runs: Path, models: Path, *args: str) -> dict:
    return main(["names=[lstm_attn]", f"runs_dir={runs}", f"out_dir={models}",
                 f"cache_dir={runs.parent / 'cache'}", *args])


def test_export_is_small_loads_and_predicts_like_the_run(trained_run, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(trained_run, runs / "lstm_attn")  # a finished run: reused, not retrained
    records = bundle(runs, tmp_path / "models")
    out = tmp_path / "models" / "lstm_attn.ckpt"
    full = runs / "lstm_attn" / "checkpoints" / "best.ckpt"
    assert out.stat().st_size < full.stat().st_size / 2  # no optimizer state, half-size weights
    saved = json.loads((tmp_path / "models" / "lstm_attn.metrics.json").read_text())
    assert saved == records["lstm_attn"] and saved["sha256"] == file_sha256(out)
    # the export is scored itself, on the whole test split (the debug run scored 4 batches of it):
    # float16 weights move the float32 checkpoint's figure a little, not much
    full_split = score(full, str(tmp_path / "cache"))
    assert saved["metrics"]["test/bits"] != full_split["test/bits"]
    assert saved["metrics"]["test/bits"] == pytest.approx(full_split["test/bits"], abs=1e-2)
    assert saved["command"] == "python -m src.train experiment=lstm_attn"
    assert table_rows(tmp_path / "models" / "README.md")["lstm_attn"]["sha256"] == saved["sha256"]
    original, bundled = load_module(full), load_module(out)
    assert next(bundled.parameters()).dtype == torch.float32  # float16 on disk only
    x = torch.randint(0, len(original.vocab), (4, original.window))
    torch.testing.assert_close(bundled(x), original(x), atol=2e-2, rtol=0)
    assert bundled.hparams.encoding == original.hparams.encoding
    mtime = out.stat().st_mtime_ns
    bundle(runs, tmp_path / "models")
    assert out.stat().st_mtime_ns == mtime  # already exported from this run: left alone


def test_every_bundled_model_names_an_experiment():
    from src.config import CONFIG_DIR

    for overrides in BUNDLE.values():
        experiment = overrides[0].removeprefix("experiment=")
        assert (CONFIG_DIR / "experiment" / f"{experiment}.yaml").is_file()


def test_unknown_bundle_name_is_refused():
    with pytest.raises(SystemExit) as exit_info:
        main(["names=[nope]"])
    assert exit_info.value.code == 2
    with pytest.raises(UserError):
        main.__wrapped__(["names=[nope]"])


def test_an_unwritable_out_dir_is_refused_before_any_training(tmp_path, capsys):
    for out in unwritable_dirs(tmp_path):
        with pytest.raises(SystemExit) as exit_info:
            bundle(tmp_path / "runs", out)
        err = capsys.readouterr().err.strip().splitlines()
        assert exit_info.value.code == 2 and len(err) == 1 and f"out_dir={out} cannot be written (" in err[0]
    assert not (tmp_path / "runs").exists()


def test_an_export_with_no_run_behind_it_is_kept(trained_run, tmp_path, monkeypatch):
    runs, models = tmp_path / "runs", tmp_path / "models"
    shutil.copytree(trained_run, runs / "lstm_attn")
    first = bundle(runs, models)
    shutil.rmtree(runs)  # exports copied from another machine: no runs here

    def no_training(*args, **kwargs):
        raise AssertionError(f"trained although the export exists: {args}")

    monkeypatch.setattr("src.bundle.subprocess.run", no_training)
    mtime = (models / "lstm_attn.ckpt").stat().st_mtime_ns
    assert bundle(runs, models) == first
    assert (models / "lstm_attn.ckpt").stat().st_mtime_ns == mtime


def table_rows(readme: Path) -> dict[str, dict]:
    """The rows of a models/README.md table by model name: figures and sha256 as written."""
    rows = {}
    for line in readme.read_text().splitlines():
        cells = [c.strip().strip("`") for c in line.strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 9:
            name, command, task, step, bits, pitch, onset, size, sha = cells
            rows[name] = {"command": command, "task": task, "test/bits": float(bits),
                          "test/pitch_acc": float(pitch), "test/onset_acc": float(onset), "sha256": sha}
    return rows


SHIPPED = REPO / "models"


def test_every_bundled_model_is_shipped_with_a_row():
    rows = table_rows(SHIPPED / "README.md")
    assert sorted(rows) == sorted(BUNDLE)
    for name, row in rows.items():
        path = SHIPPED / f"{name}.ckpt"
        assert path.stat().st_size <= MAX_BYTES == 4 * 2**20
        assert file_sha256(path) == row["sha256"], f"{path} is not the file models/README.md describes"
        assert row["command"] == f"python -m src.train experiment={name}"
    order = [(row["task"] == "reconstruction", row["test/bits"]) for row in rows.values()]
    assert order == sorted(order)  # best first, as the app lists them: next-symbol models, then the VAE
    assert rows["vae"]["task"] == "reconstruction" and rows["gru"]["task"] == "next symbol"
    assert next(iter(rows)) == "transformer_folk"  # the fewest bits, which the app opens on


@pytest.mark.parametrize("name", list(BUNDLE))
def test_each_shipped_model_scores_what_its_row_says(name):
    row = table_rows(SHIPPED / "README.md")[name]
    # essen_erk's test split, built once into data/processed
    metrics = score(SHIPPED / f"{name}.ckpt", corpus=SCORED_ON.get(name))
    for key in ("test/bits", "test/pitch_acc", "test/onset_acc"):
        assert metrics[key] == pytest.approx(row[key], abs=1e-3), key


@pytest.mark.parametrize("name", list(BUNDLE))
def test_each_shipped_model_loads_and_samples(name, tmp_path):
    from src.sample import main as sample_main

    path = SHIPPED / f"{name}.ckpt"
    record = json.loads(path.with_suffix(".metrics.json").read_text())
    assert record["bytes"] == path.stat().st_size
    mode = ["mode=prior"] if name == "vae" else ["seed=60 _ 62 _ 64 _"]
    melodies = sample_main([f"ckpt={path}", f"out_dir={tmp_path}", "num_samples=2", "steps=32",
                            "rng_seed=1", *mode])
    assert len(melodies) == 2 and len(list(tmp_path.glob("*.mid"))) == 2


def test_songs_only_writes_what_the_training_songs_held_and_keeps_the_weights(transformer_run, tmp_path):
    from src.models.checkpoint import read_checkpoint, resolve_checkpoint, write_slim

    models = tmp_path / "models"
    out = models / "transformer_lm.ckpt"
    models.mkdir()
    write_slim(resolve_checkpoint(transformer_run), out)
    recorded = read_checkpoint(out)
    older = read_checkpoint(out)  # the export as it was before encoding.medians
    del older["hyper_parameters"]["encoding"]["medians"]
    torch.save(older, out)
    figures = {"test/bits": 3.0, "test/pitch_acc": 0.1, "test/onset_acc": 0.1}
    (models / "transformer_lm.metrics.json").write_text(json.dumps({
        "command": "python -m src.train experiment=transformer_lm", "task": "next symbol", "global_step": 6,
        "metrics": figures, "bytes": out.stat().st_size, "sha256": file_sha256(out)}))
    songs_only = [f"out_dir={models}", "names=[transformer_lm]", "songs_only=true",
                  f"cache_dir={transformer_run.parent / 'cache'}"]
    record = main(songs_only)["transformer_lm"]
    now = read_checkpoint(out)
    assert now["hyper_parameters"] == recorded["hyper_parameters"]  # the medians back, nothing else moved
    assert all(torch.equal(now["state_dict"][k], v) for k, v in older["state_dict"].items())
    assert record["sha256"] == file_sha256(out) and record["bytes"] == out.stat().st_size
    assert table_rows(models / "README.md")["transformer_lm"]["sha256"] == record["sha256"]
    mtime = out.stat().st_mtime_ns
    assert main(songs_only)["transformer_lm"] == record and out.stat().st_mtime_ns == mtime  # nothing to add
    other = read_checkpoint(out)  # meters that are not its corpus's: trained on other songs
    other["hyper_parameters"]["encoding"]["meters"] = [["4/4", 0, "major", 1]]
    torch.save(other, out)
    with pytest.raises(UserError, match="encoding.meters is not its corpus's"):
        main.__wrapped__(songs_only)
    with pytest.raises(UserError, match="songs_only=True is not accepted"):
        main.__wrapped__([*songs_only, "retrain=true"])
