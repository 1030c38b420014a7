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

import torch
import torch.nn.functional as F
from torch import Tensor

from src.data.vocab import BOUNDARY_ID, IGNORE_ID
from src.errors import UserError
from src.models.base_module import MelodyModule
from src.models.generation import GenerationRequest
from src.models.infill import fill_seed, mix_in_infilling
from src.models.meter_plan import Meter, context_of
from src.models.ngram_module import NGramModule
from src.models.step_inputs import history_length
from src.models.vae_module import VAEModule


class WindowModule(MelodyModule):
    """A window of symbols in, the next symbol's logits out: one target per window."""

    windows = "next"


class CausalModule(MelodyModule):
    """Causal nets: a loss at every position of strided windows; held-out songs scored whole. A net
    with meter, mode or look-back inputs reads each step's context (src/models/step_inputs.py)."""

    windows = "every"

    @classmethod
    def data_layout(cls, net: Mapping) -> dict:
        """Every-position windows, with the ids before each one that the net's look-back reads."""
        lookback, max_bar = net.get("lookback", False), net.get("max_bar", 48)
        return {"windows": cls.windows, "history": history_length(lookback, max_bar)
                if isinstance(max_bar, int) and not isinstance(max_bar, bool) else 0}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        wanted = self.net.inputs.history_length
        if self.encoding.history != wanted:  # the data must bring what the look-back reads
            raise UserError(f"the encoding brings {self.encoding.history} ids before each window; the "
                            f"look-back model.net.lookback={list(self.net.inputs.lookback)} reads {wanted}")

    def sample(self, prompt: Tensor, request: GenerationRequest, generator: torch.Generator | None = None,
               meters: list[Meter] | None = None) -> list[list[int]]:
        """Generated ids per int64 prompt row, each melody's steps placed in its meter."""
        context = context_of(meters, prompt.device) if meters and self.net.inputs.uses_context else None
        return self.net.sample(prompt, request.steps, None, request.sampling, generator, context_of=context)


class InfillingModule(CausalModule):
    """A causal net that also learns to fill a gap: `infill_share` of the training windows are read in
    fill-in-the-middle order (src/models/infill.py), so `mode=infill` regenerates a span of a melody
    from both of its sides. Validation and test score songs left to right, as for every causal net."""

    SETTINGS = {"infill_share": 0.5, "end_weight": 0.0}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not hasattr(self.net, "marker"):
            raise UserError(f"{type(self.net).__name__} cannot read a gap's two sides; accepted: "
                            "model.net._target_=src.models.transformer.TransformerLM")
        if (self.hparams.end_weight > 0) != (self.net.end_head is not None):  # one without the other: unused
            raise UserError(f"model.end_weight={self.hparams.end_weight} with model.net.end_horizon="
                            f"{self.hparams.net.get('end_horizon', 0)} is not accepted; accepted: both set "
                            "(e.g. 0.2 and 16) or both off (0)")

    @classmethod
    def check_settings(cls, settings: Mapping) -> dict:
        checked = super().check_settings(settings)
        weight = checked["end_weight"]
        if not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0:
            raise UserError(f"model.end_weight={weight!r} is not accepted; accepted: a number >= 0 (the "
                            "weight of the bars-to-the-end loss, with model.net.end_horizon > 0)")
        share = checked["infill_share"]
        if not isinstance(share, int | float) or isinstance(share, bool) or not 0 <= share < 1:
            raise UserError(f"model.infill_share={share!r} is not accepted; accepted: a number in [0, 1) "
                            "(the share of training windows in fill-in-the-middle order)")
        return checked

    @property
    def modes(self) -> tuple[str, ...]:
        return ("continue", "infill") if self.hparams.infill_share > 0 else ("continue",)

    def _predict(self, batch: tuple[Tensor, ...], stage: str) -> tuple[Tensor, Tensor]:
        x, y, context = batch
        if stage != "train":
            return self.net(x, context), y
        head = self.net.end_head
        ends = bars_to_end(y, context, head.out_features) if head is not None else None
        x, y, context, positions, roles = mix_in_infilling(x, y, context, self.hparams.infill_share,
                                                           self.net.marker)
        logits = self.net.advance(x, None, context, positions, roles)[0]
        if ends is not None:  # the auxiliary bars-to-end loss, its targets moved as the inputs were
            ends = ends.gather(1, positions.to(ends.device))
            end_logits, self.net.end_logits = self.net.end_logits, None  # taken, not left on the net
            self._end_loss = F.cross_entropy(end_logits.reshape(-1, head.out_features), ends.reshape(-1),
                                             ignore_index=IGNORE_ID)
        return logits, y

    def _step(self, batch, stage: str) -> Tensor:
        self._end_loss = None
        loss = super()._step(batch, stage)
        if stage == "train" and self._end_loss is not None:
            self.log("train/end_loss", self._end_loss, on_step=True, on_epoch=True)
            loss = loss + self.hparams.end_weight * self._end_loss
        return loss

    def draw_melodies(self, seeds: list[list[str]], seed2: list[str], request: GenerationRequest,
                      generator: torch.Generator, notes: list[str], meters: list[Meter]) -> list[list[str]]:
        if request.mode != "infill":
            return super().draw_melodies(seeds, seed2, request, generator, notes, meters)
        return fill_seed(self, seeds[0], request, generator, notes, meters)


MODULES: dict[str, type[MelodyModule]] = {
    f"{cls.__module__}.{cls.__name__}": cls
    for cls in (WindowModule, CausalModule, InfillingModule, NGramModule, VAEModule)
}


def bars_to_end(y: Tensor, context: Tensor, classes: int) -> Tensor:
    """Per target of a window (y (B, L), its context (B, L, 4)): the whole bars from it to its song's
    closing '/' (0 .. classes - 1, the last "that many or more"), in the target's own bar length (16
    where the meter is unknown), or IGNORE_ID where the window ends before that '/'."""
    B, L = y.shape
    index = torch.arange(L, device=y.device).expand(B, L)
    beyond = 10 * L
    next_end = torch.where(y == BOUNDARY_ID, index, beyond)
    next_end = torch.flip(torch.cummin(torch.flip(next_end, [1]), dim=1).values, [1])  # (B, L)
    bar = context[..., 1].long()
    bar = torch.where(bar > 0, bar, 16)  # (B, L)
    bars = ((next_end - index) // bar).clamp(max=classes - 1)
    return torch.where(next_end < beyond, bars, IGNORE_ID)


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
