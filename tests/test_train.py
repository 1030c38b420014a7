"""`python -m src.train`: every experiment runs, resume continues, bad input fails early, DDP on CPU."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from src.config import CONFIG_DIR
from src.errors import UserError
from src.train import main as train_main
from src.train import train
from tests.conftest import ESSEN_DIR, run_config, small_data, write_tunes

EXPERIMENTS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_runs_with_fast_dev_run(experiment, erk5_dir, tmp_path):
    overrides = [f"experiment={experiment}", "trainer=cpu", "trainer.fast_dev_run=true",
                 "callbacks.sample_export.steps=8", *small_data(erk5_dir, tmp_path / "cache")]
    if experiment == "lstm_attn_seed":
        overrides.append("data.batch_size=8")  # the original sizes, one small batch on CPU
    if experiment.endswith("_essen"):  # all of Essen as extra training songs: 8 other real tunes here
        extra = tmp_path / "extra"
        extra.mkdir()
        shutil.copy(ESSEN_DIR / "teste.abc", extra / "teste.abc")
        overrides.append(f"data.extra_train={extra}")
    metrics = train(run_config(tmp_path / "run", overrides))
    assert {"val/bits", "test/bits", "test/pitch_acc", "test/onset_acc"} <= set(metrics)
    assert all(v == v for k, v in metrics.items() if k.endswith(("bits", "loss")))


def test_debug_run_leaves_checkpoints_samples_and_events(erk5_dir, tmp_path, capsys):
    run = tmp_path / "run"
    metrics = train(run_config(run, ["experiment=debug", *small_data(erk5_dir, tmp_path / "cache")]))
    assert (run / "checkpoints" / "best.ckpt").is_file() and (run / "checkpoints" / "last.ckpt").is_file()
    assert sorted(p.name for p in (run / "samples").iterdir())[:2] == ["epoch=000-0.mid", "epoch=000-1.mid"]
    assert list(run.glob("events.out.tfevents.*"))
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["metrics"]["test/bits"] == pytest.approx(metrics["test/bits"])
    out = capsys.readouterr().out
    assert f"python -m src.sample ckpt={run / 'checkpoints' / 'best.ckpt'}" in out
    checkpoint = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)
    assert checkpoint["hyper_parameters"]["encoding"]["mapping"]["/"] == 0


def validation_steps(run) -> list[int]:
    """The global steps at which the run logged val/loss, read from its TensorBoard event file."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run)).Reload()
    return sorted(event.step for event in events.Scalars("val/loss"))


BY_STEPS = ["trainer.val_check_interval=5", "trainer.check_val_every_n_epoch=null"]


@pytest.mark.parametrize("schedule, expected", [
    (["trainer.max_steps=7", *BY_STEPS], [4, 6, 7]),
    (["trainer.max_steps=10", *BY_STEPS], [4, 9, 10]),
    (["trainer.max_epochs=2", "trainer.limit_train_batches=3", "trainer.check_val_every_n_epoch=5"], [5, 6]),
    (["trainer.max_epochs=2", "trainer.limit_train_batches=3", "trainer.val_check_interval=400",
      "trainer.check_val_every_n_epoch=null"], [5, 6]),
])
def test_every_fit_ends_with_one_validation(schedule, expected, erk5_dir, tmp_path, capsys):
    run = tmp_path / "run"
    overrides = ["experiment=debug", "trainer.limit_train_batches=10",
                 "callbacks.sample_export.every_n_epochs=9", *schedule,
                 *small_data(erk5_dir, tmp_path / "cache")]
    metrics = train(run_config(run, overrides))
    # steps as the logger counts them (global_step - 1 inside a step), no repeat at a scheduled last
    # step, then the scoring of the best checkpoint after the fit (at global_step)
    assert validation_steps(run) == expected
    assert (run / "checkpoints" / "best.ckpt").is_file() and "val/bits" in metrics
    assert sorted(p.name for p in (run / "samples").iterdir())  # the last validation exports samples
    assert f"best checkpoint  {run / 'checkpoints' / 'best.ckpt'}" in capsys.readouterr().out


def test_summary_says_why_there_is_no_best_checkpoint(erk5_dir, tmp_path, capsys):
    data = small_data(erk5_dir, tmp_path / "cache")
    train(run_config(tmp_path / "fast", ["experiment=debug", "trainer.fast_dev_run=true", *data]))
    assert "best checkpoint  (none: trainer.fast_dev_run writes no checkpoints)" in capsys.readouterr().out
    train(run_config(tmp_path / "noval", ["experiment=debug", "trainer.limit_val_batches=0",
                                          "trainer.max_epochs=1", *data]))
    out = capsys.readouterr().out
    assert "best checkpoint  (none: no validation ran" in out and "sample with" not in out


def test_resume_from_last_checkpoint_continues_at_the_right_step(erk5_dir, tmp_path):
    data = small_data(erk5_dir, tmp_path / "cache")
    common = ["experiment=debug", "trainer.limit_train_batches=3", "callbacks.sample_export.every_n_epochs=9"]
    first = tmp_path / "first"
    train(run_config(first, [*common, "trainer.max_epochs=1", *data]))
    last = first / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == 3
    resumed = tmp_path / "resumed"
    train(run_config(resumed, [*common, "trainer.max_epochs=2", f"ckpt_path={last}", *data]))
    state = torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["global_step"] == 6 and state["epoch"] == 1


def run_train_cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "src.train", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_unknown_experiment_is_one_line_exit_2(tmp_path):
    result = run_train_cli("experiment=nope", f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "experiment" in lines[0] and "lstm_attn" in lines[0], lines
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, message", [
    (["model.net.heads=3"], "model.net.heads"),
    (["model.net.hidden_size=-4"], "model.net.hidden_size"),
    (["model.net.dropout=1.0"], "model.net.dropout"),
    (["optimizer.lr=0"], "optimizer.lr"),
    (["data.batch_size=0"], "data.batch_size"),
    (["data.extra_train=nowhere"], "data.extra_train='nowhere' is neither a bundled corpus"),
    (["model.net.kernel_size=0", "experiment=lstm_attn_lm"], "model.net.kernel_size"),
    (["+model.net.bar_index=true", "experiment=lstm_attn_lm"],
     "model.net.bar_index=True is not accepted; accepted: a setting of LSTMAttentionLM"),
    (["optimizer.name=sgd"], "optimizer.name"),
    # a module given a net it cannot drive: a window net under a causal module, a net that cannot fill gaps
    (["model._target_=src.models.modules.kinds.CausalModule"],
     "model.net._target_='src.models.nets.lstm_attn.LSTMAttention' is not accepted; accepted: a causal net"),
    (["experiment=gru_lm", "model._target_=src.models.modules.kinds.InfillingModule"],
     "accepted: a net that reads a gap's two sides for InfillingModule: src.models.nets.transformer."),
    (["model.net.num_layers=${oops}"], "model.net.num_layers: Interpolation key 'oops' not found"),
    (["data.window_start=song"], "Could not override 'data.window_start'"),  # a setting that left the code
    (["init_from=/nowhere/best.ckpt"], "checkpoint /nowhere/best.ckpt does not exist"),
    (["init_from=true"], "init_from=True is not accepted"),
    (["data.corpus=/home/me/my", "tunes"], "'tunes' is not key=value (a value split at a space"),
    (["data.corpus=/home/me/a(b)"], """e.g. 'data.corpus="/home/me/a(b)"'"""),
])
def test_bad_overrides_fail_before_training_with_one_line(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["src.train", *args, f"hydra.run.dir={tmp_path / 'run'}"])
    with pytest.raises(SystemExit) as exit_info:
        train_main()
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1 and message in lines[0], lines
    assert not (tmp_path / "run").exists()


def test_a_corpus_too_small_for_its_splits_fails_before_training(tmp_path, monkeypatch, capsys):
    corpus = write_tunes(tmp_path / "one", {"one": "M:2/4\nL:1/8\nK:C\nCD EF|G2 G2|]"})
    monkeypatch.setattr(sys, "argv", ["src.train", "experiment=debug", f"data.corpus={corpus}",
                                      f"data.cache_dir={tmp_path / 'cache'}",
                                      f"hydra.run.dir={tmp_path / 'run'}"])
    with pytest.raises(SystemExit) as exit_info:
        train_main()
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1, lines
    assert "the val split of" in lines[0] and "(songs: train 1, val 0, test 0)" in lines[0]
    assert not (tmp_path / "run").exists()


def test_a_corpus_folder_with_spaces_and_accents_is_quoted_once(erk5_dir, tmp_path):
    folder = tmp_path / "my tunes – Zürich"
    shutil.copytree(erk5_dir, folder)
    common = ["experiment=debug", f"data.cache_dir={tmp_path / 'cache'}", "data.prepare_workers=1",
              "trainer.fast_dev_run=true", f"hydra.run.dir={tmp_path / 'run'}"]
    bare = run_train_cli(f"data.corpus={folder}", *common)
    lines = bare.stderr.strip().splitlines()
    assert bare.returncode == 2 and len(lines) == 1, lines
    assert f"""e.g. 'data.corpus="{folder}"'""" in lines[0]
    quoted = run_train_cli(f'data.corpus="{folder}"', *common)
    assert quoted.returncode == 0, quoted.stderr[-2000:]
    assert "test metrics     bits" in quoted.stdout


@pytest.mark.parametrize("model", [
    ["experiment=debug"],
    ["experiment=transformer_lm", "model.net.d_model=16", "model.net.num_layers=1", "model.net.ff_size=32",
     "model.net.bars_back=[1,2]", "model.net.copy=true", "data.sequence_length=32", "data.batch_size=4"],
], ids=["debug", "transformer_lm"])
def test_ddp_fast_dev_run_with_two_cpu_processes(model, erk5_dir, tmp_path):
    result = run_train_cli(
        *model, "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
        "trainer.fast_dev_run=true", *small_data(erk5_dir, tmp_path / "cache"),
        f"hydra.run.dir={tmp_path / 'run'}", timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test metrics" in result.stdout


def test_optuna_sweep_returns_the_optimized_metric(erk5_dir, tmp_path):
    sweep = tmp_path / "sweep"
    result = run_train_cli(
        "-m", "hparams_search=optuna", "experiment=debug", "hydra.sweeper.n_trials=2",
        "trainer.max_epochs=1", "trainer.limit_train_batches=2", "callbacks.sample_export.steps=4",
        *small_data(erk5_dir, tmp_path / "cache"), f"hydra.sweep.dir={sweep}", timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    results = (sweep / "optimization_results.yaml").read_text()
    assert "best_value" in results and (sweep / "0" / "metrics.json").is_file()
    best = float(results.split("best_value:")[1].split()[0])
    trials = [json.loads((sweep / str(i) / "metrics.json").read_text())["metrics"]["val/bits"]
              for i in (0, 1)]
    assert best == pytest.approx(min(trials))


@pytest.mark.parametrize("launcher, target", [
    ("local", "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"),
    ("slurm", "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"),
])
def test_launcher_configs_compose(launcher, target, tmp_path):
    cfg = run_config(tmp_path, [f"hydra/launcher={launcher}"])
    assert cfg.hydra.launcher._target_ == target


def test_init_from_starts_a_run_from_another_runs_weights(trained_run, erk5_dir, tmp_path):
    from src.models.checkpoint import load_module, resolve_checkpoint
    from src.train import init_weights

    pretrained = load_module(resolve_checkpoint(trained_run))
    # one step at a vanishing learning rate: the run's checkpoint holds the weights it started from
    overrides = ["experiment=debug", f"init_from={trained_run}", "trainer.max_steps=1", "optimizer.lr=1e-12",
                 *small_data(erk5_dir, tmp_path / "cache")]
    train(run_config(tmp_path / "tuned", overrides))
    tuned = torch.load(tmp_path / "tuned" / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    for name, value in pretrained.state_dict().items():
        torch.testing.assert_close(tuned[name], value, atol=1e-8, rtol=0, msg=name)
    wider = run_config(tmp_path / "wider", ["experiment=debug", "model.net.hidden_size=24"])
    from src.config import to_plain
    from src.models.modules.kinds import module_kind

    module = module_kind(wider.model).from_config(to_plain(wider.model), dict(pretrained.hparams.encoding),
                                                  to_plain(wider.optimizer))
    with pytest.raises(UserError, match="does not fit this model"):
        init_weights(module, str(trained_run))


def test_a_bar_table_shorter_than_the_songs_bars_is_named_or_refused(erk5_corpus):
    from src.preflight import check_bar_table

    songs = erk5_corpus.split("train")
    positions = erk5_corpus.positions
    bars = np.concatenate([positions[s["offset"]:s["offset"] + s["length"] + 1, 1] for s in songs])
    longest = int(bars.max())
    assert check_bar_table(None, erk5_corpus) is None  # a net that reads no meter
    for max_bar in range(1, longest + 2):  # every table length: silent, one warning line, or refused
        lost = int((bars > max_bar).sum())
        if lost * 2 > len(bars):
            with pytest.raises(UserError) as refused:
                check_bar_table(max_bar, erk5_corpus)
            assert str(refused.value).startswith(f"model.net.max_bar={max_bar} is shorter than the bars of")
            assert str(refused.value).endswith(f"; accepted: model.net.max_bar >= {longest}")
            assert f"{lost:,} of {len(bars):,} training steps" in str(refused.value)
        elif lost:
            warning = check_bar_table(max_bar, erk5_corpus)
            assert warning.startswith(f"warning: model.net.max_bar={max_bar} is shorter than some bars ("
                                      f"{lost:,} of {len(bars):,} training steps") and "\n" not in warning
            assert warning.endswith(f"model.net.max_bar >= {longest} holds them all")
        else:
            assert check_bar_table(max_bar, erk5_corpus) is None and max_bar >= longest


TINY_GRU_LM = ["experiment=gru_lm", "model.net.hidden_size=8", "model.net.num_layers=1", "trainer=cpu",
               "trainer.fast_dev_run=true", "callbacks.sample_export.steps=8"]


def test_a_run_whose_bar_table_misses_most_steps_fails_before_the_run_folder(erk5_dir, tmp_path,
                                                                             monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["src.train", *TINY_GRU_LM, "model.net.max_bar=4",
                                      f"hydra.run.dir={tmp_path / 'run'}",
                                      *small_data(erk5_dir, tmp_path / "cache")])
    with pytest.raises(SystemExit) as exit_info:
        train_main()
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("error: model.net.max_bar=4 is shorter than the bars of most training steps")
    assert lines[0].endswith("; accepted: model.net.max_bar >= 32")
    assert not (tmp_path / "run").exists()


def test_a_run_whose_bar_table_misses_some_steps_says_so_once(tmp_path, capsys):
    tunes = {f"t{k}": f"M:2/4\nL:1/8\nK:C\n{'CD EF | G2 A2 | ' * (k + 2)}c4 |]" for k in range(8)}
    for k, end in enumerate("cdeg"):  # bars of 16 steps, the rest of 8
        tunes[f"long{k}"] = f"M:4/4\nL:1/8\nK:C\nCDEF GABc | {end}8 |]"
    corpus = write_tunes(tmp_path / "tunes", tunes)
    train(run_config(tmp_path / "run", [*TINY_GRU_LM, "model.net.max_bar=8",
                                        *small_data(corpus, tmp_path / "cache")]))
    warnings = [line for line in capsys.readouterr().err.splitlines() if "model.net.max_bar" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: model.net.max_bar=8 is shorter than some")
    assert warnings[0].endswith("the longest bar is 16 steps): those steps read an unknown meter; "
                                "model.net.max_bar >= 16 holds them all")
