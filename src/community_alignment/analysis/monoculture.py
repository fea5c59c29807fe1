"""Monoculture analysis: how much people disagree on the candidate sets many of them judged, and how
much models agree with each other compared with how much annotators agree with each other."""

from __future__ import annotations

import os
from itertools import combinations

import numpy as np
import pandas as pd

from ..metrics.distributional import js_distance

GROUP_AXES = {
    "country": "annotator_country",
    "language": "assigned_lang",
    "political": "annotator_political",
    "gender": "annotator_gender",
}


def _shares(choices: np.ndarray) -> np.ndarray:
    c = np.bincount(choices, minlength=4).astype(float)
    return c / c.sum()


def entropy_bits(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def pair_agreement(choices: np.ndarray) -> float:
    """Probability that two different raters of the set picked the same candidate."""
    c = np.bincount(choices, minlength=4).astype(float)
    n = c.sum()
    return float((c * (c - 1)).sum() / (n * (n - 1))) if n > 1 else float("nan")


def human_disagreement(df: pd.DataFrame, min_raters: int = 10, min_group: int = 3) -> dict:
    """df: one row per comparison with set_key, chosen_index and group columns."""
    sizes = df.groupby("set_key").size()
    big = df[df.set_key.isin(sizes[sizes >= min_raters].index)]
    out = {"min_raters": min_raters, "sets": int(big.set_key.nunique()), "raters": int(len(big))}
    if not len(big):
        return out
    per_set = []
    for key, g in big.groupby("set_key"):
        ch = g.chosen_index.to_numpy(int)
        p = _shares(ch)
        row = {
            "set_key": key,
            "n": len(ch),
            "entropy_bits": entropy_bits(p),
            "plurality_share": float(p.max()),
            "pair_agreement": pair_agreement(ch),
        }
        for axis, col in GROUP_AXES.items():
            groups = [_shares(gg.chosen_index.to_numpy(int)) for _, gg in g.groupby(col) if len(gg) >= min_group]
            pairs = [float(js_distance(a[None], b[None])[0]) for a, b in combinations(groups, 2)]
            row[f"jsd_{axis}"] = float(np.mean(pairs)) if pairs else np.nan
        per_set.append(row)
    ps = pd.DataFrame(per_set)
    out.update(
        {
            "mean_entropy_bits": float(ps.entropy_bits.mean()),
            "max_entropy_bits": 2.0,
            "plurality_share": float((ps.plurality_share * ps.n).sum() / ps.n.sum()),
            "annotator_pair_agreement": float(ps.pair_agreement.mean()),
            "between_group_jsd": {axis: float(ps[f"jsd_{axis}"].mean()) for axis in GROUP_AXES},
            "between_group_sets": {axis: int(ps[f"jsd_{axis}"].notna().sum()) for axis in GROUP_AXES},
        }
    )
    return out


def load_scores(paths: dict[str, str]) -> dict[str, pd.DataFrame]:
    return {label: pd.read_parquet(p) for label, p in paths.items()}


def model_agreement(scores: dict[str, pd.DataFrame], min_raters: int = 10) -> dict:
    """Top-pick agreement between models vs between annotators; each model's match with annotators per group."""
    picks = {}
    base = None
    for label, df in scores.items():
        s = df[[f"score_model_{x}" for x in "abcd"]].to_numpy(dtype=float)
        picks[label] = pd.Series(np.nanargmax(np.where(np.isnan(s), -np.inf, s), 1), index=df.comparison_id)
        base = df if base is None else base
    labels = list(picks)
    matrix = [[float((picks[a] == picks[b].reindex(picks[a].index)).mean()) for b in labels] for a in labels]
    off = [matrix[i][j] for i in range(len(labels)) for j in range(len(labels)) if i != j]
    sizes = base.groupby("set_key").size()
    big = base[base.set_key.isin(sizes[sizes >= min_raters].index)]
    ann = [pair_agreement(g.chosen_index.to_numpy(int)) for _, g in big.groupby("set_key")]
    match = {}
    for label in labels:
        hit = picks[label].reindex(big.comparison_id).to_numpy() == big.chosen_index.to_numpy()
        match[label] = {
            "overall": float(hit.mean()) if len(hit) else float("nan"),
            "by_country": {
                c: float(hit[(big.annotator_country == c).to_numpy()].mean())
                for c in sorted(big.annotator_country.unique())
            },
        }
    return {
        "models": labels,
        "matrix": matrix,
        "mean_model_agreement": float(np.mean(off)) if off else float("nan"),
        "annotator_pair_agreement": float(np.mean(ann)) if ann else float("nan"),
        "sets": int(big.set_key.nunique()),
        "match": match,
    }


def figure(human: dict, models: dict | None, path: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ax = axes[0]
    bars = {
        "annotator vs annotator": human.get("annotator_pair_agreement", np.nan),
        "plurality share (one answer for all)": human.get("plurality_share", np.nan),
    }
    if models and len(models["models"]) > 1:
        bars["model vs model"] = models["mean_model_agreement"]
    ax.bar(range(len(bars)), list(bars.values()), color=["#4c72b0", "#8c8c8c", "#c44e52"][: len(bars)])
    ax.set_xticks(range(len(bars)), list(bars), rotation=15, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_title("Agreement on the same candidate set", fontsize=10)
    ax = axes[1]
    jsd = human.get("between_group_jsd", {})
    ax.bar(range(len(jsd)), list(jsd.values()), color="#55a868")
    ax.set_xticks(range(len(jsd)), list(jsd))
    ax.set_title("Between-group disagreement (mean JSD, base 2)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def report(human: dict, models: dict | None, synthetic: bool) -> str:
    f = lambda v: "–" if v is None or v != v else f"{100 * v:.1f}%"  # noqa: E731
    lines = ["# Monoculture analysis", ""]
    if synthetic:
        lines += ["> Computed on the synthetic sample (groups generated to disagree by country).", ""]
    lines += [
        f"Candidate sets with ≥ {human['min_raters']} raters: **{human['sets']}** ({human['raters']} judgements).",
        "",
    ]
    if human["sets"]:
        lines += [
            f"- Mean entropy of the human choice: {human['mean_entropy_bits']:.2f} bits (max 2).",
            f"- Two annotators of the same set agree {f(human['annotator_pair_agreement'])} of the time.",
            f"- The single most popular pick serves {f(human['plurality_share'])} of annotators: the best a "
            "one-size-fits-all model can do on these sets.",
            "- Between-group disagreement (mean Jensen–Shannon distance between the groups' vote shares): "
            + ", ".join(
                f"{a} {v:.3f} ({human['between_group_sets'][a]} sets)" for a, v in human["between_group_jsd"].items()
            ),
            "",
        ]
    if models:
        lines += [
            "## Models",
            "",
            f"On {models['sets']} sets with ≥ 10 raters in the scored split: models agree with each "
            f"other {f(models['mean_model_agreement'])} of the time; annotators agree with each other "
            f"{f(models['annotator_pair_agreement'])}.",
            "",
            "| model | matches annotators | " + " | ".join(next(iter(models["match"].values()))["by_country"]) + " |",
            "|---|---|" + "---|" * len(next(iter(models["match"].values()))["by_country"]),
        ]
        for label, m in models["match"].items():
            lines.append(
                f"| {label} | {f(m['overall'])} | " + " | ".join(f(v) for v in m["by_country"].values()) + " |"
            )
        lines.append("")
    lines.append("![monoculture](monoculture.png)")
    return "\n".join(lines) + "\n"


def comparisons_frame(source="sample", data_path: str | None = None) -> tuple[pd.DataFrame, bool]:
    """All comparisons of a source (every split) with their candidate-set key."""
    from ..data.builder import read_meta
    from ..data.sources import SourceSpec
    from ..pipeline.evaluate import set_keys
    from ..scoring.base import ComparisonBatch
    from ..training.data import DataSelection, load_config

    sel = DataSelection.from_spec(source) if isinstance(source, SourceSpec) else DataSelection(source, data_path)
    dsd = load_config(sel, "comparisons")
    frames = []
    for ds in dsd.values():
        b = ComparisonBatch.from_dataset(ds)
        df = pd.DataFrame({k: b.columns[k] for k in ("comparison_id", *GROUP_AXES.values())})
        df["chosen_index"] = b.chosen
        df["set_key"] = set_keys(b)
        frames.append(df)
    return pd.concat(frames, ignore_index=True), bool(read_meta(dsd["train"].info)["synthetic"])


def run(out_dir: str, source="sample", data_path: str | None = None, score_files: dict[str, str] | None = None) -> dict:
    """`source`: a `SourceSpec`, or a source name with `data_path`."""
    from ..io_utils import atomic_write_json, atomic_write_text

    df, synthetic = comparisons_frame(source, data_path)
    human = human_disagreement(df)
    models = model_agreement(load_scores(score_files)) if score_files else None
    os.makedirs(out_dir, exist_ok=True)
    figure(human, models, os.path.join(out_dir, "monoculture.png"))
    atomic_write_text(os.path.join(out_dir, "report.md"), report(human, models, synthetic))
    atomic_write_json(os.path.join(out_dir, "monoculture.json"), {"human": human, "models": models})
    return {"human": human, "models": models}
