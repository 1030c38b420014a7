"""`MelodyModule`, the base of every model kind: loss, metrics, optimizer and generation around a plain
network, all settings plain data in the checkpoint. Each kind (src/models/modules/kinds.py) declares the data
layout it trains on and the generation modes it offers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor

from src.checks import choice, integer, keys, number
from src.data.record import EncodingRecord
from src.data.vocab import IGNORE_ID, Vocabulary
from src.errors import UserError
from src.models.generation import Generation, GenerationRequest
from src.models.generation.generate import generate
from src.models.modules.metrics import MelodyMetrics
from src.models.nets import build_net

STAGES = ("train", "val", "test")


class MelodyModule(L.LightningModule):
    """Next-symbol training of a network built from plain-data settings stored in the checkpoint.

    Constructed from the model config (`from_config`): `model._target_` names the module class,
    `model.net` the network and its settings, `model.name` describes it, and any other `model.*` key is
    a setting of the module itself (`SETTINGS`, e.g. the VAE's beta).
    """

    windows = "next"  # the `data.windows` batches this module trains on
    modes = ("continue",)  # the generation modes it offers (src/models/generation/), default first
    continues = True  # it continues a seed: its bits are of next symbols (a VAE's: of reconstruction)
    causal = False  # its net predicts at every position with carried state (src/models/nets/stepping.py)
    SETTINGS: dict = {}  # module settings beside `net`, with their defaults

    def __init__(self, net: dict, encoding: dict, optimizer: dict, scheduler: dict | None = None,
                 name: str | None = None, **settings) -> None:
        super().__init__()
        hparams = {"net": net, "encoding": encoding, "optimizer": optimizer, "scheduler": scheduler}
        for key, value in hparams.items():
            if not isinstance(value, Mapping) and not (key == "scheduler" and value is None):
                raise TypeError(f"{key} must be a dict, got {type(value).__name__}")
        # copies as plain data, so that a checkpoint loads with torch.load(weights_only=True)
        hparams = {key: _plain(value, key) for key, value in hparams.items()}
        self.encoding = EncodingRecord.from_checkpoint(hparams["encoding"])  # with its vocabulary
        self.check_windows(self.encoding.windows, name)
        # `module` names this class, so that a checkpoint rebuilds the same kind (models/checkpoint.py)
        hparams = {"module": f"{type(self).__module__}.{type(self).__name__}", "name": name, **hparams,
                   **self.check_settings(settings)}
        self.save_hyperparameters(hparams)
        self.vocab = self.encoding.vocab
        self.window = self.encoding.sequence_length
        self.net = build_net(hparams["net"], len(self.vocab))
        # attributes, not a ModuleDict: "train" would clash with nn.Module.train
        self.train_metrics = MelodyMetrics(prefix="train/")
        self.val_metrics = MelodyMetrics(prefix="val/")
        self.test_metrics = MelodyMetrics(prefix="test/")

    @classmethod
    def from_config(cls, model: Mapping, encoding: dict, optimizer: dict,
                    scheduler: dict | None = None) -> MelodyModule:
        """The module a `model` config describes (`_target_`, `name`, `net`, settings)."""
        return cls(net=model.get("net"), encoding=encoding, optimizer=optimizer, scheduler=scheduler,
                   name=model.get("name"), **_settings_of(model))

    @classmethod
    def data_layout(cls, net: Mapping) -> dict:
        """The `MelodyDataModule` arguments this kind trains on: they follow from the model config."""
        return {"windows": cls.windows}

    @classmethod
    def check_settings(cls, settings: Mapping) -> dict:
        """The module's own settings, defaults filled in, each checked (UserError)."""
        keys("model", settings, ["_target_", "name", "net", *cls.SETTINGS], owner=cls.__name__,
             note="(the network's settings go under model.net)")
        return {key: settings.get(key, default) for key, default in cls.SETTINGS.items()}

    @property
    def kind(self) -> str:
        """What the model is called: its config's `name`, else its network's class."""
        return self.hparams.get("name") or str(self.hparams.net.get("_target_", "?")).rsplit(".", 1)[-1]

    def forward(self, x: Tensor, *context: Tensor) -> Tensor:
        """Ids (B, L) (and a causal net's context (B, L, 3)) -> logits as the network gives them
        ((B, V) or (B, L, V))."""
        return self.net(x, *context)

    def _step(self, batch: tuple[Tensor, Tensor], stage: str) -> Tensor:
        # (B, L) uint8 ids; (B,) int64 targets, or (B, L) for every-position nets, whose batches also
        # hold the targets' context (B, L, 3) (src/data/sequences.py)
        logits, y = self._predict(batch, stage)  # (B, V) or (B, L, V)
        logits, y = logits.reshape(-1, logits.shape[-1]), y.reshape(-1).long()  # (N, V), (N,)
        loss = F.cross_entropy(logits, y, ignore_index=IGNORE_ID)  # padding after a song: no target
        training = stage == "train"
        # the targets weigh this batch's mean loss in the epoch mean (B for window nets); training
        # windows have no padding, songs scored whole do
        targets = y.numel() if training else int((y != IGNORE_ID).sum())
        self.log(f"{stage}/loss", loss, on_step=training, on_epoch=True, prog_bar=True,
                 sync_dist=not training, batch_size=targets)
        self._log_metrics(stage, logits, y)
        return loss

    def _predict(self, batch: tuple[Tensor, ...], stage: str) -> tuple[Tensor, Tensor]:
        """A batch's logits and targets."""
        x, y, *context = batch
        return self.net(x, *context), y

    def _log_metrics(self, stage: str, logits: Tensor, y: Tensor) -> None:
        """Update and log the stage's metrics (docs/design.md §5): train per step and per epoch, else
        per epoch."""
        metrics = getattr(self, f"{stage}_metrics")
        training = stage == "train"
        if training:
            metrics(logits.detach(), y)  # per-step values as well as the epoch's sums
        else:
            metrics.update(logits, y)
        # logging the Metric objects lets Lightning compute them over the epoch and reset them
        self.log_dict(metrics, on_step=training, on_epoch=True, batch_size=y.numel())

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return self._step(batch, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return self._step(batch, "test")

    @classmethod
    def check_windows(cls, windows: str, name: object) -> None:
        """Raise UserError unless the encoding's `windows` are the batches this module trains on."""
        if windows != cls.windows:
            raise UserError(
                f"model {name} trains on data.windows={cls.windows}, got data.windows={windows}"
            )

    @classmethod
    def check_config(cls, model: Mapping, optimizer: dict, scheduler: dict | None) -> None:
        """Validate model, optimizer and scheduler settings before any data or training work."""
        cls.check_settings(_settings_of(model))
        build_net(model.get("net"), vocab_size=len(Vocabulary()))
        _optimizer_settings(optimizer)
        _scheduler_settings(scheduler)

    def configure_optimizers(self):
        """Adam or AdamW from `optimizer`; optional `scheduler`: none, cosine or plateau."""
        name, lr, weight_decay = _optimizer_settings(self.hparams.optimizer)
        optimizer = OPTIMIZERS[name](self.parameters(), lr=lr, weight_decay=weight_decay)
        scheduler = self._scheduler(optimizer)
        if scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": scheduler}

    def _scheduler(self, optimizer: torch.optim.Optimizer) -> dict | None:
        settings = _scheduler_settings(self.hparams.scheduler)
        name = settings["name"]
        if name == "cosine":  # to 0 at trainer.max_steps when set (per step), else at max_epochs
            steps, epochs = self.trainer.max_steps, self.trainer.max_epochs
            if steps and steps > 0:
                cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
                return {"scheduler": cosine, "interval": "step"}
            if not epochs or epochs < 1:
                raise UserError(
                    "scheduler.name=cosine needs trainer.max_steps or trainer.max_epochs >= 1"
                )
            cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
            return {"scheduler": cosine, "interval": "epoch"}
        if name == "plateau":
            plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode="min", factor=settings["factor"], patience=settings["patience"]
            )
            return {"scheduler": plateau, "interval": "epoch", "monitor": "val/loss"}
        return None

    def generate(self, request: GenerationRequest, generator: torch.Generator | None = None,
                 tune=None) -> Generation:
        """The request's melodies, in its key (the one generation path: src/models/generation/); `tune`:
        its tune seed, when already read."""
        return generate(self, request, generator, tune)

    @property
    def reads_context(self) -> bool:
        """Whether its net reads each step's meter context (src/models/nets/step_inputs.py)."""
        return self.net.reads_context

    @property
    def max_bar(self) -> int | None:
        """The longest bar (steps) the net's position table holds; None when it reads no meter."""
        return self.net.max_bar

    def longest_melody(self, steps: int) -> int:
        """The most symbols a request for `steps` can generate per melody."""
        return steps


def _settings_of(model: Mapping) -> dict:
    """The module's own settings in a model config: every key but `_target_`, `name` and `net`."""
    return {k: v for k, v in model.items() if k not in ("_target_", "name", "net")}


def _plain(value: object, where: str) -> object:
    """Copy `value` as plain dicts, lists and scalars (e.g. from an OmegaConf container)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"{where}: keys must be strings")
        return {k: _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, Sequence):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"{where}: {type(value).__name__} is not plain data (dict, list, str, number)")


# optimizer.name -> class; adamw decays the weights apart from the gradient (adam adds it as L2)
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def _optimizer_settings(optimizer: Mapping) -> tuple[str, float, float]:
    """(name, lr, weight_decay) from the `optimizer` settings, checked."""
    settings = {k: v for k, v in optimizer.items() if not k.startswith("_")}
    keys("optimizer", settings, ("name", "lr", "weight_decay"))
    return (choice("optimizer.name", settings.get("name", "adam"), OPTIMIZERS),
            number("optimizer.lr", settings.get("lr", 1e-3), gt=0),
            number("optimizer.weight_decay", settings.get("weight_decay", 0.0), ge=0))


def _scheduler_settings(scheduler: Mapping | None) -> dict:
    """The `scheduler` settings, checked, with defaults filled in."""
    settings = dict(scheduler or {"name": "none"})
    name = choice("scheduler.name", settings.setdefault("name", "none"), ("none", "cosine", "plateau"))
    if name in ("none", "cosine"):
        keys("scheduler", settings, ("name",), owner=f"scheduler.name={name}")
        return settings
    keys("scheduler", settings, ("name", "factor", "patience"), owner=f"scheduler.name={name}")
    number("scheduler.factor", settings.setdefault("factor", 0.5), gt=0, lt=1)
    integer("scheduler.patience", settings.setdefault("patience", 2), 0)
    return settings
