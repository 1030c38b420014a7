"""`python -m tools.faults [kills=12] [chains=3] [epochs=5] [seed=0] [mid_epoch=0] [out=DIR]`: fault campaign.

Trains the debug experiment on one real Essen file (erk5.abc, 27 tunes) as `python -m src.train`
subprocesses. A chain starts a run, kills it with SIGKILL at a planned moment (start-up, a training
batch, a validation batch, a checkpoint write, the final test), checks that every checkpoint in the run
folder loads, resumes from `last.ckpt` (or starts again when none was written yet) and repeats; its last
process runs to the end. Every chain must end with the metrics, weights and final training loss of one
uninterrupted run. Prints the tables of docs/reliability.md and writes `campaign.json` into `out`.
`mid_epoch=1` validates and checkpoints in the middle of each epoch as well (`trainer.val_check_interval`,
as the shipped experiments do): a resume from there is not exact (docs/reliability.md).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import torch

from src.checkpoint_io import temporaries
from src.checks import integer, refuse
from src.errors import UserError, exit_on_user_error
from tools.faults.kills import TRAIN_BATCHES, VAL_BATCHES, Kill, Process, plan, run_and_kill

HOLD_S = 0.2  # each checkpoint write waits this long before its rename, so kills aimed at it land (Probe)
DEFAULTS = {"kills": 12, "chains": 3, "epochs": 5, "seed": 0, "mid_epoch": 0, "out": ""}


def train_args(corpus: Path, cache: Path, epochs: int, mid_epoch: bool = False) -> list[str]:
    """`python -m src.train` arguments: the debug experiment on `corpus`, a probe printing kill moments."""
    extra = [f"trainer.val_check_interval={TRAIN_BATCHES // 2}"] if mid_epoch else []
    return ["experiment=debug", f"data.corpus={corpus}", f"data.cache_dir={cache}", "data.prepare_workers=1",
            "data.val_fraction=0.2", "data.test_fraction=0.2", f"trainer.max_epochs={epochs}",
            f"trainer.limit_train_batches={TRAIN_BATCHES}", f"trainer.limit_val_batches={VAL_BATCHES}",
            f"trainer.limit_test_batches={VAL_BATCHES}",
            "+callbacks.fault_probe._target_=tools.faults.probes.Probe",
            f"+callbacks.fault_probe.hold_s={HOLD_S}", *extra]



def inspect(run: Path, cache: Path) -> tuple[dict[str, str], list[str], str]:
    """(checkpoint -> "ok" or error, leftover temporary files and folders, what last.ckpt holds)."""
    from src.models.checkpoint import load_module

    checkpoints = run / "checkpoints"
    loadable, last = {}, ""
    leftovers = [f"cache folder {p.name}" for p in sorted(cache.glob(".*.tmp"))] if cache.is_dir() else []
    for name in ("best.ckpt", "last.ckpt"):
        path = checkpoints / name
        leftovers += [f"{p.name} ({p.stat().st_size} bytes)" for p in temporaries(path)]
        if not path.exists():
            continue
        try:
            load_module(path)
            loadable[name] = "ok"
        except UserError as err:
            loadable[name] = str(err)
        if name == "last.ckpt" and loadable[name] == "ok":
            state = torch.load(path, map_location="cpu", weights_only=True)
            last = f"last.ckpt (epoch {state['epoch']}, step {state['global_step']})"
    return loadable, leftovers, last


def run_chain(kills: list[Kill], run: Path, args: list[str], cache: Path, logs: Path) -> dict:
    """Kill and resume as planned, then let the last process finish. Returns the chain's record."""
    started, processes = time.monotonic(), 0
    resume = ""
    for number, kill in enumerate([*kills, None]):
        launch = [*args, f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}"] if resume else \
            [*args, f"hydra.run.dir={run}"]
        process = Process(launch, logs / f"{run.name}-{number}.log")
        processes += 1
        if kill is not None:
            kill.resumed_from = resume or "scratch"
            run_and_kill(process, kill, run / "checkpoints")
        code = process.wait()
        if kill is None or not kill.killed:
            if code != 0:
                raise RuntimeError(f"{run.name}: training exited with {code}; see {process.log.name}")
            if kill is not None:
                kill.hit = f"missed: the run finished first (exit {code})"
            break
        kill.loadable, kill.leftovers, resume = inspect(run, cache)
    return {"run": str(run), "processes": processes, "seconds": round(time.monotonic() - started, 1),
            "kills": [asdict(k) for k in kills]}


def final_train_loss(run: Path) -> float:
    """`train/loss_epoch` of the last epoch, from the run's TensorBoard event files."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    latest: tuple[int, float, float] | None = None  # (step, wall time, value)
    for path in sorted(run.glob("events.out.tfevents.*")):
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                if value.tag == "train/loss_epoch":
                    number = value.simple_value if value.HasField("simple_value") else \
                        float(torch.tensor(list(value.tensor.float_val)).reshape(-1)[0])
                    item = (event.step, event.wall_time, number)
                    latest = item if latest is None or item[:2] > latest[:2] else latest
    if latest is None:
        raise RuntimeError(f"{run}: no train/loss_epoch in its event files")
    return latest[2]


def compare(run: Path, reference: Path) -> dict:
    """Largest differences between a run's results and the uninterrupted reference's."""
    metrics = [json.loads((r / "metrics.json").read_text())["metrics"] for r in (run, reference)]
    result = {"metrics": max(abs(metrics[0][k] - metrics[1][k]) for k in metrics[1]),
              "final_train_loss": abs(final_train_loss(run) - final_train_loss(reference)),
              "missing_metrics": sorted(set(metrics[1]) - set(metrics[0]))}
    for name in ("best.ckpt", "last.ckpt"):
        states = [torch.load(r / "checkpoints" / name, map_location="cpu", weights_only=True)
                  for r in (run, reference)]
        weights = [s["state_dict"] for s in states]
        result[name] = max(float((weights[0][k].float() - weights[1][k].float()).abs().max())
                           for k in weights[1])
        result[f"{name} step"] = (states[0]["global_step"], states[1]["global_step"])
    return result


def erk5_corpus(out: Path) -> Path:
    """A folder corpus holding one real Essen file (erk5.abc, 27 tunes)."""
    from src.data.corpus import corpus_files

    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    shutil.copy(corpus_files("essen_erk")[0] / "erk5.abc", corpus / "erk5.abc")
    return corpus


def campaign(out: Path, kills: int = 12, chains: int = 3, epochs: int = 5, seed: int = 0,
             chain_plans: list[list[Kill]] | None = None, reference: Path | None = None,
             mid_epoch: bool = False) -> dict:
    """The whole campaign: an uninterrupted reference run (unless given: one trained with
    `train_args(erk5_corpus(out), ..., epochs)`), then the chains, then the comparisons."""
    corpus = erk5_corpus(out)
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    started = time.monotonic()
    if reference is None:
        reference = out / "reference"
        cache = out / "cache-reference"
        run_chain([], reference, train_args(corpus, cache, epochs, mid_epoch), cache, logs)
    plans = chain_plans if chain_plans is not None else plan(kills, chains, seed)
    records = []
    for c, chain in enumerate(plans):
        run = out / f"chain{c}"
        cache = out / f"cache-chain{c}"
        record = run_chain(chain, run, train_args(corpus, cache, epochs, mid_epoch), cache, logs)
        record["difference"] = compare(run, reference)
        records.append(record)
    return {"epochs": epochs, "seed": seed, "mid_epoch": mid_epoch, "train_batches": TRAIN_BATCHES,
            "val_batches": VAL_BATCHES,
            "reference": {"final_train_loss": final_train_loss(reference),
                          "metrics": json.loads((reference / "metrics.json").read_text())["metrics"]},
            "chains": records, "seconds": round(time.monotonic() - started, 1)}


def report(result: dict) -> str:
    """Markdown: one row per kill, one per chain."""
    rows = ["| chain | kill | aimed at | landed | after it: best / last.ckpt load | temporary files left "
            "| the killed process had started from |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for record in result["chains"]:
        for k, kill in enumerate(record["kills"]):
            loadable = " / ".join(kill["loadable"].get(n, "absent") for n in ("best.ckpt", "last.ckpt")) \
                if kill["killed"] else "-"
            rows.append(f"| {kill['chain']} | {k + 1} | {kill['moment']} | {kill['hit']} | {loadable} | "
                        f"{', '.join(kill['leftovers']) or '-'} | {kill['resumed_from']} |")
    rows += ["", "| chain | processes | seconds | max abs diff: metrics | final train loss "
             "| best.ckpt weights | last.ckpt weights |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for c, record in enumerate(result["chains"]):
        d = record["difference"]
        rows.append(f"| {c} | {record['processes']} | {record['seconds']} | {d['metrics']:.3g} | "
                    f"{d['final_train_loss']:.3g} | {d['best.ckpt']:.3g} | {d['last.ckpt']:.3g} |")
    ref = result["reference"]
    rows.append(f"\nreference: final train/loss_epoch {ref['final_train_loss']:.6f}, "
                f"test/loss {ref['metrics']['test/loss']:.6f}; campaign {result['seconds']} s")
    return "\n".join(rows)


def _integer(key: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        refuse(key, text, "an integer")


@exit_on_user_error
def main(argv: list[str] | None = None) -> dict:
    settings = dict(DEFAULTS)
    for arg in sys.argv[1:] if argv is None else argv:
        key, sep, value = arg.partition("=")
        if not sep or key not in settings:
            raise UserError(f"unknown argument {arg!r}; accepted: {', '.join(f'{k}=' for k in settings)}")
        settings[key] = value if key == "out" else _integer(key, value)
    for key, least in (("kills", 0), ("chains", 1), ("epochs", 2)):
        integer(key, settings[key], least)
    out = Path(settings["out"] or tempfile.mkdtemp(prefix="faults-"))
    result = campaign(out, settings["kills"], settings["chains"], settings["epochs"], settings["seed"],
                      mid_epoch=bool(settings["mid_epoch"]))
    (out / "campaign.json").write_text(json.dumps(result, indent=1))
    print(report(result))
    print(f"wrote {out / 'campaign.json'}", file=sys.stderr)
    return result
