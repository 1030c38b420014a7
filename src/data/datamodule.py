"""Sliding-window datasets over the token cache (docs/design.md §3) and the LightningDataModule.

`windows=segments` serves fixed-length segments instead (src/data/segments.py, for the VAE), and
`windows=every` strided windows with a target at every position and whole songs to score
(src/data/sequences.py, for causal nets).
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import lightning as L
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from src.checks import check, integer
from src.data.augment import transpose
from src.data.corpus import SPLITS, Corpus, corpus_files, load_or_build
from src.data.keys import median_pitch
from src.data.record import EncodingRecord
from src.data.segments import SegmentDataset
from src.data.sequences import SongSequences, StridedWindows, stream_array
from src.data.style_rows import style_names, style_rows
from src.data.vocab import BOUNDARY_ID, FIRST_PITCH_ID, Vocabulary
from src.errors import UserError


def split_array(corpus: Corpus, split: str, sequence_length: int) -> tuple[np.ndarray, np.ndarray]:
    """One split laid out as `/`*L song `/`*L song ... `/`, plus the target positions.

    Every song is preceded by `sequence_length` boundaries (the sampler's prompt), so the window
    before a song's first symbol is all `/`. Targets: every symbol of every song and each
    song's closing `/` (the first boundary after it).
    Returns (tokens (N,) uint8, targets (T,) int64 positions into tokens).
    """
    songs = corpus.split(split)
    if not songs:
        return np.full(sequence_length + 1, BOUNDARY_ID, np.uint8), np.empty(0, np.int64)
    lengths = np.array([s["length"] for s in songs], dtype=np.int64)
    starts = sequence_length + np.concatenate([[0], np.cumsum(lengths + sequence_length)[:-1]])
    tokens = np.full(int(lengths.sum() + sequence_length * len(songs) + 1), BOUNDARY_ID, np.uint8)
    targets = np.empty(int(lengths.sum() + len(songs)), np.int64)
    cursor = 0
    for song, start, length in zip(songs, starts, lengths, strict=True):
        tokens[start:start + length] = corpus.tokens[song["offset"]:song["offset"] + length]
        targets[cursor:cursor + length + 1] = np.arange(start, start + length + 1)  # + closing '/'
        cursor += length + 1
    return tokens, targets


def with_extra_train(corpus: Corpus, extra: Corpus) -> Corpus:
    """`corpus` whose train split also holds `extra`'s train songs, leaving out every song equal to
    one of `corpus`'s songs, so its val and test songs stay unseen (both splits hash the tokens)."""
    known = {corpus.song_tokens(s).tobytes() for s in corpus.songs}
    offset = len(corpus.tokens)  # extra's songs move behind this corpus's tokens
    added = [s | {"offset": s["offset"] + offset} for s in extra.split("train")
             if extra.song_tokens(s).tobytes() not in known]
    return dataclasses.replace(
        corpus, tokens=np.concatenate([corpus.tokens, extra.tokens]),
        positions=np.concatenate([corpus.positions, extra.positions]),
        songs=corpus.split("train") + added,
        report=corpus.report | {"extra_train": {"path": str(extra.path), "songs": len(added)}},
    )


def median_rows(corpus: Corpus, songs: list[dict]) -> tuple[tuple[str, float, int], ...]:
    """(mode, median note pitch in the song's own register, songs) rows of `songs`, by mode and median:
    where the songs sat before `normalize_octave` moved each by its `octave`."""
    counts = Counter()
    for song in songs:
        ids = corpus.song_tokens(song)  # (length,) uint8
        pitches = ids[ids >= FIRST_PITCH_ID].astype(np.int64) - FIRST_PITCH_ID + corpus.vocab.min_pitch
        counts[song["mode"], median_pitch(pitches - song["octave"])] += 1
    return tuple((mode, median, count) for (mode, median), count in sorted(counts.items()))


class WindowDataset(Dataset):
    """(window, next symbol) pairs; windows are views over one uint8 array.

    `__getitems__` gathers a whole batch with one vectorized index, so a batch costs one
    tensor op instead of `batch_size` Python calls.
    """

    def __init__(self, tokens: np.ndarray, targets: np.ndarray, sequence_length: int,
                 vocab_size: int, augment: tuple[int, int] | None = None) -> None:
        self.tokens = torch.from_numpy(tokens)  # (N,) uint8
        self.targets = torch.from_numpy(targets)  # (T,) int64 positions
        self.windows = self.tokens.unfold(0, sequence_length, 1)  # (N-L+1, L) view, no copy
        self.sequence_length = sequence_length
        self.vocab_size = vocab_size
        self.augment = augment

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[tuple[Tensor, Tensor]]:
        x, y = self.batch(torch.as_tensor(indices, dtype=torch.long))
        return [(x, y)]

    def batch(self, indices: Tensor) -> tuple[Tensor, Tensor]:
        """Windows (B, L) uint8 and next symbols (B,) int64 for these example indices."""
        positions = self.targets[indices]
        x = self.windows[positions - self.sequence_length]  # (B, L) gather
        y = self.tokens[positions]
        if self.augment is not None:
            x, y = transpose(x, y, self.augment, self.vocab_size)
        return x, y.long()


def _single_batch(items: list[tuple[Tensor, Tensor]]) -> tuple[Tensor, Tensor]:
    """Collate for datasets whose `__getitems__` already returns one gathered batch."""
    return items[0]


class MelodyDataModule(L.LightningDataModule):
    """Builds or loads the token cache and serves seeded, shuffled window batches per split."""

    def __init__(
        self, corpus: str = "essen_erk", step: float = 0.25, min_pitch: int = 48,
        max_pitch: int = 84, normalize_key: bool = True, normalize_octave: bool = False,
        val_fraction: float = 0.05,
        test_fraction: float = 0.05, expand_repeats: bool = True, melody: str = "auto",
        off_grid: str = "snap", cache_dir: str = "data/processed",
        prepare_workers: int | None = None, sequence_length: int = 64, batch_size: int = 256,
        num_workers: int = 0, transpose_augment: list[int] | tuple[int, int] | None = None,
        windows: str = "next", segment_length: int | None = None, segment_stride: int = 16,
        extra_train: str | None = None, history: int = 0, styles: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__()
        for key, value, minimum in (("batch_size", batch_size, 1), ("num_workers", num_workers, 0),
                                    ("segment_stride", segment_stride, 1)):
            integer(f"data.{key}", value, minimum)
        if extra_train is not None:  # checked now, before any work
            check("data.extra_train", extra_train, isinstance(extra_train, str),
                  "null, a corpus name or folder")
            corpus_files(extra_train, "data.extra_train")
        # the windows (and a VAE's segment length) are the model kind's: src.train passes them
        layout = {"windows": windows, "segment_length": segment_length if windows == "segments" else None,
                  "history": int(history) if windows == "every" else 0}
        self.record = EncodingRecord.from_data_config(locals(), **layout)
        self.cache_dir, self.prepare_workers = cache_dir, prepare_workers
        self.batch_size, self.num_workers = int(batch_size), int(num_workers)
        self.segment_stride = int(segment_stride)
        self.augment = _check_augment(transpose_augment)
        self.corpus: Corpus | None = None
        self._train_corpus: Corpus | None = None  # with extra_train's songs
        self.datasets: dict[str, Dataset] = {}
        self._styles = tuple(styles) if styles else None  # a checkpoint's: scored as it was trained

    @classmethod
    def from_record(cls, record: EncodingRecord, **settings) -> MelodyDataModule:
        """The data module of a checkpoint's encoding record (`settings`: cache_dir, batch_size, ...); its
        songs' style ids are the checkpoint's, whatever styles the corpus scored holds."""
        return cls(**record.data_settings(), styles=record.styles, **settings)

    @property
    def encoding(self) -> dict:
        """Plain-data encoding settings stored in every checkpoint (`EncodingRecord.to_checkpoint`),
        with the training songs' meters once the corpus is read."""
        if self.corpus is None:
            return self.record.to_checkpoint()
        train = self.train_corpus()
        songs = Counter((s["time_signature"], s["pickup"], s["mode"]) for s in train.split("train"))
        lengths = [int(train.song_positions(s)[:, 1].max()) for s in train.split("train")]
        meters = tuple((*key, count) for key, count in songs.most_common())
        medians = median_rows(train, train.split("train")) if self.record.normalize_octave else ()
        keys = Counter(tuple(s["key"].split()) for s in train.split("train") if self.record.normalize_key)
        return dataclasses.replace(self.record, meters=meters, longest_bar=max(lengths, default=0),
                                   medians=medians, keys=tuple((*key, n) for key, n in sorted(keys.items())),
                                   **style_rows(train, train.split("train"), self.record.normalize_key)
                                   ).to_checkpoint()

    @property
    def styles(self) -> tuple[str, ...]:
        """The style list whose ids the songs' context holds (a model reading labels reads 1 + a style's
        index here): a checkpoint's, else the training songs' styles, sorted."""
        if self._styles is None:  # read once: every split's context and the checkpoint use it
            self._styles = style_names(self.train_corpus().split("train"))
        return self._styles

    @property
    def vocab(self) -> Vocabulary:
        return self.record.vocab

    @property
    def windows(self) -> str:
        return self.record.windows

    @property
    def sequence_length(self) -> int:
        return self.record.sequence_length

    def load_corpus(self) -> Corpus:
        if self.corpus is None:
            self.corpus = load_or_build(self.record, self.cache_dir, self.prepare_workers)
        return self.corpus

    def prepare_data(self) -> None:
        self.load_corpus()  # builds the cache once, on one process

    def setup(self, stage: str | None = None) -> None:
        build = {"next": self._next_symbol, "every": self._every_position, "segments": self._segments}
        for split in ("train", "val", "test"):
            if split in self.datasets:
                continue
            corpus = self.train_corpus() if split == "train" else self.load_corpus()
            self.datasets[split] = build[self.windows](corpus, split)

    def train_corpus(self) -> Corpus:
        """The corpus whose `train` split is trained on: this one, plus `extra_train`'s train songs."""
        corpus = self.load_corpus()
        if self.record.extra_train is None:
            return corpus
        if self._train_corpus is None:  # built once: the encoding's meters and the train split read it
            extra = self.record.with_corpus(self.record.extra_train)
            self._train_corpus = with_extra_train(corpus, load_or_build(extra, self.cache_dir,
                                                                        self.prepare_workers))
        return self._train_corpus

    def _next_symbol(self, corpus: Corpus, split: str) -> Dataset:
        """`windows=next`: a window of `sequence_length` ids before every target."""
        tokens, targets = split_array(corpus, split, self.sequence_length)
        return WindowDataset(tokens, targets, self.sequence_length, len(self.vocab),
                             self.augment if split == "train" else None)

    def _segments(self, corpus: Corpus, split: str) -> Dataset:
        """`windows=segments`: the VAE's segments, one every `segment_stride` steps of a song."""
        tokens, _ = split_array(corpus, split, self.sequence_length)
        return SegmentDataset(tokens, self.record.segment_length, self.segment_stride, len(self.vocab),
                              self.augment if split == "train" else None)

    def _every_position(self, corpus: Corpus, split: str) -> Dataset:
        """`windows=every`: strided windows with a target at every position; held-out songs whole."""
        tokens, starts, context = stream_array(corpus, split, self.styles)
        if split == "train":
            return StridedWindows(tokens, context, self.sequence_length, self.segment_stride,
                                  len(self.vocab), self.augment, history=self.record.history)
        return SongSequences(tokens, starts, context)

    def check_splits(self) -> None:
        """Load (or build) the cache and refuse, in one line, a split without songs: called before any
        training work, so a one-tune corpus fails before Lightning starts. Songs are counted; no dataset
        is built (`setup` does that once, for the run)."""
        corpus = self.load_corpus()
        for split in SPLITS:
            if not corpus.split(split) and not (split == "train" and self.record.extra_train):
                raise UserError(self._empty(split))

    def _check_split(self, split: str) -> None:
        """At loader time: a split whose songs give no example (VAE segments longer than every song)."""
        if len(self.datasets[split]) == 0:
            raise UserError(self._empty(split))

    def _empty(self, split: str) -> str:
        shorter = " (or a smaller model.net.segment_length)" if self.windows == "segments" else ""
        songs = ", ".join(f"{name} {len(self.load_corpus().split(name))}" for name in SPLITS)
        return (f"the {split} split of {self.record.corpus!r} is empty (songs: {songs}): use a larger "
                f"corpus or change data.val_fraction/test_fraction{shorter}")

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        self._check_split(split)
        return DataLoader(
            self.datasets[split], batch_size=self.batch_size, shuffle=shuffle,
            num_workers=self.num_workers, collate_fn=_single_batch,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)


def _check_augment(value) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        low, high = (int(v) for v in value)
    except (TypeError, ValueError):
        low, high = 1, 0
    check("data.transpose_augment", value, low <= 0 <= high,
          "null or [low, high] semitones with low <= 0 <= high, e.g. [-5, 6]")
    return low, high
