"""Score the evaluation comparisons with a model and its references, and compute every metric."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from ..metrics import accuracy, bootstrap, distributional, groups
from ..scoring.base import ComparisonBatch

HEADLINE_AXIS = "country"


def set_keys(batch: ComparisonBatch) -> np.ndarray:
    """Identity of the shown item (context + ordered candidates): the unit of distributional fit."""
    return np.array(
        [
            hashlib.sha1(json.dumps([c, k], ensure_ascii=False).encode()).hexdigest()[:16]
            for c, k in zip(batch.contexts, batch.candidates)
        ],
        dtype=object,
    )


def evaluate_scores(
    val_scores, val: ComparisonBatch, test_scores, test: ComparisonBatch, keys, resamples: int, seed: int
) -> dict:
    """All metrics of one scorer: temperature fitted on validation, everything else on test."""
    T = accuracy.fit_temperature(val_scores, val.chosen) if len(val) else 1.0
    annotators = test.columns["annotator_id"]
    cols = {**test.columns, "turn": test.turn}
    overall, by_group, summary = groups.evaluate_groups(
        test_scores, test.chosen, annotators, cols, T, resamples=resamples, seed=seed
    )
    probs = accuracy.choice_probabilities(test_scores, T)
    dist = distributional.distributional_summary(probs, test.chosen, keys, groups=test.columns["annotator_country"])
    return {"temperature": T, "overall": overall, "groups": by_group, "summary": summary, "distributional": dist}


def significance(
    main_scores, ref_scores: dict, test: ComparisonBatch, resamples: int, seed: int, axis: str = HEADLINE_AXIS
) -> dict:
    """Per group of `axis`: top-1 difference main − reference, clustered-bootstrap p, Holm across groups."""
    labels = groups.group_labels({**test.columns, "turn": test.turn}, axis)
    main_top1 = accuracy.top1_credit(main_scores, test.chosen)
    out = {
        "axis": axis,
        "metric": "top1_accuracy",
        "test": "paired bootstrap clustered on annotators, Holm-corrected",
        "against": {},
    }
    for name, s in ref_scores.items():
        ref_top1 = accuracy.top1_credit(s, test.chosen)
        diffs, pvals = {}, {}
        for g in sorted(set(labels) - {groups.MISSING}):
            sel = labels == g
            d, p = bootstrap.paired_difference_pvalue(
                main_top1[sel], ref_top1[sel], np.ones(sel.sum()), test.columns["annotator_id"][sel], resamples, seed
            )
            diffs[g], pvals[g] = d, p
        adjusted = bootstrap.holm(pvals)
        out["against"][name] = {g: {"difference": diffs[g], **adjusted[g]} for g in diffs}
    return out


def flat_results(ev: dict) -> dict:
    """results[axis] = headline numbers (leaderboard-reader shape) + the per-group blocks."""
    out = {}
    for axis, summ in ev["summary"].items():
        flat = {}
        for m in ("top1_accuracy", "pairwise_accuracy"):
            for k in ("micro", "macro", "worst", "gap"):
                flat[f"{m}_{k}"] = summ[m][k]
        out[axis] = {**flat, "groups": ev["groups"][axis]}
    out["distributional"] = {"one_minus_jsd": ev["distributional"]["value"], "groups": {}}
    return out
