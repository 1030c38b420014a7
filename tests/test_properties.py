"""Property tests (hypothesis): random melodies round-trip through MIDI and MusicXML, random seed text
never raises anything but the one-line error, random overrides of the known keys run or fail clearly.

Deterministic (derandomized) and small by default; `HYPOTHESIS_PROFILE=campaign` runs the larger
numbers recorded in docs/reliability.md.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from src.config import CONFIG_DIR, compose_config
from src.data import encoding, score_writer
from src.data.vocab import Vocabulary, events_to_symbols
from src.errors import UserError
from src.preflight import check_run_objects
from src.sample import main as sample_main
from src.train import main as train_main
from src.train import train
from tests.conftest import run_config, small_data

QUICK = {"roundtrip": 15, "seeds": 60, "overrides": 30}
CAMPAIGN = {"roundtrip": 300, "seeds": 1000, "overrides": 300}
EXAMPLES = CAMPAIGN if os.environ.get("HYPOTHESIS_PROFILE") == "campaign" else QUICK


def examples(name: str):
    return settings(max_examples=EXAMPLES[name], deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# -- melodies round-trip through MIDI and MusicXML ------------------------------------------------

@st.composite
def melodies(draw, min_pitch: int = 48, max_pitch: int = 84) -> list[str]:
    """A canonical encoded song: starts and ends on a note, never two rests in a row."""
    count = draw(st.integers(1, 30))
    events: list[tuple[int | None, int]] = []
    for position in range(count):
        inner = 0 < position < count - 1 and (not events or events[-1][0] is not None)
        rest = inner and draw(st.integers(0, 4)) == 0
        pitch = None if rest else draw(st.integers(min_pitch, max_pitch))
        events.append((pitch, draw(st.integers(1, 40))))
    return events_to_symbols(events)


@examples("roundtrip")
@given(symbols=melodies(), step=st.sampled_from([0.25, 0.5, 0.125]),
       meter=st.sampled_from(["4/4", "3/4", "2/4", "6/8", "3/8", "5/4", "7/8"]),
       qpm=st.integers(30, 240))
def test_random_melodies_round_trip_through_midi_and_musicxml(symbols, step, meter, qpm):
    with tempfile.TemporaryDirectory() as folder:
        for suffix, write in ((".mid", score_writer.write_midi), (".musicxml", score_writer.write_musicxml)):
            path = Path(folder) / f"melody{suffix}"
            write(symbols, path, step=step, qpm=qpm, time_signature=meter)
            back = events_to_symbols(encoding.read_melody(path, step=step))
            assert back == symbols, (suffix, " ".join(symbols))


# -- random seed text: melodies or the one-line error ---------------------------------------------

SYMBOLS = ["60", "_", "r", "/", "48", "84", "47", "85", "-1", "+60", "060", "60.0", "6O", "１２",
           "٦٠", "²", "R", "__", "r_", "", "x", "\x00", "\u200b", "60\u0301", "1e2", "nan"]
seed_text = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(SYMBOLS), max_size=12).map(" ".join),
    st.lists(st.sampled_from(SYMBOLS), max_size=12).flatmap(
        lambda parts: st.sampled_from([" ", "\t", "\n", "  "]).map(lambda sep: sep.join(parts))),
)


@examples("seeds")
@given(text=seed_text)
def test_random_seed_text_is_parsed_or_refused_with_a_user_error(text):
    vocab = Vocabulary(48, 84)
    try:
        symbols = vocab.parse_melody(text)
    except UserError as err:
        message = str(err)
        assert "\n" not in message and ("accepted" in message or "cannot start" in message), message
        return
    assert vocab.decode(vocab.encode(symbols)) == symbols


@examples("seeds")
@example(text="60 _ ²", key="")  # '²'.isdigit() is True but int('²') fails: once a ValueError traceback
@given(text=seed_text, key=st.one_of(st.just(""), st.sampled_from(["E", "f#m", "Bb", "H", "c"]),
                                     st.text(max_size=4)))
def test_sample_with_random_seed_and_key_writes_melodies_or_exits_2(trained_run, capsys, text, key):
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out"
        args = [f"ckpt={trained_run}", f"seed={text}", f"key={key}", "steps=2", f"out_dir={out}"]
        try:
            melodies = sample_main(args)
        except SystemExit as exit_info:
            err = capsys.readouterr().err.strip().splitlines()
            assert exit_info.code == 2 and len(err) == 1 and err[0].startswith("error: "), err
            assert not out.exists()
            event("refused: one line, exit 2")
            return
        capsys.readouterr()
        event("melody written")
        written = sorted(p.suffix for p in out.iterdir())
        assert len(melodies) == 1 and written == [".abc", ".abc", ".json", ".mid", ".musicxml"]  # + the book


# -- random overrides of the known keys: they run, or fail with one line before any work ----------

# keys whose values are paths or classes are not fuzzed: any value there is the user's own choice
NOT_FUZZED = ("_target_", "dirpath", "save_dir", "default_root_dir", "cache_dir", "data.corpus", "hydra")
# keys that would make a run long or spawn many processes get small values
SMALL = {"data.num_workers": (0, 2), "data.prepare_workers": (1, 2), "trainer.devices": (0, 2),
         "trainer.max_epochs": (-2, 2), "trainer.min_epochs": (-1, 2), "trainer.max_steps": (-2, 3),
         "trainer.min_steps": (-1, 3), "trainer.fast_dev_run": (-1, 2), "model.net.num_layers": (-1, 3),
         "callbacks.sample_export.num_samples": (-1, 3), "callbacks.sample_export.steps": (-1, 40),
         "trainer.limit_train_batches": (-1, 4), "trainer.limit_val_batches": (-1, 3),
         "trainer.limit_test_batches": (-1, 3), "trainer.log_every_n_steps": (-1, 4)}
TEXT = ["abc", "''", "null", "true", "false", "nan", "inf", "-inf", "1e9", "[1,2]", "[]", "{a: 1}",
        "'60 _ 62 _'", "'x y'", "${oops}", "adam", "sgd", "cosine", "plateau", "min", "max", "gpu", "auto",
        "00:00:00:01", "segments", "next", "val/loss", "[-5,6]", "[6,-5]", "0.5", "-0.5", "1.0"]


def known_keys() -> list[str]:
    config = OmegaConf.to_container(compose_config("config", ["experiment=debug"]), resolve=False)

    def leaves(node: dict, prefix: str = ""):
        for key, value in node.items():
            if isinstance(value, dict):
                yield from leaves(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}"

    return sorted(k for k in leaves(config) if not any(part in k for part in NOT_FUZZED))


KEYS = known_keys()


@st.composite
def overrides(draw) -> list[str]:
    chosen = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=3, unique=True))
    result = []
    for key in chosen:
        if key in SMALL:
            value = draw(st.one_of(st.integers(*SMALL[key]).map(str),
                                   st.sampled_from(["abc", "null", "true", "0.5", "[]", "${oops}", "''"])))
        else:
            value = draw(st.one_of(st.integers(-3, 70).map(str), st.sampled_from(TEXT),
                                   st.floats(-2, 4, allow_nan=False).map(lambda v: f"{v:.3g}")))
        result.append(f"{key}={value}")
    return result


TAIL = {"trainer.max_epochs": "1", "trainer.max_steps": "2", "trainer.limit_val_batches": "1",
        "trainer.limit_test_batches": "1", "callbacks.sample_export.steps": "4"}


@examples("overrides")
@given(fuzzed=overrides())
def test_random_overrides_run_or_fail_with_one_line(erk5_dir, tmp_path_factory, monkeypatch, capsys, fuzzed):
    capsys.readouterr()  # capsys spans every example of this test: drop what earlier ones printed
    root = tmp_path_factory.mktemp("override")
    base = ["experiment=debug", *small_data(erk5_dir, tmp_path_factory.getbasetemp() / "override-cache")]
    fuzzed_keys = {o.split("=", 1)[0] for o in fuzzed}
    tail = [f"{k}={v}" for k, v in TAIL.items() if k not in fuzzed_keys]
    args = [*base, *fuzzed, *tail]
    ran = []
    monkeypatch.setattr(sys, "argv", ["src.train", *args, f"hydra.run.dir={root / 'cli'}"])
    monkeypatch.setattr("src.train._hydra_main", lambda: ran.append(True))
    try:
        train_main()  # the checks before Hydra takes over
    except SystemExit as exit_info:
        err = capsys.readouterr().err.strip().splitlines()
        assert exit_info.code == 2 and len(err) == 1 and err[0].startswith("error: "), (fuzzed, err)
        assert not (root / "cli").exists()
        event("refused before any work: one line, exit 2")
        return
    assert ran, fuzzed
    try:
        train(run_config(root / "run", args))  # what _hydra_main runs
    except UserError as err:
        assert "\n" not in str(err), (fuzzed, str(err))
        event("refused while training: one line")
        return
    assert (root / "run" / "metrics.json").is_file(), fuzzed
    event("trained and tested")


def test_keys_fuzzed_cover_every_group():
    groups = {key.split(".")[0] for key in KEYS}
    assert {"data", "model", "trainer", "callbacks", "optimizer", "scheduler", "seed"} <= groups
    assert len(KEYS) >= 50


@pytest.mark.parametrize("experiment", sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml")))
def test_every_experiment_passes_the_checks_before_training(experiment):
    check_run_objects([f"experiment={experiment}", "trainer=cpu"])  # lstm_attn_seed asks for a GPU
    check_run_objects([f"experiment={experiment}", "trainer=ddp", "trainer.accelerator=cpu",
                       "trainer.devices=2"])


def test_a_gpu_trainer_without_a_gpu_is_one_line():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(UserError, match="^trainer: No supported gpu .*accepted: trainer=cpu"):
        check_run_objects(["experiment=lstm_attn_seed"])
