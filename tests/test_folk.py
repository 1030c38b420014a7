"""One model for several collections: style, tune type and form as inputs (src/data/plans.py), drawn or
asked for when sampling (src/models/generation/forms.py), and a form asked for kept in the written ABC."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from src.data.encoding import read_song
from src.data.labels import TUNE_TYPES
from src.data.plans import MAX_SPAN, form_plan, song_context
from src.errors import UserError
from src.models.checkpoint import load_module
from src.models.generation.forms import Plan, check_form, copy_sources, draw_plans, held_over
from src.models.generation.meters import Meter
from src.models.generation.request import GenerationRequest
from src.sample import main as sample_main


def test_a_form_plan_counts_parts_and_bars_from_the_downbeats():
    # a 2-step pickup, then AAB of 2, 2 and 1 bars of 4 steps, and the closing '/'
    positions = np.array([2, 3] + [0, 1, 2, 3] * 5 + [0])
    bars = np.cumsum(positions == 0)
    plan = form_plan(bars, "AAB", [2, 2, 1])
    assert plan[:, 0].tolist() == [0] * 10 + [1] * 8 + [2] * 5  # part (the '/' after the end: the last)
    assert plan[:, 1].tolist() == [0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2]
    assert set(plan[:, 2].tolist()) == {2, 1}
    assert plan[:, 3].tolist() == [0] * 10 + [1] * 8 + [2] * 5  # repeats A; the last part
    assert not form_plan(bars, "", []).any()  # no form: unknown


def test_a_songs_context_holds_its_labels_and_meter():
    positions = np.stack([np.array([0, 1, 2, 3, 0]), np.full(5, 4)], axis=1).astype(np.uint8)
    rows = song_context(positions, "minor", (2, TUNE_TYPES.index("reel")), "A", [1], span=14)
    assert rows[0].tolist() == [0, 4, 1, 2, TUNE_TYPES.index("reel"), 0, 1, 1, 2, 15]
    assert song_context(positions, "minor", (2, 1), "A", [1])[0, 9] == 0  # no span: unknown
    assert song_context(positions, "minor", (2, 1), "A", [1], span=90)[0, 9] == MAX_SPAN + 1


def test_the_checkpoint_holds_styles_plans_keys_and_spans(folk_run):
    encoding = load_module(folk_run / "checkpoints" / "best.ckpt").encoding
    assert encoding.styles == ("german", "irish")
    assert {row[0] for row in encoding.plans} == {"german", "irish"}
    forms = {row[5] for row in encoding.plans if row[0] == "irish"}
    assert {"AB", "AAB"} <= forms  # parts and repeats as written
    assert {row[1] for row in encoding.plans if row[0] == "irish"} == {"jig", "slide"}  # R: fields read
    spans = {style: span for style, span, _ in encoding.spans}
    assert spans["irish"] > spans["german"]  # O'Neill's tunes range wider than Essen's songs
    ranges = {style: sum(n for s, _, n in encoding.ranges if s == style) for style in encoding.styles}
    assert ranges == {style: n for style, _, n in encoding.spans}  # every training song's span counted once
    assert {row[0] for row in encoding.style_keys} == {"german", "irish"}


def test_a_form_asked_for_is_kept_and_read_back_from_the_abc(folk_run, tmp_path):
    out = tmp_path / "out"
    sample_main([f"ckpt={folk_run}", f"out_dir={out}", "style=irish", "tune_type=jig", "form=AABB",
                 "part_bars=4", "num_samples=4", "key=auto"])
    for k in range(4):
        record = json.loads((out / f"melody_{k:02d}.json").read_text())
        assert (record["style"], record["tune_type"], record["form"], record["part_bars"]) == (
            "irish", "jig", "AABB", [4, 4, 4, 4])
        bar = {"6/8": 12, "9/8": 18, "3/8": 6, "2/4": 8, "4/4": 16}[record["time_signature"]]
        symbols = record["symbols"].split()
        assert len(symbols) == 16 * bar  # whole bars, the pickup taken from the last
        pickup = record["pickup"]
        for first, second in ((0, 4), (8, 12)):  # the repeat: the same music but for its last bar
            assert (symbols[pickup + first * bar:pickup + (first + 3) * bar]
                    == symbols[pickup + second * bar:pickup + (second + 3) * bar])
        song = read_song(out / f"melody_{k:02d}.abc")
        assert (song.form, song.part_bars) == ("AABB", (4, 4, 4, 4))
        assert "R:jig" in (out / f"melody_{k:02d}.abc").read_text()


def test_parts_without_repeats_are_written_with_section_lines(folk_run, tmp_path):
    out = tmp_path / "out"
    sample_main([f"ckpt={folk_run}", f"out_dir={out}", "style=german", "form=AB", "part_bars=3 2",
                 "time_signature=4/4", "pickup=0", "num_samples=2"])
    for k in range(2):
        assert "||" in (out / f"melody_{k:02d}.abc").read_text()
        song = read_song(out / f"melody_{k:02d}.abc")
        assert (song.form, song.part_bars) == ("AB", (3, 2))


def test_endings_drawn_several_ways_keep_each_melodys_form_and_length(folk_run):
    module = load_module(folk_run / "checkpoints" / "best.ckpt")
    draws = {}
    for endings in (1, 4, 4):
        request = GenerationRequest(style="irish", num_samples=6, octave="model", endings=endings)
        generation = module.generate(request, torch.Generator().manual_seed(3))
        assert len({plan.length for plan in generation.plans}) > 1  # forms of several lengths in one batch
        for melody, plan in zip(generation.melodies, generation.plans, strict=True):
            assert len(melody) == plan.length
            for step, source in enumerate(copy_sources(plan)):  # a repeated part: the same music
                assert source < 0 or melody[step] == melody[source]
        draws.setdefault(endings, []).append(generation.melodies)
    assert draws[4][0] == draws[4][1]  # the same rng_seed, the same melodies
    assert draws[4][0] != draws[1][0]  # the last bars were drawn again


def test_auto_draws_the_styles_own_forms_and_meters(folk_run, tmp_path):
    module = load_module(folk_run / "checkpoints" / "best.ckpt")
    rows = module.encoding.plans
    plans, _ = draw_plans(rows, 0.25, 20, {"style": "irish"}, 0, 48)
    seen = {(row[2], row[4], row[5]) for row in rows if row[0] == "irish"}
    assert all((p.meter.time_signature, p.meter.mode, p.form) in seen for p in plans)
    assert len({p.form for p in plans}) > 1


@pytest.mark.parametrize(("settings", "message"), [
    ({"form": "ABBA1"}, "form"), ({"form": "BA"}, "letters in order"), ({"form": "AB", "part_bars": "8 8 8"},
                                                                         "one per part"),
    ({"part_bars": "8"}, "part_bars= needs form="), ({"tune_type": "polonaise"}, "tune_type"),
    ({"form": "AB", "mode": "infill", "seed": "60 _", "bars": "1:1"}, "form= is kept by mode=continue"),
])
def test_bad_plan_settings_are_refused_in_one_line(settings, message):
    with pytest.raises(UserError, match=message):
        GenerationRequest(**settings)


def test_an_unknown_style_names_the_models_styles(folk_run, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        sample_main([f"ckpt={folk_run}", f"out_dir={tmp_path / 'x'}", "style=scottish"])
    assert exit_.value.code == 2
    assert "german, irish" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_a_model_without_styles_refuses_style_but_keeps_a_form(transformer_run, tmp_path, capsys):
    with pytest.raises(SystemExit):
        sample_main([f"ckpt={transformer_run}", f"out_dir={tmp_path / 'x'}", "style=irish"])
    assert "needs a model trained with styles" in capsys.readouterr().err
    out = tmp_path / "out"
    sample_main([f"ckpt={transformer_run}", f"out_dir={out}", "form=AAB", "part_bars=2", "time_signature=3/4",
                 "pickup=0", "num_samples=2"])
    for k in range(2):
        assert len(json.loads((out / f"melody_{k:02d}.json").read_text())["symbols"].split()) == 6 * 12


def test_copy_sources_repeat_a_part_from_its_downbeat_but_not_its_last_bar():
    plan = Plan("", "", Meter("2/4", 2, "major", 8), "AAB", (2, 2, 1))
    source = copy_sources(plan)
    assert len(source) == 40  # 5 bars, the 2-step pickup taken from the last
    assert source[18:26].tolist() == list(range(2, 10))  # the second A's first bar: the first A's
    assert (source[26:] == -1).all() and (source[:18] == -1).all()
    assert check_form("ABAC", "4") == ("ABAC", (4, 4, 4, 4))


def test_evaluate_reports_each_styles_figures(folk_run, tmp_path):
    from src.evaluate import main as evaluate_main

    result = evaluate_main([f"ckpt={folk_run}", f"out_dir={tmp_path}", "num_samples=4", "steps=64",
                            "styles=irish,german", "style_samples=6"])
    assert set(result["styles"]) == {"irish", "german"}
    for style, figures in result["styles"].items():
        assert figures["songs"] == sum(s["style"] == style for s in _test_songs(folk_run))
        assert 0 < figures["bits"] < 10
        assert figures["form_honoured"] == 1.0  # every melody's ABC reads back with its planned form
        assert 0 <= figures["classifier"]["balanced_accuracy"] <= 1
        assert 0 <= figures["boosting"]["balanced_accuracy"] <= 1
        assert 0 <= figures["generated"]["ends_on_tonic"] <= 1
        # the style's training songs, the larger reference, scored as its held-out songs are
        assert figures["train"]["count"] == sum(s["style"] == style for s in _test_songs(folk_run, "train"))
        assert figures["train"]["count"] > figures["songs"] and 0 <= figures["train"]["ends_on_tonic"] <= 1
    assert "| irish |" in (tmp_path / "report.md").read_text()


def _test_songs(run, split: str = "test") -> list[dict]:
    from src.evaluate import build_datamodule, run_config

    module = load_module(run / "checkpoints" / "best.ckpt")
    datamodule = build_datamodule(module, run_config(run)[0].get("data", {}), {"cache_dir": None,
                                                                              "batch_size": 8})
    return datamodule.load_corpus().split(split)


def test_a_window_net_refuses_a_form(trained_run, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        sample_main([f"ckpt={trained_run}", f"out_dir={tmp_path / 'x'}", "form=AB", "part_bars=2"])
    assert exit_.value.code == 2 and "accepted form=auto" in capsys.readouterr().err


def test_a_model_trained_with_styles_still_fills_a_gap(folk_run, tmp_path):
    seed = "60 _ 62 _ 64 _ 65 _ 67 _ _ _ 65 _ 64 _ 62 _ 60 _ 62 _ 64 _ 60 _ _ _ _ _ _ _"  # two bars of 4/4
    melodies = sample_main([f"ckpt={folk_run}", f"out_dir={tmp_path}", "mode=infill", f"seed={seed}",
                            "bars=2:2", "time_signature=4/4", "pickup=0", "num_samples=2"])
    for melody in melodies:
        assert melody[:16] == seed.split()[:16] and len(melody) == 32


def test_a_corpus_of_one_style_is_scored_with_the_checkpoints_style_ids(folk_run, folk_dir, tmp_path):
    # the German songs alone: their own corpus's style list would be ("german",), id 1; the model's is 1
    # for german too, so check the other way round: the Irish tunes alone read id 2, as in training
    from src.bundle import score_module
    from src.eval.styles import style_bits

    module = load_module(folk_run / "checkpoints" / "best.ckpt")
    whole = _test_corpus(folk_run)
    alone = score_module(module, str(tmp_path / "cache"), str(folk_dir / "irish"))["test/bits"]
    assert alone == pytest.approx(style_bits(module, whole, "test", module.device)["irish"], abs=1e-4)


def _test_corpus(run):
    from src.evaluate import build_datamodule, run_config

    module = load_module(run / "checkpoints" / "best.ckpt")
    return build_datamodule(module, run_config(run)[0].get("data", {}), {"cache_dir": None,
                                                                        "batch_size": 8}).load_corpus()


def test_a_planned_form_folds_only_its_own_repeats():
    from src.data.folding import fold

    # AAB planned: A = bars 0-3 played twice, its last bar different the second time: one-bar endings
    a = [["60"], ["62"], ["60"], ["62"]]
    bars = a[:3] + [["64"]] + a[:3] + [["65"]] + [["67"], ["69"]]
    written = fold(bars, planned=((0, 4),))
    assert [(w.bar, w.start, w.end, w.ending) for w in written] == [
        (0, True, False, 0), (1, False, False, 0), (2, False, False, 0), (3, False, True, 1),
        (7, False, False, 2), (8, False, False, 0), (9, False, False, 0)]
    # AB planned, where the melody's B happens to be its A: found by itself it would fold, planned not
    assert any(w.start for w in fold(a + a)) and not any(w.start for w in fold(a + a, planned=()))


def test_forms_a_melody_cannot_have_are_refused_or_never_drawn():
    from src.eval.styles import read_bars

    with pytest.raises(UserError, match="as many bars as the first time"):
        check_form("AAB", "8 4 8")
    rows = (("s", "reel", "4/4", 0, "major", "AAB", "8 7 8", 5),
            ("s", "reel", "4/4", 0, "major", "A", "0", 5), ("s", "reel", "4/4", 0, "major", "AB", "8 8", 1))
    plans, _ = draw_plans(rows, 0.25, 10, {"style": "s"}, 0, 48)
    assert {(p.form, p.part_bars) for p in plans} == {("AB", (8, 8))}
    long_pickup = Plan("", "", Meter("9/8", 16, "major", 18), "AAB", (4, 4, 8))
    assert read_bars(long_pickup) == (5, 4, 7)  # the reader counts a pickup over half a bar as one


def test_a_tune_seed_gets_a_form_of_its_style_longer_than_itself(folk_run, tmp_path):
    out = tmp_path / "out"
    sample_main([f"ckpt={folk_run}", f"out_dir={out}", "seed=GABc d2B2|c2A2 G4|", "key=G",
                 "time_signature=4/4", "style=irish", "num_samples=2"])
    for k in range(2):
        record = json.loads((out / f"melody_{k:02d}.json").read_text())
        assert record["form"] and len(record["symbols"].split()) == 16 * sum(record["part_bars"])


def test_a_seed_held_over_a_parts_first_downbeat_is_struck_again_in_its_repeat(folk_run):
    # a 2-step pickup, then AA of 2 bars: the seed's 60 is held over the first downbeat (step 2); the
    # second A's first step (step 2 + 32) copies the note, not the hold, so its edge stays clean
    module = load_module(folk_run / "checkpoints" / "best.ckpt")
    request = GenerationRequest(style="irish", num_samples=3, octave="model", seed="60 _ _ _",
                                time_signature="4/4", pickup=2, form="AA", part_bars=2)
    for melody in module.generate(request, torch.Generator().manual_seed(0)).melodies:
        assert len(melody) == 2 * 2 * 16 and melody[2 + 32] == "60"
    source = np.array([-1, -1, -1, -1, 2, 3])
    held_over(source, [4], [10, 1, 1, 12])  # the seed's hold at 2: its note at 0 instead
    assert source.tolist() == [-1, -1, -1, -1, 0, 3]
