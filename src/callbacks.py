"""Training callbacks: listen to the model as it learns (MIDI files, TensorBoard text, piano rolls, audio,
and the cheap scores of src.eval: in-key rate and repetition of the exported melodies)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.trainer.states import TrainerFn

from src.checks import check, integer, is_integer
from src.data.meter import check_qpm
from src.data.score_writer import write_midi
from src.data.vocab import HOLD, REST
from src.errors import UserError
from src.eval.keys import melody_key
from src.eval.stats import in_key_rate, repetition
from src.models.generation import GenerationRequest
from src.models.generation.seeds import read_seed
from src.render import piano_roll, synthesize

AUDIO_RATE = 16000  # Hz: enough for 4 partials of pitch 84 (4.2 kHz), ~1 MB per 32 s clip in the event file


class SampleExport(L.Callback):
    """Every few validation epochs, sample melodies and write them as MIDI and to TensorBoard."""

    def __init__(
        self,
        every_n_epochs: int = 1,
        num_samples: int = 4,
        steps: int = 256,
        seed: str = "",
        rng_seed: int | None = None,  # None: the generation default (conf/generation.yaml)
        temperature: float | None = None,
        qpm: float = 120,
    ) -> None:
        integer("callbacks.sample_export.every_n_epochs", every_n_epochs, 1)
        check("callbacks.sample_export.seed", seed, isinstance(seed, str) or is_integer(seed),
              "a melody string like '60 _ 62 _'")
        try:
            check_qpm(qpm)
            # str(): a one-pitch seed given on the command line (seed=60) arrives as an int
            given = {"rng_seed": rng_seed, "temperature": temperature}
            self.request = GenerationRequest(seed=str(seed), steps=steps, num_samples=num_samples,
                                             **{k: v for k, v in given.items() if v is not None})
        except UserError as err:
            raise UserError(f"callbacks.sample_export.{err}") from None
        self.every_n_epochs, self.qpm = every_n_epochs, float(qpm)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._request(pl_module)  # a bad seed fails at the start, not after the first epoch

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
        encoding = module.encoding
        # drawn with the request's own rng_seed on the module's device: the global RNG is untouched
        generation = module.generate(self._request(module))
        melodies = generation.melodies
        for k, (melody, meter) in enumerate(zip(melodies, generation.meters, strict=True)):
            write_midi(melody, folder / f"epoch={epoch:03d}-{k}.mid", step=encoding.step, qpm=self.qpm,
                       time_signature=meter.time_signature, pickup=meter.pickup)
            if writer is not None:
                self._log(writer, k, melody, module, global_step)
        if writer is not None:
            for name, value in sample_scores(melodies, encoding.normalize_key).items():
                writer.add_scalar(f"samples/{name}", value, global_step)
        return melodies

    def _request(self, module: L.LightningModule) -> GenerationRequest:
        """This callback's request in the module's default mode (a VAE: prior, or vary with a seed)."""
        mode = module.modes[0]
        if not module.continues and self.request.seed.strip():
            mode = "vary"
        try:
            read_seed(module, "seed", self.request.seed)
        except UserError as err:
            raise UserError(f"callbacks.sample_export.{err}") from None
        return replace(self.request, mode=mode)

    def _log(self, writer, k: int, melody: list[str], module: L.LightningModule, global_step: int) -> None:
        """Text, piano roll and audio of melody k under `samples/k`."""
        text = " ".join(melody) or "(empty: the model ended the song at once)"
        writer.add_text(f"samples/{k}", text, global_step)
        if not melody:
            return  # nothing to draw or play; a zero-width image or clip is rejected by TensorBoard
        image = piano_roll(melody, module.vocab.min_pitch, module.vocab.max_pitch)  # (H, W, 3) uint8
        writer.add_image(f"samples/{k}/piano_roll", image, global_step, dataformats="HWC")
        audio = synthesize(melody, step=module.encoding.step, qpm=self.qpm, sample_rate=AUDIO_RATE)
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
