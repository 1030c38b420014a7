"""Training on a GPU: targets/s by precision and batch size, and an epoch of Essen against the n-gram.

`python -m src.bench.gpu [--experiments transformer_lm lstm_attn_lm] [--corpus essen] [--device cuda]
  [--modes fp32 bf16 compile] [--batches 8 16 32 64 128] [--steps 20] [--epoch-seconds 150] [--epochs 1]
  [--cache-dir data/processed] [--set HYDRA_OVERRIDE ...] [--out FILE.json]`
Throughput: per experiment, mode and batch size, a plain loop (AdamW lr 1e-3, clipping 1.0) on the
experiment's net and training batches with data.transpose_augment=[-5,6], the left-to-right loss at
every position (transformer_lm's fill-in-the-middle windows are not mixed in, so both nets run the same
loop): fp32; bf16 autocast around forward and loss; torch.compile(net) under bf16 autocast. 3 warm-up
steps are skipped (compilation), then `steps` steps (data loading included) are timed between device
synchronizations; targets/s counts the supervised targets (those not IGNORE_ID).
Epoch: per experiment, in its fastest mode at the largest batch that ran, `epochs` epochs of the train
split or `epoch-seconds` of training, whichever comes first; fp32 val bits every N steps and at the end,
against an order-5 Kneser-Ney n-gram's val bits (counted on the same train songs, no augmentation).
Seconds are training wall time with the validations taken out (as src/bench/quality.py counts them).
"""

from __future__ import annotations

import argparse
import gc
import json
import shlex
import sys
import time
from itertools import islice
from pathlib import Path

import torch
import torch.nn.functional as F

from src.atomic import atomic_path
from src.bench.quality import ngram_bits
from src.bench.suite import machine
from src.bench.train_speed import experiment_parts
from src.checks import check, choice, integer, number
from src.config import CONFIG_DIR, check_writable, compose_config, one_line, parse_device
from src.data.vocab import IGNORE_ID
from src.errors import exit_on_user_error
from src.eval.ngram_control import ORDER as NGRAM_ORDER  # the order the evaluation's control uses
from src.models.modules.kinds import module_kind
from src.models.modules.metrics import Bits
from src.quiet import quiet_lightning

MODES = ("fp32", "bf16", "compile")
WARMUP = 3  # steps before the clock starts: compilation and first-call allocations
CLIP = 1.0
AUGMENT = "data.transpose_augment=[-5,6]"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def endless(datamodule):
    """Training batches, epoch after epoch."""
    return (batch for _ in iter(int, 1) for batch in datamodule.train_dataloader())


@torch.no_grad()
def val_bits(net, loader, device: torch.device) -> float:
    """fp32 bits per symbol over the val split's songs, padding ignored."""
    bits = Bits().to(device)
    net.eval()
    for batch in loader:
        x, y, *context = (t.to(device) for t in batch)  # (B, W) songs, (B, W) targets, (B, W, 3)
        bits.update(net(x, *context), y)  # (B, W, V), (B, W)
    net.train()
    return float(bits.compute())


class Experiment:
    """One experiment's data (augmented), net on the device, its fresh weights and forward per mode."""

    def __init__(self, name: str, corpus: str, cache_dir: str, overrides: tuple[str, ...],
                 device: torch.device) -> None:
        torch._dynamo.reset()  # a fresh compile cache per net
        self.datamodule, module, _ = experiment_parts(name, corpus, cache_dir, (AUGMENT, *overrides))
        self.name, self.device, self.net = name, device, module.net.to(device).train()
        self.initial = {k: v.clone() for k, v in self.net.state_dict().items()}
        self.forward = {"fp32": self.net, "bf16": self.net, "compile": torch.compile(self.net)}

    def fresh_step(self, mode: str, batch: int):
        """A training step of `mode` at `batch` windows, from the initial weights and seed 0."""
        self.datamodule.batch_size = batch  # data.batch_size, without rebuilding the data
        self.net.load_state_dict(self.initial)
        torch.manual_seed(0)
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        net, forward, device = self.net, self.forward[mode], self.device
        optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)

        def step(batch) -> int:  # -> the batch's supervised targets, counted on the host (no device sync)
            x, y, *context = (t.to(device) for t in batch)  # (B, L) ids, (B, L) targets, (B, L, 3)[, (B, H)]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=mode != "fp32"):
                logits = forward(x, *context)  # (B, L, V)
                loss = F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=IGNORE_ID)  # B*L
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), CLIP)
            optimizer.step()
            return int((batch[1] != IGNORE_ID).sum())

        return step

    def throughput(self, mode: str, batch: int, steps: int) -> dict:
        """targets/s, s/step and peak device memory of `steps` timed steps after the warm-up."""
        step, batches = self.fresh_step(mode, batch), endless(self.datamodule)
        for warm in islice(batches, WARMUP):
            step(warm)
        sync(self.device)
        start = time.perf_counter()
        targets = sum(step(b) for b in islice(batches, steps))
        sync(self.device)
        seconds = time.perf_counter() - start
        peak = (round(torch.cuda.max_memory_allocated(self.device) / 2**20)
                if self.device.type == "cuda" else "-")
        return {"targets_per_step": targets // steps, "targets_per_s": round(targets / seconds, 1),
                "s_per_step": round(seconds / steps, 4), "peak_mib": peak}

    def epoch(self, mode: str, batch: int, epochs: int, budget_s: float, ngram: float) -> dict:
        """Train `epochs` epochs or `budget_s` seconds; val bits every ~1/20 of the planned steps."""
        step = self.fresh_step(mode, batch)
        loader, val_loader = self.datamodule.train_dataloader(), self.datamodule.val_dataloader()
        every = max(1, epochs * len(loader) // 20)
        curve, steps, targets, first_epoch, stopped = [], 0, 0, None, "epochs"
        start, excluded = time.perf_counter(), 0.0  # validations are taken out of the clock

        def validate() -> None:
            nonlocal excluded
            sync(self.device)
            trained, began = time.perf_counter() - start - excluded, time.perf_counter()
            bits = val_bits(self.net, val_loader, self.device)
            excluded += time.perf_counter() - began
            curve.append({"s": round(trained, 2), "step": steps, "val_bits": round(bits, 4)})

        for _ in range(epochs):
            for training_batch in loader:
                targets += step(training_batch)
                steps += 1
                over = time.perf_counter() - start - excluded >= budget_s  # unsynced: a few steps early
                if steps % every == 0 or over:
                    validate()
                if over:
                    break
            else:  # the whole epoch ran
                sync(self.device)
                first_epoch = first_epoch or round(time.perf_counter() - start - excluded, 2)
                continue
            stopped = "time"
            break
        if not curve or curve[-1]["step"] != steps:  # always a validation at the end
            validate()
        seconds = curve[-1]["s"]
        reached = next((point["s"] for point in curve if point["val_bits"] <= ngram), None)
        return {"experiment": self.name, "mode": mode, "batch": batch, "epochs": epochs,
                "steps_per_epoch": len(loader), "stopped_by": stopped, "steps": steps, "seconds": seconds,
                "first_epoch_s": first_epoch, "targets_per_s": round(targets / seconds, 1),
                "final_val_bits": curve[-1]["val_bits"], "ngram_val_bits": ngram, "ngram_order": NGRAM_ORDER,
                "s_to_ngram_bits": reached, "curve": curve}


def measure_throughput(exp: Experiment, modes: list[str], batches: list[int], steps: int) -> list[dict]:
    """A row per mode and batch size; an OOM or a failed compile ends that mode (larger batches untried)."""
    rows = []
    for mode in modes:
        for batch in sorted(batches):
            row = {"experiment": exp.name, "mode": mode, "batch": batch}
            try:
                row |= exp.throughput(mode, batch, steps)
            except torch.OutOfMemoryError:
                row["error"] = "OOM"
            except Exception as err:  # torch.compile without a compiler, an unsupported op, ...
                if mode != "compile":
                    raise
                row["error"] = f"compile failed: {one_line(err)}"[:160]
            rows.append(row)
            if "error" in row:
                exp.net.zero_grad(set_to_none=True)
                gc.collect()
                torch.cuda.empty_cache()  # a no-op without CUDA
                break
    return rows


def check_args(args) -> torch.device:
    """Refuse unknown experiments, modes, unusable devices and non-positive numbers (UserError)."""
    for mode in args.modes:
        choice("--modes", mode, MODES)
    known = {p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml")}
    for name in args.experiments:  # composed with --set now, so a bad override fails before any work
        check("--experiments", name, name in known and module_kind(compose_config(
            "config", [f"experiment={name}", *args.set]).model).causal,
            "an experiment of a causal net, e.g. transformer_lm, lstm_attn_lm, gru_lm")
    for batch in args.batches:
        integer("--batches", batch, 1)
    integer("--steps", args.steps, 1)
    integer("--epochs", args.epochs, 1)
    number("--epoch-seconds", args.epoch_seconds, gt=0)
    device = parse_device(args.device, "--device")
    if args.out:
        check_writable(Path(args.out).resolve().parent, "--out")
    return device


def tables(result: dict) -> str:
    """The machine, the command and the two markdown tables of a result."""
    def md(*cells) -> str:
        return "| " + " | ".join(str(c) for c in cells) + " |"

    lines = [f"Measured on {result['device_name']} (torch {result['machine']['torch']}) by "
             f"`{result['command']}`.", "", md("experiment", "mode", "batch", "targets / step", "targets/s",
                                               "s/step", "peak MiB"), md(*["---"] * 7)]
    for r in result["throughput"]:
        lines.append(md(r["experiment"], r["mode"], r["batch"], r["error"], "", "", "") if "error" in r else
                     md(r["experiment"], r["mode"], r["batch"], f"{r['targets_per_step']:,}",
                        f"{r['targets_per_s']:,.0f}", r["s_per_step"], r["peak_mib"]))
    lines += ["", md("experiment", "mode", "batch", "stopped by", "steps", "seconds", "first epoch s",
                     "targets/s", "final val bits", f"n-gram val bits (order {NGRAM_ORDER})",
                     "s to n-gram bits"), md(*["---"] * 11)]
    for r in result["epoch"]:
        stopped = (f"{r['epochs']} epoch(s) of {r['steps_per_epoch']} steps" if r["stopped_by"] == "epochs"
                   else f"{result['epoch_seconds']:g} s")
        reached = "not reached" if r["s_to_ngram_bits"] is None else r["s_to_ngram_bits"]
        lines.append(md(r["experiment"], r["mode"], r["batch"], stopped, f"{r['steps']:,}", r["seconds"],
                        r["first_epoch_s"] or "-", f"{r['targets_per_s']:,.0f}", f"{r['final_val_bits']:.4f}",
                        f"{r['ngram_val_bits']:.4f}", reached))
    return "\n".join(lines)


@exit_on_user_error
def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", nargs="+", default=["transformer_lm", "lstm_attn_lm"])
    parser.add_argument("--corpus", default="essen")
    parser.add_argument("--cache-dir", default="data/processed")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--modes", nargs="+", default=list(MODES))
    parser.add_argument("--batches", nargs="+", type=int, default=[8, 16, 32, 64, 128])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--epoch-seconds", type=float, default=150.0)
    parser.add_argument("--set", nargs="*", default=[], help="Hydra overrides for the nets (not the split)")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    device = check_args(args)
    began = time.perf_counter()
    result = {"command": shlex.join(["python", "-m", "src.bench.gpu", *argv]), "machine": machine(),
              "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "tf32_allowed": {"matmul": torch.backends.cuda.matmul.allow_tf32,  # torch's defaults: fp32
                               "cudnn": torch.backends.cudnn.allow_tf32},  # mode's LSTM may use TF32
              "epoch_seconds": args.epoch_seconds, "throughput": [], "epoch": []}
    ngram = None
    for name in args.experiments:
        exp = Experiment(name, args.corpus, args.cache_dir, tuple(args.set), device)
        rows = measure_throughput(exp, args.modes, args.batches, args.steps)
        result["throughput"] += rows
        if ngram is None:  # once, on the same corpus and split
            with quiet_lightning(warning_messages=None):
                ngram = ngram_bits((NGRAM_ORDER,), args.corpus, args.cache_dir)["best_val_bits"]
        ran = [r for r in rows if "targets_per_s" in r]
        if ran:  # the fastest mode, at its largest batch that ran
            mode = max(ran, key=lambda r: r["targets_per_s"])["mode"]
            batch = max(r["batch"] for r in ran if r["mode"] == mode)
            result["epoch"].append(exp.epoch(mode, batch, args.epochs, args.epoch_seconds, ngram))
    result["seconds"] = round(time.perf_counter() - began, 1)
    print(tables(result))
    if args.out:
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
