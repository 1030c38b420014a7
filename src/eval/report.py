"""An evaluation report as files: report.json (everything), report.md (tables) and PNG plots of real vs
generated histograms (matplotlib's Agg canvas, no pyplot state)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from src.atomic import atomic_path
from src.eval.rhythm import RHYTHM_METRICS
from src.eval.stats import DURATION_BINS, SCALARS, describe

HEADLINE = ("bits", "pitch_acc", "onset_acc", "hold_acc", "acc", "top5_acc", "loss")
LABELS = {
    "pitch_range": "pitch range (semitones)", "pitch_class_entropy": "pitch-class entropy (bits)",
    "in_key_rate": "in-key rate", "rest_ratio": "rest ratio (share of steps)", "length": "length (steps)",
    "ends_on_tonic": "ends on the tonic", "repetition": "repetition (share in longest repeated phrase)",
    "pitch_classes": "pitch-class histogram", "durations": "note-duration histogram",
}
SETS = (("real", "held-out songs"), ("seeded", "seeded"), ("unseeded", "unseeded"))
COLORS = {"real": "#333333", "seeded": "#2b7bba", "unseeded": "#e07b39"}
PITCH_CLASSES = "C C# D Eb E F F# G Ab A Bb B".split()


def write(report: dict, out_dir: Path) -> list[Path]:
    """report.json, report.md and the plots into `out_dir`, each file whole or not at all."""
    paths = [out_dir / "report.json", out_dir / "report.md"]
    with atomic_path(paths[0]) as tmp:
        tmp.write_text(json.dumps(_plain(report), indent=1, allow_nan=False))
    with atomic_path(paths[1]) as tmp:
        tmp.write_text(markdown(report) + "\n")
    for name, draw in (("report_histograms.png", histograms), ("report_scalars.png", scalars)):
        figure = draw(report)
        with atomic_path(out_dir / name) as tmp:
            FigureCanvasAgg(figure).print_png(str(tmp))
        paths.append(out_dir / name)
    return paths


def markdown(report: dict) -> str:
    """The report's tables: held-out metrics, statistics of generated vs held-out melodies, memorization."""
    settings, heldout, sets = report["settings"], report["heldout"], report["sets"]
    split = report["data"]["split"]
    generated = [(key, label) for key, label in SETS[1:] if key in sets]
    lines = [
        f"# Evaluation of `{report['checkpoint']}`", "",
        f"model `{report['model']}`, corpus `{report['encoding'].get('corpus')}`, "
        f"checkpoint sha256 `{report['checkpoint_sha256'][:12]}`; split fractions (val "
        f"{report['data']['val_fraction']}, test {report['data']['test_fraction']}) from "
        f"{report['data']['split_from']}", "",
        f"## Held-out metrics ({split} split: {report['data']['heldout_songs']} songs, "
        f"{heldout['targets']:,} targets)",
        "",
    ]
    if report["vae"]:
        lines += ["Reconstruction of held-out segments (z = the encoder's mean): not comparable with the "
                  "next-symbol bits of the window models.", ""]
    saved = heldout["metrics_json"]
    lines += ["| metric | this evaluation |" + (" metrics.json |" if saved else ""),
              "| --- | --- |" + (" --- |" if saved else "")]
    shown = [f"{split}/{name}" for name in HEADLINE if f"{split}/{name}" in heldout["metrics"]]
    shown += [name for name in heldout["metrics"] if name not in shown]
    for name in shown:
        cell = f" {_number(saved.get(name))} |" if saved else ""
        lines.append(f"| {name} | {_number(heldout['metrics'][name])} |{cell}")
    lines += [f"| acc of always `_` (reference) | {_number(heldout['always_hold_acc'])} |"
              + (" |" if saved else ""), ""]

    lines += [
        "## Generated vs held-out melodies", "",
        f"{sets['real']['count']} held-out songs; " + "; ".join(
            f"{sets[key]['count']} {label}" for key, label in generated)
        + f" (seeded: the first {settings['seed_length']} steps of a {split} song, then up to "
        f"{settings['steps']} generated steps); temperature {settings['temperature']}, top_k "
        f"{settings['top_k']}, top_p {settings['top_p']}, end_floor {settings['end_floor']}, "
        f"max_span {settings['max_span']}, endings {settings.get('endings', 1)}, "
        f"rng_seed {settings['rng_seed']}. "
        "Per melody mean ± std; distance: Wasserstein-1 between the per-melody values (in the statistic's "
        "unit) and total variation between pooled histograms (0 = same, 1 = disjoint).", "",
        "| statistic | " + " | ".join(label for _, label in SETS if _ in sets)
        + "".join(f" | distance {label}" for _, label in generated) + " |",
        "| --- " * (1 + sum(k in sets for k, _ in SETS) + len(generated)) + "|",
    ]
    for name in SCALARS:
        cells = [_mean_std(describe(sets[key]["scalars"][name])) for key, _ in SETS if key in sets]
        cells += [_number(report["distances"][key][name]) for key, _ in generated]
        lines.append(f"| {LABELS[name]} | " + " | ".join(cells) + " |")
    for name in ("pitch_classes", "durations"):
        cells = ["(plot)" for key, _ in SETS if key in sets]
        cells += [_number(report["distances"][key][name]) for key, _ in generated]
        lines.append(f"| {LABELS[name]} | " + " | ".join(cells) + " |")
    lines.append("| ended by itself (`/` before the step limit) | - | "
                 + " | ".join(_number(report["ended"][key]) for key, _ in generated) + " |"
                 + " |" * len(generated))
    lines += [""]

    memory = report["memorization"]
    window = memory["real"]["window"]
    lines += [
        f"## Memorization (against {report['data']['train_songs']} training songs)", "",
        f"Windows of {window} steps found verbatim in a training song, and the longest phrase (steps) each "
        "melody shares with one; generated sets count only generated steps (not the seed).", "",
        f"| set | {window}-step windows | verbatim in training | share | longest shared: mean | max | in |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, label in SETS:
        if key in memory:
            m = memory[key]
            title = m["longest_max_title"] or "-"
            lines.append(f"| {label} | {m['windows']:,} | {m['verbatim']:,} | {_number(m['share'])} | "
                         f"{_number(m['longest_mean'], 1)} | {m['longest_max']} | {title} |")
    lines += [""] + _rhythm(report.get("rhythm") or {}) + _realism(report.get("realism") or {})
    lines += _infill(report.get("infill"), split) + _styles(report.get("styles"), split)
    lines += [f"Note: {note}" for note in report["notes"]]
    seconds = report["seconds"]
    lines += ["", "Seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()) + ". Plots: "
              "`report_histograms.png` (pitch classes, note durations), `report_scalars.png` (per-melody "
              "statistics)."]
    return "\n".join(lines)


def _rhythm(rhythm: dict) -> list[str]:
    """Rhythm in the bar (src/eval/rhythm.py) per set, overall and per meter (meters of >= 5 melodies)."""
    if not rhythm:
        return []
    lines = ["## Rhythm in the bar", "",
             "Per melody, in its meter (held-out songs: their own; seeded: the song's; unseeded: drawn from "
             "the training songs'): share of complete bars with a note on the downbeat; share of notes "
             "off the beat; groove consistency (1 - mean Hamming distance between consecutive bars' onset "
             "patterns, as MusPy defines it); share of bars equal to an earlier bar.", "",
             "| set | meter | melodies | downbeat onsets | off-beat onsets | groove consistency | "
             "bar repetition |", "| --- | --- | --- | --- | --- | --- | --- |"]
    labels = dict(SETS)
    for key, summary in rhythm.items():
        groups = [("all", summary["overall"])] + [(m, g) for m, g in summary["by_meter"].items()
                                                  if g["melodies"] >= 5]
        for meter, group in groups:
            lines.append(f"| {labels.get(key, key)} | {meter} | {group['melodies']} | " + " | ".join(
                _number(group[name], 3) for name in RHYTHM_METRICS) + " |")
    return [*lines, ""]


def _realism(realism: dict) -> list[str]:
    """The classifier two-sample test's table (src/eval/realism.py): 0.5 = indistinguishable."""
    if not realism:
        return []
    lines = ["## Told apart from held-out songs", "",
             "A standardized logistic regression on per-melody features (statistics, pitch classes from "
             "the tonic, note durations), 5-fold cross-validated: 0.5 = indistinguishable, 1.0 = always "
             "told apart. Training songs, and an n-gram counted on them, are the controls.", "",
             "| set vs held-out songs | melodies | balanced accuracy | AUC |", "| --- | --- | --- | --- |"]
    labels = {"train_songs": "training songs (control)", "ngram": "order-5 n-gram (control)", **dict(SETS)}
    for key, result in realism.items():
        lines.append(f"| {labels.get(key, key)} | {result['count_a']} | "
                     f"{_number(result['balanced_accuracy'], 3)} | {_number(result['auc'], 3)} |")
    return [*lines, ""]


def _styles(styles: dict | None, split: str) -> list[str]:
    """Each style's figures (src/eval/styles.py): generated against its held-out songs."""
    if not styles:
        return []
    lines = ["", f"Per style: unseeded melodies asked for the style against its {split} songs (generated / "
             f"{split} songs / train songs: the train songs are many, the {split} songs few); classifier "
             "balanced accuracy, logistic and gradient boosting (0.5: not told apart); form honoured: "
             "melodies whose ABC reads back with the planned parts and bars.", "",
             f"| style | songs ({split} / train) | bits | ends on tonic | range | repetition | logistic "
             "| boosting | form honoured |",
             "|---|---|---|---|---|---|---|---|---|"]
    for style, f in styles.items():
        triple = [" / ".join(_number(f[group][k], 2) for group in ("generated", "real", "train"))
                  for k in ("ends_on_tonic", "pitch_range", "repetition")]
        lines.append(f"| {style} | {f['songs']} / {f['train']['count']} | {_number(f['bits'])} | "
                     + " | ".join(triple) + " | "
                     f"{_number(f['classifier']['balanced_accuracy'], 3)} | "
                     f"{_number(f['boosting']['balanced_accuracy'], 3)} | {_number(f['form_honoured'], 3)} |")
    return lines + [""]


def _infill(infill: dict | None, split: str) -> list[str]:
    """Bits of held-out gaps given both sides against the left side only (src/eval/infill.py)."""
    if not infill:
        return []
    return ["## Infilling", "",
            f"{infill['songs']} {split} songs, {infill['steps']:,} gap steps ({infill['gap']}), each step "
            "scored in its song's meter.", "",
            "| gap steps given | bits per step |", "| --- | --- |",
            f"| both sides (fill-in-the-middle) | {_number(infill['bits_both_sides'])} |",
            f"| the left side only | {_number(infill['bits_left_only'])} |", ""]


def histograms(report: dict) -> Figure:
    """Pitch-class and note-duration histograms of the held-out songs and each generated set."""
    sets = [(key, label) for key, label in SETS if key in report["sets"]]
    figure = Figure(figsize=(11, 3.6), layout="constrained")
    ticks = {"pitch_classes": PITCH_CLASSES, "durations": [str(d) for d in range(1, DURATION_BINS + 1)]
             + [f">{DURATION_BINS}"]}
    for axis, name in zip(figure.subplots(1, 2), ("pitch_classes", "durations"), strict=True):
        width = 0.8 / len(sets)
        for j, (key, label) in enumerate(sets):
            values = report["sets"][key][name]
            axis.bar(np.arange(len(values)) + (j - (len(sets) - 1) / 2) * width, values, width,
                     label=label, color=COLORS[key])
        axis.set_xticks(np.arange(len(ticks[name])), ticks[name], fontsize=8)
        axis.set_title(LABELS[name] + (" (steps)" if name == "durations" else ""))
        axis.set_ylabel("share")
        axis.legend(fontsize=8)
    return figure


def scalars(report: dict) -> Figure:
    """One histogram per scalar statistic: held-out songs vs each generated set."""
    sets = [(key, label) for key, label in SETS if key in report["sets"]]
    figure = Figure(figsize=(12, 6), layout="constrained")
    axes = figure.subplots(2, 4).ravel()
    for axis, name in zip(axes, SCALARS, strict=False):
        values = {key: [v for v in report["sets"][key]["scalars"][name] if not math.isnan(v)]
                  for key, _ in sets}
        everything = [v for vs in values.values() for v in vs]
        if not everything:
            axis.set_title(LABELS[name], fontsize=9)
            continue
        bins = np.histogram_bin_edges(everything, bins=20)
        for key, label in sets:
            if values[key]:
                axis.hist(values[key], bins=bins, density=True, histtype="step", linewidth=1.5,
                          label=label, color=COLORS[key])
        axis.set_title(LABELS[name], fontsize=9)
    axes[0].legend(fontsize=8)
    axes[-1].axis("off")
    return figure


def _plain(value):
    """nan and inf -> None, numpy scalars -> Python ones: strict JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _number(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _mean_std(summary: dict) -> str:
    if not summary["n"]:
        return "-"
    digits = 1 if abs(summary["mean"]) >= 10 else 3
    return f"{summary['mean']:.{digits}f} ± {summary['std']:.{digits}f}"
