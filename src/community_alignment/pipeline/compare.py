"""A comparative report of several runs (e.g. pooled vs country-conditioned) from their results.json."""

from __future__ import annotations

import os

from ..io_utils import atomic_write_text
from ..results.io import read_results
from ..results.report import _f


def compare(run_dirs: dict[str, str], out_path: str, axis: str = "country") -> dict:
    """Write a markdown table of top-1 per group of `axis` for each run, with worst group and gap."""
    runs = {label: read_results(os.path.join(d, "results.json")) for label, d in run_dirs.items()}
    any_run = next(iter(runs.values()))
    groups = list(any_run["results"][axis]["groups"])
    lines = [f"# Pluralism experiment: top-1 accuracy by {axis}", ""]
    if any_run["config"]["dataset"]["synthetic"]:
        lines.append("> Synthetic sample: the groups were generated to disagree (docs/synthetic.md).\n")
    header = ["run", *groups, "macro", "worst", "gap"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    summary = {}
    for label, r in runs.items():
        g = r["results"][axis]["groups"]
        s = r["summary"][axis]["top1_accuracy"]
        summary[label] = s
        cells = [label] + [_f(g[k]["top1_accuracy"]["value"]) if k in g else "–" for k in groups]
        cells += [_f(s["macro"]), f"{_f(s['worst'])} ({s['worst_group']})", _f(s["gap"])]
        lines.append("| " + " | ".join(cells) + " |")
    refs = any_run["reference"]
    for name in ("oracle_country", "oracle_pooled", "position_prior"):
        if name in refs:
            g = refs[name]["groups"][axis]
            s = refs[name]["summary"][axis]["top1_accuracy"]
            cells = [f"*{name}*"] + [_f(g[k]["top1_accuracy"]["value"]) if k in g else "–" for k in groups]
            cells += [_f(s["macro"]), f"{_f(s['worst'])} ({s['worst_group']})", _f(s["gap"])]
            lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Each run's full report: "
        + ", ".join(f"[{k}]({os.path.relpath(v, os.path.dirname(out_path))}/report.md)" for k, v in run_dirs.items()),
    ]
    atomic_write_text(out_path, "\n".join(lines) + "\n")
    return summary
