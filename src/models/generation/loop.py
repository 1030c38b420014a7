"""The one sampling loop: any next-symbol net stepped one drawn symbol at a time.

Every net that continues a melody answers `step(ids, state, context, positions, roles) -> (logits,
state)`: ids (B, T) after `state` (None: a fresh start) -> logits (B, T, V) (a window net: (B, 1, V), the
symbol after its window) and the state after them. A causal net's state is what it carries (recurrent
state, key/value caches, the look-back memory); a window net's is its rolling window, cropped as nanoGPT
crops its context. Left to right, the inputs after the prompt are the drawn symbols at the next places;
filling a gap (src/models/generation/infill.py) is the same loop with the prompt in fill-in-the-middle
order and the drawn symbols placed in the gap (`Placement`). A causal net's `take_rows(state, index)`
copies rows of its state, repeats allowed: a melody with a planned form has its last bars drawn several
ways from one state (`PlannedRows`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from src.models.generation.forms import FormSteer
from src.models.generation.sampling import PLAIN, Sampling, Span, draw

# (start, count) -> the context (B, count, 3) of inputs start..start+count-1 (0 = the prompt's first)
ContextOf = Callable[[int, int], Tensor | None]


@dataclass
class Placement:
    """Where each input sits when the reading order is not left to right: the prompt's `positions` and
    `roles` ((T,) and (B, T)), and for the k-th drawn symbol position `first + k` with role `role`."""

    positions: Tensor
    roles: Tensor
    first: int
    role: int


def sample(net, prompt: Tensor, steps: int, sampling: Sampling = PLAIN,
           generator: torch.Generator | None = None, stop_id: int = 0, context_of: ContextOf | None = None,
           placement: Placement | None = None, span: Span | None = None,
           cached: bool = True, steer: FormSteer | None = None) -> list[list[int]]:
    """Draw up to `steps` symbols per melody after int64 prompts (B, T), in eval mode, no autograd.

    Args:
        net: anything with `step` (see the module docstring) and `drops_finished_rows`: True where a
            finished melody leaves the batch (a window net: its state is a tensor of rows), False where
            every row steps until all have ended (the caches keep their rows).
        prompt: the ids the melodies continue, the first a `/` (a causal net read one `/` between songs).
        sampling: how each symbol is drawn (`draw`); a melody ends when it draws `stop_id`, which is not
            in its output.
        context_of: the inputs' meter context (None: the net reads none).
        placement: positions and roles of a prompt not read left to right (None: left to right).
        span: the melodies' ranges for `max_span` (default: those of the prompts).
        cached: False recomputes the whole sequence every step instead of carrying the state (the
            reference the carried state is tested and benchmarked against; left to right only).
        steer: keeps each melody's form (src/models/generation/forms.py): where it ends and which steps
            repeat earlier ones; `min_steps` gives way to it. A causal net's only (its rows stay).
    Returns:
        Per melody, the generated ids.
    """
    was_training = net.training
    net.eval()
    try:
        with torch.inference_mode():  # no autograd bookkeeping at all: cheaper per step
            return _sample(net, prompt.to(_device(net)).long(), steps, sampling, generator, stop_id,
                           context_of or (lambda start, count: None), placement, span, cached, steer)
    finally:
        net.train(was_training)


def _sample(net, sequence: Tensor, steps: int, sampling: Sampling, generator: torch.Generator | None,
            stop_id: int, context_of: ContextOf, placement: Placement | None, span: Span | None,
            cached: bool, steer: FormSteer | None) -> list[list[int]]:
    if placement is None:  # left to right: one `/` before the seed, as in training
        sequence = one_leading_boundary(sequence, stop_id)
    elif not cached:
        raise ValueError("cached=False recomputes a left-to-right sequence: no placement")
    B, T = sequence.shape
    where = {} if placement is None else {"positions": placement.positions, "roles": placement.roles}
    logits, state = net.step(sequence, None, context_of(0, T), **where)
    logits = logits[:, -1]  # (B, V): after the prompt
    if span is None and sampling.max_span:
        span = Span(sequence, stop_id)
    rows = None  # (b,): the melody of each row still in the batch, once finished melodies have left it
    running = torch.ones(B, dtype=torch.bool, device=sequence.device)  # (B,)
    columns = []  # per step (b,): each row's symbol, `stop_id` once it has ended
    if steer is not None and net.drops_finished_rows:
        raise ValueError("a form is kept for a causal net's rows only")
    planned = PlannedRows(B, sequence.device) if steer is not None else None

    def rows_of(context: Tensor | None) -> Tensor | None:
        """The context (B, t, WIDTH) of each melody -> (b, t, WIDTH) of each row (its melody's)."""
        return context if planned is None or context is None else context[planned.origin]

    def take(index: Tensor) -> None:  # keep rows `index` (b',) of everything that has a row per row
        nonlocal state, logits, running, sequence, columns
        state, logits, running = net.take_rows(state, index), logits[index], running[index]
        sequence, columns = sequence[index], [column[index] for column in columns]
        steer.take_rows(index)
        if span is not None:
            span.take_rows(index)

    for step in range(steps):
        if planned is not None:
            if sampling.endings > 1 and (forks := steer.forking(step)) is not None:  # the last bars, ways
                take(planned.fork(forks, sampling.endings))
            if sampling.endings > 1 and (ending := steer.ending(step)) is not None:
                planned.weigh(ending, logits, sampling.temperature, stop_id)
            logits = steer.mask(step, logits)
        allow_stop = step >= sampling.min_steps or steer is not None
        drawn = draw(logits, sampling, generator, stop_id, allow_stop=allow_stop, span=span,
                     rows=rows)  # (b,)
        if steer is not None:
            steer.record(step, drawn)
        column = drawn if rows is None else torch.full_like(running, stop_id, dtype=torch.long).index_put(
            (rows,), drawn)  # (B,)
        columns.append(torch.where(running, column, stop_id))
        running &= column != stop_id
        if step == steps - 1 or not running.any():
            break
        if planned is not None and not running.all():  # a planned melody that has ended leaves the batch
            kept = planned.leave(~running, columns)
            take(kept)
            drawn = drawn[kept]
        if net.drops_finished_rows:  # (b',): the melodies that go on
            going = drawn != stop_id
            rows = going.nonzero().squeeze(1) if rows is None else rows[going]
            drawn, state, sequence = drawn[going], state[going], sequence[going]
        if placement is not None:
            place = torch.tensor([placement.first + step], device=sequence.device)
            where = {"positions": place, "roles": torch.full((len(drawn), 1), placement.role,
                                                             device=sequence.device)}
        if cached:  # one step: (b, 1, V)
            logits, state = net.step(drawn[:, None], state, rows_of(context_of(T + step, 1)), **where)
        else:  # the whole history again: (b, T + step + 1, V)
            sequence = torch.cat([sequence, drawn[:, None]], dim=1)
            logits, _ = net.step(sequence, None, rows_of(context_of(0, sequence.shape[1])))
        logits = logits[:, -1]
    ids = torch.stack(columns, dim=1)  # (b, steps drawn)
    if planned is not None:
        ids = planned.melodies(ids, stop_id)  # (B, steps drawn): one row per melody
    ids = ids.tolist()  # one copy to the host, not one per step
    return [row[:row.index(stop_id)] if stop_id in row else row for row in ids]


class PlannedRows:
    """The rows of a batch of melodies with planned forms: the melody each row draws, the rows that have
    ended (they leave the batch, so no row steps on past its end while longer melodies are drawn), and,
    with `Sampling.endings` > 1, each melody's last bars drawn several ways (its row taken again where
    they begin), the one kept where the net, at the sampling temperature, gives `/` the highest
    probability at the step where the form ends the melody: the form forces the end there, and this keeps
    the ending the net finds most final (drawing one by that probability instead ended fewer melodies on
    the tonic at the same classifier figures: docs/benchmarks.md, "Endings")."""

    def __init__(self, melodies: int, device: torch.device) -> None:
        self.count = melodies
        self.origin = torch.arange(melodies, device=device)  # (b,): the melody each row draws
        self.log_end = torch.zeros(melodies, device=device)  # (b,): log P(end) where the form ends it
        self.ended: list[tuple[Tensor, Tensor, Tensor]] = []  # (origin (k,), log_end (k,), ids (k, t))

    def fork(self, forks: Tensor, ways: int) -> Tensor:
        """The rows (b',) after each row where `forks` (b,) is repeated `ways` times."""
        index = torch.arange(len(forks), device=forks.device).repeat_interleave(
            torch.where(forks, ways, 1))
        self.origin, self.log_end = self.origin[index], self.log_end[index]
        return index

    def weigh(self, ending: Tensor, logits: Tensor, temperature: float, stop_id: int) -> None:
        """Record log P(stop) of the rows where `ending` (b,) (their form ends at this step), from their
        logits (b, V) at the sampling temperature, before the form forces the stop."""
        log_end = torch.log_softmax(logits.float() / temperature, dim=-1)[:, stop_id]  # (b,)
        self.log_end = torch.where(ending, log_end, self.log_end)

    def leave(self, ended: Tensor, columns: list[Tensor]) -> Tensor:
        """Keep the symbols (k, t) of the rows where `ended` (b,); the rows (b',) that go on."""
        self.ended.append((self.origin[ended], self.log_end[ended], torch.stack(columns, dim=1)[ended]))
        kept = (~ended).nonzero().squeeze(1)
        self.origin, self.log_end = self.origin[kept], self.log_end[kept]
        return kept

    def melodies(self, ids: Tensor, stop_id: int) -> Tensor:
        """Every row's symbols, those in the batch `ids` (b, t) and those that left it -> (melodies, t):
        of a melody drawn several ways, its first row with the highest P(end)."""
        width = ids.shape[1]
        padded = [torch.nn.functional.pad(row_ids, (0, width - row_ids.shape[1]), value=stop_id)
                  for _, _, row_ids in self.ended]
        every = torch.cat([*padded, ids])  # (rows, t)
        origin = torch.cat([*(o for o, _, _ in self.ended), self.origin])  # (rows,)
        log_end = torch.cat([*(w for _, w, _ in self.ended), self.log_end])  # (rows,)
        best = torch.full((self.count,), -math.inf, device=every.device).scatter_reduce(
            0, origin, log_end, "amax")  # (melodies,)
        rows = torch.arange(len(origin), device=every.device)
        candidates = torch.where(log_end == best[origin], rows, len(origin))  # (rows,): the best or past all
        first = torch.full((self.count,), len(origin), device=every.device).scatter_reduce(
            0, origin, candidates, "amin")  # (melodies,)
        return every[first]


def one_leading_boundary(prompt: Tensor, boundary_id: int = 0) -> Tensor:
    """Cut each row's leading run of `/` to a single `/` -> (B, T'); shorter rows are left-padded
    with `/` (only when rows' seeds differ in length)."""
    rows = []
    for row in prompt:
        leading = int((row != boundary_id).int().argmax()) if (row != boundary_id).any() else len(row)
        rows.append(row[max(leading - 1, 0):])
    width = max(len(row) for row in rows)
    return torch.stack([torch.nn.functional.pad(row, (width - len(row), 0), value=boundary_id)
                        for row in rows])


def _device(net) -> torch.device:
    """Where the net's weights are (the n-gram has only buffers)."""
    weight = next(net.parameters(), None)
    weight = next(net.buffers(), None) if weight is None else weight
    return weight.device if weight is not None else torch.device("cpu")
