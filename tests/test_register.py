"""The song's range so far, read by place, and the learned cost of widening it."""

import torch

from src.models.modules.fill_order import middle_order
from src.models.nets.bar_memory import remember
from src.models.nets.register import GAIN, MAX_RANGE, RangeCost, next_range, song_range

V = 30  # ids: 0 '/', 1 '_', 2 'r', 3.. pitches a semitone apart; V is the MARKER


def ranges(ids: list[int], places: list[int]) -> list[tuple[int, int]]:
    """(lowest, highest) per query, the ids read one call at a time (as sampling reads them)."""
    x, where = torch.tensor([ids]), torch.tensor([places])
    memory, out = None, []
    for t in range(len(ids)):
        memory = remember(memory, x[:, t:t + 1], where[:, t:t + 1], t)
        low, high = song_range(memory, where[:, t:t + 1], t, V)
        out.append((int(low), int(high)))
    # the whole sequence in one call gives the same answers
    whole = song_range(remember(None, x, where, 0), where, 0, V)
    assert [tuple(pair) for pair in torch.stack(whole, -1)[0].tolist()] == out
    return out


def test_the_range_grows_within_a_song_and_starts_again_at_its_boundary():
    ids = [0, 10, 1, 14, 2, 7, 0, 2, 5]  # / p10 _ p14 r p7 / r p5
    assert ranges(ids, list(range(len(ids)))) == [
        (0, 0), (10, 10), (10, 10), (10, 14), (10, 14), (7, 14), (0, 0), (0, 0), (5, 5)]


def test_sampling_updates_the_range_as_a_left_to_right_read_gives_it():
    ids = [3, 0, 10, 1, 14, V, 2, 7, 0, 2, 5, 20, 0]  # a pitch before the first '/', a MARKER (not a pitch)
    expected = ranges(ids, list(range(len(ids))))
    carried, got = (torch.zeros(1, dtype=torch.long), torch.zeros(1, dtype=torch.long)), []
    for symbol in ids:
        carried = next_range(carried, torch.tensor([symbol]), V)
        got.append((int(carried[0]), int(carried[1])))
    assert got == expected
    assert expected[:6] == [(3, 3), (0, 0), (10, 10), (10, 10), (10, 14), (10, 14)]


def test_a_gap_sees_its_song_on_both_sides_and_not_the_next_song():
    song = [0, 10, 1, 12, 1, 16, 1, 0, 20]  # places 0..8: a song, then the next one from place 7
    order, _ = middle_order(len(song), 3, 5)  # the gap's inputs are places 2 and 3, read last
    ids = [song[p] for p in order.tolist()]
    ids[order.tolist().index(4)] = V  # the MARKER stands at place 4 (the gap's last step)
    assert ranges(ids, order.tolist()) == [
        (0, 0), (10, 10), (10, 10), (10, 16), (10, 16),  # places 0, 1, 4 (MARKER), 5, 6
        (0, 0), (20, 20),  # places 7 ('/': the next song) and 8
        (10, 16), (10, 16)]  # places 2 and 3: the first song's notes from both sides, not the 20


def test_only_a_pitch_that_widens_the_range_pays_and_a_song_without_notes_pays_nothing():
    cost = RangeCost(V)
    with torch.no_grad():
        cost.potential.copy_(-torch.arange(MAX_RANGE + 1.0) ** 2 / GAIN)
    logits = torch.zeros(1, 2, V)
    out = cost(logits, torch.tensor([[10, 0]]), torch.tensor([[14, 0]]))  # range 4; no pitch yet
    expected = torch.zeros(V)
    for pitch in range(3, V):
        wider = max(14, pitch) - min(10, pitch)
        expected[pitch] = -(wider ** 2) + 16
    assert torch.equal(out[0, 0], expected)
    assert out[0, 0, 12] == 0 and out[0, 0, 16] == -20 and out[0, 0, 8] == -20  # inside; 2 above; 2 below
    assert torch.equal(out[0, 1], torch.zeros(V))
