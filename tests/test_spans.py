"""A song's span as a net's input (src/data/plans.py) and `max_span=auto` drawing one per melody from its
style's songs (src/models/generation/spans.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from src.data.plans import UNKNOWN_SPAN_EVERY, WIDTH, span_id
from src.data.record import EncodingRecord
from src.data.sequences import stream_array
from src.eval.stats import pitch_range
from src.models.checkpoint import load_module
from src.models.generation.forms import Plan
from src.models.generation.meters import Meter
from src.models.generation.request import DEFAULT_SPAN, GenerationRequest
from src.models.generation.spans import SPAN_SLACK, draw_spans, span_limits, told_spans
from src.models.nets.transformer import TransformerLM

ROWS = (("irish", 12, 1), ("irish", 19, 3), ("german", 9, 5))
ENCODING = EncodingRecord(spans=(("irish", 19, 4), ("german", 9, 5)), ranges=ROWS)


def test_spans_are_drawn_from_the_styles_own_songs():
    spans = draw_spans(ROWS, ["irish"] * 200 + ["german", "misc"], 0)
    assert set(spans[:200]) == {12, 19} and 120 < spans[:200].count(19) < 180  # 3 songs in 4 span 19
    assert spans[200:] == [9, None]  # a style without rows: unknown
    assert draw_spans(ROWS, ["irish"] * 20, 0) == spans[:20]  # the same rng_seed, the same spans


def test_max_span_auto_tells_the_drawn_span_and_keeps_the_melody_within_it():
    meter = Meter("4/4", 0, "major", 16)
    plans = [Plan(style, "unknown", meter) for style in ["irish"] * 8 + ["german", "misc"]]
    drawn = draw_spans(ROWS, [plan.style for plan in plans], 0)
    told = told_spans(plans, ENCODING, True, "auto", 0)
    assert [plan.span for plan in told] == drawn and drawn[-1] is None
    # the told span and SPAN_SLACK more, never past the style's 95% span; misc: no span of its own
    limits = span_limits(told, ENCODING, "auto")
    assert limits == [min(s + SPAN_SLACK, 19) for s in drawn[:8]] + [9, DEFAULT_SPAN]
    assert told[0].as_record()["span"] == drawn[0]  # the melody's JSON says what the net was told
    # a number holds every melody within it (the sampling's max_span) and is the most a net is told
    capped = told_spans(plans, ENCODING, True, 10, 0)
    assert max(p.span for p in capped[:-1]) == 10 and capped[8].span == 9
    assert span_limits(capped, ENCODING, 10) is None
    assert [p.span for p in told_spans(plans, ENCODING, True, 0, 0)] == drawn  # off: told, not held
    # a net that reads no span: nothing told, each style's 95% span held
    assert told_spans(plans, ENCODING, False, "auto", 0) == plans
    assert span_limits(plans[7:], ENCODING, "auto") == [19, 9, DEFAULT_SPAN]


def test_one_training_song_in_eight_reads_its_span_unknown(folk_run):
    from tests.test_folk import _test_corpus

    corpus, module = _test_corpus(folk_run), load_module(folk_run / "checkpoints" / "best.ckpt")
    for split in ("train", "val"):
        tokens, starts, context = stream_array(corpus, split, module.encoding.styles)
        told = context[starts + 1, 9]  # each song's first step
        expected = [span_id(corpus.song_range(song)) for song in corpus.split(split)]
        if split == "train":
            unknown = np.arange(len(starts)) % UNKNOWN_SPAN_EVERY == UNKNOWN_SPAN_EVERY - 1
            expected = np.where(unknown, 0, expected)
        assert told.tolist() == list(expected) and told.all() == (split == "val")


def test_melodies_keep_within_the_span_they_are_told_and_the_slack(folk_run):
    module = load_module(folk_run / "checkpoints" / "best.ckpt")
    assert module.net.reads_span
    request = GenerationRequest(style="irish", num_samples=8, octave="model", steps=96)
    generation = module.generate(request, torch.Generator().manual_seed(0))
    told = [plan.span for plan in generation.plans]
    assert told == draw_spans(module.encoding.ranges, ["irish"] * 8, 0)
    limits = span_limits(generation.plans, module.encoding, "auto")
    assert limits == [min(span + SPAN_SLACK, dict((s, n) for s, n, _ in module.encoding.spans)["irish"])
                      for span in told]
    assert all(pitch_range(m) <= most for m, most in zip(generation.melodies, limits, strict=True))
    seeded = module.generate(replace(request, seed="60 _ _ _"), torch.Generator().manual_seed(0))
    assert all(plan.span is None for plan in seeded.plans)  # a seed sets its own range


def test_only_a_net_built_with_span_reads_the_column():
    torch.manual_seed(0)
    x = torch.randint(0, 20, (1, 12))
    context = torch.zeros((2, 12, WIDTH), dtype=torch.long)
    context[0, :, 9], context[1, :, 9] = span_id(5), span_id(15)
    for span in (True, False):
        net = TransformerLM(20, d_model=16, num_layers=1, heads=2, ff_size=32, span=span).eval()
        logits = net(x.expand(2, 12), context)  # (2, 12, V): the same symbols, two spans told
        assert torch.allclose(logits[0], logits[1]) != span
