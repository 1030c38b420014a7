"""`generate(module, request)`: the request's melodies from any melody module.

Every caller (the sample command, the web app, the training callback, the evaluation) builds a checked
`GenerationRequest` and calls `module.generate(request)`. This reads the request against what the module
can do (`module.modes`), reads a tune seed (tunes.py), moves the key, plans each melody's meter, reads the
seeds, and draws by mode:
`continue` steps the net after each seed (src/models/generation/loop.py), `infill` fills a gap of the seed
(infill.py), the VAE's modes decode latent codes (vae.py).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from src.data.abc_keys import AbcKey
from src.data.keys import estimate_key, parse_key, shift_to_reference
from src.data.vocab import BOUNDARY_ID, HOLD, REST, symbols_to_events
from src.errors import UserError
from src.models.generation.forms import (
    DEFAULT_PART_BARS,
    FormSteer,
    Plan,
    draw_plans,
    plan_context_of,
    well_formed,
)
from src.models.generation.infill import fill_seed
from src.models.generation.key_draw import draw_keys, shift_of
from src.models.generation.loop import sample
from src.models.generation.meters import Meter, context_of, draw_meters, fixed_meters
from src.models.generation.octaves import in_song_register
from src.models.generation.request import AUTO_KEY, Generation, GenerationRequest
from src.models.generation.sampling import Span
from src.models.generation.seeds import read_seed, song_opening, transpose_symbols
from src.models.generation.spans import span_limits, told_spans
from src.models.generation.tunes import TuneSeed, read_request_tune
from src.models.generation.vae import draw_vae


def generate(module, request: GenerationRequest, generator: torch.Generator | None = None,
             tune: TuneSeed | None = None) -> Generation:
    """`module.generate`: the request's melodies from any melody module (see the module docstring);
    `tune`: the request's tune seed when the caller has read it already (`read_request_tune`)."""
    model = module.kind
    if request.mode not in module.modes:
        if request.mode == "infill":
            raise UserError(f"mode=infill needs a model trained to fill gaps (experiment=transformer_lm, "
                            f"model.infill_share > 0); this {model} was not: accepted "
                            f"{', '.join(f'mode={m}' for m in module.modes)}")
        if module.continues:
            raise UserError(f"mode={request.mode} needs a VAE checkpoint (experiment=vae); this one is "
                            f"{model}: accepted mode=continue")
        raise UserError(f"mode=continue does not apply to the VAE checkpoint ({model}): it does not "
                        f"continue a seed; accepted: {', '.join(f'mode={m}' for m in module.modes)}")
    tune = tune or read_request_tune(module, request)
    if tune is not None:
        # its symbols are in the model's key and register: the meter is the tune's, the melodies go back
        request = replace(request, seed=" ".join(tune.symbols), tune="", seed_bars="", key=None,
                          time_signature="auto", pickup="auto", meters=(tune.meter,) * request.num_samples)
    shift, mode = (tune.shift, None) if tune else (0, None)
    if request.key and not module.encoding.normalize_key:
        raise UserError("key= needs a model trained with data.normalize_key=true (it knows no key)")
    if request.key and request.key != AUTO_KEY:  # auto: each melody's key drawn after its meter
        tonic, mode = parse_key(request.key)
        shift = shift_to_reference(tonic, mode)  # the key's tonic -> the model's C / A
    encoding = module.encoding
    plans, meters, notes = plan_melodies(module, request, mode)
    if request.mode == "infill":  # one seed, one meter: the alternatives differ only in the gap
        meters = [meters[0]] * len(meters)
    moved = 0 if tune else shift  # a tune's symbols are in the model's key already
    seeds = [read_seed(module, "seed", text, request.key, moved) for text in request.seeds]
    seed2 = read_seed(module, "seed2", request.seed2, request.key, shift)
    if generator is None:
        generator = torch.Generator(device=module.device).manual_seed(request.rng_seed)
    if request.mode == "continue":
        melodies = continue_seeds(module, seeds, request, generator, meters, plans)
    elif request.mode == "infill":
        melodies = fill_seed(module, seeds[0], request, generator, notes, meters)
    else:  # a VAE's: it reads no meter, `meters` only label its melodies
        melodies = draw_vae(module, seeds[0], seed2, request, generator, notes)
    melodies = in_song_register(melodies, [meter.mode for meter in meters], request, encoding)  # octave=auto
    plans = plans or []
    if request.key == AUTO_KEY:
        keys = draw_keys(encoding.keys, [meter.mode for meter in meters], request.rng_seed,
                         [plan.style for plan in plans], encoding.style_keys)
        melodies = [transpose_symbols(m, -shift_of(key)) for m, key in zip(melodies, keys, strict=True)]
        return Generation(melodies, notes, meters, keys, plans=plans)
    melodies = [transpose_symbols(m, -shift) for m in melodies]
    if tune:
        notes[:0] = tune.notes
        return Generation(melodies, notes, meters, [tune.key] * len(melodies), tune.rhythm, tune.title, plans)
    keys = written_keys(melodies, meters, request.key, encoding)
    return Generation(melodies, notes, meters, keys, plans=plans)


def plan_melodies(module, request: GenerationRequest, mode: str | None
                  ) -> tuple[list[Plan] | None, list[Meter], list[str]]:
    """Each melody's plan (None: no model labels and no form asked), meter, and notes on how they were
    chosen: a model trained with styles draws style, tune type, meter and form together
    (src/models/generation/forms.py); any other draws the meter, and a form asked for is kept alike."""
    encoding, asked = module.encoding, request.asked(mode)
    planned = bool(encoding.plans) and getattr(module.net, "reads_plan", False)
    if not planned:
        for name in ("style", "tune_type"):
            if asked[name] is not None:
                raise UserError(f"{name}= needs a model trained with styles (experiment=transformer_folk); "
                                f"accepted for this one: {name}=auto")
    if request.meters:
        meters, notes = fixed_meters(request.meters, request.num_samples), []
        if planned and request.mode == "continue":  # each seed's meter: the rest of its plan
            return seeded_plans(module, request, meters, asked), meters, notes
    elif planned and request.mode == "continue":
        plans, notes = draw_plans(encoding.plans, encoding.step, request.num_samples, asked, request.rng_seed,
                                  module.max_bar)
        if not any(request.seeds):  # a seed sets its own range: told none (spans.py)
            plans = told_spans(plans, encoding, module.net.reads_span, request.max_span, request.rng_seed)
        return plans, [plan.meter for plan in plans], notes
    else:  # drawn apart from the symbols (numpy, rng_seed): a model that reads no meter draws what it did
        meters, notes = draw_meters(encoding.meters, encoding.step, request.num_samples,
                                    request.time_signature, request.pickup, mode, request.rng_seed,
                                    module.max_bar)
    if not planned and asked["form"] is None:
        return None, meters, notes
    form = asked["form"] or ""
    bars = asked["part_bars"] or ((DEFAULT_PART_BARS,) * len(form))
    return [Plan(asked["style"] or "", asked["tune_type"] or "unknown", meter, form, bars) for meter in meters
            ], meters, notes


def seeded_plans(module, request: GenerationRequest, meters: list[Meter], asked: dict) -> list[Plan]:
    """Plans of melodies whose meters are fixed (a tune seed's, the evaluation's songs'): each song's own
    labels and form where given (`request.labels`), else drawn from the style's songs in that meter,
    longer than the seed (a model trained with forms needs one to know where it ends)."""
    encoding, seed_steps = module.encoding, max(len(text.split()) for text in request.seeds)
    if request.labels:  # a song's form as read may not be one to keep (a repeat of another length): free
        plans = [Plan(style, tune_type, meter, form, tuple(bars)) for meter, (style, tune_type, form, bars)
                 in zip(meters, request.labels, strict=True)]
        return [plan if well_formed(plan.form, plan.part_bars) and plan.length > seed_steps
                else replace(plan, form="", part_bars=()) for plan in plans]
    plans = []
    for k, meter in enumerate(meters):
        fixed = asked | {"time_signature": meter.time_signature, "pickup": meter.pickup, "mode": meter.mode}
        drawn, _ = draw_plans(encoding.plans, encoding.step, 1, fixed, request.rng_seed + k, module.max_bar,
                              longer_than=seed_steps)
        plans.append(replace(drawn[0], meter=meter))
    return plans


def written_keys(melodies: list[list[str]], meters: list[Meter], key: str | None, encoding) -> list[AbcKey]:
    """The key each melody is written in: `key=`, else the model's C major / A minor by its mode, else (a
    model that knows no key) the key estimated from its notes."""
    if key:
        return [AbcKey(*parse_key(key))] * len(melodies)
    if encoding.normalize_key:
        return [AbcKey(0, "major") if meter.mode == "major" else AbcKey(9, "minor") for meter in meters]
    from src.data.encoding import key_profiles  # music21's weights: only for a model that knows no key

    profiles = np.array(key_profiles(), dtype=np.float64)
    return [AbcKey(*estimate_key(symbols_to_events(m), profiles)) if any(s not in (HOLD, REST) for s in m)
            else AbcKey(0) for m in melodies]


def continue_seeds(module, seeds: list[list[str]], request: GenerationRequest,
                   generator: torch.Generator, meters: list[Meter] | None = None,
                   plans: list[Plan] | None = None) -> list[list[str]]:
    """Each seed (all of one length) continued once, in one batch: seed + generated symbols, each
    melody's steps placed in its meter (for a net that reads it), and with `plans` its labels and form
    read by a net trained on them and its form kept (src/models/generation/forms.py).

    The prompt is `/` (a song start) and the seed; a melody that opens with a hold (no seed, an
    untrained model) gets a rest there.
    """
    if len({len(seed) for seed in seeds}) > 1:
        raise UserError("seed: the seeds of one request must have one length")
    vocab = module.vocab
    prompt = torch.tensor([[BOUNDARY_ID, *vocab.encode(seed).tolist()] for seed in seeds], dtype=torch.long,
                          device=generator.device)  # (B, 1 + seed)
    context = context_of(meters, generator.device) if meters and module.reads_context else None
    steps, steer, span = request.steps, None, None
    if plans:
        if module.reads_context:
            context = plan_context_of(plans, module.encoding.styles, generator.device)
        if any(plan.form for plan in plans):
            if module.net.drops_finished_rows:
                raise UserError(f"form= is kept by a causal net's sampling; this {module.kind} reads a "
                                "window: accepted form=auto")
            longest = max(plan.length for plan in plans)
            if longest <= len(seeds[0]):
                raise UserError(f"seed: {len(seeds[0])} steps, as long as the form asked for ({longest}); "
                                "accepted: a longer form (part_bars=) or a shorter seed")
            steps = max(steps, longest - len(seeds[0]) + 1)  # the form's steps and its end
            steer = FormSteer(plans, prompt[:, 1:].tolist(), steps, BOUNDARY_ID, generator.device)
        limits = span_limits(plans, module.encoding, request.max_span)
        if limits:  # each melody within its own span (max_span=auto)
            span = Span(prompt, BOUNDARY_ID, torch.tensor(limits, device=prompt.device))
    generated = sample(module.net, prompt, steps, request.sampling, generator, context_of=context, span=span,
                       steer=steer)
    return [song_opening(seed + vocab.decode(ids)) for seed, ids in zip(seeds, generated, strict=True)]
