"""Planned SIGKILLs and the `python -m src.train` subprocesses they land on."""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from src.checkpoint_io import temporaries

ROOT = Path(__file__).resolve().parents[2]
MOMENTS = ("startup", "train", "validation", "checkpoint", "test")
TRAIN_BATCHES, VAL_BATCHES = 16, 4
PROCESS_TIMEOUT = 300.0  # seconds one training process may take before the campaign gives up


@dataclass
class Kill:
    """One planned SIGKILL and what was found after it."""

    chain: int
    moment: str  # one of MOMENTS
    occurrence: int = 1  # the n-th epoch (validation, epoch end) of the process to aim at
    index: int = 0  # a batch; checkpoint: 0/1 = best/last.ckpt when created, 2/3 = once written to
    delay: float = 0.0  # startup: seconds after launch
    hit: str = ""  # what the process was doing when killed
    killed: bool = False
    resumed_from: str = ""  # "last.ckpt (epoch E, step S)" or "scratch"
    leftovers: list[str] = field(default_factory=list)  # temporary files the kill left behind
    loadable: dict[str, str] = field(default_factory=dict)  # checkpoint -> "ok" or the error


def plan(kills: int, chains: int, seed: int) -> list[list[Kill]]:
    """`kills` kills spread over `chains` runs; every moment used, checkpoint writes most often."""
    rng = random.Random(seed)
    weights = ("checkpoint", "train", "validation", "checkpoint", "startup", "test")
    moments = [weights[i % len(weights)] for i in range(kills)]
    rng.shuffle(moments)
    order = {"startup": 0, "train": 1, "validation": 1, "checkpoint": 1, "test": 2}
    result = []
    for c in range(chains):
        mine = sorted(moments[c::chains], key=lambda m: (order[m], rng.random()))
        result.append([_aim(Kill(c, m), rng) for m in mine])
    return result


def _aim(kill: Kill, rng: random.Random) -> Kill:
    kill.occurrence = rng.choice((1, 2))
    if kill.moment == "train":
        kill.index = rng.randrange(1, TRAIN_BATCHES)
    elif kill.moment in ("validation", "test"):
        kill.index = rng.randrange(VAL_BATCHES)
    elif kill.moment == "checkpoint":
        kill.index = rng.randrange(4)
    elif kill.moment == "startup":
        kill.delay = round(rng.uniform(0.5, 5.0), 2)
    return kill



class Process:
    """One `python -m src.train` subprocess, its probe events in a queue, its output in a log file."""

    def __init__(self, args: list[str], log: Path) -> None:
        env = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        self.log = open(log, "wb")  # noqa: SIM115 (closed in wait)
        self.proc = subprocess.Popen([sys.executable, "-m", "src.train", *args], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.started = time.monotonic()
        self.events: queue.Queue = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.log.write(line)
            if line.startswith(b"@probe "):
                event, epoch, index = line.decode().split()[1:4]
                self.events.put((event, int(epoch), int(index)))
        self.events.put(None)  # the process has closed its output

    def next_event(self, timeout: float):
        """The next probe event, None at the end of the output; raises TimeoutError past the deadline."""
        left = PROCESS_TIMEOUT - (time.monotonic() - self.started)
        if left <= 0:
            raise TimeoutError("training process took too long")
        try:
            return self.events.get(timeout=min(timeout, left))
        except queue.Empty:
            return "timeout"

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)

    def wait(self) -> int:
        code = self.proc.wait(timeout=max(1.0, PROCESS_TIMEOUT - (time.monotonic() - self.started)))
        self.reader.join(timeout=10)
        self.log.close()
        return code


def run_and_kill(process: Process, kill: Kill, checkpoints: Path) -> None:
    """Wait for the planned moment, then SIGKILL; `kill.hit` says where it landed."""
    stale = {tmp.name for name in ("best.ckpt", "last.ckpt") for tmp in temporaries(checkpoints / name)}
    if kill.moment == "startup":
        event = process.next_event(kill.delay)
        if event is None:
            return
        kill.hit = (f"start-up, {kill.delay:.2f} s after launch" if event == "timeout" else
                    "the first training batch (start-up took less than the planned delay)")
        return _kill(process, kill)
    epochs_seen: list[int] = []
    validations = 0
    while True:
        event = process.next_event(5.0)
        if event is None:
            return  # finished before the moment came
        if event == "timeout":
            continue
        name, epoch, index = event
        if name == "train_batch" and (not epochs_seen or epochs_seen[-1] != epoch):
            epochs_seen.append(epoch)
        if name == "val_batch" and index == 0:
            validations += 1
        if kill.moment == "train" and name == "train_batch" and len(epochs_seen) >= kill.occurrence \
                and index == kill.index:
            kill.hit = f"training batch {index} of epoch {epoch}"
            return _kill(process, kill)
        if kill.moment == "validation" and name == "val_batch" and validations >= kill.occurrence \
                and index == kill.index:
            kill.hit = f"validation batch {index} after epoch {epoch}'s training"
            return _kill(process, kill)
        if kill.moment == "test" and name == "test_batch" and index == kill.index:
            kill.hit = f"final test batch {index}"
            return _kill(process, kill)
        if kill.moment == "checkpoint" and name in ("val_end", "epoch_end") \
                and len(epochs_seen) >= kill.occurrence:
            target = checkpoints / ("best.ckpt", "last.ckpt")[kill.index % 2]
            if _kill_during_write(process, target, kill, epoch, kill.index >= 2, stale):
                return


def _kill_during_write(process: Process, target: Path, kill: Kill, epoch: int, written: bool,
                       stale: set[str]) -> bool:
    """Poll for a new temporary file of `target` (not one in `stale`, left by an earlier kill); SIGKILL
    the moment it exists (`written`: once it holds bytes). False when the write was missed."""
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline and process.events.empty() and process.proc.poll() is None:
        found = [tmp for tmp in temporaries(target) if tmp.name not in stale]
        if found and (not written or _size(found[0]) > 0):
            process.kill()
            size = _size(found[0])
            kill.hit = f"writing {target.name} after epoch {epoch} ({size} bytes in its temporary file)"
            kill.killed = True
            return True
    return False  # best.ckpt is only written when val/loss improves: try the next epoch end


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # renamed meanwhile
        return 0


def _kill(process: Process, kill: Kill) -> None:
    process.kill()
    kill.killed = True

