"""Plots (matplotlib, Agg) from typed results: per-group bars with CI whiskers and reference markers;
the country × language heatmap."""

from __future__ import annotations

import os

import numpy as np

from .types import Results

MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def group_bars(results: Results, axis: str, path: str, metric: str = "top1_accuracy") -> str:
    plt = _plt()
    groups = results.model.axes[axis].groups
    names = list(groups)
    est = [getattr(groups[g], metric) for g in names]
    vals = np.array([e.value for e in est], dtype=float)
    lo = np.array([e.ci_low for e in est], dtype=float)
    hi = np.array([e.ci_high for e in est], dtype=float)
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(names) + 2), 4))
    x = np.arange(len(names))
    err = np.clip(np.nan_to_num(np.stack([vals - lo, hi - vals]), nan=0.0), 0, None)
    colors = ["#4C72B0" if groups[g].eligible else "#B0B8C8" for g in names]
    ax.bar(
        x,
        vals,
        yerr=err,
        capsize=4,
        color=colors,
        label=f"{results.submission['model']['name']} (pale: < min annotators)",
    )
    refs = [(n, b) for n, b in results.scorers.items() if n != "model"]
    for k, (name, block) in enumerate(refs):
        rg = block.axes.get(axis)
        rv = [getattr(rg.groups[g], metric).value if rg and g in rg.groups else np.nan for g in names]
        ax.scatter(x, rv, marker=MARKERS[k % len(MARKERS)], zorder=3, s=18, label=name)
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_ylim(0, 1)
    ax.set_title(f"{metric.replace('_', ' ')} by {axis.replace('_', ' ')} (95% CI, annotators × prompts)", fontsize=10)
    ax.legend(fontsize=6, loc="upper right", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def country_language_heatmap(results: Results, path: str, metric: str = "top1_accuracy") -> str | None:
    from ..data.schema import COUNTRIES, LANGUAGES

    axis = results.model.axes.get("country_language")
    if axis is None or not axis.groups:
        return None
    plt = _plt()
    grid = np.full((len(COUNTRIES), len(LANGUAGES)), np.nan)
    for i, c in enumerate(COUNTRIES):
        for j, lg in enumerate(LANGUAGES):
            b = axis.groups.get(f"{c} / {lg}")
            if b is not None:
                grid[i, j] = getattr(b, metric).value
    fig, ax = plt.subplots(figsize=(6, 4))
    im = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis")
    for i in range(len(COUNTRIES)):
        for j in range(len(LANGUAGES)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{100 * grid[i, j]:.0f}", ha="center", va="center", color="w", fontsize=9)
    refs = ", ".join(
        f"{n}: {100 * getattr(b.overall, metric).value:.0f}" for n, b in results.scorers.items() if n != "model"
    )
    ax.set_xticks(range(len(LANGUAGES)), LANGUAGES)
    ax.set_yticks(range(len(COUNTRIES)), COUNTRIES)
    ax.set_title(f"{metric.replace('_', ' ')} (%) by country × language", fontsize=10)
    fig.text(0.01, 0.01, f"overall references — {refs}", fontsize=5)
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(results: Results, out_dir: str) -> dict[str, str]:
    """One bar chart per subgroup axis (country × language is drawn as the heatmap)."""
    os.makedirs(os.path.join(out_dir, "plots"), exist_ok=True)
    out = {}
    for axis in results.model.axes:
        if axis != "country_language":
            group_bars(results, axis, os.path.join(out_dir, "plots", f"{axis}.png"))
            out[axis] = f"plots/{axis}.png"
    if country_language_heatmap(results, os.path.join(out_dir, "plots", "country_language.png")):
        out["heatmap"] = "plots/country_language.png"
    return out
