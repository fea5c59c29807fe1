"""report.md and the terminal summary, rendered from results.json alone."""

from __future__ import annotations

from ..metrics.groups import AXES

HEADLINE = ("top1_accuracy", "country")


def _f(v, pct=True) -> str:
    if v is None or v != v:
        return "–"
    return f"{100 * v:.1f}" if pct else f"{v:.3f}"


def _est(e: dict) -> str:
    if e["value"] is None:
        return "–"
    lo, hi = e.get("ci_low"), e.get("ci_high")
    return f"{100 * e['value']:.1f} [{_f(lo)}, {_f(hi)}]" if lo is not None else _f(e["value"])


def headline_rows(results: dict) -> list[list[str]]:
    """One row per scorer: top-1 (micro, macro / worst / gap over countries), pairwise, NLL, 1−JSD, ECE."""
    rows = []
    entries = [(results["config"]["model_name"] + " (model)", results)]
    entries += [(name, ref) for name, ref in results["reference"].items()]
    for name, r in entries:
        s = r["summary"]["country"]["top1_accuracy"]
        o = r["overall"]
        rows.append(
            [
                name,
                _f(o["top1_accuracy"]["value"]),
                _f(s["macro"]),
                f"{_f(s['worst'])} ({s['worst_group'] or '–'})",
                _f(s["gap"]),
                _f(o["pairwise_accuracy"]["value"]),
                _f(o["nll"]["value"], pct=False),
                _f(r["distributional"]["value"], pct=False),
                _f(o.get("ece"), pct=False),
            ]
        )
    return rows


HEADER = ["scorer", "top-1", "top-1 macro (countries)", "worst country", "gap", "pairwise", "NLL", "1−JSD", "ECE"]


def terminal_summary(results: dict) -> str:
    rows = [HEADER, *headline_rows(results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _md_table(header, rows) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(out + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def render_report(results: dict, plots: dict[str, str]) -> str:
    cfg = results["config"]
    ds = cfg["dataset"]
    parts = [f"# Community Alignment benchmark: {cfg['model_name']}", ""]
    if ds["synthetic"]:
        parts.append("> **Synthetic data.** Evaluated on the embedded synthetic sample, not the real dataset.\n")
    parts.append(
        f"Method `{cfg['method']}`, conditioning `{cfg['conditioning']}`, dtype `{cfg['model_dtype']}`"
        + (f", reference `{cfg['ref_model']}`, β = {cfg['beta']}" if cfg.get("ref_model") else "")
        + f". Split `{ds['split']}` ({ds['comparisons']} comparisons, split by {ds['split_by']}, fingerprint "
        f"`{ds['split_fingerprint'][:16]}…`). 95% CIs: bootstrap over annotators. Tie policy: {cfg['tie_policy']}. "
        f"NLL uses a softmax temperature fitted on validation (T = {results['temperature']:.3g})."
    )
    parts += ["", "## Headline", "", _md_table(HEADER, headline_rows(results)), ""]
    sig = results.get("significance", {})
    for ref, groups in sig.get("against", {}).items():
        better = [g for g, r in groups.items() if r["significant"] and r["difference"] > 0]
        worse = [g for g, r in groups.items() if r["significant"] and r["difference"] < 0]
        parts.append(
            f"- vs `{ref}` (top-1 by country, Holm-corrected): significantly better in "
            f"{', '.join(better) or 'no group'}; worse in {', '.join(worse) or 'no group'}."
        )
    parts.append("")
    for axis in AXES:
        if axis not in results["results"]:
            continue
        groups = results["results"][axis]["groups"]
        header = ["group", "n", "top-1 [95% CI]", "pairwise [95% CI]", "NLL"]
        header += [f"{name} top-1" for name in results["reference"]]
        rows = []
        for g, b in groups.items():
            row = [g, b["n"], _est(b["top1_accuracy"]), _est(b["pairwise_accuracy"]), _f(b["nll"]["value"], pct=False)]
            for ref in results["reference"].values():
                rb = ref["groups"].get(axis, {}).get(g)
                row.append(_f(rb["top1_accuracy"]["value"]) if rb else "–")
            rows.append(row)
        s = results["summary"][axis]["top1_accuracy"]
        parts += [
            f"## By {axis.replace('_', ' ')}",
            "",
            f"Top-1 macro {_f(s['macro'])}, worst {_f(s['worst'])} ({s['worst_group']}), gap {_f(s['gap'])} "
            f"(groups with n ≥ {results['summary'][axis]['min_group_n']}).",
            "",
        ]
        if axis in plots:
            parts += [f"![{axis}]({plots[axis]})", ""]
        parts += [_md_table(header, rows), ""]
    if "heatmap" in plots:
        parts += ["## Country × language", "", f"![heatmap]({plots['heatmap']})", ""]
    d = results["distributional"]
    parts += [
        "## Distributional fit",
        "",
        f"{d['metric']} between the model's choice distribution and the observed vote shares on the "
        f"{d['sets']} candidate sets with ≥ {d['min_raters']} raters in this split: **{_f(d['value'], pct=False)}**.",
        "",
    ]
    if results.get("training"):
        parts += ["## Training", "", "```", *(f"{k}: {v}" for k, v in results["training"].items()), "```", ""]
    return "\n".join(parts)
