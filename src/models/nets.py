"""The allowlist of networks and `build_net`, which builds one from its config (`model.net`)."""

from __future__ import annotations

import inspect
from collections.abc import Mapping

from torch import nn

from src.errors import UserError
from src.models.gru import GRUNet
from src.models.lm import GRULM, LSTMAttentionLM
from src.models.lstm_attn import LSTMAttention
from src.models.ngram import NGramNet
from src.models.transformer import TransformerLM
from src.models.vae import MelodyVAE

# `_target_` -> class. Configs and checkpoints are untrusted input: only these may be built.
NETS: dict[str, type[nn.Module]] = {
    "src.models.lstm_attn.LSTMAttention": LSTMAttention,
    "src.models.gru.GRUNet": GRUNet,
    "src.models.lm.LSTMAttentionLM": LSTMAttentionLM,
    "src.models.lm.GRULM": GRULM,
    "src.models.transformer.TransformerLM": TransformerLM,
    "src.models.ngram.NGramNet": NGramNet,
    "src.models.vae.MelodyVAE": MelodyVAE,
}

def build_net(config: Mapping, vocab_size: int) -> nn.Module:
    """Build the network `config` names by `_target_` from its other settings, with `vocab_size` added."""
    if not isinstance(config, Mapping):
        raise UserError(f"model.net={config!r} is not accepted; accepted: the network's settings with "
                        "its _target_, e.g. model.net._target_=src.models.gru.GRUNet")
    target = config.get("_target_")
    cls = NETS.get(target) if isinstance(target, str) else None
    if cls is None:
        raise UserError(
            f"model.net._target_={target!r} is not an accepted network; accepted: {', '.join(NETS)}"
        )
    settings = {k: v for k, v in config.items() if k != "_target_"}
    accepted = [p for p in inspect.signature(cls).parameters if p != "vocab_size"]
    unknown = [k for k in settings if k not in accepted]
    if unknown:
        raise UserError(
            f"model.net.{unknown[0]} is not a setting of {cls.__name__}; "
            f"accepted: {', '.join(accepted)}"
        )
    return cls(vocab_size=vocab_size, **settings)
