"""`python -m src.sample`: melodies from a checkpoint, reproducible, exact files, clear refusals."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import mido
import pytest
import torch

from src.config import available_devices
from src.data.keys import parse_key
from src.data.meter import bar_steps
from src.data.vocab import BOUNDARY_ID, symbols_to_events
from src.models.checkpoint import load_module
from src.sample import main as sample_main
from tests.test_config import unavailable_devices, unwritable_dirs

SEED = "60 _ 62 _ 64 _ _ _"


def sample(run: Path, out: Path, *args: str) -> list[list[str]]:
    return sample_main([f"ckpt={run}", f"out_dir={out}", *args])


def test_same_rng_seed_gives_identical_melodies(trained_run, tmp_path):
    args = (f"seed={SEED}", "steps=40", "num_samples=3", "rng_seed=7")
    first = sample(trained_run, tmp_path / "a", *args)
    again = sample(trained_run, tmp_path / "b", *args)
    other = sample(trained_run, tmp_path / "c", *args[:-1], "rng_seed=8")
    assert first == again and first != other
    assert len(first) == 3 and all(m[:len(SEED.split())] == SEED.split() for m in first)


def test_top_k_1_equals_greedy_decoding(trained_run, tmp_path):
    melody = sample(trained_run, tmp_path / "a", f"seed={SEED}", "steps=30", "top_k=1",
                    "rng_seed=3")[0]
    module = load_module(trained_run / "checkpoints" / "best.ckpt")
    ids = [BOUNDARY_ID] * module.window + module.vocab.encode(SEED.split()).tolist()
    greedy = []
    with torch.no_grad():
        for _ in range(30):
            window = torch.tensor([ids[-module.window:]])
            token = int(module(window).argmax(-1))
            if token == BOUNDARY_ID:
                break
            ids.append(token)
            greedy.append(module.vocab.symbols[token])
    assert melody == SEED.split() + greedy


def test_max_span_keeps_the_melodies_and_their_seed_within_it_and_is_recorded(trained_run, tmp_path):
    args = (f"seed={SEED}", "steps=60", "num_samples=8", "temperature=2.0", "rng_seed=1")
    wide = sample(trained_run, tmp_path / "a", *args)
    kept = sample(trained_run, tmp_path / "b", *args, "max_span=5")  # the seed spans 4 (60..64)

    def span(melody):
        pitches = [int(s) for s in melody if s not in ("_", "r")]
        return max(pitches) - min(pitches)

    assert max(span(m) for m in wide) > 5  # at temperature 2 the tiny net wanders
    assert all(span(m) <= 5 for m in kept)
    assert json.loads((tmp_path / "b" / "melody_00.json").read_text())["settings"]["max_span"] == 5


def midi_notes(midi: mido.MidiFile) -> list[tuple[int, int, int]]:
    notes, open_notes, now = [], {}, 0
    for message in mido.merge_tracks(midi.tracks):
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            open_notes[message.note] = now
        elif message.type == "note_off" or (message.type == "note_on" and message.velocity == 0):
            onset = open_notes.pop(message.note)
            notes.append((message.note, onset, now - onset))
    return sorted(notes, key=lambda n: n[1])


def test_midi_holds_exactly_the_printed_notes(trained_run, tmp_path, capsys):
    melodies = sample(trained_run, tmp_path / "out", f"seed={SEED}", "steps=60", "num_samples=2",
                      "rng_seed=1")
    printed = [line.split() for line in capsys.readouterr().out.strip().splitlines()]
    assert printed == melodies
    for k, symbols in enumerate(printed):
        midi = mido.MidiFile(tmp_path / "out" / f"melody_{k:02d}.mid")
        record = json.loads((tmp_path / "out" / f"melody_{k:02d}.json").read_text())
        per_step = midi.ticks_per_beat // 4  # a 16th note
        bar = bar_steps(record["time_signature"], 0.25)
        expected, onset = [], (bar - record["pickup"]) % bar  # a pickup starts that far into its bar
        for pitch, steps in symbols_to_events(symbols):
            if pitch is not None:
                expected.append((pitch, onset * per_step, steps * per_step))
            onset += steps
        assert midi_notes(midi) == expected  # the last note included, at its full length
        assert record["symbols"].split() == symbols and len(record["checkpoint_sha256"]) == 64
        assert (tmp_path / "out" / f"melody_{k:02d}.musicxml").stat().st_size > 0


def test_key_moves_the_seed_into_the_model_key_and_back(trained_run, tmp_path):
    seed_in_e = "64 _ 66 _ 68 _ _ _ 71 _"  # E major
    melody = sample(trained_run, tmp_path / "e", f"seed={seed_in_e}", "key=E", "steps=20")[0]
    assert melody[:10] == seed_in_e.split()
    in_c = sample(trained_run, tmp_path / "c", "seed=60 _ 62 _ 64 _ _ _ 67 _", "steps=20")[0]
    moved = [s if not s.isdigit() else str(int(s) + 4) for s in in_c]
    assert melody == moved  # same music, written in E
    assert parse_key("f#m") == (6, "minor") and parse_key("Bb") == (10, "major")
    assert parse_key("a") == (9, "minor")


def test_empty_seed_starts_a_new_song(trained_run, tmp_path):
    melody = sample(trained_run, tmp_path / "x", "seed=", "steps=16", "min_steps=16")[0]
    assert len(melody) == 16 and melody[0] != "_"


@pytest.mark.parametrize("args, message", [
    (["seed=60 _ x"], "not a pitch number"),
    (["seed=60 _ 99"], "outside the model's range 48..84"),
    (["seed=_ 60"], "cannot start with '_'"),
    (["temperature=0"], "temperature"),
    (["top_p=1.5"], "top_p"),
    (["top_p=0"], "top_p"),
    (["end_floor=1"], "end_floor=1 is not accepted"),
    (["max_span=-2"], "max_span=-2 is not accepted; accepted: an integer >= 0, semitones (0 = off)"),
    (["top_k=-1"], "top_k"),
    (["steps=0"], "steps"),
    (["steps=100000"], "steps"),
    (["num_samples=0"], "num_samples"),
    # seeds outside what numpy and torch both take, at either end
    (["rng_seed=-1"], "rng_seed=-1 is not accepted; accepted: an integer 0 .. 2**63 - 1"),
    (["rng_seed=18446744073709551616"], "rng_seed=18446744073709551616 is not accepted"),
    (["rng_seed=1.5"], "rng_seed=1.5 is not accepted"),
    (["key=H"], "key"),
    (["colour=red"], "unknown argument"),
    (["time_signature=7/0"], "time_signature='7/0' is not accepted"),
    (["time_signature=0/4"], "time_signature"),
    (["time_signature=4/3"], "power of two"),
    (["time_signature=33/4"], "1..32"),
    (["time_signature=4/128"], "1..64"),
    (["time_signature=waltz"], "time_signature"),
    (["name=../../etc/x"], "name='../../etc/x' is not accepted"),
    (["name=sub/x"], "no '/'"),
    (["name=a\\b"], "name='a\\\\b' is not accepted"),
    (["name=.."], "starting with '.'"),
    (["name=.hidden"], "starting with '.'"),
    (["name="], "not empty"),
    (["name=   "], "name"),
])
def test_bad_settings_are_one_line_and_write_nothing(args, message, trained_run, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        sample(trained_run, tmp_path / "out", *args)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1 and message in err[0], err
    assert not (tmp_path / "out").exists() and not list(tmp_path.parent.rglob("x_00.*"))


def test_time_signature_and_name_reach_the_files(trained_run, tmp_path):
    sample(trained_run, tmp_path / "out", "seed=60 _ _ 62 _ _", "steps=12", "time_signature=6/8",
           "name=jig in G")
    midi = mido.MidiFile(tmp_path / "out" / "jig in G_00.mid")
    meters = [(m.numerator, m.denominator) for m in mido.merge_tracks(midi.tracks)
              if m.type == "time_signature"]
    assert meters == [(6, 8)]
    assert "<beats>6</beats>" in (tmp_path / "out" / "jig in G_00.musicxml").read_text()


def test_bad_checkpoints_are_refused(trained_run, tmp_path, capsys):
    (tmp_path / "empty_run").mkdir()
    (tmp_path / "notes.ckpt").write_text("not a checkpoint")
    torch.save({"state_dict": {}, "epoch": 3}, tmp_path / "foreign.ckpt")

    class Payload:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "pwned",))

    (tmp_path / "evil.ckpt").write_bytes(pickle.dumps({"hyper_parameters": Payload()}, protocol=2))
    cases = {"missing.ckpt": "does not exist", "empty_run": "holds no checkpoint",
             "notes.ckpt": "cannot be read", "foreign.ckpt": "not from melody-generator",
             "evil.ckpt": "refused"}
    for name, message in cases.items():
        with pytest.raises(SystemExit):
            sample_main([f"ckpt={tmp_path / name}", f"out_dir={tmp_path / 'out'}"])
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], (name, err)
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "out").exists()


def test_unwritable_out_dir_is_refused(trained_run, tmp_path, capsys):
    for out in unwritable_dirs(tmp_path):  # each kind: under a file, a dangling link, /proc, read-only
        with pytest.raises(SystemExit) as exit_info:
            sample(trained_run, out, "steps=8")
        err = capsys.readouterr().err.strip().splitlines()
        assert exit_info.value.code == 2 and len(err) == 1, (out, err)
        assert err[0].startswith(f"error: out_dir={out} cannot be written (")


def test_a_device_this_machine_lacks_is_refused_before_the_checkpoint_is_read(trained_run, tmp_path, capsys):
    for device in unavailable_devices():
        with pytest.raises(SystemExit) as exit_info:
            sample(trained_run, tmp_path / "out", f"device={device}")
        err = capsys.readouterr().err.strip().splitlines()
        assert exit_info.value.code == 2 and err == [
            f"error: device={device!r} is not accepted; accepted: a device of this machine: "
            f"{', '.join(available_devices())}"]
    assert not (tmp_path / "out").exists()


def test_cli_prints_one_melody_per_line(trained_run, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "src.sample", f"ckpt={trained_run}", "seed=60 _ 62 _", "num_samples=2",
         "steps=12", f"out_dir={tmp_path / 'o'}"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 2 and (tmp_path / "o" / "melody_01.mid").is_file()


def test_generation_defaults_live_in_one_file_that_every_caller_reads():
    """conf/generation.yaml holds each generation default once: the request's fields, the sample and
    evaluate commands and the app take them from there; the commands' own files repeat none of them."""
    from omegaconf import OmegaConf

    from src.app import core
    from src.config import CONFIG_DIR, literal_settings
    from src.evaluate import SAMPLING_KEYS
    from src.models.generation import GenerationRequest

    defaults = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "generation.yaml"))
    request = GenerationRequest()
    assert {name: getattr(request, name) for name in defaults} == {**defaults, "key": None}
    for command in ("sample", "evaluate"):
        own = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / f"{command}.yaml"))
        assert not set(own) & (set(defaults) - {"steps", "num_samples"}), command  # evaluate's own sizes
    sample_settings = literal_settings([], "sample", (), tuple(defaults))
    assert {k: v for k, v in sample_settings.items() if k in defaults} == defaults
    assert literal_settings(["end_floor=0.1"], "evaluate", (), SAMPLING_KEYS)["end_floor"] == 0.1
    # the page's request is built by the same constructor from the same defaults (its length its own)
    module = core.load_model(Path("models/gru.ckpt"))
    assert core.check_request({}, module) == GenerationRequest(steps=core.APP_STEPS)
