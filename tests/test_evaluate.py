"""`python -m src.evaluate`: a report of one run, a leaderboard of several, one-line refusals."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from src.config import available_devices
from src.data.corpus import load_or_build
from src.data.datamodule import split_array
from src.data.record import EncodingRecord
from src.data.vocab import Vocabulary
from src.evaluate import RUN_FILES, default_out_dir
from src.evaluate import main as evaluate_main
from src.models.checkpoint import load_module
from src.train import train
from tests.conftest import run_config, small_data
from tests.test_config import unavailable_devices, unwritable_dirs

QUICK = ("num_samples=3", "steps=24", "seed_length=8", "window=16")


def test_report_of_a_trained_run(trained_run, erk5_dir, tmp_path, capsys):
    out = tmp_path / "report"
    result = evaluate_main([f"ckpt={trained_run}", f"out_dir={out}", *QUICK])
    assert sorted(p.name for p in out.iterdir()) == [
        "report.json", "report.md", "report_histograms.png", "report_scalars.png"]
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((out / "report.json").read_text())  # strict JSON: nan written as null
    assert saved["checkpoint_sha256"] == result["checkpoint_sha256"]
    assert saved["data"]["test_fraction"] == 0.2  # the run's split, read from its config

    # held-out bits: every test target, as an independent plain loop computes them
    corpus = load_or_build(EncodingRecord(corpus=str(erk5_dir), val_fraction=0.2, test_fraction=0.2),
                           trained_run.parent / "cache")
    module = load_module(trained_run / "checkpoints" / "best.ckpt")
    tokens, targets = split_array(corpus, "test", module.window)
    windows = torch.from_numpy(tokens).unfold(0, module.window, 1)[torch.from_numpy(targets) - module.window]
    with torch.no_grad():
        nats = torch.nn.functional.cross_entropy(module(windows), torch.from_numpy(tokens[targets]).long())
    assert result["heldout"]["targets"] == len(targets)
    assert result["heldout"]["metrics"]["test/bits"] == pytest.approx(float(nats) / math.log(2), rel=1e-5)

    sets = result["sets"]
    assert sets["real"]["count"] == len(corpus.split("test"))
    assert sets["seeded"]["count"] == sets["unseeded"]["count"] == 3
    test_songs = {" ".join(corpus.vocab.decode(corpus.tokens[s["offset"]:s["offset"] + 8]))
                  for s in corpus.split("test")}
    for melody in result["melodies"]["seeded"]:
        assert " ".join(melody.split()[:8]) in test_songs and len(melody.split()) <= 8 + 24
    assert set(result["distances"]["seeded"]) == {*sets["real"]["scalars"], "pitch_classes", "durations"}
    memory = result["memorization"]
    assert memory["real"]["window"] == 16 and 0 <= memory["unseeded"]["share"] <= 1

    realism = result["realism"]  # each set against the held-out songs; training songs and an n-gram: controls
    assert set(realism) == {"train_songs", "ngram", "seeded", "unseeded"}
    assert realism["train_songs"]["count_a"] == realism["train_songs"]["count_b"] == sets["real"]["count"]
    assert all(0 <= r["balanced_accuracy"] <= 1 and 0 <= r["auc"] <= 1 for r in realism.values())

    # rhythm in the bar: held-out songs in their own meters; the seeded set in its songs' meters
    rhythm, meters = result["rhythm"], result["meters"]
    assert set(rhythm) == {"real", "seeded", "unseeded"}
    assert rhythm["real"]["overall"]["melodies"] == sets["real"]["count"]
    assert sum(g["melodies"] for g in rhythm["real"]["by_meter"].values()) == sets["real"]["count"]
    assert 0.5 < rhythm["real"]["overall"]["downbeat_onset_rate"] <= 1  # real songs mostly hit the downbeat
    by_opening = {" ".join(corpus.vocab.decode(corpus.tokens[s["offset"]:s["offset"] + 8])): s
                  for s in corpus.split("test")}
    for melody, meter in zip(result["melodies"]["seeded"], meters["seeded"], strict=True):
        song = by_opening[" ".join(melody.split()[:8])]
        assert (meter["time_signature"], meter["pickup"], meter["key_mode"]) == (
            song["time_signature"], song["pickup"], song["mode"])

    markdown = (out / "report.md").read_text()
    for heading in ("## Held-out metrics", "## Generated vs held-out melodies", "## Memorization",
                    "## Rhythm in the bar", "## Told apart from held-out songs"):
        assert heading in markdown
    assert "| test/bits |" in markdown and "| in-key rate |" in markdown
    assert markdown.strip() in capsys.readouterr().out

    again = evaluate_main([f"ckpt={trained_run}", f"out_dir={tmp_path / 'again'}", *QUICK])
    assert again["melodies"] == result["melodies"]  # the same rng_seed, the same melodies


def test_split_val_compares_with_the_validation_songs(trained_run, erk5_dir, tmp_path):
    out = tmp_path / "val"
    result = evaluate_main([f"ckpt={trained_run}", f"out_dir={out}", "split=val", "end_floor=0.05", *QUICK])
    corpus = load_or_build(EncodingRecord(corpus=str(erk5_dir), val_fraction=0.2, test_fraction=0.2),
                           trained_run.parent / "cache")
    module = load_module(trained_run / "checkpoints" / "best.ckpt")
    val_songs = corpus.split("val")
    _, targets = split_array(corpus, "val", module.window)
    assert result["data"]["split"] == "val" and result["data"]["heldout_songs"] == len(val_songs)
    assert result["sets"]["real"]["count"] == len(val_songs) and result["heldout"]["targets"] == len(targets)
    assert "val/bits" in result["heldout"]["metrics"] and "test/bits" not in result["heldout"]["metrics"]
    openings = {" ".join(corpus.vocab.decode(corpus.tokens[s["offset"]:s["offset"] + 8])) for s in val_songs}
    assert all(" ".join(m.split()[:8]) in openings for m in result["melodies"]["seeded"])
    markdown = (out / "report.md").read_text()
    assert "(val split:" in markdown and "| val/bits |" in markdown and "end_floor 0.05" in markdown


def test_default_out_dir_is_the_run_folder(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    evaluate_main([f"ckpt={run / 'checkpoints' / 'best.ckpt'}", *QUICK])
    assert (run / "report.json").is_file() and (run / "report.md").is_file()


def test_a_checkpoint_in_no_run_folder_reports_under_outputs(trained_run, tmp_path, monkeypatch, capsys):
    loose = tmp_path / "models"  # like the bundled models: a folder of checkpoints, no run around them
    loose.mkdir()
    shutil.copy(trained_run / "checkpoints" / "best.ckpt", loose / "tiny.ckpt")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    evaluate_main([f"ckpt={loose / 'tiny.ckpt'}", f"cache_dir={trained_run.parent / 'cache'}", *QUICK])
    out = Path("outputs") / "evaluate" / "tiny"
    assert sorted(p.name for p in out.iterdir()) == [
        "report.json", "report.md", "report_histograms.png", "report_scalars.png"]
    assert [p.name for p in loose.iterdir()] == ["tiny.ckpt"]  # nothing written beside the checkpoint
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"wrote report.json, report.md, report_histograms.png, report_scalars.png to {out}")


def test_only_a_checkpoint_in_a_run_folder_reports_into_it(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    assert default_out_dir(run / "checkpoints" / "best.ckpt") == run
    for marker in RUN_FILES:  # a checkpoint beside any file a training run writes
        folder = tmp_path / marker.replace("/", "_")
        (folder / marker).parent.mkdir(parents=True)
        (folder / marker).write_text("{}")
        assert default_out_dir(folder / "last.ckpt") == folder
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "gru.metrics.json").write_text("{}")  # a bundled model's own summary: no run
    assert default_out_dir(tmp_path / "models" / "gru.ckpt") == Path("outputs/evaluate/gru")


def test_a_vae_gets_reconstruction_metrics_and_prior_samples(trained_run, erk5_dir, tmp_path):
    run = tmp_path / "vae"  # no logger, no config files: the split must come from the checkpoint
    data = small_data(erk5_dir, trained_run.parent / "cache")
    train(run_config(run, ["experiment=vae", "trainer.fast_dev_run=true", "model.net.hidden_size=16",
                           "callbacks.sample_export.steps=8", *data]))
    result = evaluate_main([f"ckpt={run}", *QUICK, "steps=100"])
    assert result["vae"] and "test/recon_acc" in result["heldout"]["metrics"]
    assert result["data"]["split_from"] == "the checkpoint" and result["data"]["test_fraction"] == 0.2
    assert "seeded" not in result["sets"] and any("VAE" in note for note in result["notes"])
    assert result["sets"]["unseeded"]["scalars"]["length"] == [64.0] * 3  # one prior segment each
    assert json.loads((run / "report.json").read_text())["ended"] == {"unseeded": None}


def fake_run(folder: Path, experiment: str, overrides: list[str], seed: int, bits: float,
             mapping: dict | None = None, checkpoint: bool = True) -> Path:
    """A run folder as src.train leaves it, with a checkpoint holding only settings."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"seed": seed, "model": {"name": "x"}}))
    (folder / ".hydra" / "overrides.yaml").write_text(
        yaml.safe_dump([f"experiment={experiment}", *overrides, f"seed={seed}", "hydra.run.dir=x"]))
    metrics = {"test/bits": bits, "test/pitch_acc": 0.5, "test/onset_acc": bits / 10, "test/acc": 0.7,
               "val/bits": bits + 0.1}
    (folder / "metrics.json").write_text(json.dumps({"best_checkpoint": "", "metrics": metrics}))
    if checkpoint:
        (folder / "checkpoints").mkdir()
        encoding = {"mapping": mapping or Vocabulary().mapping, "sequence_length": 4}
        torch.save({"hyper_parameters": {"net": {"name": "x"}, "encoding": encoding}, "state_dict": {}},
                   folder / "checkpoints" / "best.ckpt")
    return folder


def test_leaderboard_groups_seeds_as_mean_and_std(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    for job, (experiment, overrides, seed, bits) in enumerate([
        ("gru", ["model.net.hidden_size=64"], 0, 1.0), ("gru", ["model.net.hidden_size=64"], 1, 1.2),
        ("gru", ["model.net.hidden_size=64"], 2, 1.4), ("lstm_attn", [], 0, 2.0), ("lstm_attn", [], 1, 2.5),
        ("gru", ["model.net.hidden_size=128"], 0, 0.9),
    ]):
        fake_run(sweep / str(job), experiment, overrides, seed, bits)
    (sweep / "multirun.yaml").write_text("{}")
    board = evaluate_main([f"runs={sweep}"])
    groups = [(g["experiment"], g["overrides"], g["seeds"]) for g in board["groups"]]
    assert groups == [("gru", ["model.net.hidden_size=128"], [0]),
                      ("gru", ["model.net.hidden_size=64"], [0, 1, 2]),
                      ("lstm_attn", [], [0, 1])]  # best mean test bits first
    gru = board["groups"][1]["metrics"]
    assert gru["test/bits"]["mean"] == pytest.approx(1.2) and gru["test/bits"]["std"] == pytest.approx(0.2)
    assert gru["test/onset_acc"]["std"] == pytest.approx(0.02)
    lstm = board["groups"][2]["metrics"]["test/bits"]
    assert lstm["mean"] == 2.25 and lstm["std"] == pytest.approx(0.5 / math.sqrt(2))
    assert board["groups"][0]["metrics"]["test/bits"]["std"] is None  # one seed: no spread
    assert [r["seed"] for r in board["runs"]][:2] == [0, 0] and len(board["runs"]) == 6
    table = (sweep / "leaderboard.md").read_text()
    assert "| gru | model.net.hidden_size=64 | 0, 1, 2 | 1.2000 ± 0.2000 |" in table
    assert "| 3 | lstm_attn | - | 0 | 2.0000 |" in table
    assert json.loads((sweep / "leaderboard.json").read_text())["groups"][1]["n"] == 3
    assert table.strip() in capsys.readouterr().out


def test_leaderboard_of_listed_run_folders(tmp_path):
    a = fake_run(tmp_path / "a", "gru", [], 0, 1.5)
    b = fake_run(tmp_path / "b", "gru", [], 1, 1.7)
    c = fake_run(tmp_path / "c", "gru", [], 2, 1.9)
    rhythm = {"downbeat_onset_rate": 0.875, "bar_repetition": 0.25}
    report = {"realism": {"unseeded": {"balanced_accuracy": 0.75}},
              "rhythm": {"unseeded": {"overall": rhythm}}}
    (a / "report.json").write_text(json.dumps(report))
    (c / "report.json").write_text(json.dumps(report | {"data": {"split": "val"}}))
    board = evaluate_main([f"runs={a},{b},{c}", f"out_dir={tmp_path / 'board'}"])
    assert board["groups"][0]["seeds"] == [0, 1, 2]
    # the realism and rhythm figures of a run evaluated on the test songs; none for a run never evaluated,
    # nor for one whose report compared with the validation songs
    assert [r["metrics"]["realism/unseeded"] for r in board["runs"]] == [0.75, None, None]
    assert [r["metrics"]["rhythm/downbeat_onset_rate"] for r in board["runs"]] == [0.875, None, None]
    table = (tmp_path / "board" / "leaderboard.md").read_text()
    assert "told apart" in table and "| 0.7500 |" in table
    assert "downbeat onsets" in table and "bar repetition" in table and "| 0.8750 |" in table


def refusal(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as info:
        evaluate_main(list(args))
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    return err


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert "holds no checkpoint" in refusal(capsys, f"ckpt={tmp_path / 'empty'}")
    assert "holds no run folders" in refusal(capsys, f"runs={tmp_path / 'empty'}")
    fake_run(tmp_path / "sweep" / "0", "gru", [], 0, 1.0)
    fake_run(tmp_path / "sweep" / "1", "gru", [], 1, 1.1, checkpoint=False)
    assert "holds no checkpoint" in refusal(capsys, f"runs={tmp_path / 'sweep'}")
    fake_run(tmp_path / "mixed" / "0", "gru", [], 0, 1.0)
    fake_run(tmp_path / "mixed" / "1", "gru", [], 1, 1.0, mapping=Vocabulary(36, 96).mapping)
    assert "different vocabularies" in refusal(capsys, f"runs={tmp_path / 'mixed'}")
    assert "give one of ckpt=" in refusal(capsys)
    assert "unknown argument" in refusal(capsys, "ckpt=x", "nope=1")
    assert "num_samples=0" in refusal(capsys, "ckpt=x", "num_samples=0")
    assert "split='train' is not accepted; accepted: test, val" in refusal(capsys, "ckpt=x", "split=train")
    assert "end_floor=-1 is not accepted" in refusal(capsys, "ckpt=x", "end_floor=-1")


def test_an_unwritable_out_dir_or_a_missing_device_is_refused_before_any_work(trained_run, tmp_path, capsys):
    for out in unwritable_dirs(tmp_path):
        assert refusal(capsys, f"ckpt={trained_run}", f"out_dir={out}").startswith(
            f"error: out_dir={out} cannot be written (")
        assert refusal(capsys, f"runs={trained_run}", f"out_dir={out}").startswith(  # the leaderboard's
            f"error: out_dir={out} cannot be written (")
    for device in unavailable_devices():
        assert refusal(capsys, f"ckpt={trained_run}", f"out_dir={tmp_path / 'out'}", f"device={device}") == (
            f"error: device={device!r} is not accepted; accepted: a device of this machine: "
            f"{', '.join(available_devices())}")
    assert not (tmp_path / "out").exists()


def test_leaderboard_ranks_reconstruction_scores_after_next_symbol_scores():
    from src.eval.leaderboard import COLUMNS, build

    def row(experiment: str, bits: float) -> dict:
        metrics = {key: 0.5 for key, _ in COLUMNS} | {"test/bits": bits}
        return {"run": experiment, "experiment": experiment, "overrides": [], "seed": 0,
                "metrics": metrics, "mapping": {"/": 0}}

    board = build([row("vae (reconstruction)", 1.0), row("gru", 1.3), row("ngram", 1.4)])
    assert [r["experiment"] for r in board["runs"]] == ["gru", "ngram", "vae (reconstruction)"]
