"""Listen to and look at a melody without music21: a tiny additive synthesizer, WAV output, a piano roll."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from src.atomic import atomic_path
from src.data.vocab import symbols_to_events

HARMONICS = (1.0, 0.5, 0.3, 0.15)  # relative amplitudes of partials 1..4: a soft, reedy tone
PEAK = 0.8  # loudest possible sample: every partial in phase at full envelope
ATTACK_S, RELEASE_S = 0.005, 0.02  # short ramps, so a repeated pitch is heard as two notes
DECAY_S = 1.5  # time constant of the gentle fall during a held note
# piano-roll colours (RGB): background, held note, onset, and a faint line on every C
_BLANK, _HELD, _ONSET, _C_ROW = 0, 1, 2, 3
_PALETTE = np.array([[255, 255, 255], [110, 160, 215], [20, 50, 120], [238, 238, 238]], dtype=np.uint8)


def synthesize(
    symbols: list[str], step: float = 0.25, qpm: float = 120, sample_rate: int = 22050
) -> np.ndarray:
    """Symbols of one song -> float32 mono samples in [-1, 1], exactly len(symbols) steps long."""
    if step <= 0 or qpm <= 0 or sample_rate <= 0:
        raise ValueError(f"step, qpm and sample_rate must be > 0, got {step}, {qpm}, {sample_rate}")
    per_step = step * 60.0 / qpm * sample_rate  # samples per grid step (not a whole number in general)
    out = np.zeros(round(len(symbols) * per_step), dtype=np.float32)
    onset = 0
    for pitch, steps in symbols_to_events(symbols):
        # rounding the step boundaries (not the durations) keeps the total length exact
        start, end = round(onset * per_step), round((onset + steps) * per_step)
        onset += steps
        if pitch is not None and end > start:
            out[start:end] = _note(pitch, end - start, sample_rate)
    return out


def _note(pitch: int, n: int, sample_rate: int) -> np.ndarray:
    """One note of n samples: harmonics under an attack / decay / release envelope ending at 0."""
    t = np.arange(n) / sample_rate  # (n,) seconds
    freq = 440.0 * 2.0 ** ((pitch - 69) / 12)
    tone = np.zeros(n)
    for k, amp in enumerate(HARMONICS, start=1):
        if k * freq < sample_rate / 2:  # partials above Nyquist would alias
            tone += amp * np.sin(2 * np.pi * k * freq * t)
    # ramps take at most a quarter of a short note each, so it still sounds
    attack = max(1, min(round(ATTACK_S * sample_rate), n // 4))
    release = max(1, min(round(RELEASE_S * sample_rate), n // 4))
    envelope = np.exp(-t / DECAY_S)
    envelope[:attack] *= np.arange(attack) / attack
    envelope[n - release :] *= np.arange(release, 0, -1) / release - 1 / release  # last sample is 0
    return (PEAK / sum(HARMONICS) * tone * envelope).astype(np.float32)


def write_wav(samples: np.ndarray, path: str | Path, sample_rate: int = 22050) -> None:
    """Write float samples in [-1, 1] as 16-bit mono PCM, whole or not at all."""
    pcm = np.round(np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0) * 32767).astype("<i2")
    with atomic_path(path) as tmp:
        with wave.open(str(tmp), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(sample_rate)
            out.writeframes(pcm.tobytes())


def piano_roll(symbols: list[str], min_pitch: int, max_pitch: int, scale: int = 4) -> np.ndarray:
    """Symbols of one song -> an RGB image (H, W, 3) uint8: high pitches on top, one column per step.

    Each cell is `scale` x `scale` pixels; a note's first step is darker, so repeated notes stay apart.
    """
    if not min_pitch <= max_pitch or scale < 1:
        raise ValueError(f"need min_pitch <= max_pitch and scale >= 1, got {min_pitch}, {max_pitch}, {scale}")
    pitches = np.arange(max_pitch, min_pitch - 1, -1)  # (P,) row r holds pitches[r], highest first
    grid = np.zeros((len(pitches), len(symbols)), dtype=np.uint8)  # (P, T) palette indices
    grid[pitches % 12 == 0] = _C_ROW
    onset = 0
    for pitch, steps in symbols_to_events(symbols):
        if pitch is not None:
            if not min_pitch <= pitch <= max_pitch:
                raise ValueError(f"pitch {pitch} is outside the roll's range {min_pitch}..{max_pitch}")
            row = max_pitch - pitch
            grid[row, onset : onset + steps] = _HELD
            grid[row, onset] = _ONSET
        onset += steps
    image = _PALETTE[grid]  # (P, T, 3)
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)  # (P * scale, T * scale, 3)
