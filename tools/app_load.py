"""`python -m tools.app_load [sessions=20] [steps=256] [model=TEXT]`: the app under simultaneous sessions.

Starts the app's server on a loopback port with Streamlit's agent API on (sessions driven over HTTP,
through the same script runs and session state as a browser's), opens `sessions` sessions that press
Generate at the same moment, plus one with an over-long seed and one with an over-long length, and
reports successes, latencies and the server's resident memory (sampled every 50 ms).
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from src.app.core import EXAMPLE_SEEDS, MAX_SEED_SYMBOLS, list_models, model_dirs
from tools.app_server import interact, serve

SEED = EXAMPLE_SEEDS["C major scale"]


def nodes(tree: dict):
    """Every element of an agent-API snapshot tree, depth first."""
    yield tree
    for child in tree.get("children") or []:
        yield from nodes(child)


def one_session(url: str, barrier: threading.Barrier, model: str, widgets: dict) -> dict:
    """Open a session, choose the model (its label), wait for the others, press Generate once."""
    session = interact(url, {}).get("session_id")
    if session:
        interact(url, {"session_id": session, "widget_state": {"model": model}})
    barrier.wait()
    start = time.perf_counter()
    snapshot = interact(url, {"session_id": session, "widget_state": widgets, "trigger": {"key": "generate"}})
    seconds = time.perf_counter() - start
    elements = list(nodes(snapshot.get("tree") or {}))
    errors = [str((e.get("props") or {}).get("body", "")) for e in elements if e.get("type") == "error"]
    codes = [str((e.get("props") or {}).get("body", "")) for e in elements if e.get("type") == "code"]
    audio = [e for e in elements if e.get("type") == "audio"]
    return {"seconds": seconds, "status": snapshot.get("status", snapshot.get("http_error")),
            "errors": errors, "symbols": len(codes[0].split()) if codes else 0, "audio": len(audio),
            "exception": any(e.get("type") == "exception" for e in elements)}


def run_load(url: str, pid: int, model: str, sessions: int = 20, steps: int = 256) -> dict:
    """`sessions` good requests and two over-long ones at once; results and memory (MB) of process `pid`."""
    import psutil

    server = psutil.Process(pid)
    warm = interact(url, {}).get("session_id")  # a first visit imports torch and loads the model
    interact(url, {"session_id": warm, "widget_state": {"model": model}})
    good = {"seed": SEED, "steps": steps, "min_steps": steps // 2}
    bad = [{"seed": " ".join(["60"] * (MAX_SEED_SYMBOLS + 1))}, {"steps": 100_000}]
    requests = [dict(good, rng_seed=k) for k in range(sessions)] + bad
    barrier = threading.Barrier(len(requests))
    peak, stop = [server.memory_info().rss], threading.Event()

    def sample_memory() -> None:
        while not stop.wait(0.05):
            peak.append(server.memory_info().rss)

    before = server.memory_info().rss
    sampler = threading.Thread(target=sample_memory, daemon=True)
    sampler.start()
    start = time.perf_counter()
    with ThreadPoolExecutor(len(requests)) as pool:
        results = list(pool.map(lambda w: one_session(url, barrier, model, w), requests))
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    after = server.memory_info().rss
    ok = [r for r in results[:sessions] if r["status"] == "ready" and not r["errors"] and r["audio"] == 1
          and r["symbols"] > len(SEED.split()) and not r["exception"]]
    times = sorted(r["seconds"] for r in results[:sessions])
    return {"sessions": sessions, "succeeded": len(ok), "wall_s": wall,
            "latency_median_s": times[len(times) // 2], "latency_max_s": times[-1],
            "rss_before_mb": before / 2**20, "rss_peak_mb": max(peak) / 2**20, "rss_after_mb": after / 2**20,
            "refusals": [r["errors"] for r in results[sessions:]], "results": results}


def main(argv: list[str] | None = None) -> None:
    args = dict(a.split("=", 1) for a in (sys.argv[1:] if argv is None else argv))
    sessions, steps = int(args.get("sessions", 20)), int(args.get("steps", 256))
    waves = int(args.get("waves", 2))
    models_dir, outputs_dir = model_dirs()
    entries, _ = list_models(models_dir, outputs_dir)
    wanted = args.get("model", "")
    label = next((e.label for e in entries if wanted in e.label), None)
    if label is None:
        raise SystemExit(f"error: no checkpoint matching model={wanted!r} in {models_dir} or {outputs_dir}")
    print(f"model: {label}; {sessions} sessions x {waves} waves, steps={steps}")
    with serve(Path(models_dir), Path(outputs_dir), agent_api=True) as server:
        for wave in range(1, waves + 1):
            report = run_load(server.url, server.pid, label, sessions, steps)
            print(f"wave {wave}: {report['succeeded']}/{sessions} succeeded in {report['wall_s']:.1f} s "
                  f"(latency median {report['latency_median_s']:.1f} s, "
                  f"max {report['latency_max_s']:.1f} s); "
                  f"server RSS {report['rss_before_mb']:.0f} MB before, {report['rss_peak_mb']:.0f} MB peak, "
                  f"{report['rss_after_mb']:.0f} MB after")
            for errors in report["refusals"]:
                print("  refused:", errors[0] if errors else "(no message!)")


if __name__ == "__main__":
    main()
