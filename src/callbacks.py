"""Training callbacks: listen to the model as it learns (MIDI files, TensorBoard text, piano rolls, audio,
and the cheap scores of src.eval: in-key rate and repetition of the exported melodies)."""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.trainer.states import TrainerFn

from src.data.encoding import write_midi
from src.data.vocab import BOUNDARY, HOLD, REST
from src.errors import UserError
from src.eval.keys import melody_key
from src.eval.stats import in_key_rate, repetition
from src.render import piano_roll, synthesize
from src.sample import continue_melodies

AUDIO_RATE = 16000  # Hz: enough for 4 partials of pitch 84 (4.2 kHz), ~1 MB per 32 s clip in the event file


class SampleExport(L.Callback):
    """Every few validation epochs, sample melodies and write them as MIDI and to TensorBoard."""

    def __init__(
        self,
        every_n_epochs: int = 1,
        num_samples: int = 4,
        steps: int = 256,
        seed: str = "",
        rng_seed: int = 0,
        temperature: float = 1.0,
        qpm: float = 120,
    ) -> None:
        positive_int = (lambda v: _is_int(v) and v >= 1, "an integer >= 1")
        positive = (lambda v: _is_number(v) and v > 0 and math.isfinite(v), "a number > 0")
        checks = {
            "every_n_epochs": (every_n_epochs, *positive_int),
            "num_samples": (num_samples, *positive_int),
            "steps": (steps, *positive_int),
            "seed": (seed, lambda v: isinstance(v, str) or _is_int(v), "a melody string like '60 _ 62 _'"),
            "rng_seed": (rng_seed, _is_int, "an integer"),
            "temperature": (temperature, *positive),
            "qpm": (qpm, *positive),
        }
        for key, (value, ok, accepted) in checks.items():
            if not ok(value):
                raise UserError(
                    f"callbacks.sample_export.{key}={value!r} is not accepted; accepted: {accepted}"
                )
        self.every_n_epochs, self.num_samples, self.steps = every_n_epochs, num_samples, steps
        # str(): a one-pitch seed given on the command line (seed=60) arrives as an int
        self.seed, self.rng_seed, self.temperature, self.qpm = (
            str(seed),
            rng_seed,
            float(temperature),
            float(qpm),
        )

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._seed_symbols(pl_module)  # a bad seed fails at the start, not after the first epoch

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # only while fitting: not in the sanity check, trainer.validate() or on other ranks
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING or not trainer.is_global_zero:
            return
        epoch = trainer.current_epoch
        last = (trainer.max_epochs is not None and epoch + 1 == trainer.max_epochs) or (
            trainer.max_steps > 0 and trainer.global_step >= trainer.max_steps
        )
        if (epoch + 1) % self.every_n_epochs and not last:
            return
        writer = next((lg.experiment for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)), None)
        self.export(pl_module, Path(trainer.default_root_dir) / "samples", epoch, writer, trainer.global_step)

    def export(
        self, module: L.LightningModule, folder: Path, epoch: int, writer=None, global_step: int = 0
    ) -> list[list[str]]:
        """Sample `num_samples` melodies; write `folder/epoch=NNN-k.mid` and, given a writer, TB summaries
        (per melody under `samples/k`; `samples/in_key_rate` and `samples/repetition`: their means)."""
        encoding = module.hparams.encoding
        seed = self._seed_symbols(module)
        generator = torch.Generator(device=module.device).manual_seed(self.rng_seed)  # global RNG untouched
        # the sampler's prompt (a full window of '/': a song start, then the seed); a melody opening with
        # a hold (no seed, an untrained model) gets a rest there
        melodies = continue_melodies(module, [seed] * self.num_samples, self.steps, generator,
                                     temperature=self.temperature)
        for k, melody in enumerate(melodies):
            write_midi(melody, folder / f"epoch={epoch:03d}-{k}.mid", step=encoding["step"], qpm=self.qpm)
            if writer is not None:
                self._log(writer, k, melody, module, global_step)
        if writer is not None:
            for name, value in sample_scores(melodies, encoding.get("normalize_key", True)).items():
                writer.add_scalar(f"samples/{name}", value, global_step)
        return melodies

    def _seed_symbols(self, module: L.LightningModule) -> list[str]:
        try:
            seed = module.vocab.parse_melody(self.seed)
        except UserError as err:
            raise UserError(f"callbacks.sample_export.seed: {err}") from None
        if BOUNDARY in seed:
            raise UserError("callbacks.sample_export.seed may not contain '/': it is the start of one song")
        return seed

    def _log(self, writer, k: int, melody: list[str], module: L.LightningModule, global_step: int) -> None:
        """Text, piano roll and audio of melody k under `samples/k`."""
        text = " ".join(melody) or "(empty: the model ended the song at once)"
        writer.add_text(f"samples/{k}", text, global_step)
        if not melody:
            return  # nothing to draw or play; a zero-width image or clip is rejected by TensorBoard
        image = piano_roll(melody, module.vocab.min_pitch, module.vocab.max_pitch)  # (H, W, 3) uint8
        writer.add_image(f"samples/{k}/piano_roll", image, global_step, dataformats="HWC")
        audio = synthesize(melody, step=module.hparams.encoding["step"], qpm=self.qpm, sample_rate=AUDIO_RATE)
        clip = torch.from_numpy(audio)[None]  # (1, N)
        writer.add_audio(f"samples/{k}/audio", clip, global_step, sample_rate=AUDIO_RATE)


def sample_scores(melodies: list[list[str]], normalize_key: bool = True) -> dict[str, float]:
    """Mean in-key rate (in the estimated key) and repetition of the melodies that have notes."""
    scores = {}
    for name, score in (("in_key_rate", lambda m: in_key_rate(m, *melody_key(m, normalize_key))),
                        ("repetition", repetition)):
        values = [score(m) for m in melodies if any(s not in (HOLD, REST) for s in m)]
        if values:
            scores[name] = float(sum(values) / len(values))
    return scores


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
