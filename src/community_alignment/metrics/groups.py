"""Per-subgroup metrics with annotator-clustered bootstrap CIs, and per-axis summaries."""

from __future__ import annotations

import numpy as np

from . import accuracy, bootstrap

MISSING = "(missing)"
#: Subgroup axes → the comparison column(s) defining them (ethnicity is only comparable within a country).
AXES: dict[str, tuple[str, ...]] = {
    "country": ("annotator_country",),
    "language": ("assigned_lang",),
    "turn": ("turn",),
    "age": ("annotator_age",),
    "gender": ("annotator_gender",),
    "education": ("annotator_education_level",),
    "political": ("annotator_political",),
    "ethnicity_within_country": ("annotator_country", "annotator_ethnicity"),
    "country_language": ("annotator_country", "assigned_lang"),
    "wave": ("wave",),
    "prompt_origin": ("is_pregenerated_first_prompt",),
}
METRICS = ("top1_accuracy", "pairwise_accuracy", "nll")
MIN_GROUP_N = 30  # groups smaller than this are reported but not used for worst/gap/macro


def group_labels(columns: dict[str, np.ndarray], axis: str) -> np.ndarray:
    """The group label of each comparison on one axis (missing values → "(missing)")."""
    cols = [np.asarray(columns[c], dtype=object) for c in AXES[axis]]
    if axis == "prompt_origin":
        return np.where(cols[0] == True, "pregenerated", "annotator-written").astype(object)  # noqa: E712
    if axis == "turn":
        return np.array([f"turn_{int(v)}" for v in cols[0]], dtype=object)
    if axis == "wave":
        return np.array([MISSING if v is None else f"wave_{int(v)}" for v in cols[0]], dtype=object)
    if len(cols) == 2:
        return np.array([MISSING if b is None else f"{a} / {b}" for a, b in zip(*cols)], dtype=object)
    return np.array([MISSING if v is None else str(v) for v in cols[0]], dtype=object)


def per_comparison(scores: np.ndarray, chosen: np.ndarray, temperature: float) -> dict[str, np.ndarray]:
    """Numerators/denominators per comparison for each metric (ratios of sums aggregate them)."""
    credit, pairs = accuracy.pairwise_credit(scores, chosen)
    ones = np.ones(len(chosen))
    return {
        "top1_accuracy": (accuracy.top1_credit(scores, chosen), ones),
        "pairwise_accuracy": (credit, pairs),
        "nll": (accuracy.nll(scores, chosen, temperature), ones),
    }


def metric_block(values: dict, sel: np.ndarray, annotators: np.ndarray, resamples: int, seed: int) -> dict:
    out = {"n": int(sel.sum())}
    for name, (num, den) in values.items():
        v, lo, hi = bootstrap.ratio_ci(num[sel], den[sel], annotators[sel], resamples=resamples, seed=seed)
        out[name] = {"value": v, "ci_low": lo, "ci_high": hi}
    out["annotators"] = int(len(np.unique(annotators[sel])))
    return out


def evaluate_groups(
    scores: np.ndarray,
    chosen: np.ndarray,
    annotators: np.ndarray,
    columns: dict[str, np.ndarray],
    temperature: float = 1.0,
    axes: tuple[str, ...] = tuple(AXES),
    resamples: int = bootstrap.DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[dict, dict, dict]:
    """(overall, results[axis][group], summary[axis]) for one scorer."""
    values = per_comparison(scores, chosen, temperature)
    annotators = np.asarray(annotators)
    everything = np.ones(len(chosen), bool)
    overall = metric_block(values, everything, annotators, resamples, seed)
    overall["ece"] = accuracy.expected_calibration_error(scores, chosen, temperature)
    results, summary = {}, {}
    for axis in axes:
        labels = group_labels(columns, axis)
        results[axis] = {}
        for g in sorted(set(labels), key=str):
            sel = labels == g
            results[axis][g] = metric_block(values, sel, annotators, resamples, seed)
            results[axis][g]["ece"] = accuracy.expected_calibration_error(scores[sel], chosen[sel], temperature)
        summary[axis] = summarize_axis(results[axis], overall)
    return overall, results, summary


def summarize_axis(groups: dict, overall: dict, min_n: int = MIN_GROUP_N) -> dict:
    """Micro (= overall), macro, worst group and gap (best − worst) per metric over eligible groups."""
    eligible = {g: r for g, r in groups.items() if g != MISSING and r["n"] >= min_n}
    out = {"eligible_groups": sorted(eligible), "min_group_n": min_n}
    for m in ("top1_accuracy", "pairwise_accuracy"):
        vals = {g: r[m]["value"] for g, r in eligible.items()}
        if not vals:
            out[m] = {
                "micro": overall[m]["value"],
                "macro": float("nan"),
                "worst_group": None,
                "worst": float("nan"),
                "gap": float("nan"),
            }
            continue
        worst = min(vals, key=vals.get)
        out[m] = {
            "micro": overall[m]["value"],
            "macro": float(np.mean(list(vals.values()))),
            "worst_group": worst,
            "worst": vals[worst],
            "gap": float(max(vals.values()) - vals[worst]),
        }
    return out
