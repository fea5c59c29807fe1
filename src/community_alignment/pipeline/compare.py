"""Paired comparison of submissions on the same test split: the pluralism experiment (pooled,
country-conditioned, placebo; several seeds each) and the steerability of an LLM judge
(conditioned − unconditioned), with paired statistics from the contract.

Every submission is scored by one `Evaluation` (the same two-way bootstrap replicates for all), so the
difference between two arms is paired on annotators × prompts. Seeds are the second source of
variation: each replicate also resamples the seeds (with replacement; seed s of one arm is paired with
seed s of the other: same training subsample), so the CI and p-value cover both the test sample and
the training randomness.

Contrasts: worst-group and macro top-1 over the eligible groups of `axis`; per eligible group, top-1
and distributional fit (1 − JSD on the sets with ≥ 5 raters of that group: the **steerability gain**
when the arms are a conditioned and an unconditioned judge), Holm-corrected across groups; and the
overall distributional fit.
"""

from __future__ import annotations

import os

import numpy as np

from ..io_utils import atomic_write_text
from ..metrics.bootstrap import holm
from ..metrics.contract import Evaluation
from ..protocol.evaluate import check_against_truth, scorer_temperature, truth_for
from ..protocol.references import reference_inputs
from ..protocol.submission import SUBMISSION_FILE, read_submission
from ..results.report import md_escape, num, pct
from ..results.types import Difference

SUMMARY_STATS = ("worst", "macro")


def submission_path(path: str) -> str:
    """A run folder or a submission file → the submission file."""
    return os.path.join(path, SUBMISSION_FILE) if os.path.isdir(path) else path


def _seed_block(ev: Evaluation, truth, rows: np.ndarray, path: str, axis: str, metric: str) -> dict:
    sub = read_submission(submission_path(path))
    got, scores = check_against_truth(sub, truth)
    if not np.array_equal(got, rows):
        raise ValueError(f"{path}: a paired comparison needs every submission on the same test comparisons")
    block, cache = ev.block(scores, "model", scorer_temperature(sub.metadata))
    s = getattr(block.axes[axis], metric)
    return {
        "path": path,
        "name": sub.metadata["model"]["name"],
        "conditioning": sub.metadata["model"]["conditioning"],
        "seed": (sub.metadata.get("training") or {}).get("seed"),
        "groups": {g: getattr(b, metric).value for g, b in block.axes[axis].groups.items() if b.eligible},
        "macro": s.macro.value,
        "worst": s.worst.value,
        "worst_group": s.worst_group,
        "gap": s.gap.value,
        "gap_p": s.gap_p,
        "fit": block.distributional.fit.value,
        "_cache": cache,
    }


def combine_seeds(per_seed: list[Difference], with_p: bool = True) -> dict:
    """One contrast from its per-seed paired differences (seed s of both arms shares the training data).
    The test-sample uncertainty is the same sample for every seed: its half-width h is averaged, not
    shrunk, and is known from the bootstrap. The training randomness is estimated from the seeds: the
    mean's standard error sd/√S with S − 1 degrees of freedom. The two half-widths are combined in
    quadrature, each at its own quantile: mean ± √(h² + (t(S − 1) · sd/√S)²); p is the level at which
    that interval touches 0, so p and CI agree. A simulation test checks coverage ≥ 95% whichever term
    dominates (Welch–Satterthwaite's t under-covers at S = 3 when the seeds dominate; t(S − 1) on both
    terms widened the known test-sample part too). With one seed, the seed's own CI and p (training
    noise not covered — the report says so)."""
    from scipy import optimize, stats

    ests = np.array([d.difference.value for d in per_seed])
    est = float(ests.mean())
    out = {"difference": est, "per_seed": ests.tolist(), "seeds": len(per_seed)}
    if len(per_seed) == 1:
        d = per_seed[0]
        return {**out, "ci_low": d.difference.ci_low, "ci_high": d.difference.ci_high, "p": d.p}
    sd_test = float(np.nanmean([(d.difference.ci_high - d.difference.ci_low) / 2 for d in per_seed])) / 1.959964
    se_seed = float(np.sqrt(ests.var(ddof=1) / len(ests)))
    df = len(ests) - 1

    def half(alpha: float) -> float:
        z, t = stats.norm.ppf(1 - alpha / 2), stats.t.ppf(1 - alpha / 2, df)
        return float(np.hypot(z * sd_test, t * se_seed))

    h = half(0.05)
    if not np.isfinite(h) or not np.isfinite(est):
        return {**out, "ci_low": float("nan"), "ci_high": float("nan"), "p": float("nan")}
    if not with_p:  # the interval only (simulations)
        p = float("nan")
    elif h == 0:
        p = 1.0 if est == 0 else 0.0
    elif abs(est) >= half(1e-12):
        p = 0.0
    elif abs(est) <= half(1 - 1e-12):
        p = 1.0
    else:
        p = float(optimize.brentq(lambda al: half(al) - abs(est), 1e-12, 1 - 1e-12, xtol=1e-9))
    return {**out, "ci_low": est - h, "ci_high": est + h, "p": p}


def compare(
    arms: dict[str, list[str]],
    out_path: str,
    baseline: str = "pooled",
    axis: str = "country",
    metric: str = "top1_accuracy",
    resamples: int = 1000,
    seed: int = 0,
    title: str = "Pluralism experiment",
) -> dict:
    """Paired contrasts of every arm against `baseline` (and country vs placebo when both exist);
    writes a markdown report; returns the numbers. `arms`: name → run folders or submission files
    (one per seed, in seed order)."""
    if baseline not in arms:
        raise ValueError(f"the baseline arm {baseline!r} is not among {sorted(arms)}")
    first = read_submission(submission_path(arms[baseline][0]))
    truth = truth_for(first)
    rows, _ = check_against_truth(first, truth)  # the whole split, or the same smoke subset for all
    data = truth.test.data.select(rows)
    ev = Evaluation(data, resamples, seed)
    stats = {arm: [_seed_block(ev, truth, rows, p, axis, metric) for p in paths] for arm, paths in arms.items()}
    n_seeds = min(len(v) for v in arms.values())
    pairs = [(a, baseline) for a in arms if a != baseline]
    if "country" in arms and "placebo" in arms:
        pairs.append(("country", "placebo"))
    contrasts = {}
    for a, b in pairs:
        per_seed = [ev.versus(stats[a][k]["_cache"], stats[b][k]["_cache"], axis, metric) for k in range(n_seeds)]
        keys = [k for k in per_seed[0] if all(k in d for d in per_seed)]
        out = {k: combine_seeds([d[k] for d in per_seed]) for k in keys}
        for family in (f"{axis} / ", "fit / "):  # Holm across the groups of each family
            members = {k: v["p"] for k, v in out.items() if k.startswith(family)}
            for k, h in holm(members).items():
                out[k]["p_holm"], out[k]["significant"] = h["p_holm"], h["significant"]
        contrasts[f"{a} − {b}"] = out
    refs = {}
    keep = np.flatnonzero(data.informative)
    for name, r in reference_inputs(truth, rows).items():
        if name in ("random", "oracle_language", "oracle_country", "oracle_pooled", "oracle_individual"):
            t = None if r.truth is None else np.asarray(r.truth)[keep]
            block, _ = ev.block(np.asarray(r.scores)[keep], r.kind, r.temperature, t)
            s = getattr(block.axes[axis], metric)
            refs[name] = {
                "macro": s.macro.value,
                "worst": s.worst.value,
                "worst_group": s.worst_group,
                "gap": s.gap.value,
                "fit": block.distributional.fit.value,
            }
    for seeds in stats.values():
        for x in seeds:
            x.pop("_cache")
    report = render(title, stats, contrasts, refs, truth, axis, n_seeds, resamples)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    atomic_write_text(out_path, report)
    return {"arms": stats, "contrasts": contrasts, "references": refs, "protocol": truth.protocol["id"]}


def conclusion(contrasts: dict) -> str:
    lines = []
    for name, c in contrasts.items():
        if "worst" not in c:
            lines.append(f"- **{md_escape(name)}**: no group has enough annotators for a worst-group comparison.")
            continue
        w = c["worst"]
        sig = w["ci_low"] > 0 or w["ci_high"] < 0
        direction = "raises" if w["difference"] > 0 else "lowers"
        fit = c.get("fit")
        lines.append(
            f"- **{md_escape(name)}**: worst-group top-1 {direction} by {pct(abs(w['difference']))} points "
            f"[95% CI {pct(w['ci_low'])}, {pct(w['ci_high'])}], p = {num(w['p'], 4)} — "
            + ("a difference beyond test-sample and seed noise." if sig else "not distinguishable from no difference.")
            + (
                f" Distributional fit {num(fit['difference'])} [{num(fit['ci_low'])}, {num(fit['ci_high'])}]."
                if fit and fit["difference"] == fit["difference"]
                else ""
            )
        )
    return "\n".join(lines)


def render(title: str, stats: dict, contrasts: dict, refs: dict, truth, axis: str, n_seeds: int, resamples: int) -> str:
    p = truth.protocol
    groups = sorted({g for v in stats.values() for s in v for g in s["groups"]})
    lines = [f"# {md_escape(title)}: top-1 accuracy by {axis}", ""]
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
        "| arm | seed | " + " | ".join(md_escape(g) for g in groups) + " | macro | worst | gap | 1−JSD |",
        "|---|---|" + "---|" * (len(groups) + 4),
    ]
    for arm, seeds in stats.items():
        for s in seeds:
            cells = [pct(s["groups"].get(g)) for g in groups]
            macro, worst = s["macro"], s["worst"]
            lines.append(
                f"| {md_escape(arm)} | {s['seed']} | "
                + " | ".join(cells)
                + f" | {pct(macro)} | {pct(worst)} ({md_escape(s['worst_group'])}) | {pct(s['gap'])} | {num(s['fit'])} |"
            )
    for name, r in refs.items():
        lines.append(
            f"| *{name}* | – | " + " | ".join("" for _ in groups) + f" | {pct(r['macro'])} | {pct(r['worst'])} "
            f"({md_escape(r['worst_group'])}) | {pct(r['gap'])} | {num(r['fit'])} |"
        )
    lines += [
        "",
        "## Paired contrasts (mean over seeds)",
        "",
        "Top-1 rows are percentage points; fit rows (1 − JSD) are on its own 0–1 scale. Per-group rows are "
        "Holm-corrected within their family. The worst-group CI comes from joint simultaneous intervals "
        "(conservative). "
        + (
            "With one seed the CIs cover the test sample only, not the training randomness."
            if n_seeds == 1
            else "Seeds: the test-sample half-width and the seeds' t(S − 1) half-width in quadrature."
        ),
        "",
        "| contrast | statistic | difference [95% CI] | p | p (Holm) | per seed |",
        "|---|---|---|---|---|---|",
    ]
    for name, c in contrasts.items():
        for k, v in c.items():
            f = num if k.startswith("fit") else pct
            lines.append(
                f"| {md_escape(name)} | {md_escape(k)} | {f(v['difference'])} [{f(v['ci_low'])}, {f(v['ci_high'])}] | "
                f"{num(v['p'], 4)} | {num(v.get('p_holm'), 4)} | {', '.join(f(x) for x in v['per_seed'])} |"
            )
    lines += [
        "",
        "References (expected values on the same comparisons): `oracle_language` is the fair ceiling of a pooled "
        "text model — it can read the language of the text, which reveals the country everywhere except English.",
    ]
    return "\n".join(lines) + "\n"
