"""Build the leaderboard from a folder of submissions: index.html, leaderboard.csv, leaderboard.md.

Every `*.parquet` under the folder is checked (`validate.check_many`); the good ones are grouped by
protocol id and every number is recomputed through the contract (`ranking`); the bad ones — and
anything else that looks like a submission but cannot be one (a directory named `*.parquet`, a
symbolic link, a results.json v1) — are listed with their reasons in a "rejected" section of the page
and in the command's output, and never stop the build. results.json v2 files are summaries: never
read, listed as ignored.

Output is defensive: CSV cells that start with `= + - @`, tab or CR get a leading `'` (no formula), the
Markdown goes through `md_escape` (no link, image, HTML or cell break), the page embeds its data as
JSON with `<`, `>` and `&` escaped and renders it with `textContent` only under a Content-Security-
Policy that forbids every load. Writes are atomic and keep the user's umask; existing files are only
replaced with `overwrite`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from importlib import resources

from ..io_utils import atomic_write_text
from ..metrics.contract import HEADLINE
from ..protocol.submission import Problem
from ..results.io import clean_json
from ..results.report import md_escape, num, pct
from .ranking import INDIVIDUAL_KEYS, Table, ranked_table, smoke_table
from .validate import Checked, TruthCache, check_many, results_file_problems, safe_text

SITE_FILES = ("index.html", "leaderboard.csv", "leaderboard.md")
COLUMNS = [
    "table",
    "rank",
    "model",
    "revision",
    "method",
    "conditioning",
    "kind",
    "headline",
    "headline_ci_low",
    "headline_ci_high",
    "diff_next",
    "diff_next_ci_low",
    "diff_next_ci_high",
    "p_holm_next",
    "better_than_next",
    "worst_country",
    "worst_country_top1",
    "worst_ci_low",
    "worst_ci_high",
    "gap",
    "gap_ci_low",
    "gap_ci_high",
    "gap_p",
    "top1",
    "pairwise",
    "auc",
    "nll",
    "one_minus_jsd",
    "jsd_sets",
    "ece",
    "comparisons",
    *INDIVIDUAL_KEYS,  # track unseen_annotators: the individual headline (empty on other tracks)
    "synthetic",
    "file",
    "sha256",
]
_TRACK_ORDER = {"main": 0, "en": 1, "unseen_annotators": 2, "smoke": 3}


class BuildError(ValueError):
    """The site cannot be written (e.g. it exists and `overwrite` was not given)."""


def _is_results_json(name: str) -> bool:
    return name.lower().startswith("results") and name.lower().endswith(".json")


def _is_parquet(name: str) -> bool:
    return name.lower().endswith(".parquet")


def collect(folder: str) -> tuple[list[str], list[Checked], list[str]]:
    """(candidate submission paths, rejected entries found while walking, ignored summaries). Symbolic
    links are never followed: a link named like a submission, or to a directory, is rejected."""
    root = os.path.realpath(folder)
    if not os.path.isdir(root):
        raise BuildError(f"{safe_text(folder)}: not a folder")
    candidates, rejected, ignored = [], [], []
    errors: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=errors.append):
        descend = []
        for d in sorted(dirnames):
            full = os.path.join(dirpath, d)
            if os.path.islink(full):
                rejected.append(Checked(full, [Problem("(file)", _link_message(full, root, "a directory"))]))
            elif _is_parquet(d):
                rejected.append(Checked(full, [Problem("(file)", "a directory, not a submission file")]))
            else:
                descend.append(d)
        dirnames[:] = descend
        for f in sorted(filenames):
            full = os.path.join(dirpath, f)
            relevant = _is_parquet(f) or _is_results_json(f)
            if not relevant:
                continue
            if os.path.islink(full):
                rejected.append(Checked(full, [Problem("(file)", _link_message(full, root, "a file"))]))
            elif _is_parquet(f):
                candidates.append(full)
            else:
                problems = results_file_problems(full) if os.path.isfile(full) else []
                if not problems or "schema v2) is a summary" in problems[0].message:
                    ignored.append(full)
                else:
                    rejected.append(Checked(full, problems))
    for e in errors:
        rejected.append(Checked(e.filename or root, [Problem("(file)", f"cannot be read: {e.strerror}")]))
    return candidates, rejected, ignored


def _link_message(path: str, root: str, what: str) -> str:
    target = os.path.realpath(path)
    inside = os.path.commonpath([target, root]) == root
    where = "inside the folder" if inside else "leading outside the folder"
    return f"a symbolic link ({what}) {where}: not followed (a submission must be a regular file in the folder)"


def build_tables(
    checked: list[Checked], rels: dict[str, str], resamples: int, seed: int
) -> tuple[list[Table], list[Checked]]:
    """Tables of the entries that passed (ranked tracks first), and the entries the contract failed on."""
    groups: dict[str, list[Checked]] = {}
    for c in checked:
        if c.ok:
            groups.setdefault(c.protocol_id, []).append(c)
    order = sorted(groups, key=lambda pid: (_TRACK_ORDER.get(groups[pid][0].truth.protocol["track"], 9), pid))
    tables, failed = [], []
    for pid in order:
        entries = groups[pid]
        truth = entries[0].truth
        make = ranked_table if truth.track.ranked else smoke_table
        table, bad = make(truth, entries, rels, resamples, seed)
        tables.append(table)
        failed += bad
    return tables, failed


# --- outputs ---------------------------------------------------------------------------------------


def csv_cell(v) -> str:
    """A CSV cell that no spreadsheet turns into a formula: numbers as numbers, strings made safe."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "" if v != v else f"{v:.6g}"
    s = safe_text(v, 500)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def to_csv(tables: list[Table]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for t in tables:
        for r in t.rows:
            w.writerow([csv_cell(r.get(c)) for c in COLUMNS])
    return buf.getvalue()


_AUTOLINK = re.compile(r"(://|www\.)", re.IGNORECASE)


def _md(s, limit: int = 300) -> str:
    """A string from a submission in Markdown: visible-safe, escaped (`md_escape`), and defanged so
    that no renderer autolinks it (`http://x` → `http[:]//x`, `www.` → `www[.]`)."""
    if s in (None, ""):
        return "–"
    text = _AUTOLINK.sub(lambda m: "[:]//" if m.group(1) == "://" else m.group(1)[:3] + "[.]", safe_text(s, limit))
    return md_escape(text)


def _ci(v, lo, hi, f=pct) -> str:
    if v is None:
        return "–"
    return f(v) if lo is None or hi is None else f"{f(v)} [{f(lo)}, {f(hi)}]"


def _diff(v, lo, hi) -> str:
    sign = lambda x: ("+" if x >= 0 else "−") + f"{abs(100 * x):.1f}"  # noqa: E731
    if v is None:
        return "–"
    return sign(v) if lo is None or hi is None else f"{sign(v)} [{sign(lo)}, {sign(hi)}]"


def _p(v) -> str:
    return "–" if v is None else (f"{v:.3f}" if v >= 0.001 else "< 0.001")


def _dataset_line(info: dict) -> str:
    ds = info["dataset"]
    what = "the embedded SYNTHETIC sample" if ds["synthetic"] else f"{ds['source']} data"
    if ds.get("revision"):
        what += f" at revision {ds['revision']}"
    line = f"{what}; splits disjoint by {ds['split_by']}; test fingerprint {ds['fingerprint']}"
    return line + (f" ({info['fingerprint_checked_against']})" if info.get("fingerprint_checked_against") else "")


def monoculture_sentence(m: dict | None) -> str:
    """The paper's headline, in words (shared by the Markdown and the terminal)."""
    if not m:
        return "Monoculture: not computed for this table."
    a, mm = m["annotators"], m["models"]
    f = lambda v: "–" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    if not a["sets"]:
        head = f"No candidate set of this test split has ≥ {m['min_set_annotators']} distinct raters. "
    else:
        head = (
            f"On the {a['sets']} candidate sets judged by ≥ {m['min_set_annotators']} distinct annotators, two "
            f"annotators pick the same candidate {f(a['pair_agreement'])} of the time (the most popular pick serves "
            f"{f(a['plurality_share'])} of them). "
        )
    if len(mm["models"]) < 2:
        return head + "Model–model agreement needs at least two models."
    return head + (
        f"Two submitted models pick the same candidate {f(mm['mean_pairwise'])} of the time (mean over model "
        "pairs, shared comparisons only)."
    )


def _pd(v, p) -> str:
    """A gain with its CI and (Holm) p-value."""
    return "–" if v is None else f"{v} (p {_p(p)})"


def individual_markdown(t: Table) -> list[str]:
    """The individual track's section of a table: the headline per model, then each model's k-shot
    curve (mean top-1 per annotator [95% CI]; the random-other-user control)."""
    models = [(r, v) for r, v in zip(t.rows, t.individual) if v is not None]
    if not models:
        return []
    k = models[0][1]["headline_k"]
    lines = [
        f"**Few-shot personalization** (per annotator, unseen people; `individual_block`): at k = {k}, mean "
        "top-1 per annotator [95% CI, bootstrap over annotators]; gains paired on annotators, p Holm-corrected "
        "across the k of the curve; a gain *counts* only if significantly above both the population-only "
        "control (k = 0) and the random-other-user control. Gap closed: share of the gap between k = 0 and "
        "the individual oracle (synthetic sample only).",
        "",
        f"| model | method (view) | annotators | top-1 at k = {k} [95% CI] | k = 0 | gain vs population [95% CI] "
        "(p Holm) | gain vs random other user [95% CI] (p Holm) | counts | gap closed [95% CI] (p) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r, v in models:
        gap = _ci(r["ind_gap_closed"], r["ind_gap_closed_ci_low"], r["ind_gap_closed_ci_high"])
        lines.append(
            "| "
            + " | ".join(
                [
                    _md(r["model"]),
                    f"{_md(v['method'])} ({_md(v['view'])})",
                    "–" if r["ind_annotators"] is None else str(r["ind_annotators"]),
                    _ci(r["ind_top1"], r["ind_top1_ci_low"], r["ind_top1_ci_high"]),
                    pct(r["ind_top1_population"]),
                    _pd(_diff(r["ind_gain"], r["ind_gain_ci_low"], r["ind_gain_ci_high"]), r["ind_gain_p_holm"]),
                    _pd(
                        _diff(r["ind_gain_other"], r["ind_gain_other_ci_low"], r["ind_gain_other_ci_high"]),
                        r["ind_gain_other_p_holm"],
                    ),
                    "yes" if r["ind_counts"] else "no",
                    gap if r["ind_gap_closed"] is None else f"{gap} (p {_p(r['ind_gap_p'])})",
                ]
            )
            + " |"
        )
    ks = sorted({p["k"] for _, v in models for p in v["points"]})
    lines += [
        "",
        "k-shot curve: mean top-1 per annotator [95% CI]; other = the random-other-user control; * = the gain counts.",
        "",
        "| model | " + " | ".join(f"k = {x}" for x in ks) + " |",
        "|---|" + "---|" * len(ks),
    ]
    for r, v in models:
        by_k = {p["k"]: p for p in v["points"]}
        cells = []
        for x in ks:
            p = by_k.get(x)
            if p is None:
                cells.append("–")
                continue
            cell = _ci(p["mean_top1"], p["mean_top1_ci_low"], p["mean_top1_ci_high"])
            if x:
                cell += f"; other {pct(p['other_top1'])}" + (" \\*" if p["counts"] else "")
            cells.append(f"{cell} (n {p['annotators']})")
        lines.append(f"| {_md(r['model'])} | " + " | ".join(cells) + " |")
    return lines + [""]


def to_markdown(tables: list[Table], rejected: list[dict], ignored: list[str]) -> str:
    lines = [
        "# Community Alignment leaderboard",
        "",
        f"Every number is recomputed from the submitted scores with the evaluation contract. Ranked by "
        f"{HEADLINE['name']}; one table per protocol (track × dataset × split). Δ next: paired difference "
        "with the next entry on the same bootstrap replicates; p (Holm): its two-sided bootstrap p-value, "
        "Holm-corrected over the adjacent pairs; * = significant at 0.05. Smoke runs are listed, never "
        "ranked. Reference rows (baselines, oracles) come from the dataset alone.",
        "",
    ]
    for t in tables:
        info = t.info
        lines += [f"## {md_escape(t.protocol['id'])} (track {md_escape(info['track'])})", ""]
        lines.append(md_escape(_dataset_line(info)))
        lines.append("")
        if t.ranked:
            lines += [
                f"{info['evaluated']} comparisons ({info['uninformative']} uninformative left out), "
                f"{info['annotators']} annotators, {info['prompt_groups']} prompt groups; 95% CIs: "
                f"{md_escape(info['ci'])}, {info['resamples']} resamples.",
                "",
            ]
        else:
            lines += [md_escape(info["note"]), ""]
        lines += [
            "| rank | model | revision | method | conditioning | headline [95% CI] | Δ next [95% CI] | p (Holm) | "
            "worst country [95% CI] | gap [95% CI] | top-1 | pairwise | AUC | NLL | 1−JSD (sets) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in t.rows:
            star = " \\*" if r["better_than_next"] else ""
            worst = f"{_md(r['worst_country'])} {_ci(r['worst_country_top1'], r['worst_ci_low'], r['worst_ci_high'])}"
            lines.append(
                "| "
                + " | ".join(
                    [
                        str(r["rank"]) if r["rank"] is not None else "",
                        _md(r["model"]) + ("" if r["kind"] == "model" else f" ({_md(r['kind'])})"),
                        _md(r["revision"]),
                        _md(r["method"]),
                        _md(r["conditioning"]),
                        _ci(r["headline"], r["headline_ci_low"], r["headline_ci_high"]) + star,
                        _diff(r["diff_next"], r["diff_next_ci_low"], r["diff_next_ci_high"]),
                        _p(r["p_holm_next"]),
                        worst,
                        _ci(r["gap"], r["gap_ci_low"], r["gap_ci_high"]),
                        pct(r["top1"]),
                        pct(r["pairwise"]),
                        pct(r["auc"]),
                        num(r["nll"]),
                        f"{num(r['one_minus_jsd'])} ({r['jsd_sets']})",
                    ]
                )
                + " |"
            )
        lines.append("")
        if t.individual is not None:
            lines += individual_markdown(t)
        if t.ranked:
            lines += [md_escape(monoculture_sentence(t.monoculture)), ""]
        if info["dataset"]["synthetic"]:
            lines += ["> Evaluated on the embedded synthetic sample, not the real data.", ""]
    lines += [f"## Rejected ({len(rejected)})", ""]
    if not rejected:
        lines.append("None.")
    for r in rejected:
        problems = "; ".join(f"{_md(p['where'])}: {_md(p['message'], 600)}" for p in r["problems"])
        lines.append(f"- {_md(r['file'])}: {problems}")
    if ignored:
        lines += ["", f"Ignored (results summaries are never read): {len(ignored)} file(s)."]
    return "\n".join(lines) + "\n"


def page_data(tables: list[Table], rejected: list[dict], ignored: list[str]) -> dict:
    return clean_json(
        {
            "headline": HEADLINE["name"],
            "tables": [
                {
                    "id": t.protocol["id"],
                    "ranked": t.ranked,
                    "info": t.info,
                    "rows": t.rows,
                    "axes": t.axes,
                    "monoculture": t.monoculture,
                    "details": t.details,
                    "individual": t.individual,
                }
                for t in tables
            ],
            "rejected": rejected,
            "ignored": ignored,
        }
    )


def render_html(data: dict) -> str:
    """Self-contained page: data embedded as JSON (every `<`, `>`, `&` escaped), rendered with
    textContent only; every string from a submission is made visible-safe first (`safe_text`)."""
    template = (resources.files("community_alignment") / "templates" / "leaderboard.html").read_text("utf-8")
    payload = (
        json.dumps(data, ensure_ascii=True, allow_nan=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    return template.replace("/*__DATA__*/null", payload)


def _safe_strings(obj):
    """Every string of the page data through `safe_text` (no bidi override or control character)."""
    if isinstance(obj, dict):
        return {safe_text(k, 200): _safe_strings(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_safe_strings(v) for v in obj]
    if isinstance(obj, str):
        return safe_text(obj, 2000)
    return obj


def rejected_list(rejected: list[Checked], rels: dict[str, str]) -> list[dict]:
    return [
        {
            "file": safe_text(rels.get(c.path, c.path)),
            "problems": [{"where": safe_text(p.where, 120), "message": safe_text(p.message, 600)} for p in c.problems],
        }
        for c in rejected
    ]


def build(
    folder: str,
    out_dir: str,
    resamples: int = 1000,
    seed: int = 0,
    fingerprints: tuple[str, ...] = (),
    data_path: str | None = None,
    overwrite: bool = False,
    truths: TruthCache | None = None,
) -> dict:
    """Check every submission under `folder`, rank the good ones, write the site to `out_dir`.
    Returns {tables, entries, rejected, ignored, written}."""
    targets = [os.path.join(out_dir, f) for f in SITE_FILES]
    existing = [t for t in targets if os.path.lexists(t)]
    if existing and not overwrite:
        raise BuildError(f"{safe_text(existing[0])} exists: pass --overwrite to replace the site's files")
    if os.path.lexists(out_dir) and not os.path.isdir(out_dir):
        raise BuildError(f"{safe_text(out_dir)} exists and is not a folder")
    root = os.path.realpath(folder)
    candidates, rejected, ignored = collect(folder)
    rels = {p: os.path.relpath(p, root) for p in candidates}
    rels.update({c.path: os.path.relpath(c.path, root) for c in rejected})
    checked = check_many(candidates, tuple(fingerprints), data_path, truths or TruthCache(data_path), rels)
    tables, failed = build_tables(checked, rels, resamples, seed)
    rejected += [c for c in checked if not c.ok and c not in failed] + failed
    rejected.sort(key=lambda c: rels.get(c.path, c.path))
    bad = rejected_list(rejected, rels)
    ignored_rel = [safe_text(os.path.relpath(p, root)) for p in ignored]
    os.makedirs(out_dir, exist_ok=True)
    data = _safe_strings(page_data(tables, bad, ignored_rel))
    atomic_write_text(targets[0], render_html(data))
    atomic_write_text(targets[1], to_csv(tables))
    atomic_write_text(targets[2], to_markdown(tables, bad, ignored_rel))
    return {
        "tables": [
            {
                "id": t.protocol["id"],
                "ranked": t.ranked,
                "models": sum(r["kind"] == "model" for r in t.rows),
                "references": sum(r["kind"] != "model" for r in t.rows),
                "monoculture": monoculture_sentence(t.monoculture) if t.ranked else None,
            }
            for t in tables
        ],
        "entries": sum(r["kind"] == "model" for t in tables for r in t.rows),
        "rejected": bad,
        "ignored": ignored_rel,
        "written": targets,
    }
