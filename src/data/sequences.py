"""Every-position batches for causal nets (`data.windows=every`): strided training windows, whole songs.

A split is laid out as `/ song / song / ... /`: one boundary between songs, the way a causal net reads
a stream of songs. Training takes windows of L + 1 symbols from it (inputs the first L, targets the
last L, so every position has a target); validation and test score every song whole, from its opening
`/` to its closing one, so each target is predicted once, with all of its song before it. Every batch
also carries each input's context (B, L, WIDTH): the predicted step's bar position, bar length, mode,
style, tune type, place in the song's form and span (src/data/plans.py).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from src.data.augment import transpose
from src.data.corpus import Corpus
from src.data.plans import UNKNOWN_SPAN_EVERY, WIDTH, label_ids, song_context
from src.data.vocab import BOUNDARY_ID, IGNORE_ID


def stream_array(corpus: Corpus, split: str, styles: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray,
                                                                                   np.ndarray]:
    """One split as `/ s1 / s2 / ... /` (N,) uint8, in the corpus's order, each song's opening `/`
    position (S,) int64, and each token's context (N, WIDTH) uint8 (src/data/plans.py: bar position, bar
    length, mode, style and tune type ids against `styles`, the form plan, the song's span: unknown in
    one of every UNKNOWN_SPAN_EVERY training songs); the first `/` has none."""
    songs = corpus.split(split)
    pieces = [np.full(1, BOUNDARY_ID, np.uint8)]
    context = [np.zeros((1, WIDTH), np.uint8)]
    # corpus.tokens holds each song followed by its closing '/': take both
    for k, song in enumerate(songs):
        pieces.append(corpus.tokens[song["offset"]:song["offset"] + song["length"] + 1])
        labels = label_ids(song.get("style", ""), song.get("tune_type", ""), styles)
        # a share of the training songs keep their span unknown: what a net is told with no span asked
        unknown = split == "train" and k % UNKNOWN_SPAN_EVERY == UNKNOWN_SPAN_EVERY - 1
        context.append(song_context(corpus.song_positions(song), song["mode"], labels, song.get("form", ""),
                                    song.get("part_bars", []), None if unknown else corpus.song_range(song)))
    lengths = np.array([s["length"] for s in songs], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64) if songs else lengths
    return np.concatenate(pieces), starts, np.concatenate(context)


class StridedWindows(Dataset):
    """Windows of L + 1 symbols every `stride` positions, each start moved by a random offset in
    [0, stride) per draw so that window edges fall everywhere; views over one uint8 array. With `history`
    H > 0 each window also brings the H ids
    before it (`/` before the stream's start), which a look-back reads (src/models/nets/step_inputs.py)."""

    def __init__(self, tokens: np.ndarray, context: np.ndarray, sequence_length: int, stride: int,
                 vocab_size: int, augment: tuple[int, int] | None = None, jitter: bool = True,
                 history: int = 0) -> None:
        self.tokens = torch.from_numpy(tokens)  # (N,) uint8
        self.windows = self.tokens.unfold(0, sequence_length + 1, 1)  # (N-L, L+1) view, no copy
        self.context = torch.from_numpy(context)  # (N, WIDTH) uint8
        self.history = history
        self.before = None  # (N+1, H): the ids before each start, '/' before the stream's
        if history:
            padded = torch.cat([torch.full((history,), BOUNDARY_ID, dtype=torch.uint8), self.tokens])
            self.before = padded.unfold(0, history, 1)
        self.stride, self.vocab_size, self.augment, self.jitter = stride, vocab_size, augment, jitter
        self.count = (len(self.windows) - 1) // stride + 1 if len(self.windows) else 0

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[tuple[Tensor, Tensor, Tensor]]:
        return [self.batch(torch.as_tensor(indices, dtype=torch.long))]

    def batch(self, indices: Tensor) -> tuple[Tensor, ...]:
        """Inputs (B, L) uint8, targets (B, L) int64 (the inputs moved on by one), the targets' context
        (B, L, WIDTH) uint8, and with a history the H ids before the inputs (B, H) uint8."""
        starts = indices * self.stride
        if self.jitter:
            starts = starts + torch.randint(0, self.stride, starts.shape)
        starts = starts.clamp(max=len(self.windows) - 1)
        w = self.windows[starts]  # (B, L+1) gather
        x, y = w[:, :-1], w[:, 1:]
        L = x.shape[1]
        context = self.context[starts[:, None] + 1 + torch.arange(L)]  # (B, L, 3): the targets'
        H = self.history
        if H:
            x = torch.cat([self.before[starts], x], dim=1)  # (B, H + L): the history travels with x
        if self.augment is not None:  # one shift per window: history, inputs and targets alike
            x, last = transpose(x, y[:, -1], self.augment, self.vocab_size)
            y = torch.cat([x[:, H + 1:], last[:, None]], dim=1)
        if H:
            return x[:, H:], y.long(), context, x[:, :H]
        return x, y.long(), context


class SongSequences(Dataset):
    """Whole songs, `/ song` -> `song /`, batched by similar length and padded after the song."""

    def __init__(self, tokens: np.ndarray, starts: np.ndarray, context: np.ndarray) -> None:
        self.tokens = torch.from_numpy(tokens)  # (N,) uint8
        self.context = torch.from_numpy(context)  # (N, WIDTH) uint8
        ends = np.append(starts[1:], len(tokens) - 1)  # each song's closing '/'
        # longest first: neighbours in the (unshuffled) loader have similar lengths, little padding
        order = np.argsort(-(ends - starts), kind="stable")
        self.starts, self.ends = torch.from_numpy(starts[order]), torch.from_numpy(ends[order])

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[tuple[Tensor, Tensor, Tensor]]:
        starts, ends = self.starts[indices], self.ends[indices]
        width = int((ends - starts).max())  # longest song + 1 in this batch
        x = torch.full((len(indices), width), BOUNDARY_ID, dtype=torch.uint8)  # (B, W)
        y = torch.full((len(indices), width), IGNORE_ID, dtype=torch.long)  # (B, W)
        context = torch.zeros((len(indices), width, self.context.shape[1]), dtype=torch.uint8)  # (B, W, C)
        for row, (start, end) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            x[row, :end - start] = self.tokens[start:end]
            y[row, :end - start] = self.tokens[start + 1:end + 1]
            context[row, :end - start] = self.context[start + 1:end + 1]
        return [(x, y, context)]
