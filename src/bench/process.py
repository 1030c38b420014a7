"""Run one benchmark function in a fresh spawned process and report its result with its peak RSS.

The child reads `ru_maxrss` for itself and for its waited-for children (e.g. parse workers) and
reports the larger, so each measurement's memory is its own, not the benchmark driver's.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import resource
import time
import traceback


def peak_rss() -> dict:
    """This process's peak RSS and its waited-for children's, in MB."""
    mine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mb": round(max(mine, children), 1),
            "peak_rss_source": "children" if children > mine else "self",
            "rss_self_mb": round(mine, 1), "rss_children_mb": round(children, 1)}


def _child(conn, name: str, kwargs: dict) -> None:
    try:
        start = time.perf_counter()
        module, _, function = name.rpartition(":")
        result = getattr(importlib.import_module(module), function)(**kwargs)
        result["process_seconds"] = round(time.perf_counter() - start, 3)
        try:  # let the forkserver (parent of the parse workers) exit, so RUSAGE_CHILDREN sees them
            from multiprocessing import forkserver
            forkserver._forkserver._stop()
        except Exception:
            pass
        conn.send(("ok", result | peak_rss()))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def measure(name: str, **kwargs) -> dict:
    """Run `name(**kwargs)` ("package.module:function", returning a dict) in a fresh spawned process."""
    context = mp.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, name, kwargs), daemon=False)
    process.start()
    sender.close()
    try:
        status, payload = receiver.recv()
    except EOFError:
        status, payload = "error", "the process died without a result (killed for memory?)"
    process.join()
    if status != "ok":
        raise RuntimeError(f"{name} failed:\n{payload}")
    return payload | {"loadavg_1m_after": round(os.getloadavg()[0], 2)}  # other work on the machine
