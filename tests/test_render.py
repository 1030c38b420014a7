"""The synthesizer, WAV writer and piano roll, on tiny hand-written tunes."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from src.render import piano_roll, synthesize, write_wav

RATE = 22050


def _hz(pitch: int) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12)


def _onsets(samples: np.ndarray, rate: int = RATE, window_s: float = 0.004) -> list[float]:
    """Times (s) where the moving RMS envelope, having been quiet (< 0.2 max), gets loud (> 0.5 max)."""
    width = int(window_s * rate)  # about one period of pitch 60, so the envelope barely ripples
    envelope = np.sqrt(np.convolve(samples.astype(np.float64) ** 2, np.ones(width) / width, mode="same"))
    onsets, quiet = [], True
    for i, level in enumerate(envelope / envelope.max()):
        if quiet and level > 0.5:
            onsets.append(i / rate)
            quiet = False
        elif level < 0.2:
            quiet = True
    return onsets


@pytest.mark.parametrize(("step", "qpm"), [(0.25, 120), (0.25, 97), (0.5, 133.3)])
def test_length_is_exactly_the_melodys_duration(step, qpm):
    symbols = "60 _ _ 62 r _ 64 _ _ _ 65".split()
    samples = synthesize(symbols, step=step, qpm=qpm, sample_rate=RATE)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert len(samples) == round(len(symbols) * step * 60 / qpm * RATE)
    assert np.abs(samples).max() <= 1.0


@pytest.mark.parametrize("pitch", [48, 60, 69, 84])
def test_spectrum_peaks_at_the_first_notes_pitch(pitch):
    samples = synthesize(f"{pitch} _ _ _ _ _ _ _ 72 _ _ _".split(), sample_rate=RATE)
    first = samples[: int(8 * 0.125 * RATE)]  # 8 steps of 0.125 s at 120 qpm
    padded = 8 * len(first)  # zero-padding: bins of ~0.25 Hz to read the peak closely
    spectrum = np.abs(np.fft.rfft(first * np.hanning(len(first)), n=padded))
    peak_hz = np.argmax(spectrum) * RATE / padded
    assert abs(peak_hz - _hz(pitch)) < 2.0


def test_rests_are_silent_and_notes_are_not():
    samples = synthesize("60 _ r _ 62 _".split(), sample_rate=RATE)
    span = len(samples) // 3
    assert np.abs(samples[span : 2 * span]).max() == 0.0
    assert np.abs(samples[:span]).max() > 0.1 and np.abs(samples[2 * span :]).max() > 0.1


def test_repeated_note_is_articulated_twice():
    repeated = synthesize("60 _ _ _ 60 _ _ _".split(), sample_rate=RATE)
    held = synthesize("60 _ _ _ _ _ _ _".split(), sample_rate=RATE)
    assert _onsets(repeated) == pytest.approx([0.0, 0.5], abs=0.01)
    assert _onsets(held) == pytest.approx([0.0], abs=0.01)


def test_very_short_notes_still_sound():
    samples = synthesize("60 62 64 65".split(), step=0.125, qpm=240, sample_rate=8000)
    assert len(samples) == 1000
    assert all(np.abs(part).max() > 0.1 for part in np.split(samples, 4))


def test_write_wav_round_trips(tmp_path):
    samples = synthesize("69 _ 71 _ r 72".split(), sample_rate=RATE)
    path = tmp_path / "sub" / "melody.wav"
    write_wav(samples, path, RATE)
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, RATE)
        assert wav.getnframes() == len(samples)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    np.testing.assert_allclose(pcm / 32767, samples, atol=1 / 32767)
    assert [p.name for p in path.parent.iterdir()] == ["melody.wav"]  # no temporary file left


def test_write_wav_clips_out_of_range_samples(tmp_path):
    write_wav(np.array([-2.0, -1.0, 0.0, 1.0, 3.0]), tmp_path / "c.wav", 8000)
    with wave.open(str(tmp_path / "c.wav"), "rb") as wav:
        pcm = np.frombuffer(wav.readframes(5), dtype="<i2")
    assert pcm.tolist() == [-32767, -32767, 0, 32767, 32767]


def test_piano_roll_layout_and_onsets():
    symbols = "60 _ 60 r 62 _ _".split()
    image = piano_roll(symbols, 60, 64, scale=4)
    assert image.shape == (5 * 4, 7 * 4, 3) and image.dtype == np.uint8
    cell = lambda pitch, step: image[(64 - pitch) * 4 + 1, step * 4 + 1]  # noqa: E731  high pitch on top
    blank = cell(63, 0)
    onset, held = cell(60, 0), cell(60, 1)
    assert not np.array_equal(onset, held)  # a note's first step is marked
    assert np.array_equal(cell(60, 2), onset)  # the repeated 60 starts again
    assert np.array_equal(cell(62, 4), onset) and np.array_equal(cell(62, 6), held)
    assert not np.array_equal(held, blank)
    for pitch in range(61, 65):  # the rest and every other pitch of step 3 stay blank
        assert np.array_equal(cell(pitch, 3), blank)
    assert not np.array_equal(cell(60, 3), onset) and not np.array_equal(cell(60, 3), held)


def test_piano_roll_default_scale_and_range_check():
    assert piano_roll("48 _ 84".split(), 48, 84).shape == (37 * 4, 3 * 4, 3)
    with pytest.raises(ValueError, match="outside"):
        piano_roll(["85"], 48, 84)
