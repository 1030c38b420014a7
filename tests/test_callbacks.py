"""SampleExport in a real (tiny) fit: MIDI files, TensorBoard summaries, settings and checkpoints."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import DEFAULT_SIZE_GUIDANCE, EventAccumulator
from torch.utils.data import DataLoader, TensorDataset

from src.callbacks import SampleExport, sample_scores
from src.data.encoding import read_melody
from src.data.vocab import Vocabulary, symbols_to_events
from src.errors import UserError
from src.models.modules.kinds import WindowModule

WINDOW, SEED = 16, "60 _ 62 _"
NET = {
    "_target_": "src.models.nets.lstm_attn.LSTMAttention",
    "hidden_size": 8,
    "num_layers": 1,
    "heads": 2,
    "dropout": 0.0,
}


def _module() -> WindowModule:
    torch.manual_seed(0)
    encoding = {
        "mapping": Vocabulary(48, 84).mapping,
        "sequence_length": WINDOW,
        "step": 0.25,
        "min_pitch": 48,
        "max_pitch": 84,
    }
    return WindowModule(dict(NET), encoding, {"lr": 1e-3, "weight_decay": 0.0})


def _loader() -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 40, (16, WINDOW), generator=g).to(torch.uint8)  # (B, L) windows
    return DataLoader(TensorDataset(x, torch.randint(0, 40, (16,), generator=g)), batch_size=8)


def _fit(tmp_path, callback: SampleExport, max_epochs: int = 1) -> tuple[L.Trainer, WindowModule]:
    module = _module()
    trainer = L.Trainer(
        max_epochs=max_epochs,
        limit_train_batches=2,
        limit_val_batches=1,
        logger=TensorBoardLogger(tmp_path),
        default_root_dir=tmp_path,
        enable_checkpointing=False,
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[callback],
    )
    trainer.fit(module, _loader(), _loader())
    return trainer, module


def _notes(events: list[tuple[int | None, int]]) -> list[tuple[int, int, int]]:
    """Events -> (pitch, onset step, steps) of the notes only: rests are implied by the onsets."""
    notes, onset = [], 0
    for pitch, steps in events:
        if pitch is not None:
            notes.append((pitch, onset, steps))
        onset += steps
    return notes


def test_fit_writes_midi_and_tensorboard_summaries(tmp_path):
    callback = SampleExport(num_samples=2, steps=32, seed=SEED)
    trainer, module = _fit(tmp_path, callback)
    melodies = callback.export(module, tmp_path / "again", epoch=0)  # same rng_seed: same melodies
    for k, melody in enumerate(melodies):
        path = tmp_path / "samples" / f"epoch=000-{k}.mid"
        assert path.is_file()
        assert melody[:4] == SEED.split() and len(melody) <= 4 + 32
        assert _notes(read_melody(path)) == _notes(symbols_to_events(melody))
        assert (tmp_path / "again" / path.name).read_bytes() == path.read_bytes()
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["epoch=000-0.mid", "epoch=000-1.mid"]

    everything = {kind: 0 for kind in DEFAULT_SIZE_GUIDANCE}  # 0: keep every event
    events = EventAccumulator(trainer.logger.log_dir, size_guidance=everything)
    tags = events.Reload().Tags()
    assert {"samples/0/audio", "samples/1/audio"} <= set(tags["audio"])
    assert {"samples/0/piano_roll", "samples/1/piano_roll"} <= set(tags["images"])
    assert {"samples/0/text_summary", "samples/1/text_summary"} <= set(tags["tensors"])
    text = events.Tensors("samples/0/text_summary")[0].tensor_proto.string_val[0].decode()
    assert text == " ".join(melodies[0])
    audio = events.Audio("samples/0/audio")[0]
    assert audio.step == trainer.global_step == 2
    assert audio.length_frames == round(len(melodies[0]) * 0.125 * audio.sample_rate)
    # the cheap scores of src.eval, as means over the exported melodies
    scores = sample_scores(melodies)
    assert set(scores) == {"in_key_rate", "repetition"}
    for name, value in scores.items():
        logged = events.Scalars(f"samples/{name}")
        assert [(e.step, pytest.approx(e.value)) for e in logged] == [(2, value)] and 0 <= value <= 1


def test_every_n_epochs_and_the_last_epoch(tmp_path):
    _fit(tmp_path, SampleExport(every_n_epochs=2, num_samples=1, steps=4, seed=SEED), max_epochs=3)
    # epoch 1 by the period, epoch 2 because it is the last; no sanity-check export
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["epoch=001-0.mid", "epoch=002-0.mid"]


def test_sampling_leaves_training_state_alone(tmp_path):
    module = _module().train()
    state = torch.get_rng_state()
    SampleExport(num_samples=3, steps=8).export(module, tmp_path, epoch=4)
    assert torch.equal(torch.get_rng_state(), state)  # its own generator, not the global one
    assert module.training and module.net.training
    assert len(list(tmp_path.glob("epoch=004-*.mid"))) == 3


def test_checkpoint_still_loads_with_weights_only(tmp_path):
    trainer, _ = _fit(tmp_path, SampleExport(num_samples=1, steps=4, seed=SEED))
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    assert "hyper_parameters" in torch.load(tmp_path / "m.ckpt", weights_only=True)


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"every_n_epochs": 0}, "every_n_epochs"),
        ({"num_samples": 0}, "num_samples"),
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"temperature": 0.0}, "temperature"),
        ({"temperature": float("inf")}, "temperature"),
        ({"qpm": -1}, "qpm"),
        ({"rng_seed": "a"}, "rng_seed"),
        ({"seed": ["60"]}, "seed"),
    ],
)
def test_bad_settings_name_the_key(settings, key):
    with pytest.raises(UserError, match=rf"callbacks\.sample_export\.{key}=.* accepted") as info:
        SampleExport(**settings)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("seed", "message"), [("60 x", "'x'"), ("60 99", "pitch 99"), ("60 /", "'/'")])
def test_bad_seed_fails_before_training(tmp_path, seed, message):
    with pytest.raises(UserError, match=rf"callbacks\.sample_export\.seed.*{message}"):
        _fit(tmp_path, SampleExport(seed=seed))
    assert not (tmp_path / "samples").exists()
