"""Build the leaderboard from a folder of results files: leaderboard.csv, leaderboard.md, index.html.

Ranking (the headline): macro top-1 accuracy over countries (each country weighs the same). Its
standard error is approximated from the per-country 95% CIs (SE_c = width / 3.92,
SE_macro = sqrt(Σ SE_c²) / C). "Significantly better than the next entry": one-sided z-test of the
headline difference between neighbours, Holm-corrected over all neighbour pairs (α = 0.05).
Baseline and oracle rows come from the submissions' own `reference` blocks.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from importlib import resources

import numpy as np

from ..io_utils import atomic_write_text
from ..metrics.bootstrap import holm
from ..metrics.groups import AXES
from .validate import load_json, validate_many

HEADLINE = "top-1 accuracy, macro over countries"
COLUMNS = [
    "rank",
    "model",
    "revision",
    "method",
    "conditioning",
    "kind",
    "headline",
    "headline_ci_low",
    "headline_ci_high",
    "better_than_next",
    "worst_country",
    "worst_country_top1",
    "gap",
    "top1",
    "pairwise",
    "nll",
    "one_minus_jsd",
    "comparisons",
    "synthetic",
]


def _macro_with_se(groups: dict) -> tuple[float, float]:
    vals, ses = [], []
    for b in groups.values():
        e = b["top1_accuracy"]
        if e["value"] is None or b["n"] < 30:
            continue
        vals.append(e["value"])
        if e["ci_low"] is not None and e["ci_high"] is not None:
            ses.append((e["ci_high"] - e["ci_low"]) / 3.92)
    if not vals:
        return float("nan"), float("nan")
    return float(np.mean(vals)), float(math.sqrt(sum(s * s for s in ses)) / len(vals)) if ses else float("nan")


def _row(name, revision, method, conditioning, kind, block: dict, synthetic: bool, n: int) -> dict:
    groups = (
        block["groups"]["country"]
        if "groups" in block and "country" in block["groups"]
        else block["results"]["country"]["groups"]
    )
    macro, se = _macro_with_se(groups)
    s = block["summary"]["country"]["top1_accuracy"]
    return {
        "model": name,
        "revision": revision or "",
        "method": method,
        "conditioning": conditioning,
        "kind": kind,
        "headline": macro,
        "headline_se": se,
        "headline_ci_low": macro - 1.96 * se,
        "headline_ci_high": macro + 1.96 * se,
        "worst_country": s["worst_group"] or "",
        "worst_country_top1": s["worst"],
        "gap": s["gap"],
        "top1": block["overall"]["top1_accuracy"]["value"],
        "pairwise": block["overall"]["pairwise_accuracy"]["value"],
        "nll": block["overall"]["nll"]["value"],
        "one_minus_jsd": block["distributional"]["value"],
        "comparisons": n,
        "synthetic": synthetic,
    }


def collect(results_dir: str) -> tuple[list[dict], dict[str, list]]:
    """Valid results files under `results_dir` (recursively) and the problems of the rejected ones."""
    paths = sorted(
        os.path.join(d, f)
        for d, _, fs in os.walk(results_dir)
        for f in fs
        if f.startswith("results") and f.endswith(".json")
    )
    problems = validate_many(paths)
    entries = []
    for p in paths:
        if problems[p]:
            continue
        data, _ = load_json(p)
        data["_path"] = p
        entries.append(data)
    return entries, {p: v for p, v in problems.items() if v}


def leaderboard_rows(entries: list[dict]) -> list[dict]:
    rows, refs = [], {}
    for e in entries:
        c, ds = e["config"], e["config"]["dataset"]
        row = _row(
            c["model_name"],
            c.get("model_sha"),
            c["method"],
            c["conditioning"],
            "model",
            e,
            ds["synthetic"],
            ds["comparisons"],
        )
        row["_entry"] = e
        rows.append(row)
        for name, ref in e.get("reference", {}).items():
            refs.setdefault(
                name, _row(name, None, ref["kind"], "none", ref["kind"], ref, ds["synthetic"], ds["comparisons"])
            )
    rows.sort(key=lambda r: -r["headline"] if r["headline"] == r["headline"] else math.inf)
    pvals = {}
    for i in range(len(rows) - 1):
        a, b = rows[i], rows[i + 1]
        se = math.hypot(a["headline_se"], b["headline_se"])
        if se > 0 and se == se:
            z = (a["headline"] - b["headline"]) / se
            pvals[str(i)] = 0.5 * math.erfc(z / math.sqrt(2))
    adjusted = holm(pvals)
    for i, r in enumerate(rows):
        r["rank"] = i + 1
        r["better_than_next"] = bool(adjusted.get(str(i), {}).get("significant", False))
    ref_rows = sorted(refs.values(), key=lambda r: -r["headline"] if r["headline"] == r["headline"] else math.inf)
    for r in ref_rows:
        r["rank"], r["better_than_next"] = "", False
    return rows + ref_rows


def _fmt(v) -> str:
    if isinstance(v, float):
        return "" if v != v else f"{v:.4f}"
    return str(v)


def to_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([_fmt(r[c]) for c in COLUMNS])
    return buf.getvalue()


def _md_escape(s: str) -> str:
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|").replace("\n", " ")


def to_markdown(rows: list[dict]) -> str:
    pct = lambda v: "–" if v is None or v != v else f"{100 * v:.1f}"  # noqa: E731
    num = lambda v: "–" if v is None or v != v else f"{v:.3f}"  # noqa: E731
    lines = [
        f"# Community Alignment leaderboard\n\nRanked by {HEADLINE}; * = significantly better than the next "
        "entry (Holm-corrected). Reference rows (baselines, oracle) come last.\n",
        "| rank | model | method | conditioning | headline [95% CI] | worst country | gap | top-1 | pairwise | 1−JSD |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        star = " *" if r["better_than_next"] else ""
        lines.append(
            f"| {r['rank']} | {_md_escape(r['model'])} | {_md_escape(r['method'])} | {_md_escape(r['conditioning'])} | "
            f"{pct(r['headline'])}{star} [{pct(r['headline_ci_low'])}, {pct(r['headline_ci_high'])}] | "
            f"{_md_escape(r['worst_country'])} {pct(r['worst_country_top1'])} | {pct(r['gap'])} | {pct(r['top1'])} | "
            f"{pct(r['pairwise'])} | {num(r['one_minus_jsd'])} |"
        )
    if any(r["synthetic"] for r in rows):
        lines.append("\n> Entries marked synthetic were evaluated on the embedded synthetic sample, not the real data.")
    return "\n".join(lines) + "\n"


def monoculture(entries: list[dict]) -> dict:
    """From each entry's scores.parquet: how often models pick the same candidate, vs how often two
    annotators of the same ≥10-rater candidate set agree, and each model's match rate on those sets."""
    import pyarrow.parquet as pq

    picks, truth = {}, None
    for e in entries:
        path = os.path.join(os.path.dirname(e["_path"]), "scores.parquet")
        if not os.path.exists(path):
            continue
        t = pq.read_table(path).to_pandas()
        s = t[[f"score_model_{x}" for x in "abcd"]].to_numpy(dtype=float)
        label = f"{e['config']['model_name']} ({e['config']['method']}, {e['config']['conditioning']})"
        picks[label] = dict(zip(t.comparison_id, np.nanargmax(np.where(np.isnan(s), -np.inf, s), 1)))
        truth = t if truth is None else truth
    out = {"models": list(picks), "model_agreement": [], "annotator_agreement": None, "model_match": {}}
    if not picks:
        return out
    names = list(picks)
    for a in names:
        row = []
        for b in names:
            common = set(picks[a]) & set(picks[b])
            row.append(float(np.mean([picks[a][k] == picks[b][k] for k in common])) if common else None)
        out["model_agreement"].append(row)
    sets = truth.groupby("set_key").chosen_index.agg(list)
    sets = sets[sets.map(len) >= 10]
    if len(sets):
        agree = []
        for votes in sets:
            counts = np.bincount(votes, minlength=4)
            n = counts.sum()
            agree.append(float((counts * (counts - 1)).sum() / (n * (n - 1))))
        out["annotator_agreement"] = float(np.mean(agree))
        out["sets"] = int(len(sets))
        members = truth[truth.set_key.isin(sets.index)]
        for name in names:
            hits = [
                picks[name].get(cid) == ch
                for cid, ch in zip(members.comparison_id, members.chosen_index)
                if cid in picks[name]
            ]
            out["model_match"][name] = float(np.mean(hits)) if hits else None
    return out


def page_data(rows: list[dict], entries: list[dict]) -> dict:
    axes = {}
    for axis in AXES:
        groups = sorted({g for e in entries for g in e["results"].get(axis, {}).get("groups", {})})
        axes[axis] = {"groups": groups, "values": []}
        for r in rows:
            if r["kind"] != "model":
                continue
            g = r["_entry"]["results"].get(axis, {}).get("groups", {})
            axes[axis]["values"].append([g[k]["top1_accuracy"]["value"] if k in g else None for k in groups])
    public = [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in r.items() if not k.startswith("_")}
        for r in rows
    ]
    details = []
    for r in rows:
        if r["kind"] == "model":
            c = r["_entry"]["config"]
            details.append(
                {
                    "config": {
                        k: c.get(k)
                        for k in (
                            "model_name",
                            "model_sha",
                            "method",
                            "conditioning",
                            "ref_model",
                            "beta",
                            "model_dtype",
                            "seed",
                            "git_sha",
                        )
                    },
                    "dataset": c["dataset"],
                }
            )
        else:
            details.append(None)
    return {"rows": public, "axes": axes, "details": details, "monoculture": monoculture(entries), "headline": HEADLINE}


def render_html(data: dict) -> str:
    """Self-contained page: data embedded as JSON (every '<' escaped), rendered with textContent only."""
    template = (resources.files("community_alignment") / "templates" / "leaderboard.html").read_text("utf-8")
    payload = (
        json.dumps(data, ensure_ascii=True).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    )
    return template.replace("/*__DATA__*/null", payload)


def build(results_dir: str, out_dir: str) -> dict:
    entries, rejected = collect(results_dir)
    if not entries:
        raise ValueError(
            f"no valid results files under {results_dir}" + (f" ({len(rejected)} rejected)" if rejected else "")
        )
    rows = leaderboard_rows(entries)
    os.makedirs(out_dir, exist_ok=True)
    atomic_write_text(os.path.join(out_dir, "leaderboard.csv"), to_csv(rows))
    atomic_write_text(os.path.join(out_dir, "leaderboard.md"), to_markdown(rows))
    atomic_write_text(os.path.join(out_dir, "index.html"), render_html(page_data(rows, entries)))
    return {
        "entries": len(entries),
        "rows": len(rows),
        "rejected": {p: [str(x) for x in v] for p, v in rejected.items()},
    }
