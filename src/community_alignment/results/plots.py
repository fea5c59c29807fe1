"""Plots (matplotlib, Agg): per-group bars with CI whiskers and reference markers; country × language heatmap."""

from __future__ import annotations

import os

import numpy as np

MARKERS = ("o", "s", "D", "^", "v", "P", "X")


def group_bars(results: dict, axis: str, path: str, metric: str = "top1_accuracy") -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = results["results"][axis]["groups"]
    names = list(groups)
    vals = np.array([groups[g][metric]["value"] or np.nan for g in names], dtype=float)
    lo = np.array([groups[g][metric]["ci_low"] if groups[g][metric]["ci_low"] is not None else np.nan for g in names])
    hi = np.array([groups[g][metric]["ci_high"] if groups[g][metric]["ci_high"] is not None else np.nan for g in names])
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(names) + 2), 4))
    x = np.arange(len(names))
    err = np.nan_to_num(np.stack([vals - lo, hi - vals]), nan=0.0)
    ax.bar(x, vals, yerr=err, capsize=4, color="#4C72B0", label=results["config"]["model_name"])
    for k, (name, ref) in enumerate(results["reference"].items()):
        rg = ref["groups"].get(axis, {})
        rv = [rg[g][metric]["value"] if g in rg and rg[g][metric]["value"] is not None else np.nan for g in names]
        ax.scatter(x, rv, marker=MARKERS[k % len(MARKERS)], zorder=3, label=name)
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_ylim(0, 1)
    ax.set_title(f"{metric.replace('_', ' ')} by {axis.replace('_', ' ')} (95% CI, clustered on annotators)")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def country_language_heatmap(results: dict, path: str, metric: str = "top1_accuracy") -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..data.schema import COUNTRIES, LANGUAGES

    groups = results["results"].get("country_language", {}).get("groups", {})
    if not groups:
        return None
    grid = np.full((len(COUNTRIES), len(LANGUAGES)), np.nan)
    for i, c in enumerate(COUNTRIES):
        for j, lg in enumerate(LANGUAGES):
            b = groups.get(f"{c} / {lg}")
            if b and b[metric]["value"] is not None:
                grid[i, j] = b[metric]["value"]
    fig, ax = plt.subplots(figsize=(6, 4))
    im = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis")
    for i in range(len(COUNTRIES)):
        for j in range(len(LANGUAGES)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{100 * grid[i, j]:.0f}", ha="center", va="center", color="w", fontsize=9)
    refs = ", ".join(f"{n}: {100 * (r['overall'][metric]['value'] or 0):.0f}" for n, r in results["reference"].items())
    ax.set_xticks(range(len(LANGUAGES)), LANGUAGES)
    ax.set_yticks(range(len(COUNTRIES)), COUNTRIES)
    ax.set_title(f"{metric.replace('_', ' ')} (%) by country × language", fontsize=10)
    fig.text(0.01, 0.01, f"overall references — {refs}", fontsize=6)
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(results: dict, out_dir: str) -> dict[str, str]:
    """One bar chart per subgroup axis (the country × language axis is drawn as the heatmap)."""
    from ..metrics.groups import AXES

    os.makedirs(os.path.join(out_dir, "plots"), exist_ok=True)
    out = {}
    for axis in AXES:
        if axis != "country_language" and axis in results["results"]:
            group_bars(results, axis, os.path.join(out_dir, "plots", f"{axis}.png"))
            out[axis] = f"plots/{axis}.png"
    if country_language_heatmap(results, os.path.join(out_dir, "plots", "country_language.png")):
        out["heatmap"] = "plots/country_language.png"
    return out
