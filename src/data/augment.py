"""Transposition augmentation: each training example moved by a random number of semitones."""

from __future__ import annotations

import torch
from torch import Tensor

from src.data.vocab import FIRST_PITCH_ID


def transpose(x: Tensor, y: Tensor, shift_range: tuple[int, int], vocab_size: int) -> tuple[Tensor, Tensor]:
    """Shift each example's pitches by a random number of semitones, staying in the vocabulary.

    The shift is drawn uniformly from the part of `shift_range` that keeps the window and its
    target inside the range: the same distribution as redrawing until it fits.
    """
    both = torch.cat([x, y[:, None]], dim=1).long()  # (B, L+1)
    is_pitch = both >= FIRST_PITCH_ID
    lowest = torch.where(is_pitch, both, vocab_size).amin(dim=1)  # (B,)
    highest = torch.where(is_pitch, both, 0).amax(dim=1)
    low = torch.clamp(FIRST_PITCH_ID - lowest, min=shift_range[0])  # no-pitch rows keep the range
    high = torch.clamp(vocab_size - 1 - highest, max=shift_range[1])
    shift = low + (torch.rand(len(both)) * (high - low + 1)).long().clamp(max=high - low)
    both = torch.where(is_pitch, both + shift[:, None], both).to(torch.uint8)
    return both[:, :-1], both[:, -1]
