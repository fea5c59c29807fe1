"""One leaderboard table per protocol id, every number recomputed from the submitted scores through the
evaluation contract (`metrics.contract`); nothing a submitter wrote is read but scores and metadata.

Ranked tables (tracks `main`, `en`): every submission covers exactly the track's test comparisons
(`validate`), so one `Evaluation` on the truth gives every submission a block on the **same bootstrap
replicates** (the two-way pigeonhole bootstrap over annotators × prompt groups). The CIs of each entry
and of the differences between entries are therefore exact paired bootstrap CIs, not approximations
from per-group intervals. Entries are ranked by the headline (`contract.HEADLINE`: top-1 accuracy,
macro over countries); each entry is tested against the next one down with the contract's paired
difference of the headline (`Evaluation.versus(…)["macro"]`, two-sided bootstrap p-value) on their
shared comparisons — all of them, in a ranked table — and the p-values of the adjacent pairs are
Holm-corrected as one family. References (random, length, position prior and, on the sample, the
oracles) come from the dataset alone (`protocol.references`) and are shown unranked.

Track `unseen_annotators` (the individual track) is ranked the same way on its population test rows
(`validate` keeps those: people the model never saw). Each model row also carries the individual
headline of `protocol.individual.individual_block`, computed once per submission with the table's
resamples and seed (`individual_view`): mean top-1 per annotator at the design's headline k with its
CI, the paired gains over the population-only control (k = 0) and over the random-other-user control
(CI, p, Holm p across the curve), whether the gain `counts` (significantly above both), and on the
synthetic sample the share of the gap to the individual oracle closed (CI, p). The table keeps each
model's k-shot curve for the page. Nothing submitted is read but the scores.

Smoke tables (track `smoke`: subsampled or filtered runs): each submission is evaluated on its own
comparisons, listed, never ranked or tested.

Model–model agreement and the annotators' agreement come from `contract.monoculture_view`, the one
implementation the monoculture analysis (`analysis.monoculture.model_view`) uses: agreement on shared
comparisons only, on the candidate sets judged by ≥ 10 distinct annotators.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..metrics import contract
from ..metrics.bootstrap import holm
from ..metrics.contract import HEADLINE, Evaluation, headline_of
from ..protocol.episodes import DESIGN
from ..protocol.evaluate import scorer_temperature
from ..protocol.individual import TRACK as INDIVIDUAL_TRACK
from ..protocol.individual import individual_block
from ..protocol.references import reference_inputs
from ..protocol.submission import Problem
from ..protocol.truth import Truth
from ..results.types import Difference, Estimate, IndividualBlock, ScorerBlock
from .validate import Checked, safe_text


@dataclass
class Table:
    """One protocol id's table: rows (models ranked, then references), the per-axis view, the
    monoculture panel and per-model details."""

    protocol: dict
    ranked: bool
    info: dict
    rows: list[dict] = field(default_factory=list)
    axes: dict = field(default_factory=dict)
    monoculture: dict | None = None
    details: list[dict | None] = field(default_factory=list)
    individual: list[dict | None] | None = None  # per row: the k-shot curve (track unseen_annotators only)


def model_label(c: Checked) -> str:
    m = c.submission.metadata["model"]
    return f"{m['name']} ({m['method']}, {m['conditioning']})"


def revision_label(model: dict) -> str:
    if model.get("revision"):
        return str(model["revision"])[:12]
    if model.get("weights_sha256"):
        return "weights:" + str(model["weights_sha256"])[:12]
    return ""


def full_scores(c: Checked, n: int) -> np.ndarray:
    """(n, 4) scores on the truth's test rows (NaN where the submission has no row)."""
    out = np.full((n, 4), np.nan)
    out[c.rows] = c.scores
    return out


def _f(x) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def block_row(block: ScorerBlock) -> dict:
    """The numbers of one scorer block that the table shows (None where not computable)."""
    head = headline_of(block)
    axis = block.axes.get(HEADLINE["axis"])
    s = axis.top1_accuracy if axis is not None else None
    o, d = block.overall, block.distributional
    return {
        "headline": _f(head.value),
        "headline_ci_low": _f(head.ci_low),
        "headline_ci_high": _f(head.ci_high),
        "worst_country": s.worst_group if s is not None else None,
        "worst_country_top1": _f(s.worst.value) if s is not None else None,
        "worst_ci_low": _f(s.worst.ci_low) if s is not None else None,
        "worst_ci_high": _f(s.worst.ci_high) if s is not None else None,
        "gap": _f(s.gap.value) if s is not None else None,
        "gap_ci_low": _f(s.gap.ci_low) if s is not None else None,
        "gap_ci_high": _f(s.gap.ci_high) if s is not None else None,
        "gap_p": _f(s.gap_p) if s is not None else None,
        "top1": _f(o.top1_accuracy.value),
        "top1_ci_low": _f(o.top1_accuracy.ci_low),
        "top1_ci_high": _f(o.top1_accuracy.ci_high),
        "pairwise": _f(o.pairwise_accuracy.value),
        "auc": _f(o.pairwise_auc.value),
        "nll": _f(o.nll.value),
        "ece": _f(o.ece),
        "one_minus_jsd": _f(d.fit.value),
        "jsd_ci_low": _f(d.fit.ci_low),
        "jsd_ci_high": _f(d.fit.ci_high),
        "jsd_sets": d.sets,
        "comparisons": o.n,
        "annotators": o.annotators,
    }


NEXT_KEYS = ("diff_next", "diff_next_ci_low", "diff_next_ci_high", "p_next", "p_holm_next", "better_than_next")


def _empty_next() -> dict:
    return {k: (False if k == "better_than_next" else None) for k in NEXT_KEYS}


def model_row(c: Checked, block: ScorerBlock, protocol: dict, rel: str) -> dict:
    m = c.submission.metadata["model"]
    return {
        "table": protocol["id"],
        "rank": None,
        "model": m["name"],
        "revision": revision_label(m),
        "method": m["method"],
        "conditioning": m["conditioning"],
        "kind": "model",
        **block_row(block),
        **_empty_next(),
        "synthetic": bool(protocol["dataset"]["synthetic"]),
        "file": rel,
        "sha256": c.submission.sha256,
    }


def reference_row(name: str, block: ScorerBlock, protocol: dict) -> dict:
    return {
        "table": protocol["id"],
        "rank": None,
        "model": name,
        "revision": "",
        "method": block.kind,
        "conditioning": "",
        "kind": block.kind,
        **block_row(block),
        **_empty_next(),
        "synthetic": bool(protocol["dataset"]["synthetic"]),
        "file": "",
        "sha256": "",
    }


def details_of(c: Checked, rel: str) -> dict:
    meta = c.submission.metadata
    return {
        "file": rel,
        "sha256": c.submission.sha256,
        "fingerprint_checked_against": c.fingerprint_source,
        **{k: meta.get(k) for k in ("model", "protocol", "truncation", "training", "evaluation", "provenance")},
    }


def axes_view(blocks: list[ScorerBlock]) -> dict:
    """axis → {groups, eligible, annotators, values / ci_low / ci_high (rows × groups top-1)} for the
    rows' blocks in order (None where a row has no such group: smoke runs cover different rows)."""
    out = {}
    for axis in blocks[0].axes if blocks else {}:
        per_row = [b.axes[axis].groups if axis in b.axes else {} for b in blocks]
        first: dict = {}
        for groups in per_row:
            for g, gb in groups.items():
                first.setdefault(g, gb)
        names = list(first)

        def pick(groups: dict, attr: str, names: list = names) -> list:
            return [_f(getattr(groups[g].top1_accuracy, attr)) if g in groups else None for g in names]

        out[axis] = {
            "groups": [str(g) for g in names],
            "eligible": [bool(first[g].eligible) for g in names],
            "annotators": [int(first[g].annotators) for g in names],
            "values": [pick(groups, "value") for groups in per_row],
            "ci_low": [pick(groups, "ci_low") for groups in per_row],
            "ci_high": [pick(groups, "ci_high") for groups in per_row],
        }
    return out


INDIVIDUAL_KEYS = (
    "ind_method",
    "ind_view",
    "ind_k",
    "ind_annotators",
    "ind_top1",
    "ind_top1_ci_low",
    "ind_top1_ci_high",
    "ind_top1_population",
    "ind_gain",
    "ind_gain_ci_low",
    "ind_gain_ci_high",
    "ind_gain_p",
    "ind_gain_p_holm",
    "ind_gain_other",
    "ind_gain_other_ci_low",
    "ind_gain_other_ci_high",
    "ind_gain_other_p",
    "ind_gain_other_p_holm",
    "ind_counts",
    "ind_gap_closed",
    "ind_gap_closed_ci_low",
    "ind_gap_closed_ci_high",
    "ind_gap_p",
    "ind_oracle_individual",
)


def _est(prefix: str, e: Estimate) -> dict:
    return {prefix: _f(e.value), f"{prefix}_ci_low": _f(e.ci_low), f"{prefix}_ci_high": _f(e.ci_high)}


def _gain(prefix: str, d: Difference) -> dict:
    return {**_est(prefix, d.difference), f"{prefix}_p": _f(d.p), f"{prefix}_p_holm": _f(d.p_holm)}


def individual_view(block: IndividualBlock) -> tuple[dict, dict]:
    """(the row's `ind_*` columns, the k-shot curve for the page) of one submission's individual block:
    its headline method and view (`block.headline`), at the design's headline k. Every number is the
    block's; a headline k that no annotator reaches leaves the columns None."""
    h = block.headline
    curve = block.views[h["view"]][h["method"]]
    row = dict.fromkeys(INDIVIDUAL_KEYS)
    row.update(ind_method=h["method"], ind_view=h["view"], ind_k=int(h["k"]), ind_counts=False)
    point = curve.points.get(str(h["k"]))
    if point is not None:
        row.update(
            ind_annotators=int(point.annotators),
            **_est("ind_top1", point.top1.mean),
            ind_top1_population=_f(h["top1_population"]),  # k = 0 on the same annotators
            **_gain("ind_gain", point.vs_population["top1"]),
            **_gain("ind_gain_other", point.vs_random_other["top1"]),
            ind_counts=bool(point.counts),
            **_est("ind_gap_closed", point.gap_closed),
            ind_gap_p=_f(point.gap_p),
            ind_oracle_individual=_f(point.references.get("oracle_individual", {}).get("top1")),
        )
    points = []
    for k in sorted(curve.points, key=int):
        p = curve.points[k]
        points.append(
            {
                "k": int(p.k),
                "annotators": int(p.annotators),
                **_est("mean_top1", p.top1.mean),
                **_est("other_top1", p.other_top1),
                **_gain("gain", p.vs_population["top1"]),
                **_gain("gain_other", p.vs_random_other["top1"]),
                "counts": bool(p.counts),
            }
        )
    view = {
        "method": h["method"],
        "view": h["view"],
        "headline_k": int(h["k"]),
        "description": curve.description,
        "setting": block.setting,
        "evaluated": block.annotators.get("evaluated"),
        "too_few": block.annotators.get("too_few", {}).get("count"),
        "points": points,
    }
    return row, view


def _sort_key(item) -> tuple:
    label, block = item[0], item[1]
    h = headline_of(block).value
    return (0, -h, label) if math.isfinite(h) else (1, 0.0, label)


def _evaluate(ev: Evaluation, scores: np.ndarray, kind: str, temperature: float | None, truth=None):
    with np.errstate(all="ignore"):  # huge finite scores overflow to an infinite NLL: shown as "–"
        return ev.block(scores, kind, temperature, truth)


def unique_labels(entries: list[Checked], rels: dict[str, str]) -> list[str]:
    labels = [model_label(c) for c in entries]
    out = []
    for c, label in zip(entries, labels):
        out.append(label if labels.count(label) == 1 else f"{label} [{rels[c.path]}]")
    return out


def ranked_table(
    truth: Truth, entries: list[Checked], rels: dict[str, str], resamples: int, seed: int
) -> tuple[Table, list[Checked]]:
    """A ranked table (track main / en): (table, entries the contract could not evaluate)."""
    data = truth.test.data
    ev = Evaluation(data, resamples, seed)
    keep = np.flatnonzero(data.informative)
    n = len(truth.test.turn)
    individual = truth.track.name == INDIVIDUAL_TRACK
    views: dict[str, tuple[dict, dict]] = {}
    done, failed = [], []
    for c in entries:
        try:
            block, cache = _evaluate(ev, full_scores(c, n)[keep], "model", scorer_temperature(c.submission.metadata))
            if individual:
                with np.errstate(all="ignore"):
                    views[c.path] = individual_view(individual_block(c.submission, truth, resamples, seed))
        except Exception as e:
            c.problems.append(Problem("scores", f"the contract could not evaluate them: {safe_text(e, 200)}"))
            failed.append(c)
            continue
        done.append((model_label(c), block, cache, c))
    done.sort(key=_sort_key)
    rows = [model_row(c, b, truth.protocol, rels[c.path]) for _, b, _, c in done]
    for r, (*_, c) in zip(rows, done):
        if individual:
            r.update(views[c.path][0])
    diffs: list[Difference | None] = []
    for i in range(len(done) - 1):
        diffs.append(ev.versus(done[i][2], done[i + 1][2]).get(HEADLINE["statistic"]))
    adjusted = holm({str(i): d.p for i, d in enumerate(diffs) if d is not None})
    for i, d in enumerate(diffs):
        if d is None:
            continue
        adj = adjusted[str(i)]
        rows[i].update(
            diff_next=_f(d.difference.value),
            diff_next_ci_low=_f(d.difference.ci_low),
            diff_next_ci_high=_f(d.difference.ci_high),
            p_next=_f(d.p),
            p_holm_next=_f(adj["p_holm"]),
            better_than_next=bool(adj["significant"] and d.difference.value > 0),
        )
    for i, r in enumerate(rows):
        r["rank"] = i + 1
    refs = []
    for name, s in reference_inputs(truth).items():
        t = None if s.truth is None else s.truth[keep]
        block, _ = _evaluate(ev, s.scores[keep], s.kind, s.temperature, t)
        refs.append((name, block))
    rows += [reference_row(name, b, truth.protocol) for name, b in refs]
    kept = [c for *_, c in done]
    labels = unique_labels(kept, rels)
    mono = None
    if kept:
        with np.errstate(all="ignore"):
            view = contract.monoculture_view(
                data,
                {lab: full_scores(c, n) for lab, c in zip(labels, kept)},
                {lab: scorer_temperature(c.submission.metadata) for lab, c in zip(labels, kept)},
            )
        mono = {**view, "labels": labels}
    info = table_info(truth, ev, len(kept))
    info["fingerprint_checked_against"] = kept[0].fingerprint_source if kept else None
    if individual:
        info["individual"] = {
            "design": DESIGN.to_dict(),
            "ci": "bootstrap over annotators (paired), Holm across the k of a curve",
            "resamples": resamples,
            "seed": seed,
        }
    table = Table(
        truth.protocol,
        True,
        info,
        rows,
        axes_view([b for _, b, _, _ in done] + [b for _, b in refs]),
        mono,
        [details_of(c, rels[c.path]) for c in kept] + [None] * len(refs),
        [views[c.path][1] for c in kept] + [None] * len(refs) if individual else None,
    )
    return table, failed


def smoke_table(
    truth: Truth, entries: list[Checked], rels: dict[str, str], resamples: int, seed: int
) -> tuple[Table, list[Checked]]:
    """Smoke submissions: each evaluated on its own comparisons; listed, never ranked."""
    done, failed = [], []
    for c in entries:
        try:
            sub = truth.test.data.select(c.rows)
            ev = Evaluation(sub, resamples, seed)
            keep = np.flatnonzero(sub.informative)
            block, _ = _evaluate(ev, c.scores[keep], "model", scorer_temperature(c.submission.metadata))
        except Exception as e:
            c.problems.append(Problem("scores", f"the contract could not evaluate them: {safe_text(e, 200)}"))
            failed.append(c)
            continue
        done.append((model_label(c), block, None, c))
    done.sort(key=lambda x: x[0])
    rows = [model_row(c, b, truth.protocol, rels[c.path]) for _, b, _, c in done]
    info = {
        "track": truth.protocol["track"],
        "dataset": truth.protocol["dataset"],
        "test_comparisons": len(truth.test.turn),
        "models": len(done),
        "note": "smoke runs (subsampled or filtered): each evaluated on its own comparisons; never ranked",
        "fingerprint_checked_against": done[0][3].fingerprint_source if done else None,
        "resamples": resamples,
        "seed": seed,
    }
    table = Table(
        truth.protocol,
        False,
        info,
        rows,
        axes_view([b for _, b, _, _ in done]),
        None,
        [details_of(c, rels[c.path]) for *_, c in done],
    )
    return table, failed


def table_info(truth: Truth, ev: Evaluation, models: int) -> dict:
    d = ev.data
    return {
        "track": truth.protocol["track"],
        "dataset": truth.protocol["dataset"],
        "test_comparisons": len(truth.test.turn),
        "evaluated": len(d),
        "uninformative": ev.dropped_uninformative,
        "annotators": int(len(np.unique(np.asarray(d.annotators)))),
        "prompt_groups": int(len(np.unique(d.prompts))) if d.prompts is not None else 0,
        "qualifying_sets": ev.n_sets,
        "models": models,
        "ci": ev.reps.method,
        "resamples": ev.resamples,
        "seed": ev.seed,
        "min_group_annotators": ev.min_group_annotators,
        "headline": HEADLINE["name"],
    }
