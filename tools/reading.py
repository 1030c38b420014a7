"""What the diagnosis tools read: a checkpoint's corpus, and each held-out song or melody alone, from its
opening `/`, as `src.evaluate` scores songs (tools.endings, tools.calibration)."""

from __future__ import annotations

import torch

from src.data.sequences import stream_array
from src.data.vocab import BOUNDARY_ID
from src.evaluate import build_datamodule, run_config, run_folder
from src.models.checkpoint import resolve_checkpoint
from src.models.generation.meters import Meter, context_of


def run_corpus(module, ckpt: str):
    """The corpus of the run a checkpoint belongs to (its split fractions and cache)."""
    data = run_config(run_folder(resolve_checkpoint(ckpt)))[0].get("data", {})
    return build_datamodule(module, data, {"batch_size": 64, "cache_dir": None}).load_corpus()


def song_inputs(corpus, split: str) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Per song of `split`, in split order: (ids (T,) from its opening `/`, their targets' context (T, 3),
    the targets (T,): each next symbol, the closing `/` last)."""
    tokens, starts, context = stream_array(corpus, split)
    ends = [*starts[1:].tolist(), len(tokens) - 1]
    as_long = lambda a: torch.from_numpy(a.astype("int64"))  # noqa: E731
    return [(as_long(tokens[start:end]), as_long(context[start + 1:end + 1]),
             as_long(tokens[start + 1:end + 1])) for start, end in zip(starts.tolist(), ends, strict=True)]


def melody_inputs(corpus, symbols: list[str], meter: Meter) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids (T,) from an opening `/`, their targets' context (T, 3)) of a generated melody in `meter`."""
    ids = torch.tensor([BOUNDARY_ID] + [corpus.vocab.mapping[s] for s in symbols])
    return ids, context_of([meter], torch.device("cpu"))(0, len(ids))[0]


def read_alone(net, ids: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    """Logits (T, V) after each input of one song or melody read alone: ids (T,), context (T, 3)."""
    with torch.inference_mode():
        return net.step(ids[None], None, context[None])[0][0].float()
