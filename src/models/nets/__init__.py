"""The networks: plain `nn.Module`s that never import Lightning, and `build_net`, which builds one from its
config (`model.net`) from the allowlist `NETS`. Window nets (lstm_attn.py, gru.py, ngram.py) predict the
symbol after a window, causal nets (lm.py, transformer.py) one at every position; both are stepped alike
(stepping.py); vae.py encodes and decodes whole segments."""

from __future__ import annotations

import inspect
from collections.abc import Mapping

from torch import nn

from src.checks import check, choice, keys
from src.models.nets.gru import GRUNet
from src.models.nets.lm import GRULM, LSTMAttentionLM
from src.models.nets.lstm_attn import LSTMAttention
from src.models.nets.ngram import NGramNet
from src.models.nets.transformer import TransformerLM
from src.models.nets.vae import MelodyVAE

# `_target_` -> class. Configs and checkpoints are untrusted input: only these may be built.
NETS: dict[str, type[nn.Module]] = {
    "src.models.nets.lstm_attn.LSTMAttention": LSTMAttention,
    "src.models.nets.gru.GRUNet": GRUNet,
    "src.models.nets.lm.LSTMAttentionLM": LSTMAttentionLM,
    "src.models.nets.lm.GRULM": GRULM,
    "src.models.nets.transformer.TransformerLM": TransformerLM,
    "src.models.nets.ngram.NGramNet": NGramNet,
    "src.models.nets.vae.MelodyVAE": MelodyVAE,
}


def build_net(config: Mapping, vocab_size: int) -> nn.Module:
    """Build the network `config` names by `_target_` from its other settings, with `vocab_size` added."""
    check("model.net", config, isinstance(config, Mapping), "the network's settings with its _target_, "
          "e.g. model.net._target_=src.models.nets.gru.GRUNet")
    cls = NETS[choice("model.net._target_", config.get("_target_"), NETS)]
    settings = {k: v for k, v in config.items() if k != "_target_"}
    # its constructor's parameters are its settings
    keys("model.net", settings, [p for p in inspect.signature(cls).parameters if p != "vocab_size"],
         owner=cls.__name__)
    return cls(vocab_size=vocab_size, **settings)
