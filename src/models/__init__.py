"""The allowlist of networks and `build_net`, which builds one from a flat model config."""

from __future__ import annotations

import inspect
from collections.abc import Mapping

from torch import nn

from src.errors import UserError
from src.models.gru import GRUNet
from src.models.lm import GRULM, LSTMAttentionLM
from src.models.lstm_attn import LSTMAttention
from src.models.ngram import NGramNet
from src.models.vae import MelodyVAE

# `_target_` -> class. Configs and checkpoints are untrusted input: only these may be built.
NETS: dict[str, type[nn.Module]] = {
    "src.models.lstm_attn.LSTMAttention": LSTMAttention,
    "src.models.gru.GRUNet": GRUNet,
    "src.models.lm.LSTMAttentionLM": LSTMAttentionLM,
    "src.models.lm.GRULM": GRULM,
    "src.models.ngram.NGramNet": NGramNet,
    "src.models.vae.MelodyVAE": MelodyVAE,
}

# Keys of a model config that describe it rather than set the network.
_DESCRIPTIVE_KEYS = ("_target_", "name")


def build_net(config: Mapping, vocab_size: int) -> nn.Module:
    """Build the network a flat model config names by `_target_`, with `vocab_size` added."""
    target = config.get("_target_")
    cls = NETS.get(target) if isinstance(target, str) else None
    if cls is None:
        raise UserError(
            f"model._target_={target!r} is not an accepted network; accepted: {', '.join(NETS)}"
        )
    settings = {k: v for k, v in config.items() if k not in _DESCRIPTIVE_KEYS}
    accepted = [p for p in inspect.signature(cls).parameters if p != "vocab_size"]
    unknown = [k for k in settings if k not in accepted]
    if unknown:
        raise UserError(
            f"model.{unknown[0]} is not a setting of {cls.__name__}; "
            f"accepted: {', '.join(accepted)}"
        )
    return cls(vocab_size=vocab_size, **settings)


def module_class(net: Mapping) -> type:
    """The LightningModule that trains this kind of network (all share one constructor signature:
    `(net, encoding, optimizer, scheduler)` and `check_config(net, optimizer, scheduler)`)."""
    name = net.get("name")
    if name == "ngram":  # counted, not optimized
        from src.models.ngram_module import NGramModule

        return NGramModule
    if name == "vae":  # reconstruction + KL on whole segments
        from src.models.vae_module import VAEModule

        return VAEModule
    from src.models.module import EveryPositionModule, MelodyModule

    if getattr(NETS.get(net.get("_target_")), "every_position", False):  # causal nets
        return EveryPositionModule
    return MelodyModule
