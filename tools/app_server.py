"""Run the app's Streamlit server as a child process on this machine only (browser test, load runs)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from src.app.core import REPO

APP = REPO / "src" / "app" / "main.py"
# the same settings as .streamlit/config.toml and `make app`, as flags so they hold from any folder
FLAGS = ("--browser.gatherUsageStats=false", "--server.headless=true", "--server.address=127.0.0.1",
         "--server.fileWatcherType=none", "--client.toolbarMode=viewer", "--global.developmentMode=false")
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package (`make browser`); no browser is ever downloaded
# a fresh profile, no GPU, and none of Chromium's own background traffic (updates, sync, QUIC probes)
CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage")


@dataclass(frozen=True)
class Server:
    url: str  # http://127.0.0.1:PORT/
    pid: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(models_dir: Path, outputs_dir: Path, agent_api: bool = False, log: Path | None = None,
          timeout: float = 60.0) -> Iterator[Server]:
    """Start `streamlit run src/app/main.py` on a free loopback port; stop it on exit.

    `agent_api` turns on Streamlit's HTTP agent API (`/_stcore/agent/interact`), which the load run
    uses to drive sessions without a browser.
    """
    port = free_port()
    env = {**os.environ, "MELODY_MODELS_DIR": str(models_dir), "MELODY_OUTPUTS_DIR": str(outputs_dir),
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    extra = ["--server.enableAgentApi=true", "--server.agentWaitTimeout=300"] if agent_api else []
    command = [sys.executable, "-m", "streamlit", "run", str(APP), *FLAGS, f"--server.port={port}", *extra]
    out = open(log, "wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not start (exit code {process.poll()}); see {log}")
            time.sleep(0.2)
        yield Server(url, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            out.close()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "_stcore/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def interact(url: str, body: dict, timeout: float = 300.0) -> dict:
    """One agent-API request: `{}` starts a session; `session_id`, `widget_state`, `trigger` act in it."""
    request = urllib.request.Request(url + "_stcore/agent/interact", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        return {"http_error": err.code, "body": err.read().decode(errors="replace")[:500]}
