"""The melody VAE: segments, loss terms and schedules, interpolation, sampling modes, checkpoints."""

from __future__ import annotations

import json
import math
from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from src.data.datamodule import MelodyDataModule, split_array
from src.data.segments import SegmentDataset, segment_starts
from src.data.vocab import BOUNDARY_ID, FIRST_PITCH_ID, HOLD_ID, Vocabulary
from src.errors import UserError
from src.models.checkpoint import load_module
from src.models.generation.sampling import Sampling
from src.models.modules.kinds import WindowModule, module_kind
from src.models.modules.vae import VAEModule
from src.models.nets.vae import MelodyVAE, fit_segment, kl_per_dim, ramp, slerp, vae_loss
from src.sample import main as sample_main
from src.train import train
from tests.conftest import run_config, small_data

V, SEG = 40, 16
NET = {"_target_": "src.models.nets.vae.MelodyVAE", "segment_length": SEG, "hidden_size": 16,
       "latent_size": 4, "num_layers": 1, "dropout": 0.0}
SETTINGS = {"beta": 0.2, "free_bits": 0.0, "anneal_steps": 10}
TUNE_A = "60 _ 62 _ 64 _ _ _ 65 _ 64 _ 62 _ 60 _"
TUNE_B = "67 _ _ _ 65 _ 64 _ r _ 62 _ 60 _ _ _"


def _encoding(**extra) -> dict:
    return {"mapping": Vocabulary().mapping, "sequence_length": 8, "step": 0.25, "min_pitch": 48,
            "max_pitch": 84, "windows": "segments", "segment_length": SEG} | extra


def _ids(text: str) -> torch.Tensor:
    return torch.from_numpy(Vocabulary().encode(text.split())).long()


# ---------------------------------------------------------------- segments


def test_segments_start_at_onsets_on_a_stride_inside_songs():
    vocab = Vocabulary()
    song_a, song_b = "60 _ _ _ 62 _ r _ 64 _".split(), "65 _ _ _ _ _".split()
    tokens = vocab.encode(["/", "/", *song_a, "/", "/", *song_b, "/"])  # the split_array layout
    # grid offsets 0 2 4 6 8 of song a reach onsets 0 4 4 6 8; 8 + 4 > 10 does not fit; song b: offset 0
    assert segment_starts(tokens, 4, 2).tolist() == [2, 6, 8, 14]
    x, y = SegmentDataset(tokens, 4, 2, len(vocab)).batch(torch.arange(4))
    assert [vocab.decode(row) for row in x] == [song_a[0:4], song_a[4:8], song_a[6:10], song_b[0:4]]
    assert x.dtype == torch.uint8 and y.dtype == torch.int64 and torch.equal(x.long(), y)


def test_real_segments_never_start_with_a_hold_nor_cross_a_song_boundary(erk5_corpus):
    tokens, _ = split_array(erk5_corpus, "train", 8)
    dataset = SegmentDataset(tokens, 32, 16, len(erk5_corpus.vocab))
    x, _ = dataset.batch(torch.arange(len(dataset)))
    assert len(dataset) > 20 and (x[:, 0] != HOLD_ID).all() and (x != BOUNDARY_ID).all()
    assert dataset.segments.untyped_storage().data_ptr() == dataset.tokens.untyped_storage().data_ptr()
    assert (dataset.starts.diff() >= 1).all()


def test_datamodule_serves_segments_and_augments_only_training(erk5_dir, tmp_path):
    datamodule = MelodyDataModule(corpus=str(erk5_dir), cache_dir=str(tmp_path), prepare_workers=1,
                                  val_fraction=0.2, test_fraction=0.2, batch_size=8, windows="segments",
                                  segment_length=SEG, segment_stride=8, transpose_augment=[-5, 6])
    datamodule.prepare_data()
    datamodule.setup("fit")
    assert datamodule.encoding["windows"] == "segments" and datamodule.encoding["segment_length"] == SEG
    x, y = next(iter(datamodule.train_dataloader()))
    assert x.shape == (8, SEG) and torch.equal(x.long(), y)
    val = datamodule.datasets["val"]
    assert torch.equal(val.batch(torch.arange(4))[0], val.segments[val.starts[:4]])  # no shift
    assert datamodule.datasets["train"].augment == (-5, 6) and val.augment is None
    with pytest.raises(UserError, match="data.windows='last'"):
        MelodyDataModule(windows="last")


# ---------------------------------------------------------------- loss terms and schedules


def test_kl_and_reconstruction_terms_on_hand_made_cases():
    zeros = torch.zeros(2, 3)
    assert torch.equal(kl_per_dim(zeros, zeros), zeros)  # the posterior is the prior
    kl = kl_per_dim(torch.ones(1, 1), torch.full((1, 1), math.log(2.0)))
    assert kl.item() == pytest.approx(0.5 * (1 + 2 - 1 - math.log(2.0)))  # closed form
    target = torch.zeros(2, 4, dtype=torch.long)
    uniform = torch.zeros(2, 4, V)  # every symbol equally likely: ln V nats per symbol
    terms = vae_loss(uniform, target, zeros, zeros, beta=1.0, free_bits=0.0)
    assert terms["recon_loss"].item() == pytest.approx(math.log(V)) and terms["kl"].item() == 0
    # mean 2 in one dim of one example: KL 2 nats, over a batch of 2 and 4 symbols = 0.25 per symbol
    mean = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    terms = vae_loss(uniform, target, mean, zeros, beta=0.5, free_bits=0.0)
    assert terms["kl"].item() == pytest.approx(0.25)
    assert terms["loss"].item() == pytest.approx(math.log(V) + 0.5 * 0.25)
    # free bits: every dim below 1 nat counts as 1 nat -> (2 + 1 + 1) + (1 + 1 + 1) = 7 nats / 2 / 4
    terms = vae_loss(uniform, target, mean, zeros, beta=1.0, free_bits=1.0)
    assert terms["loss"].item() == pytest.approx(math.log(V) + 7 / 8)
    assert terms["kl"].item() == pytest.approx(0.25)  # reported without the clamp


def test_ramp_and_logged_beta_follow_the_schedule(tmp_path):
    assert [ramp(s, 100) for s in (0, 25, 100, 250)] == [0.0, 0.25, 1.0, 1.0]
    assert ramp(0, 0) == 1.0  # no annealing
    module, trainer = _fit_module(tmp_path)
    # the third step runs at global_step 2: beta = 0.2 * 2 / 10
    assert trainer.callback_metrics["train/beta"].item() == pytest.approx(0.04)
    assert {"train/loss_epoch", "train/recon_loss_epoch", "train/kl_epoch", "train/recon_acc_epoch",
            "train/pitch_acc_epoch", "train/bits_epoch"} <= set(trainer.callback_metrics)


def test_prior_segments_keep_within_max_span():
    torch.manual_seed(0)
    net = MelodyVAE(V, SEG, hidden_size=8, latent_size=2)
    plain = net.prior(64, SEG, generator=torch.Generator().manual_seed(0))
    kept = net.prior(64, SEG, Sampling(temperature=2.0, max_span=4), torch.Generator().manual_seed(0))
    spans = [max(p) - min(p) for p in ([i for i in row if i >= FIRST_PITCH_ID] for row in kept.tolist()) if p]
    assert spans and max(spans) <= 4
    wide = [max(p) - min(p) for p in ([i for i in row if i >= FIRST_PITCH_ID] for row in plain.tolist()) if p]
    assert max(wide) > 4  # an untrained net wanders: the limit is what kept those within 4


def test_vae_settings_are_checked_and_named():
    assert module_kind({"_target_": "src.models.modules.vae.VAEModule"}) is VAEModule
    for key, value in (("beta", -1), ("free_bits", "x"), ("anneal_steps", 1.5)):
        with pytest.raises(UserError, match=f"model.{key}="):
            VAEModule.check_config({"net": NET, key: value}, {"lr": 1e-3}, None)
    for key, value in (("hidden_size", 0), ("latent_size", -1)):
        with pytest.raises(UserError, match=f"model.net.{key}="):
            VAEModule.check_config({"net": {**NET, key: value}}, {"lr": 1e-3}, None)
    with pytest.raises(UserError,
                       match="model.colour='red' is not accepted; accepted: a setting of VAEModule"):
        VAEModule.check_config({"net": NET, "colour": "red"}, {"lr": 1e-3}, None)
    with pytest.raises(UserError, match="trains on data.windows=segments"):
        VAEModule(dict(NET), _encoding(windows="next"), {"lr": 1e-3})
    with pytest.raises(UserError, match="segment_length=16 differs from the data.s segment_length=32"):
        VAEModule(dict(NET), _encoding(segment_length=32), {"lr": 1e-3})
    lstm = {"_target_": "src.models.nets.lstm_attn.LSTMAttention", "hidden_size": 4,
            "num_layers": 1, "heads": 1, "dropout": 0.0}
    with pytest.raises(UserError, match="trains on data.windows=next"):
        WindowModule(lstm, _encoding(), {"lr": 1e-3})


# ---------------------------------------------------------------- interpolation on a toy model


def test_slerp_keeps_the_ends_and_the_radius():
    a, b = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 2.0, 0.0])
    path = slerp(a, b, torch.linspace(0, 1, 5))
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)
    unit = slerp(a, b / 2, torch.tensor([0.5]))[0]
    assert unit.norm().item() == pytest.approx(1.0) and unit[0].item() == pytest.approx(unit[1].item())
    assert fit_segment([5, 6], 4) == [5, 6, HOLD_ID, HOLD_ID] and fit_segment([5, 6, 7], 2) == [5, 6]


def test_interpolation_ends_decode_to_the_seeds_a_toy_model_learned():
    torch.manual_seed(0)
    x = torch.stack([_ids(TUNE_A), _ids(TUNE_B)])  # (2, 16)
    net = MelodyVAE(V, SEG, hidden_size=32, latent_size=4, dropout=0.0)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    for step in range(400):
        logits, mean, logvar = net.train()(x)
        loss = vae_loss(logits, x, mean, logvar, beta=0.01)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 25 == 24:
            with torch.no_grad():
                means, _ = net.eval().encode(x)
            if torch.equal(net.decode(means, SEG, greedy=True), x):
                break
    assert torch.equal(net.decode(means, SEG, greedy=True), x), "the toy model did not learn its 2 tunes"
    path = net.interpolate(x[0], x[1], 5, SEG)  # (5, 16)
    assert path.shape == (5, SEG) and torch.equal(path[0], x[0]) and torch.equal(path[-1], x[1])


# ---------------------------------------------------------------- training, checkpoints, sampling


def _fit_module(tmp_path: Path) -> tuple[VAEModule, L.Trainer]:
    torch.manual_seed(0)
    module = VAEModule(dict(NET), _encoding(), {"lr": 1e-3}, **SETTINGS)
    x = torch.stack([_ids(TUNE_A), _ids(TUNE_B)] * 4).to(torch.uint8)
    loader = DataLoader(TensorDataset(x, x.long()), batch_size=4)
    trainer = L.Trainer(logger=False, enable_checkpointing=False, accelerator="cpu", max_steps=3,
                        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)
    trainer.fit(module, loader, loader)
    return module, trainer


def test_save_load_gives_identical_outputs(tmp_path):
    module, trainer = _fit_module(tmp_path)
    trainer.save_checkpoint(tmp_path / "vae.ckpt")
    loaded = load_module(tmp_path / "vae.ckpt")
    assert isinstance(loaded, VAEModule) and not loaded.training and loaded.vae["beta"] == 0.2
    x = torch.stack([_ids(TUNE_B), _ids(TUNE_A)])
    module.eval()
    with torch.no_grad():
        for mine, theirs in zip(module(x), loaded(x), strict=True):
            assert torch.equal(mine, theirs)
    raw = torch.load(tmp_path / "vae.ckpt", weights_only=True)
    assert raw["hyper_parameters"]["net"] == NET


def test_experiment_runs_with_fast_dev_run(erk5_dir, tmp_path):
    overrides = ["experiment=vae", "trainer.fast_dev_run=true", "data.batch_size=8",
                 "callbacks.sample_export.steps=8", *small_data(erk5_dir, tmp_path / "cache")]
    metrics = train(run_config(tmp_path / "run", overrides))
    assert {"test/loss", "test/recon_loss", "test/kl", "test/recon_acc", "test/bits", "test/pitch_acc",
            "test/onset_acc"} <= set(metrics)


@pytest.fixture(scope="module")
def vae_run(erk5_dir, tmp_path_factory) -> Path:
    """A run folder of a tiny experiment=vae trained on erk5 for a few steps, with checkpoints."""
    root = tmp_path_factory.mktemp("vae")
    overrides = ["experiment=vae", "model.net.hidden_size=16", "model.net.latent_size=4",
                 "model.anneal_steps=2", f"model.net.segment_length={SEG}", "data.batch_size=16",
                 "trainer.max_steps=4",
                 "trainer.val_check_interval=2", "trainer.limit_val_batches=2",
                 "trainer.limit_test_batches=2", "callbacks.sample_export.num_samples=2",
                 *small_data(erk5_dir, root / "cache")]
    train(run_config(root / "run", overrides))
    return root / "run"


def test_training_exports_prior_samples(vae_run):
    samples = sorted((vae_run / "samples").glob("*.mid"))
    assert samples and (vae_run / "checkpoints" / "best.ckpt").is_file()


@pytest.mark.parametrize("args, count", [
    (["mode=prior", "num_samples=2", "end_floor=0.1"], 2),
    (["mode=vary", "seed=60 _ 62 _ 64 _ _ _", "num_samples=2", "temperature=0.5"], 2),
    (["mode=interpolate", f"seed={TUNE_A}", f"seed2={TUNE_B}", "num_samples=3"], 3),
])
def test_each_vae_mode_writes_melodies(args, count, vae_run, tmp_path, capsys):
    melodies = sample_main([f"ckpt={vae_run}", f"out_dir={tmp_path / 'out'}", *args])
    assert len(melodies) == count and all(len(m) == SEG and m[0] != "_" for m in melodies)
    mode = args[0].split("=")[1]
    for k in range(count):
        record = json.loads((tmp_path / "out" / f"melody_{k:02d}.json").read_text())
        assert record["mode"] == mode and record["symbols"].split() == melodies[k]
        assert (tmp_path / "out" / f"melody_{k:02d}.mid").is_file()
    err = capsys.readouterr().err
    assert "padded with 8 holds" in err or mode != "vary"
    assert ("end_floor=0.1 is unused" in err) == (mode == "prior")
    again = sample_main([f"ckpt={vae_run}", f"out_dir={tmp_path / 'again'}", *args])
    assert again == melodies  # the same rng_seed gives the same melodies


@pytest.mark.parametrize("args, message", [
    (["mode=continue"], "accepted: mode=prior, mode=vary, mode=interpolate"),
    (["mode=jam"], "accepted: continue, infill, prior, vary, interpolate"),
    (["mode=prior", "seed=60 _"], "mode=prior takes no seed"),
    (["mode=vary"], "mode=vary needs a seed"),
    (["mode=interpolate", "seed=60 _"], "needs seed2"),
    (["mode=interpolate", "seed=60 _", "seed2=62 _", "num_samples=1"], "num_samples >= 2"),
])
def test_bad_vae_requests_are_one_line(args, message, vae_run, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        sample_main([f"ckpt={vae_run}", f"out_dir={tmp_path / 'out'}", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1 and message in err[0], err
    assert not (tmp_path / "out").exists()


def test_vae_mode_on_another_model_is_one_line(trained_run, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        sample_main([f"ckpt={trained_run}", f"out_dir={tmp_path / 'out'}", "mode=prior"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1 and "needs a VAE checkpoint" in err[0], err

