"""The web app through Streamlit's own AppTest: each model type generates, files download, bad input is
one line; the WAV has the melody's length and its first note's pitch."""

from __future__ import annotations

import gc
import io
import json
import pickle
import re
import shutil
import sys
import wave
import xml.etree.ElementTree as ET
from pathlib import Path

import mido
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from src.app import core
from src.app.media import SAMPLE_RATE, fluidsynth_available, render
from src.app.tune_seeds import PageSeed, SessionFolder, pasted_seed, uploaded_seed
from src.data.meter import bar_steps
from src.data.score_writer import write_musicxml
from src.data.vocab import symbols_to_events
from src.errors import UserError
from src.models.generation.seeds import transpose_symbols
from src.models.generation.tunes import read_tune, seed_kind
from tests.app_fixtures import app_dirs
from tools.app_server import FLAGS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

APP = Path(core.__file__).with_name("main.py")
SEED = "60 _ 62 _ 64 _ 65 _"


@pytest.fixture(scope="module")
def dirs(tmp_path_factory, erk5_dir, trained_run) -> tuple[Path, Path]:
    return app_dirs(tmp_path_factory.getbasetemp() / "app_models", erk5_dir, trained_run)


def app(models: Path, outputs: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("MELODY_MODELS_DIR", str(models))
    monkeypatch.setenv("MELODY_OUTPUTS_DIR", str(outputs))
    # AppTest leaves sys.modules["__main__"] pointing at the app script; spawned processes in later tests
    # (corpus workers, bench parts) would then re-run the app on start-up. Restore it at teardown.
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    return AppTest.from_file(str(APP), default_timeout=60).run()


def generate(at: AppTest, model: str | None = None, **widgets) -> AppTest:
    """Choose the model whose label contains `model`, set widgets by key, press Generate Melody."""
    if model is not None:
        choose_model(at, model)
    for key, value in widgets.items():
        widget(at, key).set_value(value)
    return at.button(key="generate").click().run()


def choose_model(at: AppTest, part: str) -> AppTest:
    labels = at.selectbox(key="model").options
    return at.selectbox(key="model").select_index(next(i for i, s in enumerate(labels) if part in s)).run()


def widget(at: AppTest, key: str):
    """The widget with this key, whatever its kind."""
    for kind in (at.text_input, at.number_input, at.selectbox, at.slider, at.radio):
        try:
            return kind(key=key)
        except KeyError:
            continue
    raise KeyError(key)


def test_lists_bundled_models_first_then_runs_labelled_by_type_run_and_bits(dirs):
    entries, problems = core.list_models(*dirs)
    assert not problems
    assert entries[0].run == "bundled debug" and entries[0].path.name == "debug.ckpt"
    kinds = {e.kind for e in entries}
    assert {"lstm_attn", "gru", "vae", "ngram"} <= kinds
    for entry in entries:
        assert entry.bits is not None and f"{entry.bits:.3f} bits" in entry.label
    assert any(e.label.startswith("GRU · gru · test ") for e in entries)


def test_bundled_models_are_listed_best_first_and_the_page_opens_on_the_best(dirs, tmp_path, monkeypatch):
    models, outputs = tmp_path / "models", tmp_path / "outputs"
    models.mkdir()
    outputs.mkdir()
    vae = dirs[1] / "vae" / "checkpoints" / "best.ckpt"
    for name, bits in (("a_worse", 1.5), ("b_best", 1.1), ("c_unscored", None), ("d_vae", 0.5)):
        shutil.copy(vae if name == "d_vae" else dirs[0] / "debug.ckpt", models / f"{name}.ckpt")
        if bits is not None:
            (models / f"{name}.metrics.json").write_text(json.dumps({"metrics": {"test/bits": bits}}))
    shutil.copytree(dirs[1], outputs, dirs_exist_ok=True)  # runs come after every bundled model
    entries, _ = core.list_models(models, outputs)
    # a VAE's reconstruction bits, however low, do not rank it among the next-symbol models
    assert [e.run for e in entries[:4]] == ["bundled b_best", "bundled a_worse", "bundled d_vae",
                                            "bundled c_unscored"]
    assert all(not e.run.startswith("bundled") for e in entries[4:]) and len(entries) > 4
    at = app(models, outputs, monkeypatch)
    assert at.selectbox(key="model").value.run == "bundled b_best"


@pytest.mark.parametrize("kind", ["LSTM + attention", "GRU ·", "n-gram", "GRU (causal LM)"],
                         ids=["lstm_attn", "gru", "ngram", "causal_lm"])
def test_each_window_model_continues_the_seed(kind, dirs, monkeypatch):
    at = app(*dirs, monkeypatch)
    labels = [e.label for e in core.list_models(*dirs)[0]]
    if not any(kind in label for label in labels):
        pytest.skip(f"no {kind} experiment in this checkout")
    at = generate(at, kind, seed=SEED, steps=32, min_steps=8)
    assert not at.error and not at.exception
    symbols = at.code[0].value.split()
    assert symbols[:8] == SEED.split() and 8 + 8 <= len(symbols) <= 8 + 32
    assert len(at.get("audio")) == 1 and len(at.image) >= 1
    assert [b.label for b in at.download_button] == ["Download MIDI", "Download MusicXML", "Download ABC"]
    assert at.code[1].value.startswith("X:1\nT:melody 0\n") and "\nK:" in at.code[1].value  # its ABC


@pytest.mark.parametrize("mode, widgets, count", [
    ("prior", {}, 1),
    ("vary", {"seed": SEED, "count_vary": 3}, 3),
    ("interpolate", {"seed": SEED, "seed2": "67 _ _ _ 65 _ 64 _", "count_interpolate": 4}, 4),
])
def test_vae_modes(mode, widgets, count, dirs, monkeypatch):
    at = app(*dirs, monkeypatch)
    choose_model(at, "VAE")
    assert at.radio(key="mode").options == [f"{m}: {h}" for m, h in (
        ("prior", "new melodies (no seed)"), ("vary", "variations of the seed"),
        ("interpolate", "from the seed to seed 2"))]
    at.radio(key="mode").set_value(mode).run()
    at = generate(at, **widgets)
    assert not at.error and not at.exception
    result = at.session_state["result"]
    assert len(result.melodies) == count and all(len(m.symbols) == 16 for m in result.melodies)
    assert len(at.get("audio")) == count and len(at.download_button) == 3 * count + (count > 1)
    if count > 1:  # the batch as one tune book, X:1 .. X:count
        book = at.download_button(key="abc_book")
        assert book.label == "Download all as an ABC tune book"
        assert [line for line in result.book.splitlines() if line.startswith("X:")] == [
            f"X:{k + 1}" for k in range(count)]
    if mode != "prior":
        assert "seed: 8 symbols padded with 8 holds" in at.info[0].value


def test_infill_regenerates_the_chosen_bars_and_keeps_the_rest(dirs, monkeypatch):
    at = app(*dirs, monkeypatch)
    choose_model(at, "Transformer")
    at.radio(key="mode").set_value("infill").run()
    seed = (SEED + " 67 _ _ _ 65 _ 64 _ 62 _ _ _ 60 _ _ _ 60 _ 62 _ 64 _ 60 _").split()  # 32 steps: 2 bars
    at = generate(at, seed=" ".join(seed), bars="2:2", time_signature="4/4", count_infill=3)
    assert not at.error and not at.exception
    melodies = at.session_state["result"].melodies
    assert len(melodies) == 3 and len(at.get("audio")) == 3
    for melody in melodies:
        assert list(melody.symbols[:16]) == seed[:16] and len(melody.symbols) == 32
    assert "infill: steps 16:32 of 32 regenerated (4/4, pickup 0)" in at.info[0].value


def test_a_model_trained_with_styles_is_asked_for_style_tune_type_and_form(dirs, monkeypatch):
    at = app(*dirs, monkeypatch)
    with pytest.raises(KeyError):  # the bundled debug model reads no style: no such fields
        at.selectbox(key="style")
    choose_model(at, "transformer_folk")
    assert at.selectbox(key="style").options == ["auto", *core.plan_choices(
        core.load_model(at.selectbox(key="model").value.path))["styles"]]
    at = generate(at, form="AB", part_bars="3 1", time_signature="2/4", max_span="auto")
    assert not at.error and not at.exception
    melody = at.session_state["result"].melodies[0]
    assert len(melody.symbols) == 4 * 8  # the form sets the length: 4 bars of 2/4
    assert "||" in melody.abc  # the parts, shown where no repeat sign shows them
    at = generate(at, form="AB", part_bars="32 17")
    assert at.error[0].value == "part_bars: 49 bars in all; accepted: at most 48 bars in the web app"


def test_downloads_hold_the_shown_melody(dirs, monkeypatch):
    at = generate(app(*dirs, monkeypatch), "bundled", seed=SEED, steps=24, qpm=90.0)
    melody = at.session_state["result"].melodies[0]
    assert " ".join(melody.symbols) == at.code[0].value
    midi = mido.MidiFile(file=io.BytesIO(melody.midi))
    onsets, notes, now = {}, [], 0
    for message in mido.merge_tracks(midi.tracks):
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            onsets[message.note] = now
        elif message.type in ("note_off", "note_on"):
            notes.append((message.note, onsets.pop(message.note), now))
        elif message.type == "set_tempo":
            assert round(mido.tempo2bpm(message.tempo)) == 90
    step = midi.ticks_per_beat // 4  # a 16th
    bar = bar_steps(melody.time_signature, 0.25)
    expected, onset = [], (bar - melody.pickup) % bar  # the drawn meter's pickup starts into its bar
    assert at.caption[-1].value.startswith(f"Meter {melody.time_signature}")  # the page shows it
    for pitch, steps in symbols_to_events(list(melody.symbols)):
        if pitch is not None:
            expected.append((pitch, onset * step, (onset + steps) * step))
        onset += steps
    assert notes == expected
    score = ET.fromstring(melody.musicxml)
    assert score.tag == "score-partwise" and score.find(".//note/pitch") is not None
    assert melody.svg_pages[0].lstrip().startswith(("<svg", "<?xml")) and "</svg>" in melody.svg_pages[0]


def test_wav_has_the_melody_length_and_a_peak_at_the_first_note():
    symbols = "69 _ _ _ _ _ _ _ 72 _ _ _ 76 _ r _ 64 _ _ _".split()  # A4 for half a second at 120 qpm
    melody = render(symbols, step=0.25, qpm=120, synth="builtin")
    with wave.open(io.BytesIO(melody.wav)) as wav:
        assert wav.getframerate() == SAMPLE_RATE and wav.getnchannels() == 1
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
    assert len(frames) == round(len(symbols) * 0.25 * 60 / 120 * SAMPLE_RATE)  # 20 steps of 1/8 s
    first = frames[: round(8 * 0.125 * SAMPLE_RATE)]  # the first note's 8 steps
    spectrum = np.abs(np.fft.rfft(first * np.hanning(len(first))))
    freqs = np.fft.rfftfreq(len(first), 1 / SAMPLE_RATE)
    assert abs(freqs[spectrum.argmax()] - 440.0) <= 2.0  # within a bin (1 Hz) or two


def test_app_wav_length_follows_the_tempo(dirs, monkeypatch):
    at = generate(app(*dirs, monkeypatch), "bundled", seed=SEED, steps=16, qpm=150.0, synth="builtin")
    melody = at.session_state["result"].melodies[0]
    with wave.open(io.BytesIO(melody.wav)) as wav:
        assert wav.getnframes() == round(len(melody.symbols) * 0.25 * 60 / 150 * SAMPLE_RATE)


def test_same_rng_seed_same_melody_and_key_moves_it(dirs, monkeypatch):
    first = generate(app(*dirs, monkeypatch), "bundled", seed=SEED, steps=16, rng_seed=7).code[0].value
    again = generate(app(*dirs, monkeypatch), "bundled", seed=SEED, steps=16, rng_seed=7).code[0].value
    assert first == again
    in_d = generate(app(*dirs, monkeypatch), "bundled", seed="62 _ 64 _ 66 _", steps=16, rng_seed=7, key="D")
    assert not in_d.error and in_d.code[0].value.split()[:6] == "62 _ 64 _ 66 _".split()


@pytest.mark.parametrize("widgets, message", [
    ({"seed": "60 _ 99"}, "seed: pitch 99 at position 3 is outside the model's range 48..84; accepted"),
    ({"seed": "_ 60"}, "seed: a melody cannot start with '_'"),
    ({"seed": "60 _ / 62"}, "seed may not contain '/'"),
    ({"seed": " ".join(["60"] * 1001)}, "seed: 1001 symbols is too long; accepted: at most 1000 symbols"),
    ({"seed": "60 " * 5000}, "seed: 15000 characters is too long"),
    ({"steps": 5000}, "steps=5000 is not accepted; accepted: an integer 1..1000 in the web app"),
    ({"steps": 0}, "steps=0 is not accepted"),
    ({"key": "H"}, "key='H' is not accepted; accepted: a tonic A-G"),
    ({"steps": 1000, "count_continue": 3}, "steps x num_samples = 3000 is too much for one request"),
    ({"top_p": 1.5}, "top_p=1.5 is not accepted; accepted: a number in (0, 1]"),
    ({"end_floor": 1.0}, "end_floor=1.0 is not accepted; accepted: a number in [0, 1) (0 = off)"),
    ({"max_span": "-1"},
     "max_span=-1 is not accepted; accepted: an integer >= 0, semitones (0 = off), or auto"),
    ({"qpm": 0.0}, "qpm=0.0 is not accepted"),
])
def test_bad_input_is_one_line_and_no_traceback(widgets, message, dirs, monkeypatch):
    at = generate(app(*dirs, monkeypatch), "bundled", **widgets)
    assert len(at.error) == 1 and not at.exception, [e.value for e in at.error]
    text = at.error[0].value
    assert message in text and "\n" not in text
    assert "result" not in at.session_state and not at.get("audio")


def test_a_checkpoint_that_would_run_code_is_refused_without_running_it(dirs, tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (models / "evil.ckpt").write_bytes(pickle.dumps({"hyper_parameters": Payload()}, protocol=2))
    (models / "notes.ckpt").write_text("not a checkpoint")
    at = app(models, dirs[1], monkeypatch)
    warnings = [w.value for w in at.warning]
    assert any("evil.ckpt was refused" in w and "would unpickle code" in w for w in warnings), warnings
    assert any("notes.ckpt cannot be read" in w for w in warnings)
    assert not marker.exists()
    assert not any("evil" in label for label in at.selectbox(key="model").options)
    at = generate(at, seed=SEED, steps=8)  # the good checkpoints still work
    assert not at.error and not marker.exists()


def test_no_checkpoint_says_how_to_get_one(tmp_path, monkeypatch):
    at = app(tmp_path / "none", tmp_path / "none", monkeypatch)
    assert "make models" in at.info[0].value and not at.button


def test_an_example_fills_the_seed(dirs, monkeypatch):
    at = app(*dirs, monkeypatch)
    at.selectbox(key="example").select("Hänschen klein").run()
    assert at.text_input(key="seed").value == core.EXAMPLE_SEEDS["Hänschen klein"]


def test_no_usage_statistics_and_this_machine_only():
    config = tomllib.loads((core.REPO / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False and config["server"]["headless"] is True
    assert config["server"]["address"] == "127.0.0.1" and config["client"]["toolbarMode"] == "viewer"
    makefile = (core.REPO / "Makefile").read_text()
    assert "--browser.gatherUsageStats false --server.headless true --server.address 127.0.0.1" in makefile
    assert {"--browser.gatherUsageStats=false", "--server.address=127.0.0.1"} <= set(FLAGS)


@pytest.mark.skipif(not fluidsynth_available(), reason="FluidSynth or a General MIDI soundfont is not "
                    "installed (apt-get install fluidsynth fluid-soundfont-gm)")
def test_fluidsynth_renders_a_wav_when_installed():
    melody = render("69 _ _ _ 72 _ _ _".split(), step=0.25, qpm=120, synth="fluidsynth")
    with wave.open(io.BytesIO(melody.wav)) as wav:
        assert melody.synth == "fluidsynth" and wav.getnframes() >= round(8 * 0.125 * wav.getframerate())


def test_a_chosen_meter_reaches_the_files_and_the_page(dirs, monkeypatch):
    at = generate(app(*dirs, monkeypatch), "bundled", time_signature="6/8", steps=24, min_steps=24)
    melody = at.session_state["result"].melodies[0]
    assert melody.time_signature == "6/8" and 0 <= melody.pickup < 12
    assert at.caption[-1].value.startswith("Meter 6/8")
    score = ET.fromstring(melody.musicxml)
    time = score.find(".//attributes/time")
    assert (time.findtext("beats"), time.findtext("beat-type")) == ("6", "8")


# Tune seeds: pasted ABC or an uploaded file, on the real bundled models (models/)
BOOK = """X:1
T:Speed the Plough
R:reel
M:4/4
L:1/8
K:G
|:GABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA|
GABc dedB|dedB dedB|c2ec B2dB|A2F2 G4:|

X:2
T:The Kesh
R:jig
M:6/8
L:1/8
K:G
|:G3 GAB|A3 ABd|edd gdd|edB dBA|
G3 GAB|A3 ABd|edd gdB|AGF G3:|
"""


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> tuple[Path, Path]:
    """(models/, an empty runs folder): the page on the repository's bundled models."""
    return core.REPO / "models", tmp_path_factory.mktemp("no_runs")


def infilling(models: Path) -> core.ModelEntry:
    """The best bundled model that fills gaps (mode=infill)."""
    entries, _ = core.list_models(models, models / "no-runs-here")
    return next(e for e in entries if "infill" in core.modes(core.load_model(e.path)))


@pytest.fixture
def folder():
    made = SessionFolder()
    yield made.path
    made.remove()


def abc_pitches(text: str) -> list[int]:
    """The MIDI pitches of an ABC tune as music21 reads it, repeats played out, tied notes as one."""
    import music21 as m21

    score = m21.converter.parse(text, format="abc").expandRepeats().stripTies()
    return [n.pitch.midi for n in score.recurse().notes]


def test_a_pasted_tune_book_is_saved_in_the_session_folder_and_its_tunes_listed(folder):
    seed = pasted_seed(BOOK, folder)
    path = Path(seed.seed)
    assert seed_kind(seed.seed) == "file" and path.read_text() == BOOK and folder in path.parents
    assert core.REPO not in path.parents  # never inside the repository
    assert seed.labels == ["X:1 Speed the Plough", "X:2 The Kesh"] and seed.tune_of("X:2 The Kesh") == "2"
    one = pasted_seed("  T:Lone\r\n  M:3/4\r\n  K:D\r\n  DFA d2A|", folder)  # indented, without its X: line
    assert Path(one.seed).read_text() == "X:1\nT:Lone\nM:3/4\nK:D\nDFA d2A|\n"
    assert one.labels == ["X:1 Lone"] and one.tune_of("X:1 Lone") == ""  # one tune: no tune=
    assert not path.exists() and len(list(folder.iterdir())) == 1  # one tune per session at a time
    assert pasted_seed("  GABc d2B2|\n", folder) == PageSeed("GABc d2B2|")  # a fragment: the text itself
    too_long = "X:1\nK:C\n" + "C" * (core.MAX_ABC_CHARS - 7)
    with pytest.raises(UserError, match=f"ABC: {len(too_long)} characters is too long; accepted: at most "
                       f"{core.MAX_ABC_CHARS} characters"):
        pasted_seed(too_long, folder)


def test_the_session_folder_is_removed_with_the_session():
    made = SessionFolder()
    path = made.path
    pasted_seed(BOOK, path)
    assert path.is_dir() and core.REPO not in path.parents
    del made
    gc.collect()
    assert not path.exists()


@pytest.mark.parametrize("name, data, message", [
    ("notes.txt", b"X:1\nK:C\nC", "upload: 'notes.txt' is not a tune file; accepted: .abc, .krn"),
    ("big.mid", b"\0" * (core.MAX_UPLOAD_BYTES + 1),
     f"upload: 'big.mid' is {core.MAX_UPLOAD_BYTES + 1} bytes; accepted: at most {core.MAX_UPLOAD_BYTES}"),
])
def test_an_upload_of_another_kind_or_too_large_is_refused_and_nothing_saved(name, data, message, folder):
    with pytest.raises(UserError, match=re.escape(message)):
        uploaded_seed(name, data, folder)
    assert not list(folder.iterdir())


def test_an_uploaded_file_is_saved_under_a_safe_name(folder):
    seed = uploaded_seed("../../My Reel (2).ABC", BOOK.encode(), folder)
    assert Path(seed.seed).name == "My_Reel_2.abc" and folder in Path(seed.seed).parents
    assert seed_kind(seed.seed) == "file" and len(seed.tunes) == 2


def test_a_seed_file_is_read_only_from_the_session_folder(bundled, folder, tmp_path):
    module = core.load_model(infilling(bundled[0]).path)
    outside = tmp_path / "secret.abc"
    outside.write_text(BOOK)
    for files in (None, folder):
        with pytest.raises(UserError, match="the web app reads no file by its path; accepted: a melody"):
            core.check_request({"seed": str(outside)}, module, files)
    inside = pasted_seed(BOOK, folder).seed
    assert core.check_request({"seed": inside, "tune": "2"}, module, folder).seed == inside


def test_a_tune_longer_than_the_page_allows_is_refused(bundled):
    module = core.load_model(infilling(bundled[0]).path)
    fragment = "C8|" * 200  # 200 bars of a whole note: 3200 steps of 16ths
    with pytest.raises(UserError, match=f"seed: the tune is 3200 steps long as played; accepted: at most "
                       f"{core.MAX_TUNE_STEPS} steps in the web app"):
        core.check_request({"seed": fragment}, module)
    assert core.check_request({"seed": fragment, "seed_bars": "1:100"}, module).seed_bars == (1, 100)


def test_a_tune_books_tune_continues_and_its_abc_is_the_commands(bundled, folder, tmp_path):
    from src.sample import main as sample_main

    entry = infilling(bundled[0])
    seed = pasted_seed(BOOK, folder).seed
    settings = {"seed": seed, "tune": "2", "seed_bars": "1:2", "steps": 24, "num_samples": 2, "rng_seed": 3}
    result = core.generate(entry, settings, qpm=100.0, files=folder)
    assert len(result.melodies) == 2
    sample_main([f"ckpt={entry.path}", f"out_dir={tmp_path / 'out'}", "qpm=100",
                 *(f"{k}={v}" for k, v in settings.items())])
    for k, melody in enumerate(result.melodies):
        written = (tmp_path / "out" / f"melody_{k:02d}.abc").read_text()
        assert body(melody.abc) == body(written)  # the same tune as the command writes, bar for bar
        assert melody.abc.startswith(f"X:{k + 1}\nT:The Kesh {k}\n% melody-generator ")
        assert {"R:jig", "M:6/8", "Q:1/4=100", "K:G"} <= set(melody.abc.splitlines())
        pitches = [p for p, _ in symbols_to_events(list(melody.symbols)) if p is not None]
        assert abc_pitches(melody.abc) == pitches and pitches[:3] == [67, 67, 69]  # G3 GAB, in its octave
    assert result.book == "\n".join(m.abc for m in result.melodies)


def body(abc: str) -> str:
    """A tune's header fields and bars, without its `%` comments."""
    return "\n".join(line for line in abc.splitlines() if not line.startswith("%"))


def test_infill_rewrites_bars_of_a_tune_and_keeps_the_rest(bundled, folder):
    entry = infilling(bundled[0])
    seed = pasted_seed(BOOK, folder).seed
    tune = read_tune(core.load_model(entry.path), seed, "1")
    whole = transpose_symbols(tune.symbols, -tune.shift)  # the tune as read, where it sits
    result = core.generate(entry, {"seed": seed, "tune": "Speed the Plough", "mode": "infill", "bars": "2:3",
                                   "num_samples": 2}, files=folder)
    assert "infill: steps 16:48 of 256 regenerated (4/4, pickup 0)" in result.notes
    for melody in result.melodies:
        assert list(melody.symbols[:16]) == whole[:16] and list(melody.symbols[48:]) == whole[48:]
        assert {"K:G", "R:reel"} <= set(melody.abc.splitlines())


def page(models: Path, outputs: Path, monkeypatch, source: str) -> AppTest:
    """The page on `models`, its seed taken from `source` (abc: pasted, file: uploaded)."""
    at = app(models, outputs, monkeypatch)
    return at.radio(key="seed_source").set_value(source).run()


def test_the_page_takes_a_pasted_tune_book_and_shows_each_melodys_abc(bundled, monkeypatch):
    at = page(*bundled, monkeypatch, "abc")
    at = at.text_area(key="abc_text").set_value(BOOK).run()
    assert at.selectbox(key="tune").options == ["X:1 Speed the Plough", "X:2 The Kesh"]
    assert at.text_input(key="key").disabled and at.selectbox(key="time_signature").disabled  # the tune's own
    at.selectbox(key="tune").select("X:2 The Kesh").run()
    at = generate(at, seed_bars="1:2", steps=24, count_continue=2)
    assert not at.error and not at.exception, [e.value for e in at.error]
    result = at.session_state["result"]
    assert [m.time_signature for m in result.melodies] == ["6/8", "6/8"]
    abc = [c.value for c in at.code if c.value.startswith("X:")]
    assert abc == [m.abc.rstrip() for m in result.melodies] and abc[1].startswith("X:2\nT:The Kesh 1\n")
    assert [b.label for b in at.download_button][-4:] == [
        "Download MIDI", "Download MusicXML", "Download ABC", "Download all as an ABC tune book"]
    folder = at.session_state["seed_folder"].path
    assert folder.is_dir() and core.REPO not in folder.parents


def test_the_page_infills_bars_of_an_uploaded_tune(bundled, monkeypatch, tmp_path):
    symbols = "67 _ 69 _ 71 _ 72 _ 74 _ _ _ 71 _ _ _ " * 3 + "67 _ _ _ _ _ _ _ 67 _ _ _ _ _ _ _"
    write_musicxml(symbols.split(), tmp_path / "reel.musicxml", time_signature="4/4")
    at = page(*bundled, monkeypatch, "file")
    at.file_uploader(key="upload").set_value(("reel.musicxml", (tmp_path / "reel.musicxml").read_bytes(),
                                              "application/vnd.recordare.musicxml+xml")).run()
    at.radio(key="mode").set_value("infill").run()
    with pytest.raises(KeyError):  # an uploaded tune's bar lines are its own: no pickup to give
        at.number_input(key="pickup")
    at = generate(at, bars="2:3", count_infill=2)
    assert not at.error and not at.exception, [e.value for e in at.error]
    melodies = at.session_state["result"].melodies
    seed = symbols.split()
    for k, melody in enumerate(melodies):
        assert list(melody.symbols[:16]) == seed[:16] and list(melody.symbols[48:]) == seed[48:]
        assert f"\nT:reel {k}\n" in melody.abc  # a file without a title: named after the upload
    assert "infill: steps 16:48 of 64 regenerated (4/4, pickup 0)" in [i.value for i in at.info]


@pytest.mark.parametrize("source, value, message", [
    ("abc", "X:1\nT:nothing\nK:C\n", "seed='pasted.abc' could not be read as a tune"),
    ("abc", "GABc d2B2| H", "seed='GABc d2B2| H' is not accepted"),
    ("abc", "C8|" * 200, "seed: the tune is 3200 steps long as played"),
    ("file", ("big.abc", b"X:1\nK:C\n" + b"C" * core.MAX_UPLOAD_BYTES, "text/plain"),
     "bytes; accepted: at most"),
    ("notes", "/etc/tune.abc", "the web app reads no file by its path"),
])
def test_a_bad_tune_seed_is_one_line_and_nothing_is_generated(source, value, message, bundled, monkeypatch):
    at = page(*bundled, monkeypatch, source)
    if source == "abc":
        at.text_area(key="abc_text").set_value(value).run()
    elif source == "file":
        at.file_uploader(key="upload").set_value(value).run()
    else:
        at.text_input(key="seed").set_value(value).run()
    at = at.button(key="generate").click().run()
    assert len(at.error) == 1 and not at.exception, [e.value for e in at.error]
    assert message in at.error[0].value and "\n" not in at.error[0].value
    assert "result" not in at.session_state and not at.get("audio")
