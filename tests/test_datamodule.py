"""Window/target alignment, augmentation range, batching and seeded shuffling."""

from __future__ import annotations

import numpy as np
import torch

from src.data.augment import transpose
from src.data.datamodule import MelodyDataModule, WindowDataset, split_array
from src.data.meter import bar_steps
from src.data.vocab import BOUNDARY_ID, FIRST_PITCH_ID


def make_datamodule(corpus_dir, cache_dir, **kwargs) -> MelodyDataModule:
    datamodule = MelodyDataModule(corpus=str(corpus_dir), cache_dir=str(cache_dir),
                                  prepare_workers=1, **kwargs)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


def test_windows_align_with_targets_at_song_starts_and_ends(erk5_corpus):
    length = 8
    tokens, targets = split_array(erk5_corpus, "train", length)
    songs = erk5_corpus.split("train")
    assert len(targets) == sum(s["length"] + 1 for s in songs)
    dataset = WindowDataset(tokens, targets, length, len(erk5_corpus.vocab))
    first = songs[0]
    song = erk5_corpus.tokens[first["offset"]:first["offset"] + first["length"]]
    x, y = dataset.batch(torch.arange(first["length"] + 2))
    assert (x[0] == BOUNDARY_ID).all() and y[0] == song[0]  # song start: the window is all '/'
    assert x[1].tolist() == [BOUNDARY_ID] * 7 + [song[0]] and y[1] == song[1]
    closing = first["length"]  # the target after the last symbol is the closing '/'
    assert x[closing].tolist() == song[-length:].tolist() and y[closing] == BOUNDARY_ID
    assert (x[closing + 1] == BOUNDARY_ID).all()  # the next song starts from a clean prompt
    second = songs[1]
    assert y[closing + 1] == erk5_corpus.tokens[second["offset"]]


def test_windows_are_views_not_copies(erk5_corpus):
    tokens, targets = split_array(erk5_corpus, "train", 16)
    dataset = WindowDataset(tokens, targets, 16, len(erk5_corpus.vocab))
    assert dataset.windows.untyped_storage().data_ptr() == dataset.tokens.untyped_storage().data_ptr()


def test_augmentation_stays_in_range_and_moves_whole_windows():
    torch.manual_seed(0)
    vocab_size = 40
    x = torch.randint(0, vocab_size, (5000, 16), dtype=torch.uint8)
    x[:10] = BOUNDARY_ID  # windows with no pitch at all
    y = torch.randint(0, vocab_size, (5000,), dtype=torch.uint8)
    shifted_x, shifted_y = transpose(x, y, (-5, 6), vocab_size)
    assert shifted_x.max() < vocab_size and shifted_y.max() < vocab_size
    pitch = x >= FIRST_PITCH_ID
    assert torch.equal(shifted_x[~pitch], x[~pitch])  # holds, rests and '/' never move
    delta = (shifted_x.long() - x.long())
    lowest = torch.where(pitch, delta, 99).amin(1)
    highest = torch.where(pitch, delta, -99).amax(1)
    has_pitch = pitch.any(1)
    assert torch.equal(lowest[has_pitch], highest[has_pitch])  # one shift per example
    assert lowest[has_pitch].min() >= -5 and highest[has_pitch].max() <= 6


def test_augmentation_reaches_every_allowed_shift():
    torch.manual_seed(0)
    x = torch.full((4000, 4), FIRST_PITCH_ID + 10, dtype=torch.uint8)
    shifted, _ = transpose(x, x[:, 0].clone(), (-5, 6), 40)
    assert sorted(set((shifted[:, 0].long() - x[:, 0].long()).tolist())) == list(range(-5, 7))


def test_batches_are_seeded_and_shuffled(erk5_dir, tmp_path):
    datamodule = make_datamodule(erk5_dir, tmp_path, sequence_length=32, batch_size=16,
                                 val_fraction=0.2, test_fraction=0.2)
    torch.manual_seed(1)
    first = next(iter(datamodule.train_dataloader()))
    torch.manual_seed(1)
    again = next(iter(datamodule.train_dataloader()))
    x, y = first
    assert x.shape == (16, 32) and x.dtype == torch.uint8 and y.dtype == torch.int64
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    val_x, val_y = next(iter(datamodule.val_dataloader()))
    assert (val_x[0] == BOUNDARY_ID).all()  # unshuffled: the first val target opens a song


def test_encoding_settings_are_plain_data(erk5_dir, tmp_path):
    datamodule = make_datamodule(erk5_dir, tmp_path, sequence_length=32)
    encoding = datamodule.encoding
    assert encoding["mapping"]["/"] == 0 and encoding["sequence_length"] == 32
    assert all(isinstance(v, (str, int, float, bool, dict, list)) for v in encoding.values())
    assert np.isclose(encoding["step"], 0.25)
    # once the corpus is read: the training songs' (meter, pickup, mode, songs) rows, plain lists
    train = datamodule.load_corpus().split("train")
    assert sum(row[3] for row in encoding["meters"]) == len(train)
    assert all(isinstance(row, list) and isinstance(row[0], str) for row in encoding["meters"])
    assert encoding["longest_bar"] >= max(bar_steps(s["time_signature"], 0.25) for s in train
                                          if not s["meter_changes"])


def test_an_empty_split_gives_an_empty_dataset(erk5_corpus):
    from dataclasses import replace
    corpus = replace(erk5_corpus, songs=[s for s in erk5_corpus.songs if s["split"] != "val"])
    tokens, targets = split_array(corpus, "val", 8)
    assert len(targets) == 0 and len(WindowDataset(tokens, targets, 8, 40)) == 0


def test_extra_train_adds_only_unseen_songs_to_training(erk5_dir, tmp_path):
    import shutil

    from tests.conftest import ESSEN_DIR

    extra_dir = tmp_path / "extra"
    extra_dir.mkdir()
    for name in ("erk5.abc", "test1.abc"):  # erk5 again (all already known) and 20 other tunes
        shutil.copy(ESSEN_DIR / name, extra_dir / name)
    settings = dict(sequence_length=16, val_fraction=0.2, test_fraction=0.2)
    plain = make_datamodule(erk5_dir, tmp_path / "cache", **settings)
    more = make_datamodule(erk5_dir, tmp_path / "cache", extra_train=str(extra_dir), **settings)
    corpus, train = more.load_corpus(), more.train_corpus()

    def content(c, song):
        return c.tokens[song["offset"]:song["offset"] + song["length"]].tobytes()

    held_out = {content(corpus, s) for s in corpus.songs if s["split"] != "train"}
    trained = [content(train, s) for s in train.songs]
    own = [content(corpus, s) for s in corpus.split("train")]
    assert trained[:len(own)] == own and len(trained) == len(set(trained)) > len(own)
    assert not held_out & set(trained)  # this corpus's val and test songs are never trained on
    assert train.report["extra_train"]["songs"] == len(trained) - len(own)
    assert len(more.datasets["train"]) > len(plain.datasets["train"])
    for split in ("val", "test"):  # scored on this corpus alone
        assert len(more.datasets[split]) == len(plain.datasets[split])
    assert more.encoding["extra_train"] == str(extra_dir) and "extra_train" not in plain.encoding


