"""The GRU baseline: shapes, settings, learning, repeatable sampling, and its experiment end to end."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from src.config import CONFIG_DIR
from src.data.vocab import Vocabulary
from src.errors import UserError
from src.models.generation import GenerationRequest
from src.models.modules.kinds import WindowModule
from src.models.nets import NETS, build_net
from src.models.nets.gru import GRUNet
from src.train import train
from tests.conftest import adam_losses, run_config, small_data

V, WINDOW = 40, 8
NET = {"_target_": "src.models.nets.gru.GRUNet", "hidden_size": 16, "num_layers": 2,
       "dropout": 0.0}


def _net(**overrides) -> GRUNet:
    torch.manual_seed(0)
    return build_net({**NET, **overrides}, V)


def _windows(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, V, (n, WINDOW), generator=g).to(torch.uint8)  # (n, WINDOW)
    return x, torch.randint(0, V, (n,), generator=g)


def test_config_builds_a_registered_gru():
    config = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "model" / "gru.yaml"))["net"]
    net = build_net(config, V)
    assert NETS[config["_target_"]] is GRUNet
    assert net.gru.hidden_size == config["hidden_size"] and net.gru.num_layers == config["num_layers"]


def test_forward_shapes_for_uint8_and_int64_ids():
    net = _net().eval()
    x, _ = _windows(3)
    assert net(x).shape == (3, V)
    assert torch.equal(net(x), net(x.long()))
    assert not _net(num_layers=1, dropout=0.3).gru.dropout  # no between-layer dropout for one layer


@pytest.mark.parametrize(("overrides", "key"), [
    ({"hidden_size": 0}, "model.net.hidden_size"),
    ({"num_layers": 1.5}, "model.net.num_layers"),
    ({"dropout": 1.0}, "model.net.dropout"),
])
def test_bad_settings_name_the_key(overrides, key):
    with pytest.raises(UserError, match=key):
        build_net({**NET, **overrides}, V)


def test_adam_steps_lower_the_loss():
    net = _net()
    x, y = _windows(32)
    losses = adam_losses(net, x, y, lr=3e-2)
    assert losses[-1] < 0.7 * losses[0]


def test_same_seed_same_melodies_through_the_module():
    vocab_mapping = Vocabulary().mapping
    encoding = {"mapping": vocab_mapping, "sequence_length": WINDOW, "step": 0.25, "min_pitch": 48,
                "max_pitch": 84}
    torch.manual_seed(0)
    module = WindowModule(dict(NET, dropout=0.2), encoding, {"lr": 1e-3}).train()
    draw = lambda seed: module.generate(GenerationRequest(  # noqa: E731
        steps=20, temperature=1.5, min_steps=4, num_samples=3, rng_seed=seed)).melodies
    first = draw(3)
    assert first == draw(3) and all(len(m) >= 4 for m in first)
    assert module.training  # sampling runs in eval mode, then restores


def test_gru_experiment_fast_dev_run(erk5_dir, tmp_path):
    overrides = ["experiment=gru", "trainer.fast_dev_run=true", "model.net.hidden_size=16",
                 "callbacks.sample_export.steps=8", *small_data(erk5_dir, tmp_path / "cache")]
    metrics = train(run_config(tmp_path / "run", overrides))
    assert {"val/bits", "test/bits", "test/pitch_acc", "test/onset_acc"} <= set(metrics)
    assert all(v == v for k, v in metrics.items() if k.endswith(("bits", "loss")))
