"""Checkpoints read and written: found, hashed, loaded as untrusted input with `weights_only=True`, older
layouts upgraded, and the slim float16 export of the bundled models."""

from __future__ import annotations

import hashlib
import pickle
import pickletools
import re
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch

from src.atomic import atomic_path
from src.errors import UserError
from src.models.modules.base import MelodyModule
from src.models.modules.kinds import MODULES, CausalModule, WindowModule
from src.models.modules.ngram import NGramModule
from src.models.modules.vae import VAEModule

CHECKPOINT_NAMES = ("checkpoints/best.ckpt", "best.ckpt", "checkpoints/last.ckpt")


def resolve_checkpoint(path: str | Path) -> Path:
    """A `.ckpt` file as given, or a run folder's best checkpoint (else its last)."""
    path = Path(path).expanduser()
    if path.is_dir():
        for name in CHECKPOINT_NAMES:
            if (path / name).is_file():
                return path / name
        raise UserError(f"folder {path} holds no checkpoint; looked for {', '.join(CHECKPOINT_NAMES)}")
    if not path.exists():
        raise UserError(f"checkpoint {path} does not exist; accepted: a .ckpt file or a run folder")
    return path


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """This project's checkpoint as a dict, loaded with `weights_only=True` and its layout checked."""
    path = Path(path)
    if not path.is_file():
        reason = "is a folder, not a .ckpt file" if path.is_dir() else "does not exist"
        raise UserError(f"checkpoint {path} {reason}")
    _check_zip(path)
    try:
        with warnings.catch_warnings():  # torch warns about old pickle protocols before refusing them
            warnings.simplefilter("ignore")
            checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise UserError(_explain_unpickling(path, err)) from None
    except Exception as err:  # zip, EOF and key errors of files that are no (whole) checkpoint
        raise UserError(
            f"checkpoint {path} cannot be read: not a torch checkpoint, or truncated "
            f"({type(err).__name__}: {_first_line(err)})"
        ) from None
    hparams = checkpoint.get("hyper_parameters") if isinstance(checkpoint, dict) else None
    if not (
        isinstance(hparams, dict)
        and isinstance(hparams.get("net"), dict)
        and isinstance(hparams.get("encoding"), dict)
        and isinstance(checkpoint.get("state_dict"), dict)
    ):
        raise UserError(
            f"checkpoint {path} is not from melody-generator: it lacks hyper_parameters "
            "'net' and 'encoding' or a 'state_dict'"
        )
    return checkpoint


def _check_zip(path: Path) -> None:
    """torch does not check the CRC-32 its zip format stores per record: changed bytes would load as
    wrong weights. A file that is a whole zip must match its checksums (a truncated one is no zip)."""
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except Exception as err:  # zip headers that do not parse
        raise UserError(f"checkpoint {path} cannot be read: corrupt ({type(err).__name__}: "
                        f"{_first_line(err)})") from None
    if bad is not None:
        raise UserError(f"checkpoint {path} is corrupt: its record {bad} does not match its checksum; "
                        "accepted: a checkpoint as training wrote it")


def load_module(path: str | Path, map_location: str | torch.device = "cpu") -> MelodyModule:
    """Rebuild a MelodyModule in eval mode from this project's checkpoint, never unpickling code."""
    checkpoint = read_checkpoint(path, map_location)
    try:
        hparams = upgrade_hparams(checkpoint["hyper_parameters"])
        kind = MODULES.get(hparams.pop("module"))
        if kind is None:
            raise KeyError("its module is not a model kind of this project")
        module = kind(**hparams)
        module.load_state_dict(checkpoint["state_dict"])
    except (TypeError, ValueError, KeyError, RuntimeError) as err:
        raise UserError(
            f"checkpoint {path} does not fit its own settings ({type(err).__name__}: "
            f"{_first_line(err)})"
        ) from None
    if isinstance(map_location, str | torch.device):
        module.to(map_location)
    return module.eval()


def write_slim(source: Path, out: Path) -> MelodyModule:
    """Write `source`'s float16 export to `out` (weights and settings in the current layout, no optimizer
    state), whole or not at all, and load it back through the same guarded path as any checkpoint."""
    checkpoint = read_checkpoint(source)
    slim = {
        "hyper_parameters": upgrade_hparams(checkpoint["hyper_parameters"]),
        "state_dict": {key: value.half() if value.is_floating_point() else value
                       for key, value in checkpoint["state_dict"].items()},
        "epoch": checkpoint.get("epoch"),
        "global_step": checkpoint.get("global_step"),
        "pytorch-lightning_version": checkpoint.get("pytorch-lightning_version"),
    }
    with atomic_path(out) as tmp:
        torch.save(slim, tmp)
    return load_module(out)


def _explain_unpickling(path: Path, err: pickle.UnpicklingError) -> str:
    text = str(err)
    refused = re.search(r"GLOBAL (\S+)", text)
    with open(path, "rb") as file:
        head = file.read(2)
    is_pickle = head[:1] == b"\x80" or head == b"PK"  # a pickle protocol mark, or torch's zip format
    markers = ("call reduce", "Can only build", "new object", "Weights only load failed")
    named = refused.group(1) if refused else _pickled_global(path)
    if named or (is_pickle and any(s in text for s in markers)):
        what = f" ({named})" if named else ""
        return (
            f"checkpoint {path} was refused: it is not plain settings and weights (it would unpickle "
            f"code or objects{what}); only checkpoints written by melody-generator are accepted"
        )
    return f"checkpoint {path} cannot be read: not a torch checkpoint, or corrupt"


def _pickled_global(path: Path) -> str | None:
    """The first global a whole plain (protocol 0/1) pickle names, read by pickletools: nothing is run."""
    named = []
    try:
        with open(path, "rb") as file:
            for opcode, arg, _ in pickletools.genops(file):
                if opcode.name in ("GLOBAL", "INST"):
                    named.append(str(arg).replace(" ", "."))
    except Exception:  # not a (whole) pickle
        return None
    return named[0] if named else None


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:160] if lines else "no message"


# Where the classes a checkpoint names lived before src/models was grouped into nets/ and modules/ (commit
# 27bd549 and earlier): a checkpoint written then names them there.
MOVED = {f"src.models.{old}": f"src.models.{new}" for old, new in (
    ("kinds", "modules.kinds"), ("vae_module", "modules.vae"), ("ngram_module", "modules.ngram"),
    ("lstm_attn", "nets.lstm_attn"), ("gru", "nets.gru"), ("lm", "nets.lm"),
    ("transformer", "nets.transformer"), ("ngram", "nets.ngram"), ("vae", "nets.vae"))}


def _moved(target: object) -> object:
    """A class's dotted name where it lives now (MOVED); anything else as it is."""
    if not isinstance(target, str) or "." not in target:
        return target
    where, name = target.rsplit(".", 1)
    return f"{MOVED.get(where, where)}.{name}"


# Settings of experiments that were measured and not adopted, with the value that turned them off: a
# checkpoint that holds one at that value loads without it (the bundled ones do); one that turned it on
# needs the code of commit 7ccdb09, the last that had it (docs/benchmarks_archive.md).
RETIRED_NET = {"weight_dropout": 0.0, "bar_index": False, "bar_attention": False, "end_horizon": 0}
RETIRED_MODULE = {"end_weight": 0.0, "scheduled_sampling": 0.0}
RETIRED_AT = "7ccdb09"


def upgrade_hparams(hparams: Mapping) -> dict:
    """A checkpoint's hyper_parameters in this layout, without retired settings (UserError where one was
    on); older checkpoints (a flat `net` holding its `name`, the VAE's settings and the network's
    `_target_`, no `module`) are read as their kind."""
    hparams = _without_retired(hparams)
    hparams["net"]["_target_"] = _moved(hparams["net"].get("_target_"))
    if "module" in hparams:
        return {**hparams, "module": _moved(hparams["module"])}
    net = dict(hparams["net"])
    name = net.pop("name", None)
    if name == "ngram":
        kind: type[MelodyModule] = NGramModule
    elif name == "vae":
        kind = VAEModule
    elif str(net.get("_target_", "")).startswith("src.models.nets.lm."):  # the causal nets
        kind = CausalModule
    else:
        kind = WindowModule
    settings = {key: net.pop(key) for key in kind.SETTINGS if key in net}
    return {**hparams, "module": f"{kind.__module__}.{kind.__name__}", "name": name, "net": net, **settings}


def _without_retired(hparams: Mapping) -> dict:
    """`hparams` without the RETIRED settings at their off values; UserError for one that was on. (An
    older checkpoint kept the module's settings in `net` too.)"""
    net = dict(hparams.get("net", {}))
    hparams = dict(hparams, net=net)
    places = [(net, RETIRED_NET, "model.net."), (hparams, RETIRED_MODULE, "model.")]
    if "module" not in hparams:
        places.append((net, RETIRED_MODULE, "model."))
    for where, table, prefix in places:
        for key, off in table.items():
            if key in where and where.pop(key) != off:
                raise UserError(f"this checkpoint was trained with {prefix}{key} on, an experiment that was "
                                f"not adopted and has left the code; accepted: checkpoints without it (the "
                                f"code of commit {RETIRED_AT} reads it)")
    return hparams
