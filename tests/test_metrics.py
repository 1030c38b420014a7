"""Metrics on a hand-made batch whose argmaxes and rankings are known, values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from src.models.modules.metrics import Bits, HoldAccuracy, MelodyMetrics, PitchAccuracy

V = 8  # ids: 0 '/', 1 '_', 2 'r', 3..7 pitches
# Each row: (target, ids best first). Logits give the first id 7, the next 6, ... the last 0.
ROWS = [
    (1, [1, 0, 2, 3, 4, 5, 6, 7]),  # '_' right
    (1, [1, 2, 0, 7, 6, 5, 4, 3]),  # '_' right
    (1, [4, 3, 2, 5, 6, 7, 0, 1]),  # '_' wrong, last: outside the top 5
    (3, [1, 3, 0, 2, 4, 5, 6, 7]),  # note: argmax '_' wrong; best non-'_' is right
    (5, [5, 1, 0, 2, 3, 4, 6, 7]),  # note right
    (2, [1, 0, 3, 4, 5, 6, 7, 2]),  # rest: argmax '_', best non-'_' is '/': wrong; not in top 5
    (0, [0, 1, 2, 3, 4, 5, 6, 7]),  # '/' right
]
EXPECTED = {
    "acc": 4 / 7,  # rows 0, 1, 4, 6
    "onset_acc": 2 / 4,  # targets not '_': rows 3-6, right: 4, 6
    "pitch_acc": 2 / 3,  # targets note or rest: rows 3-5, right: 3, 4
    "hold_acc": 2 / 3,  # targets '_': rows 0-2, right: 0, 1
    "top5_acc": 5 / 7,  # all but rows 2 and 5
}


def _batch(rows):
    logits = torch.zeros(len(rows), V)
    for i, (_, order) in enumerate(rows):
        for rank, token in enumerate(order):
            logits[i, token] = float(V - 1 - rank)
    return logits, torch.tensor([t for t, _ in rows])


def _expected_bits(rows) -> float:
    log_partition = math.log(sum(math.exp(v) for v in range(V)))
    nats = [log_partition - (V - 1 - order.index(t)) for t, order in rows]
    return sum(nats) / len(nats) / math.log(2)


def _values(metrics: MelodyMetrics, prefix: str = "") -> dict[str, float]:
    return {k.removeprefix(prefix): float(v) for k, v in metrics.compute().items()}


def test_hand_made_batch():
    metrics = MelodyMetrics()
    metrics.update(*_batch(ROWS))
    values = _values(metrics)
    assert set(values) == {*EXPECTED, "bits"}
    for name, expected in EXPECTED.items():
        assert values[name] == pytest.approx(expected), name
    assert values["bits"] == pytest.approx(_expected_bits(ROWS), rel=1e-6)


def test_two_batches_accumulate_sums_not_batch_means():
    # batch one has no '_' target (acc and onset_acc states coincide), batch two only '_' targets
    metrics = MelodyMetrics(prefix="val/")
    metrics.update(*_batch(ROWS[3:]))
    metrics.update(*_batch(ROWS[:3]))
    values = _values(metrics, "val/")
    for name, expected in EXPECTED.items():
        assert values[name] == pytest.approx(expected), name
    assert values["bits"] == pytest.approx(_expected_bits(ROWS), rel=1e-6)
    # pitch: batch means would give (2/2 + 0/1) / 2 = 0.5, sums give 2/3
    pitch = PitchAccuracy()
    pitch.update(*_batch(ROWS[3:5]))
    pitch.update(*_batch(ROWS[5:6]))
    assert float(pitch.compute()) == pytest.approx(2 / 3)


def test_sequence_layout_is_flattened():
    logits, target = _batch(ROWS)
    metrics = MelodyMetrics()
    metrics.update(logits[:6].view(2, 3, V), target[:6].view(2, 3))
    metrics.update(logits[6:].view(1, 1, V), target[6:].view(1, 1))
    values = _values(metrics)
    for name, expected in EXPECTED.items():
        assert values[name] == pytest.approx(expected), name


def test_empty_subset_is_nan_and_reset_clears():
    hold = HoldAccuracy()
    hold.update(*_batch(ROWS[3:]))  # no '_' target
    assert math.isnan(float(hold.compute()))
    hold.update(*_batch(ROWS[:1]))
    assert float(hold.compute()) == 1.0
    hold.reset()
    hold.update(*_batch(ROWS[2:3]))  # the wrong '_' alone
    assert float(hold.compute()) == 0.0


def test_bits_is_cross_entropy_over_ln2():
    torch.manual_seed(0)
    logits, target = torch.randn(50, V), torch.randint(0, V, (50,))
    bits = Bits()
    bits.update(logits[:20], target[:20])
    bits.update(logits[20:], target[20:])
    nats = torch.nn.functional.cross_entropy(logits, target)
    assert float(bits.compute()) == pytest.approx(float(nats) / math.log(2), rel=1e-5)


def test_forward_returns_batch_values_and_keeps_sums():
    metrics = MelodyMetrics(prefix="train/")
    first = metrics(*_batch(ROWS[:3]))  # rows 0-2: acc 2/3
    assert float(first["train/acc"]) == pytest.approx(2 / 3)
    metrics(*_batch(ROWS[3:]))
    assert float(metrics.compute()["train/acc"]) == pytest.approx(EXPECTED["acc"])
