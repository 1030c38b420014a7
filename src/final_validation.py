"""Every fit ends with a validation: val metrics, a best checkpoint and a sample export, however short.

Lightning validates on its schedule (`val_check_interval` steps, `check_val_every_n_epoch` epochs), so a
run whose last step falls between two scheduled validations (`trainer.max_steps` or `max_epochs` reached,
or `limit_train_batches` shortening the epochs) would end with weights nobody scored and, if it never
reached the first validation, no `best.ckpt` at all.
"""

from __future__ import annotations

import lightning as L


class ValidateAtEnd(L.Callback):
    """After the fit's last training batch, ask Lightning to validate unless it was going to anyway."""

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch,
                           batch_idx: int) -> None:
        if not trainer.enable_validation or not is_last_batch_of_fit(trainer):
            return
        # Lightning validates after a batch that requested a stop (training_epoch_loop's
        # _should_check_val_fx); the run ends here anyway, so the request changes nothing else. A batch
        # that was due a validation gets exactly one.
        trainer.should_stop = True
        every = trainer.check_val_every_n_epoch
        if every is not None and (trainer.current_epoch + 1) % every:
            trainer.check_val_every_n_epoch = None  # an epoch the schedule skips: validate this once


def is_last_batch_of_fit(trainer: L.Trainer) -> bool:
    """Whether the batch just trained is the fit's last: `max_steps` reached, or the last epoch's end."""
    if trainer.max_steps is not None and 0 <= trainer.max_steps <= trainer.global_step:
        return True
    max_epochs = trainer.max_epochs
    last_epoch = max_epochs is not None and 0 <= max_epochs <= trainer.current_epoch + 1
    return last_epoch and trainer.fit_loop.epoch_loop.batch_progress.is_last_batch
