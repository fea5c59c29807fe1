"""Plots (matplotlib, Agg) from typed results: per-group bars with CI whiskers and reference markers;
the country × language heatmap; the k-shot curve of the individual track."""

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
    for key in ("individual", "individual_seen"):
        if results.extras.get(key) is not None:
            name = "kshot" if key == "individual" else "kshot_seen"
            kshot_curve(results.extras[key], os.path.join(out_dir, "plots", f"{name}.png"))
            out[name] = f"plots/{name}.png"
    return out


def kshot_curve(block, path: str, min_annotators: int = 5) -> str:
    """The k-shot curve of an individual-track block (the headline view). Left: mean top-1 over the
    annotators evaluated at each k (95% CI whiskers), own support and the random-other-user control
    (dashed), oracles as lines. Right: the paired gain over the population-only control (k = 0 on the
    same annotators), own and random other. Points with fewer than `min_annotators` are left out (their
    numbers are in the report's table)."""
    from .types import IndividualBlock

    block = block if isinstance(block, IndividualBlock) else IndividualBlock.from_dict(block)
    plt = _plt()
    view = block.headline.get("view", "observed")
    curves = block.views.get(view, {})
    fig, (ax, gx) = plt.subplots(1, 2, figsize=(10, 4))
    colors = {"adapted": "#4C72B0", "native": "#C44E52"}
    first = next(iter(curves.values()), None)
    ks = sorted(int(k) for k in (first.points if first else {}) if first.points[k].annotators >= min_annotators)
    x = np.arange(len(ks))

    def whiskers(ests):
        v = np.array([e.value for e in ests], dtype=float)
        lo = np.array([e.ci_low for e in ests], dtype=float)
        hi = np.array([e.ci_high for e in ests], dtype=float)
        return v, np.clip(np.nan_to_num(np.stack([v - lo, hi - v])), 0, None)

    for method, curve in curves.items():
        pts = [curve.points[str(k)] for k in ks if str(k) in curve.points]
        if len(pts) != len(ks):
            continue
        c = colors.get(method, "k")
        v, err = whiskers([p.top1.mean for p in pts])
        ax.errorbar(x, v, yerr=err, marker="o", capsize=3, color=c, label=f"{method}: own support")
        ax.plot(
            x[1:],
            [p.other_top1.value for p in pts[1:]],
            ls="--",
            marker="x",
            color=c,
            alpha=0.7,
            label=f"{method}: random other user",
        )
        g, gerr = whiskers([p.vs_population["top1"].difference for p in pts[1:]])
        gx.errorbar(x[1:], g, yerr=gerr, marker="o", capsize=3, color=c, label=f"{method}: own support")
        # the control's gain over k = 0: (own − k = 0) − (own − random other), same annotators
        o = g - np.array([p.vs_random_other["top1"].difference.value for p in pts[1:]], dtype=float)
        gx.plot(x[1:], o, ls="--", marker="x", color=c, alpha=0.7, label=f"{method}: random other user")
    if first is not None and "0" in first.points:
        for name, style in {
            "oracle_individual": ":",
            "oracle_country": "-.",
            "oracle_language": "--",
            "random": "-",
        }.items():
            val = first.points["0"].references.get(name, {}).get("top1")
            if val is not None and val == val:
                ax.axhline(val, ls=style, color="0.5", lw=1)
                ax.text(len(ks) - 1, val, f" {name}", fontsize=6, va="bottom", ha="right", color="0.3")
    labels = [f"{k}\n(n={first.points[str(k)].annotators})" for k in ks] if first else []
    for a in (ax, gx):
        a.set_xticks(x, labels, fontsize=7)
        a.set_xlabel("k (support comparisons of the annotator; n annotators)", fontsize=8)
        a.legend(fontsize=6, loc="lower right")
    gx.axhline(0, color="0.5", lw=1)
    ax.set_ylabel("top-1 accuracy, mean over annotators")
    gx.set_ylabel("top-1 gain over k = 0 (paired, same annotators)")
    ax.set_ylim(0, 1)
    label = "unseen annotators" if block.setting == "unseen" else "seen annotators (prompt split)"
    fig.suptitle(f"k-shot personalization, {label} ({view}; 95% CI, bootstrap over annotators)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
