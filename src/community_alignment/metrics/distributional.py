"""Distributional fit on candidate sets judged by many annotators: 1 − Jensen–Shannon distance (base 2)."""

from __future__ import annotations

import numpy as np


def js_distance(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen–Shannon distance with log base 2 (in [0, 1]) between rows of p and q."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    m = (p + q) / 2

    def kl(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(a > 0, a * np.log2(a / b), 0.0)
        return t.sum(-1)

    return np.sqrt(np.clip(0.5 * kl(p, m) + 0.5 * kl(q, m), 0.0, 1.0))


def set_fit(
    probs: np.ndarray, chosen: np.ndarray, set_keys: np.ndarray, min_raters: int = 10, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each candidate set with ≥ `min_raters` comparisons (restricted to `mask`): observed vote
    shares, the model's choice distribution (mean of per-comparison probabilities: a conditioned model
    may differ by rater) and 1 − JS distance. Returns (keys, fits, raters)."""
    keys = np.asarray(set_keys)
    sel = np.ones(len(keys), bool) if mask is None else np.asarray(mask, bool)
    uniq, inverse, counts = np.unique(keys[sel], return_inverse=True, return_counts=True)
    big = counts >= min_raters
    if not big.any():
        return uniq[:0], np.zeros(0), np.zeros(0, int)
    votes = np.zeros((len(uniq), 4))
    np.add.at(votes, (inverse, np.asarray(chosen)[sel]), 1.0)
    model = np.zeros((len(uniq), 4))
    np.add.at(model, inverse, np.nan_to_num(np.asarray(probs)[sel]))
    observed = votes[big] / counts[big, None]
    predicted = model[big] / counts[big, None]
    return uniq[big], 1.0 - js_distance(observed, predicted), counts[big]


def distributional_summary(
    probs: np.ndarray,
    chosen: np.ndarray,
    set_keys: np.ndarray,
    groups: np.ndarray | None = None,
    min_raters: int = 10,
    min_group_raters: int = 5,
) -> dict:
    """Mean 1 − JSD over sets with ≥ min_raters raters, overall and (optionally) within each group
    (sets with ≥ min_group_raters raters of that group)."""
    _, fits, raters = set_fit(probs, chosen, set_keys, min_raters)
    out = {
        "metric": "1 - Jensen-Shannon distance (log base 2)",
        "min_raters": min_raters,
        "sets": int(len(fits)),
        "raters": int(raters.sum()),
        "value": float(fits.mean()) if len(fits) else float("nan"),
    }
    if groups is not None:
        g = np.asarray(groups, dtype=object)
        out["groups"] = {}
        for name in sorted({x for x in g if x is not None}, key=str):
            _, gf, gr = set_fit(probs, chosen, set_keys, min_group_raters, mask=g == name)
            out["groups"][str(name)] = {"sets": int(len(gf)), "value": float(gf.mean()) if len(gf) else float("nan")}
    return out
