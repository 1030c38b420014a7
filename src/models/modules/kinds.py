"""The model kinds: one LightningModule each, named by `model._target_` in conf/model/*.yaml.

| kind | module | trains on | generates |
| --- | --- | --- | --- |
| window nets (`lstm_attn`, `gru`) | `WindowModule` | `next`: one target per window | continue |
| causal nets (`lstm_attn_lm`, `gru_lm`) | `CausalModule` | `every`: a target at every position | continue |
| `transformer_lm` | `InfillingModule` | `every`, some windows reordered to fill a gap | continue, infill |
| n-gram | `NGramModule` | `next`, counted | continue |
| VAE | `VAEModule` | `segments` | prior, vary, interpolate |

`MODULES` is the allowlist: configs and checkpoints are untrusted input, so only these classes are built.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor

from src.checks import check, choice, is_integer, number
from src.errors import UserError
from src.models.modules.base import MelodyModule
from src.models.modules.fill_order import mix_in_infilling
from src.models.modules.ngram import NGramModule
from src.models.modules.vae import VAEModule
from src.models.nets import NETS
from src.models.nets.step_inputs import history_length
from src.models.nets.stepping import CausalNet


class WindowModule(MelodyModule):
    """A window of symbols in, the next symbol's logits out: one target per window."""

    windows = "next"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.net.window = self.window  # stepped over windows as long as it trained on


class CausalModule(MelodyModule):
    """Causal nets: a loss at every position of strided windows; held-out songs scored whole. A net
    with meter, mode or look-back inputs reads each step's context (src/models/nets/step_inputs.py)."""

    windows = "every"
    causal = True

    @classmethod
    def data_layout(cls, net: Mapping) -> dict:
        """Every-position windows, with the ids before each one that the net's look-back reads."""
        lookback, max_bar = net.get("lookback", False), net.get("max_bar", 48)
        return {"windows": cls.windows, "history": history_length(lookback, max_bar)
                if is_integer(max_bar) else 0}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        causal = [target for target, net in NETS.items() if issubclass(net, CausalNet)]
        check("model.net._target_", self.hparams.net["_target_"], isinstance(self.net, CausalNet),
              f"a causal net for {type(self).__name__}: {', '.join(causal)}")
        wanted = self.net.history_length
        if self.encoding.history != wanted:  # the data must bring what the look-back reads
            raise UserError(f"the encoding brings {self.encoding.history} ids before each window; the "
                            f"net's look-back (model.net.lookback, max_bar) reads {wanted}")
        table, styles = self.net.inputs.styles, len(self.encoding.styles)
        if table and styles >= table:  # id 0 is "unknown": the table needs one row more than the styles
            raise UserError(f"model.net.styles={table} holds {table - 1} styles; the training songs have "
                            f"{styles}: accepted model.net.styles >= {styles + 1}")


class InfillingModule(CausalModule):
    """A causal net that also learns to fill a gap: `infill_share` of the training windows are read in
    fill-in-the-middle order (src/models/modules/fill_order.py), so `mode=infill` regenerates a span of a
    melody from both of its sides. Validation and test score songs left to right, as for every causal net."""

    SETTINGS = {"infill_share": 0.5}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        fills = [target for target, net in NETS.items() if issubclass(net, CausalNet) and net.fills_gaps]
        check("model.net._target_", self.hparams.net["_target_"], self.net.fills_gaps,
              f"a net that reads a gap's two sides for {type(self).__name__}: {', '.join(fills)}")

    @classmethod
    def check_settings(cls, settings: Mapping) -> dict:
        checked = super().check_settings(settings)
        number("model.infill_share", checked["infill_share"], ge=0, lt=1,
               note="(the share of training windows in fill-in-the-middle order)")
        return checked

    @property
    def modes(self) -> tuple[str, ...]:
        return ("continue", "infill") if self.hparams.infill_share > 0 else ("continue",)

    def _predict(self, batch: tuple[Tensor, ...], stage: str) -> tuple[Tensor, Tensor]:
        x, y, context = batch
        if stage != "train":
            return self.net(x, context), y
        x, y, context, positions, roles = mix_in_infilling(x, y, context, self.hparams.infill_share,
                                                           self.net.marker)
        return self.net.step(x, None, context, positions, roles)[0], y


MODULES: dict[str, type[MelodyModule]] = {
    f"{cls.__module__}.{cls.__name__}": cls
    for cls in (WindowModule, CausalModule, InfillingModule, NGramModule, VAEModule)
}


def module_kind(model: Mapping) -> type[MelodyModule]:
    """The module class `model._target_` names (UserError unless it is one of MODULES)."""
    target = model.get("_target_") if isinstance(model, Mapping) else None
    return MODULES[choice("model._target_", target, MODULES)]
