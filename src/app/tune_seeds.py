"""The page's tune seeds: pasted ABC (a whole tune or tune book, or a fragment) or an uploaded score file,
as the `seed=` the command line takes. A whole tune or an upload is saved to this session's temporary
folder (outside the repository, removed with the session) and passed as `seed=PATH`; a fragment is passed
as the seed text itself. A tune book's tunes are listed for the page's tune picker (`tune=`)."""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

from src.app.core import MAX_ABC_CHARS, MAX_UPLOAD_BYTES, UPLOAD_SUFFIXES
from src.atomic import atomic_path
from src.errors import UserError
from src.models.generation.tunes import tune_list

_HEADER = re.compile(r"(?m)^[ \t]*[XK]:")  # a whole tune: an X: or K: header line
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class PageSeed:
    """What the page passes: the seed text (a saved file's path or an ABC fragment), and a tune book's
    (X: number, title) rows."""

    seed: str
    tunes: tuple[tuple[str, str], ...] = ()

    @property
    def labels(self) -> list[str]:
        """The tune picker's choices: `X:n title`."""
        return [f"X:{number} {title}".rstrip() for number, title in self.tunes]

    def tune_of(self, label: str | None) -> str:
        """The `tune=` of a picked label (its X: number); empty for a single tune."""
        labels = self.labels
        return self.tunes[labels.index(label)][0] if len(labels) > 1 and label in labels else ""


class SessionFolder:
    """A temporary folder of one page session, outside the repository; removed when the session's state
    is dropped or the server exits."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="melody-app-seed-"))
        self._remove = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    def remove(self) -> None:
        """Remove the folder now."""
        self._remove()


def pasted_seed(text: str, folder: Path) -> PageSeed:
    """Pasted ABC: a whole tune or tune book (X: or K: header lines) saved as a file, else a fragment."""
    if len(text) > MAX_ABC_CHARS:
        raise UserError(f"ABC: {len(text)} characters is too long; accepted: at most {MAX_ABC_CHARS} "
                        "characters in the web app")
    if not _HEADER.search(text):
        return PageSeed(text.strip())
    text = "".join(line.lstrip() + "\n" for line in text.splitlines())  # indented as on a web page
    if not text.startswith("X:") and "\nX:" not in text:  # one tune pasted without its X: line
        text = "X:1\n" + text
    return _saved(folder, "pasted.abc", text.encode("utf-8"))


def uploaded_seed(name: str, data: bytes, folder: Path) -> PageSeed:
    """An uploaded score file, checked against the page's limits, saved in the session's folder."""
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise UserError(f"upload: {name!r} is not a tune file; accepted: {', '.join(UPLOAD_SUFFIXES)}")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UserError(f"upload: {name!r} is {len(data)} bytes; accepted: at most {MAX_UPLOAD_BYTES} bytes "
                        "in the web app")
    stem = _UNSAFE.sub("_", Path(name).stem).strip("._")[:60] or "tune"
    return _saved(folder, stem + suffix, data)


def _saved(folder: Path, name: str, data: bytes) -> PageSeed:
    """The tune written whole as folder/DIGEST/name (the session's earlier tunes removed), as a seed."""
    target = folder / hashlib.sha256(data).hexdigest()[:16] / name
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            shutil.rmtree(old, ignore_errors=True)
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
    return PageSeed(str(target), tuple(tune_list(target)))
