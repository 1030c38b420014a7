"""Training the melody VAE: reconstruction + annealed beta * free-bits KL on whole segments."""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor
from torchmetrics import MetricCollection

from src.checks import integer, number
from src.errors import UserError
from src.models.modules.base import MelodyModule
from src.models.modules.metrics import MelodyMetrics
from src.models.nets.vae import ramp, vae_loss


class VAEModule(MelodyModule):
    """Reconstructs (B, T) segments through a latent code; logs the loss terms and MelodyMetrics."""

    windows = "segments"
    modes = ("prior", "vary", "interpolate")
    continues = False
    # training settings beside model.net, with their defaults
    SETTINGS = {"beta": 0.2, "free_bits": 0.5, "anneal_steps": 1000}

    def __init__(self, net: dict, encoding: dict, optimizer: dict, scheduler: dict | None = None,
                 name: str | None = None, **settings) -> None:
        super().__init__(net, encoding, optimizer, scheduler, name, **settings)
        self.vae = {key: self.hparams[key] for key in self.SETTINGS}
        data_length = self.encoding.segment_length
        if data_length is not None and data_length != self.net.segment_length:
            raise UserError(
                f"model.net.segment_length={self.net.segment_length} differs from the data's "
                f"segment_length={data_length}; accepted: the same length"
            )
        # MelodyMetrics of the reconstruction, with its plain accuracy named recon_acc
        for stage in ("train", "val", "test"):
            metrics = {("recon_acc" if name == "acc" else name): metric
                       for name, metric in MelodyMetrics().items(keep_base=True)}
            setattr(self, f"{stage}_metrics",
                    MetricCollection(metrics, prefix=f"{stage}/", compute_groups=False))

    @classmethod
    def data_layout(cls, net: Mapping) -> dict:
        """Segments as long as the network decodes (model.net.segment_length)."""
        return {"windows": cls.windows, "segment_length": net.get("segment_length", 64)}

    @classmethod
    def check_settings(cls, settings: Mapping) -> dict:
        settings = super().check_settings(settings)
        number("model.beta", settings["beta"], ge=0)
        number("model.free_bits", settings["free_bits"], ge=0, note="(nats per latent dimension)")
        integer("model.anneal_steps", settings["anneal_steps"], 0, note="(optimizer steps)")
        return settings

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Ids (B, T) -> logits (B, T, V), mean and logvar (B, Z) (z = the mean in eval mode)."""
        return self.net(x)

    def _step(self, batch: tuple[Tensor, Tensor], stage: str) -> Tensor:
        x, y = batch  # (B, T) uint8 segments; (B, T) int64 targets: the same symbols
        training = stage == "train"
        progress = ramp(self.global_step, self.vae["anneal_steps"])
        logits, mean, logvar = self.net(x)  # (B, T, V), (B, Z), (B, Z)
        # val/test weigh the KL by the final beta: val/loss (which picks the best checkpoint) must not
        # favour early checkpoints just because beta was still small then
        beta = self.vae["beta"] * (progress if training else 1.0)
        terms = vae_loss(logits, y, mean, logvar, beta, self.vae["free_bits"])
        for name, value in terms.items():
            self.log(f"{stage}/{name}", value, on_step=training, on_epoch=True, prog_bar=name == "loss",
                     sync_dist=not training, batch_size=y.numel())
        if training:
            self.log("train/beta", beta, on_step=True, on_epoch=False)
        self._log_metrics(stage, logits, y)
        return terms["loss"]

    def longest_melody(self, steps: int) -> int:
        return min(steps, self.net.segment_length)  # a VAE melody is one segment
