"""Monoculture analysis: how much people disagree on the candidate sets many of them judged, and how
alike models' picks are compared with how much annotators agree.

Qualifying sets, annotator agreement and model–model agreement all come from the evaluation contract
(`metrics.contract`): the leaderboard page shows the same numbers.
"""

from __future__ import annotations

import os
from itertools import combinations

import numpy as np

from ..metrics import contract, distributional
from ..metrics.contract import EvalData
from ..metrics.groups import MISSING

GROUP_AXES = ("country", "language", "political", "gender")
MIN_GROUP_RATERS = 3


def _shares(choices: np.ndarray) -> np.ndarray:
    c = np.bincount(choices, minlength=4).astype(float)
    return c / c.sum()


def human_disagreement(data: EvalData, min_annotators: int = distributional.MIN_SET_ANNOTATORS) -> dict:
    """On the sets judged by ≥ `min_annotators` distinct annotators: annotator agreement (contract) and
    the mean Jensen–Shannon distance between groups' vote shares (groups with ≥ 3 raters of a set)."""
    codes, n_sets = distributional.qualifying_sets(data.set_keys, data.annotators, min_annotators)
    out = {"min_set_annotators": min_annotators, **contract.annotator_agreement(data.chosen, codes, n_sets)}
    out["judgements"] = int((codes >= 0).sum())
    between, counted = {}, {}
    for axis in GROUP_AXES:
        labels = np.asarray(data.groups.get(axis, np.full(len(data), MISSING)), dtype=object)
        per_set = []
        for s in range(n_sets):
            rows = np.flatnonzero(codes == s)
            shares = []
            for g in sorted({x for x in labels[rows] if x != MISSING}, key=str):
                ch = data.chosen[rows[labels[rows] == g]]
                if len(ch) >= MIN_GROUP_RATERS:
                    shares.append(_shares(ch))
            pairs = [float(distributional.js_distance(a, b)) for a, b in combinations(shares, 2)]
            if pairs:
                per_set.append(float(np.mean(pairs)))
        between[axis] = float(np.mean(per_set)) if per_set else float("nan")
        counted[axis] = len(per_set)
    out["between_group_jsd"] = between
    out["between_group_sets"] = counted
    return out


def all_comparisons(
    source: str = "sample", data_path: str | None = None, revision: str | None = None
) -> tuple[EvalData, bool]:
    """Every comparison of a source (all splits) as contract data, and whether it is synthetic."""
    from ..data.builder import read_meta
    from ..protocol.truth import split_truth
    from ..training.data import DataSelection, load_config

    dsd = load_config(DataSelection(source=source, data_path=data_path, revision=revision), "comparisons")
    parts = [split_truth(ds).data for ds in dsd.values()]
    merged = EvalData(
        chosen=np.concatenate([p.chosen for p in parts]),
        present=np.concatenate([p.present for p in parts]),
        annotators=np.concatenate([p.annotators for p in parts]),
        prompts=np.concatenate([p.prompts for p in parts]),
        same_text=np.concatenate([p.same_text for p in parts]),
        set_keys=np.concatenate([p.set_keys for p in parts]),
        groups={a: np.concatenate([p.groups[a] for p in parts]) for a in parts[0].groups},
        ids=np.concatenate([p.ids for p in parts]),
    )
    return merged, bool(read_meta(dsd["train"].info)["synthetic"])


def model_view(submissions: list[str], data_path: str | None = None) -> dict:
    """The contract's monoculture view of several submissions of one protocol (the same test split)."""
    from ..protocol.evaluate import check_against_truth, truth_for
    from ..protocol.submission import read_submission

    subs = [read_submission(p) for p in submissions]
    ids = {s.metadata["protocol"]["id"] for s in subs}
    if len(ids) > 1:
        raise ValueError(f"the submissions belong to different protocols ({sorted(ids)}): compare like with like")
    truth = truth_for(subs[0], data_path)
    scores, temps = {}, {}
    for s in subs:
        rows, aligned = check_against_truth(s, truth)
        full = np.full((len(truth.test.turn), 4), np.nan)
        full[rows] = aligned
        m = s.metadata["model"]
        label = f"{m['name']} ({m['method']}, {m['conditioning']})"
        if label in scores:
            label = f"{label} [{os.path.basename(os.path.dirname(os.path.abspath(s.path))) or s.path}]"
        scores[label] = full
        temps[label] = float(m["temperature"])
    covered = np.isfinite(np.stack(list(scores.values()))).any(-1).all(0)
    data = truth.test.data.select(np.flatnonzero(covered))
    return contract.monoculture_view(data, {k: v[covered] for k, v in scores.items()}, temps)


def figure(human: dict, models: dict | None, path: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ax = axes[0]
    bars = {
        "annotator vs annotator": human.get("pair_agreement") or np.nan,
        "plurality share (one answer for all)": human.get("plurality_share") or np.nan,
    }
    if models and len(models["models"]["models"]) > 1:
        bars["model vs model"] = (
            models["models"]["mean_pairwise"] if models["models"]["mean_pairwise"] is not None else np.nan
        )
    ax.bar(
        range(len(bars)),
        [v if v == v else 0.0 for v in bars.values()],
        color=["#4c72b0", "#8c8c8c", "#c44e52"][: len(bars)],
    )
    ax.set_xticks(range(len(bars)), list(bars), rotation=15, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_title("Agreement on the same candidate set", fontsize=10)
    ax = axes[1]
    jsd = human.get("between_group_jsd", {})
    ax.bar(range(len(jsd)), [v if v == v else 0 for v in jsd.values()], color="#55a868")
    ax.set_xticks(range(len(jsd)), list(jsd))
    ax.set_title("Between-group disagreement (mean JSD, base 2)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def report(human: dict, models: dict | None, synthetic: bool) -> str:
    from ..results.report import md_escape

    f = lambda v: "–" if v is None or v != v else f"{100 * v:.1f}%"  # noqa: E731
    lines = ["# Monoculture analysis", ""]
    if synthetic:
        lines += ["> Computed on the synthetic sample (groups generated to disagree by country).", ""]
    lines += [
        f"Candidate sets judged by ≥ {human['min_set_annotators']} distinct annotators (all splits): "
        f"**{human['sets']}** ({human['judgements']} judgements).",
        "",
    ]
    if human["sets"]:
        lines += [
            f"- Mean entropy of the human choice: {human['mean_entropy_bits']:.2f} bits (max 2).",
            f"- Two annotators of the same set agree {f(human['pair_agreement'])} of the time.",
            f"- The single most popular pick serves {f(human['plurality_share'])} of annotators: the best a "
            "one-size-fits-all model can do on these sets.",
            "- Between-group disagreement (mean Jensen–Shannon distance between the groups' vote shares): "
            + ", ".join(
                f"{a} {v:.3f} ({human['between_group_sets'][a]} sets)" for a, v in human["between_group_jsd"].items()
            ),
            "",
        ]
    if models:
        a, mm = models["annotators"], models["models"]
        lines += [
            "## Models (the test split of their protocol)",
            "",
            f"On {a['sets']} sets with ≥ {models['min_set_annotators']} distinct raters: models pick the same candidate "
            f"{f(mm['mean_pairwise'])} of the time (mean over model pairs, shared comparisons only); two annotators "
            f"agree {f(a['pair_agreement'])}.",
            "",
            "| model | agreement with annotators (top-1 on these sets) |",
            "|---|---|",
        ]
        lines += [f"| {md_escape(k)} | {f(v)} |" for k, v in models["model_matches_annotators"].items()]
        dist = models["distributions"]
        lines += [
            "",
            f"Choice distributions (softmax of each model's scores at its temperature, averaged over a set's raters): "
            f"models are {f(dist['mean_pairwise_similarity'])} alike (mean pairwise 1 − JSD); their fit to the vote "
            "shares: " + ", ".join(f"{md_escape(k)} {f(v)}" for k, v in dist["fit_to_votes"].items()) + ".",
            "",
        ]
    lines.append("![monoculture](monoculture.png)")
    return "\n".join(lines) + "\n"


def run(
    out_dir: str,
    source: str = "sample",
    data_path: str | None = None,
    submissions: list[str] | None = None,
    revision: str | None = None,
) -> dict:
    from ..io_utils import atomic_write_json, atomic_write_text
    from ..results.io import clean_json

    data, synthetic = all_comparisons(source, data_path, revision)
    human = human_disagreement(data)
    models = model_view(submissions, data_path) if submissions else None
    os.makedirs(out_dir, exist_ok=True)
    figure(human, models, os.path.join(out_dir, "monoculture.png"))
    atomic_write_text(os.path.join(out_dir, "report.md"), report(human, models, synthetic))
    atomic_write_json(os.path.join(out_dir, "monoculture.json"), clean_json({"human": human, "models": models}))
    return {"human": human, "models": models}
