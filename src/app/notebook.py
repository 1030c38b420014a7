"""`python -m src.app.notebook IN.ipynb OUT.ipynb`: run a notebook top to bottom in a fresh kernel."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from src.app.core import REPO


def execute(notebook: Path, out: Path | None = None, timeout: int = 600):
    """Execute every cell with this Python (the project's kernel), in the repository root; return it.

    The notebook reads its settings from MELODY_NOTEBOOK_* environment variables, which the kernel
    inherits. A failing cell raises nbclient's CellExecutionError naming the cell.
    """
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    book = nbformat.read(notebook, as_version=4)
    with tempfile.TemporaryDirectory(prefix="kernel-") as sockets:
        # the kernel talks over local socket files, not TCP ports
        kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(sockets) / "k"))
        client = NotebookClient(book, km=kernel, timeout=timeout, resources={"metadata": {"path": str(REPO)}})
        client.execute()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(book, out)
    return book


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 2):
        raise SystemExit("usage: python -m src.app.notebook IN.ipynb [OUT.ipynb]")
    execute(Path(args[0]), Path(args[1]) if len(args) == 2 else None)
    print(f"ran {args[0]}" + (f"; executed copy in {args[1]}" if len(args) == 2 else ""))


if __name__ == "__main__":
    main()
