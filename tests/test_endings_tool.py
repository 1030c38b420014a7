"""tools/endings.py: long notes counted exactly, and where a net puts its probability of ending."""

from __future__ import annotations

import torch

from src.data.vocab import BOUNDARY_ID, Vocabulary
from src.models.checkpoint import load_module
from tools.endings import last_note, last_note_cells, long_notes, tonic_share

TUNE = "60 _ _ _ 62 _ r _ _ _ 60 _ _ _ _ _ _ _".split()  # C (4 steps), D (2), a rest, C (8)


def test_long_notes_are_a_quarter_and_half_a_bar_or_more():
    assert long_notes(TUNE, bar=16, tonic=0) == (1, 1)  # half a 4/4 bar is 8 steps: the last C only
    assert long_notes(TUNE, bar=8, tonic=0) == (2, 2)  # in 2/4, both Cs
    assert long_notes(TUNE, bar=8, tonic=2) == (2, 0)  # on D: neither long note is the tonic
    assert long_notes(["r"] + ["_"] * 7, bar=8, tonic=0) == (0, 0)  # a rest is no note


def test_end_probability_is_split_by_the_last_note_so_far(transformer_run):
    net = load_module(transformer_run / "checkpoints" / "best.ckpt").net.eval()
    ids = torch.tensor([BOUNDARY_ID, *(Vocabulary().mapping[s] for s in TUNE)])
    context = torch.zeros(len(ids), 4, dtype=torch.long)
    context[:, 0], context[:, 1] = torch.arange(1, len(ids) + 1) % 16, 16
    on_tonic, total, at_end = tonic_share(net, ids, context, TUNE, tonic=0)
    with torch.inference_mode():
        p_end = torch.softmax(net(ids[None], context[None])[0].float(), dim=-1)[:, BOUNDARY_ID]
    # after input t (0: the '/', before any note): the last note is C after inputs 1-4 and 11-18, D after 5-10
    assert abs(total - float(p_end[1:].sum())) < 1e-5
    assert abs(on_tonic - float(p_end[1:5].sum() + p_end[11:].sum())) < 1e-5
    assert abs(at_end - float(p_end[-1])) < 1e-6  # where the tune ends


def test_last_note_place_and_length_in_its_bar():
    # TUNE's last C starts at step 10: a downbeat when step 0 sits at position 6 of a 16-step bar
    assert last_note(TUNE, first_position=6, bar=16) == (True, False)
    assert last_note(TUNE, first_position=0, bar=16) == (False, False)  # 8 steps: half the bar
    assert last_note(TUNE, first_position=0, bar=48) == (False, True)  # 8 of 48: under a quarter
    assert last_note(["r", "_"], first_position=0, bar=16) is None
    rows = [(TUNE, 6, 16, 0), (TUNE, 0, 48, 2), (["r"], 0, 16, 0)]  # the rest-only row is left out
    assert last_note_cells(rows, ended=0.75) == (0.5, 1.0, 0.5, 0.0, 0.25)
