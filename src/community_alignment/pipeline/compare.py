"""The pluralism experiment's analysis: several arms (pooled, country-conditioned, placebo), each trained
with several seeds, compared on the same test split with paired statistics from the contract.

Every submission is scored by one `Evaluation` (the same two-way bootstrap replicates for all), so the
difference between two arms is paired on annotators × prompts. Seeds are the second source of
variation: each replicate also resamples the seeds (with replacement; seed s of one arm is paired with
seed s of the other: same training subsample), so the CI and p-value cover both the test sample and
the training randomness.
"""

from __future__ import annotations

import os

import numpy as np

from ..io_utils import atomic_write_text
from ..metrics.bootstrap import percentile_ci, pvalue_zero
from ..metrics.contract import Evaluation
from ..protocol.evaluate import check_against_truth, truth_for
from ..protocol.references import reference_inputs
from ..protocol.submission import read_submission
from ..results.report import md_escape, num, pct

STATS = ("worst", "macro")


def _arm_stats(ev: Evaluation, truth, run_dirs: list[str], axis: str, metric: str) -> dict:
    per_seed = []
    for d in run_dirs:
        sub = read_submission(os.path.join(d, "submission.parquet"))
        rows, scores = check_against_truth(sub, truth)
        if len(rows) != len(truth.test.turn):
            raise ValueError(f"{d}: the pluralism comparison needs every run on the whole test split")
        keep = np.flatnonzero(truth.test.data.informative)
        full = np.full((len(truth.test.turn), 4), np.nan)
        full[rows] = scores
        block, cache = ev.block(full[keep], "model", float(sub.metadata["model"]["temperature"]))
        summ = cache["summaries"][(axis, metric)]
        groups = getattr(block.axes[axis], metric)
        per_seed.append(
            {
                "dir": d,
                "seed": (sub.metadata.get("training") or {}).get("seed"),
                "groups": {g: getattr(b, metric).value for g, b in block.axes[axis].groups.items() if b.eligible},
                "worst_group": groups.worst_group,
                "point": {s: summ[f"{s}_point"] for s in STATS},
                "replicates": {s: summ[s] for s in STATS},
                "gap": groups.gap.value,
            }
        )
    return {"seeds": per_seed}


def compare(
    arms: dict[str, list[str]],
    out_path: str,
    baseline: str = "pooled",
    axis: str = "country",
    metric: str = "top1_accuracy",
    resamples: int = 1000,
    seed: int = 0,
) -> dict:
    """Paired contrasts of every arm against `baseline` (and country vs placebo when both exist) on the
    worst group and the macro of `axis`; writes a markdown report; returns the numbers."""
    first = read_submission(os.path.join(arms[baseline][0], "submission.parquet"))
    truth = truth_for(first)
    ev = Evaluation(truth.test.data, resamples, seed)
    stats = {arm: _arm_stats(ev, truth, dirs, axis, metric) for arm, dirs in arms.items()}
    n_seeds = min(len(v) for v in arms.values())
    rng = np.random.default_rng([seed, 11])
    seed_draws = rng.integers(n_seeds, size=(resamples, n_seeds)) if n_seeds > 1 else np.zeros((resamples, 1), int)
    contrasts = {}
    pairs = [(a, baseline) for a in arms if a != baseline]
    if "country" in arms and "placebo" in arms:
        pairs.append(("country", "placebo"))
    for a, b in pairs:
        out = {}
        for s in STATS:
            diffs = [stats[a]["seeds"][k]["point"][s] - stats[b]["seeds"][k]["point"][s] for k in range(n_seeds)]
            est = float(np.mean(diffs))
            reps = None
            ra = [stats[a]["seeds"][k]["replicates"][s] for k in range(n_seeds)]
            rb = [stats[b]["seeds"][k]["replicates"][s] for k in range(n_seeds)]
            if all(r is not None for r in ra + rb):
                d = np.stack([x - y for x, y in zip(ra, rb)], 1)  # (B, seeds)
                reps = d[np.arange(len(d))[:, None], seed_draws[: len(d)]].mean(1)
            lo, hi = percentile_ci(reps)
            out[s] = {"difference": est, "ci_low": lo, "ci_high": hi, "p": pvalue_zero(est, reps), "per_seed": diffs}
        contrasts[f"{a} − {b}"] = out
    refs = {}
    keep = np.flatnonzero(truth.test.data.informative)
    for name, r in reference_inputs(truth).items():
        if name in ("random", "oracle_language", "oracle_country", "oracle_pooled", "oracle_individual"):
            scores = np.asarray(r.scores)[keep]
            t = None if r.truth is None else np.asarray(r.truth)[keep]
            block, _ = ev.block(scores, r.kind, r.temperature, t)
            s = getattr(block.axes[axis], metric)
            refs[name] = {
                "macro": s.macro.value,
                "worst": s.worst.value,
                "worst_group": s.worst_group,
                "gap": s.gap.value,
            }
    report = render(stats, contrasts, refs, truth, axis, n_seeds, resamples)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    atomic_write_text(out_path, report)
    return {"arms": stats, "contrasts": contrasts, "references": refs, "protocol": truth.protocol["id"]}


def conclusion(contrasts: dict) -> str:
    lines = []
    for name, c in contrasts.items():
        w = c["worst"]
        sig = w["ci_low"] > 0 or w["ci_high"] < 0
        direction = "raises" if w["difference"] > 0 else "lowers"
        lines.append(
            f"- **{name}**: worst-group top-1 {direction} by {pct(abs(w['difference']))} points "
            f"[95% CI {pct(w['ci_low'])}, {pct(w['ci_high'])}], p = {num(w['p'], 4)} — "
            + ("a difference beyond test-sample and seed noise." if sig else "not distinguishable from no difference.")
        )
    return "\n".join(lines)


def render(stats: dict, contrasts: dict, refs: dict, truth, axis: str, n_seeds: int, resamples: int) -> str:
    p = truth.protocol
    groups = sorted({g for v in stats.values() for s in v["seeds"] for g in s["groups"]})
    lines = [f"# Pluralism experiment: top-1 accuracy by {axis}", ""]
    if p["dataset"]["synthetic"]:
        lines += ["> Synthetic sample: the groups were generated to disagree (docs/synthetic.md).", ""]
    lines += [
        f"Protocol `{md_escape(p['id'])}`; {n_seeds} seed(s) per arm; paired two-way bootstrap over annotators × "
        f"prompt groups with the seeds resampled too ({resamples} replicates). Groups: the eligible ones "
        "(≥ 10 distinct annotators).",
        "",
        "## Conclusion",
        "",
        conclusion(contrasts),
        "",
        "## Runs",
        "",
        "| arm | seed | " + " | ".join(md_escape(g) for g in groups) + " | macro | worst | gap |",
        "|---|---|" + "---|" * (len(groups) + 3),
    ]
    for arm, v in stats.items():
        for s in v["seeds"]:
            cells = [pct(s["groups"].get(g)) for g in groups]
            lines.append(
                f"| {md_escape(arm)} | {s['seed']} | "
                + " | ".join(cells)
                + f" | {pct(s['point']['macro'])} | {pct(s['point']['worst'])} ({md_escape(s['worst_group'])}) | {pct(s['gap'])} |"
            )
    for name, r in refs.items():
        lines.append(
            f"| *{name}* | – | " + " | ".join("" for _ in groups) + f" | {pct(r['macro'])} | {pct(r['worst'])} "
            f"({md_escape(r['worst_group'])}) | {pct(r['gap'])} |"
        )
    lines += [
        "",
        "## Paired contrasts (mean over seeds)",
        "",
        "| contrast | statistic | difference [95% CI] | p | per seed |",
        "|---|---|---|---|---|",
    ]
    for name, c in contrasts.items():
        for s, v in c.items():
            lines.append(
                f"| {md_escape(name)} | {s} | {pct(v['difference'])} [{pct(v['ci_low'])}, {pct(v['ci_high'])}] | "
                f"{num(v['p'], 4)} | {', '.join(pct(x) for x in v['per_seed'])} |"
            )
    lines += [
        "",
        "References (expected values on the same comparisons): `oracle_language` is the fair ceiling of a pooled "
        "text model — it can read the language of the text, which reveals the country everywhere except English.",
    ]
    return "\n".join(lines) + "\n"
