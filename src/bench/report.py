"""The benchmark suite's results as markdown, its target checks, and the section it owns in the docs."""

from __future__ import annotations

from pathlib import Path

from src.atomic import atomic_path

BEGIN, END = "<!-- bench:begin (written by `python -m src.bench`) -->", "<!-- bench:end -->"
FAST = "lstm_attn_lm"  # the experiment the speed targets are about


def targets(results: dict) -> list[dict]:
    """The issue's targets, each {"target", "value", "met"} (met is None when not measured)."""
    checks = []
    ttq = results["ttq"]
    fast = ttq.get(FAST, {}).get("reached_s")
    if FAST in ttq:
        checks.append(
            {
                "target": f"{FAST} reaches the best n-gram's val bits in < 120 s of training",
                "value": f"{fast} s" if fast is not None else f"not within {ttq[FAST]['budget_s']:.0f} s",
                "met": fast is not None and fast < 120,
            }
        )
    if FAST in ttq and "lstm_attn" in ttq:
        slow = ttq["lstm_attn"]["reached_s"]
        if fast is None:
            value, met = "n/a", False
        elif slow is None:  # lstm_attn never got there: its budget bounds the ratio from below
            bound = ttq["lstm_attn"]["budget_s"] / fast
            value, met = (
                f"> {bound:.1f}x (lstm_attn did not reach it in {ttq['lstm_attn']['budget_s']:.0f} s)",
                bound >= 10,
            )
        else:
            value, met = f"{slow / fast:.1f}x", slow / fast >= 10
        checks.append(
            {"target": f"{FAST} reaches it >= 10x sooner than lstm_attn", "value": value, "met": met}
        )
    sample = results["sample"].get(FAST)
    if sample and "64" in sample["total_s"]:
        total = sample["total_s"]["64"] * 500 / sample["steps"]
        checks.append(
            {"target": "64 melodies x 500 symbols in < 2 s", "value": f"{total:.2f} s", "met": total < 2.0}
        )
    for name, speed in results["train"].items():
        if "lightning_over_plain" in speed:
            ratio = speed["lightning_over_plain"]
            checks.append(
                {
                    "target": f"Lightning >= 0.95x the plain loop ({name})",
                    "value": f"{ratio:.2f}x",
                    "met": ratio >= 0.95,
                }
            )
    return checks


def markdown(results: dict) -> str:
    """The results as the tables of the generated section."""
    m, s = results["machine"], results["settings"]
    lines = [
        f"Measured {m['date']} on {m['cpus']} CPUs (torch {m['torch']}, {m['torch_threads']} threads"
        f"{', ' + m['cuda'] if m['cuda'] else ''}; 1-min load {m['loadavg_start']:.1f} at start) by "
        f"`{results.get('command', 'python -m src.bench')}` in {results['seconds']:.0f} s. "
        "Each part ran in a fresh process; peak RSS is that process's own.",
        "",
    ]
    if results["prepare"]:
        lines += [
            "**Prepare** (parse, encode and cache the corpus)",
            "",
            "| corpus | cold build s | warm load s | songs kept | peak RSS MB (cold) |",
            "| --- | --- | --- | --- | --- |",
        ]
        for corpus, r in results["prepare"].items():
            lines.append(
                f"| {corpus} | {r['cold']['seconds']:.1f} | {r['warm']['seconds']:.3f} | "
                f"{r['cold']['songs_kept']:,} | {r['cold']['peak_rss_mb']:.0f} |"
            )
        lines.append("")
    if results["train"]:
        lines += [
            f"**Training speed** ({s['train_steps']} timed steps after 2 warm-up steps, batch sizes "
            "from each experiment's config; a window net supervises one target per window, a causal "
            "net one per position)",
            "",
            "| experiment | batch | targets / batch | loop | windows/s | targets/s | Lightning / plain "
            "| peak RSS MB |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, r in results["train"].items():
            for loop in ("plain", "lightning"):
                if loop in r:
                    ratio = (
                        f"{r['lightning_over_plain']:.2f}x" if loop == "lightning" and "plain" in r else ""
                    )
                    lines.append(
                        f"| {name} | {r['batch']} | {r['targets_per_batch']:,} | {loop} | "
                        f"{r[loop]['windows_per_s']:,.0f} | {r[loop]['targets_per_s']:,.0f} | {ratio} | "
                        f"{r['peak_rss_mb']:.0f} |"
                    )
        lines.append("")
    if results["sample"]:
        lines += [
            f"**Sampling** ({s['sample_steps']} symbols per melody, untrained nets of each experiment's "
            "size; the seed-style loop re-creates the original generator, one melody)",
            "",
            "| experiment | 1 melody ms/symbol | 64 melodies ms/symbol | 64 melodies total s | "
            "seed-style ms/symbol | full recompute ms/symbol |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for name, r in results["sample"].items():
            lines.append(
                f"| {name} | {_maybe(r['ms_per_symbol'].get('1'))} | "
                f"{_maybe(r['ms_per_symbol'].get('64'))} | "
                f"{_maybe(r['total_s'].get('64'), 2)} | "
                f"{_maybe(r.get('seed_style_ms_per_symbol'))} | {_maybe(r.get('uncached_1_ms_per_symbol'))} |"
            )
        lines.append("")
    if results["ngram"]:
        n = results["ngram"]
        lines += [
            "**Time to quality**: training wall time (data, optimizer and Lightning included; the "
            f"validations that measure it excluded) until val bits first reach the best n-gram's, "
            f"{n['best_val_bits']:.4f} (order {n['best_order']}; "
            + ", ".join(
                f"order {k}: val {v['val_bits']:.4f}, test {v['test_bits']:.4f}"
                for k, v in n["orders"].items()
            )
            + f"). Validation every {s['ttq_every_s']} s of training, budget {s['ttq_budget_s']} s.",
            "",
            "| experiment | reached at s | steps run | best val bits | val bits along the way (s: bits) |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, r in results["ttq"].items():
            reached = (
                f"{r['reached_s']:.0f}" if r["reached_s"] is not None else f"not in {r['budget_s']:.0f}"
            )
            curve = ", ".join(f"{p['train_s']:.0f}: {p['val_bits']:.3f}" for p in _thin(r["curve"]))
            lines.append(f"| {name} | {reached} | {r['steps']:,} | {r['best_val_bits']:.4f} | {curve} |")
        lines.append("")
    if results["targets"]:
        lines += ["**Targets**", "", "| target | measured | met |", "| --- | --- | --- |"]
        lines += [
            f"| {t['target']} | {t['value']} | {'yes' if t['met'] else 'no'} |" for t in results["targets"]
        ]
    return "\n".join(lines).rstrip() + "\n"


def _maybe(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _thin(curve: list[dict], most: int = 8) -> list[dict]:
    """At most `most` points of a curve, always keeping the last."""
    if len(curve) <= most:
        return curve
    step = len(curve) / (most - 1)
    return [curve[int(i * step)] for i in range(most - 1)] + [curve[-1]]


def write_section(path: Path, text: str) -> None:
    """Replace the text between the bench markers in `path` (appended at the end when absent)."""
    old = path.read_text() if path.is_file() else ""
    block = f"{BEGIN}\n{text}{END}"
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        new = head + block + rest.split(END, 1)[1]
    else:
        new = old.rstrip() + ("\n\n" if old else "") + block + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(new)
