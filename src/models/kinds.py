"""The model kinds: one LightningModule each, named by `model._target_` in conf/model/*.yaml.

| kind | module | trains on | generates |
| --- | --- | --- | --- |
| window nets (`lstm_attn`, `gru`) | `WindowModule` | `next`: one target per window | continue |
| causal nets (`lstm_attn_lm`, `gru_lm`) | `CausalModule` | `every`: a target at every position | continue |
| n-gram | `NGramModule` | `next`, counted | continue |
| VAE | `VAEModule` | `segments` | prior, vary, interpolate |

`MODULES` is the allowlist: configs and checkpoints are untrusted input, so only these classes are built.
"""

from __future__ import annotations

from collections.abc import Mapping

from src.errors import UserError
from src.models.base_module import MelodyModule
from src.models.ngram_module import NGramModule
from src.models.vae_module import VAEModule


class WindowModule(MelodyModule):
    """A window of symbols in, the next symbol's logits out: one target per window."""

    windows = "next"


class CausalModule(MelodyModule):
    """Causal nets: a loss at every position of strided windows; held-out songs scored whole."""

    windows = "every"


MODULES: dict[str, type[MelodyModule]] = {
    f"{cls.__module__}.{cls.__name__}": cls for cls in (WindowModule, CausalModule, NGramModule, VAEModule)
}


def module_kind(model: Mapping) -> type[MelodyModule]:
    """The module class `model._target_` names (UserError unless it is one of MODULES)."""
    target = model.get("_target_") if isinstance(model, Mapping) else None
    if target not in MODULES:
        raise UserError(f"model._target_={target!r} is not a model kind; accepted: {', '.join(MODULES)}")
    return MODULES[target]


def upgrade_hparams(hparams: Mapping) -> dict:
    """A checkpoint's hyper_parameters in this layout; older checkpoints (a flat `net` holding its
    `name`, the VAE's settings and the network's `_target_`, no `module`) are read as their kind."""
    if "module" in hparams:
        return dict(hparams)
    net = dict(hparams["net"])
    name = net.pop("name", None)
    if name == "ngram":
        kind: type[MelodyModule] = NGramModule
    elif name == "vae":
        kind = VAEModule
    elif str(net.get("_target_", "")).startswith("src.models.lm."):  # the causal nets
        kind = CausalModule
    else:
        kind = WindowModule
    settings = {key: net.pop(key) for key in kind.SETTINGS if key in net}
    return {**hparams, "module": f"{kind.__module__}.{kind.__name__}", "name": name, "net": net, **settings}
