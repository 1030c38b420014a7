"""`python -m src.train experiment=NAME [key=value ...]`: train, test the best checkpoint, report it.

Reads top to bottom: data -> model -> callbacks -> loggers -> trainer -> fit -> validate/test best.
"""

from __future__ import annotations

import json
import math
import shlex
import sys
from pathlib import Path

import hydra
import lightning as L
import torch
from omegaconf import DictConfig

from src.atomic import atomic_path
from src.checkpoint_io import AtomicCheckpointIO
from src.checks import check
from src.config import CONFIG_DIR, build, compose_config, to_plain
from src.errors import UserError, exit_on_user_error
from src.final_validation import ValidateAtEnd
from src.models.checkpoint import read_checkpoint, resolve_checkpoint, upgrade_hparams
from src.models.modules.kinds import module_kind
from src.preflight import check_bar_table, check_run_objects, config_errors, fit_config_error

REPORTED = ("bits", "pitch_acc", "onset_acc", "hold_acc", "acc", "top5_acc", "loss")


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit, then score the best checkpoint on val and test. Returns `{val/..., test/...}` metrics."""
    L.seed_everything(cfg.seed, workers=True)
    kind, model = module_kind(cfg.model), to_plain(cfg.model)
    datamodule = build(cfg.data, **kind.data_layout(model["net"]))  # the batches this kind trains on
    datamodule.check_splits()  # a corpus too small for its splits: one line before Lightning starts
    module = kind.from_config(model, encoding=datamodule.encoding, optimizer=to_plain(cfg.optimizer),
                              scheduler=to_plain(cfg.scheduler))
    # most steps outside the net's bar table: refused; some: one warning line, once per run
    warning = check_bar_table(module.max_bar, datamodule.train_corpus())
    if cfg.get("init_from") and not cfg.ckpt_path:  # a resume restores its own weights
        init_weights(module, cfg.init_from)
    callbacks = [build(c) for c in cfg.callbacks.values() if c is not None]
    callbacks.append(ValidateAtEnd())  # a run that stops between scheduled validations still gets one
    loggers = [build(c) for c in cfg.logger.values() if c is not None]
    # every checkpoint is written to a temporary file and renamed: a kill never truncates one
    trainer: L.Trainer = build(cfg.trainer, callbacks=callbacks, logger=loggers,
                               plugins=[AtomicCheckpointIO()])
    for logger in trainer.loggers:
        logger.log_hyperparams({"config": to_plain(cfg)})
    if warning and trainer.is_global_zero:
        print(warning, file=sys.stderr)

    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
    except Exception as err:  # a setting only the data shows wrong: one line; anything else: raised
        message = fit_config_error(err)
        if message is None:
            raise
        raise UserError(message) from None
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    ckpt = best or None
    metrics: dict[str, float] = {}
    for run in (trainer.validate, trainer.test):
        results = run(module, datamodule=datamodule, ckpt_path=ckpt, verbose=False)
        for name, value in (results[0] if results else {}).items():  # none with limit_*_batches=0
            metrics[name] = float(value)
    metrics = dict(sorted(metrics.items()))
    if trainer.is_global_zero:
        run_dir = Path(trainer.default_root_dir)
        with atomic_path(run_dir / "metrics.json") as tmp:
            tmp.write_text(json.dumps({"best_checkpoint": best, "metrics": metrics}, indent=1))
        print(summary(run_dir, best or f"(none: {no_best_reason(trainer)})", metrics))
    return metrics


def check_init_from(source: object) -> None:
    """A missing, truncated or code-running `init_from` checkpoint: one line, before any work."""
    if source is None or source == "":
        return
    check("init_from", source, isinstance(source, str), "null, a .ckpt file or a run folder")
    read_checkpoint(resolve_checkpoint(source))


def init_weights(module: L.LightningModule, source: str) -> None:
    """Load the weights of checkpoint (or run folder) `source` into `module`, to fine-tune them."""
    checkpoint = read_checkpoint(resolve_checkpoint(source))
    theirs = upgrade_hparams(checkpoint.get("hyper_parameters", {}))
    if theirs.get("encoding", {}).get("mapping") != module.hparams.encoding["mapping"]:
        raise UserError(f"init_from={source} has another vocabulary than this run's data; "
                        "accepted: a checkpoint of the same data.min_pitch/max_pitch")
    try:
        module.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as err:  # missing, unexpected or differently shaped weights
        first = str(err).strip().splitlines()[0]
        raise UserError(f"init_from={source} does not fit this model ({first}); accepted: a "
                        f"checkpoint of the same model settings, e.g. {theirs.get('name')} "
                        "with its sizes") from None


def no_best_reason(trainer: L.Trainer) -> str:
    """Why a finished fit left no best checkpoint, in the settings' own names."""
    if trainer.fast_dev_run:
        return "trainer.fast_dev_run writes no checkpoints"
    if trainer.checkpoint_callback is None:
        return "callbacks.model_checkpoint is null"
    if not trainer.enable_validation:
        return "no validation ran (trainer.limit_val_batches=0 or no validation songs)"
    if trainer.global_step == 0:
        return "no training step ran"
    return f"no validation logged {trainer.checkpoint_callback.monitor}"


def summary(run_dir: Path, best: str, metrics: dict[str, float]) -> str:
    """What a researcher needs after a run: where it is, how good it is, how to sample from it."""
    test = "  ".join(f"{name} {metrics[f'test/{name}']:.4f}" for name in REPORTED
                     if f"test/{name}" in metrics)
    lines = ["", f"run folder       {run_dir}", f"best checkpoint  {best}",
             f"test metrics     {test or '(none)'}"]
    if not best.startswith("(none"):
        lines.append(f"sample with      python -m src.sample ckpt={shlex.quote(best)}")
    return "\n".join(lines)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def _hydra_main(cfg: DictConfig) -> float | None:
    # a mistake only training shows is one line and exit 2 too (the wrapper goes inside Hydra's: Hydra
    # names the job after the file of the function it is given)
    metrics = exit_on_user_error(train)(cfg)
    value = metrics.get(cfg.optimized_metric)
    return None if value is None or math.isnan(value) else value


def _resume_overrides(argv: list[str]) -> list[str]:
    """`ckpt_path=<run>/checkpoints/last.ckpt` resumes inside that run's folder (unless told otherwise)."""
    if any(a.startswith(("-m", "--multirun")) for a in argv):
        return argv
    for arg in argv:
        if arg.startswith("ckpt_path=") and arg != "ckpt_path=null":
            ckpt = Path(arg.split("=", 1)[1])
            if not ckpt.is_file():
                raise UserError(f"ckpt_path={ckpt} does not exist; accepted: a run's checkpoints/last.ckpt")
            read_checkpoint(ckpt)  # a truncated, foreign or code-running file: one line, not a traceback
            run_dir = ckpt.resolve().parent.parent
            if (run_dir / ".hydra").is_dir() and not any(a.startswith("hydra.run.dir=") for a in argv):
                return [*argv, f"hydra.run.dir={run_dir}"]
    return argv


def check_run(argv: list[str]) -> None:
    """Every setting of a single run (not a sweep) checked before Hydra makes its folder: UserError."""
    if any(a in ("-m", "--multirun") or a.startswith("-") for a in argv):
        return
    overrides = [a for a in argv if not a.startswith("hydra.")]
    cfg = compose_config("config", overrides)
    with config_errors("model"):  # resolving may fail too: an interpolation to no key
        kind, model = module_kind(cfg.model), to_plain(cfg.model)
        kind.check_config(model, to_plain(cfg.optimizer), to_plain(cfg.scheduler))
    with config_errors("data"):  # validates data.* without touching the corpus
        datamodule = build(cfg.data, **kind.data_layout(model["net"]))
    check_run_objects(overrides)
    check_init_from(cfg.get("init_from"))
    datamodule.check_splits()  # prepares the corpus cache (once) before the run folder exists
    with config_errors("model"):  # the net's bar table against the songs' bars (warned in train)
        optimizer, scheduler = to_plain(cfg.optimizer), to_plain(cfg.scheduler)
        module = kind.from_config(model, encoding=datamodule.encoding, optimizer=optimizer,
                                  scheduler=scheduler)
    check_bar_table(module.max_bar, datamodule.train_corpus())


@exit_on_user_error
def main() -> None:
    """Check the overrides (one-line error, exit 2, as every command: src/errors.py) before Hydra takes
    over."""
    argv = _resume_overrides(sys.argv[1:])
    check_run(argv)
    sys.argv = [sys.argv[0], *argv]
    torch.set_float32_matmul_precision("high")
    _hydra_main()


if __name__ == "__main__":
    main()
