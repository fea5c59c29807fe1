"""Distributional fit on candidate sets judged by many annotators: 1 − Jensen–Shannon distance (base 2).

A *set* is one shown item: the same context and the same ordered candidates (`protocol.truth.set_keys`).
A set qualifies when at least `MIN_SET_ANNOTATORS` **distinct annotators** judged it in the evaluated
split (never a subsample). Observed distribution: the vote shares over the letters (one vote per
comparison). The model's distribution: the mean, over the set's comparisons, of its choice probabilities
softmax(score / T) over the present candidates (a conditioned model may differ by rater).

Even the true distribution does not reach 1 − JSD = 1 on a finite set: ten votes are a noisy estimate
of the shares. The synthetic sample's `oracle_true` reference shows that ceiling.

The CI is the two-way bootstrap of the whole statistic: per replicate, the rows of each set are
re-weighted (annotator × prompt factors: both the vote shares and the model's mean move), and sets enter
the mean with their prompt group's multiplicity.
"""

from __future__ import annotations

import numpy as np

from .bootstrap import Replicates, percentile_ci

MIN_SET_ANNOTATORS = 10
MIN_GROUP_SET_ANNOTATORS = 5
METRIC = "1 - Jensen-Shannon distance (log base 2)"


def js_distance(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen–Shannon distance with log base 2 (in [0, 1]) between rows (last axis) of p and q."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    m = (p + q) / 2

    def kl(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(a > 0, a * np.log2(a / np.where(b > 0, b, 1.0)), 0.0)
        return t.sum(-1)

    return np.sqrt(np.clip(0.5 * kl(p, m) + 0.5 * kl(q, m), 0.0, 1.0))


def qualifying_sets(
    set_keys: np.ndarray,
    annotators: np.ndarray,
    min_annotators: int = MIN_SET_ANNOTATORS,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """(set code per row: 0..S−1 for rows of a set with ≥ `min_annotators` distinct annotators among
    the rows in `mask`, −1 otherwise; S)."""
    keys = np.asarray(set_keys)
    sel = np.ones(len(keys), bool) if mask is None else np.asarray(mask, bool)
    codes = np.full(len(keys), -1, dtype=np.int64)
    if not sel.any():
        return codes, 0
    uniq, inv = np.unique(keys[sel], return_inverse=True)
    ann = np.asarray(annotators)[sel]
    pairs = np.unique(np.stack([inv, np.unique(ann, return_inverse=True)[1]], 1), axis=0)
    distinct = np.bincount(pairs[:, 0], minlength=len(uniq))
    big = distinct >= min_annotators
    remap = np.full(len(uniq), -1, dtype=np.int64)
    remap[big] = np.arange(int(big.sum()))
    codes[np.flatnonzero(sel)] = remap[inv]
    return codes, int(big.sum())


def _fits(probs: np.ndarray, chosen: np.ndarray, codes: np.ndarray, n_sets: int, weights: np.ndarray | None):
    """1 − JSD per set, for the original data (weights None → (S,)) or per replicate ((B, S)).
    Each row belongs to one set: the per-set sums are sparse products (O(B · rows), not O(B · rows · S))."""
    from scipy import sparse

    rows = np.flatnonzero(codes >= 0)
    c = codes[rows]
    m = len(rows)
    votes = sparse.csr_matrix((np.ones(m), (np.arange(m), c * 4 + np.asarray(chosen)[rows])), shape=(m, 4 * n_sets))
    cols = (c[:, None] * 4 + np.arange(4)).ravel()
    model = sparse.csr_matrix(
        (np.asarray(probs, np.float64)[rows].ravel(), (np.repeat(np.arange(m), 4), cols)), shape=(m, 4 * n_sets)
    )
    if weights is None:
        v, mo = np.asarray(votes.sum(0)), np.asarray(model.sum(0))
    else:
        w = np.asarray(weights[:, rows], dtype=np.float64)
        v, mo = (votes.T @ w.T).T, (model.T @ w.T).T
    v = np.asarray(v).reshape(len(v), n_sets, 4)
    mo = np.asarray(mo).reshape(len(mo), n_sets, 4)
    with np.errstate(invalid="ignore", divide="ignore"):
        obs = v / v.sum(-1, keepdims=True)
        pred = mo / mo.sum(-1, keepdims=True)
    fit = 1.0 - js_distance(obs, pred)
    return fit[0] if weights is None else fit


def set_prompt_codes(codes: np.ndarray, prompt_codes: np.ndarray, n_sets: int) -> np.ndarray:
    """The prompt code of each qualifying set (a set lies within one prompt group)."""
    out = np.zeros(n_sets, dtype=np.int64)
    rows = np.flatnonzero(codes >= 0)
    out[codes[rows]] = prompt_codes[rows]
    return out


def fit_replicates(
    probs: np.ndarray, chosen: np.ndarray, codes: np.ndarray, n_sets: int, reps: Replicates | None = None
) -> tuple[float, np.ndarray | None]:
    """(mean 1 − JSD over the qualifying sets, its (B,) two-way bootstrap replicates or None)."""
    if n_sets == 0:
        return float("nan"), None
    value = float(_fits(probs, chosen, codes, n_sets, None).mean())
    if reps is None or reps.weights is None:
        return value, None
    fits = _fits(probs, chosen, codes, n_sets, reps.weights)  # (B, S)
    if reps.prompt_weights is not None:
        mult = reps.prompt_weights[:, set_prompt_codes(codes, reps.prompt_codes, n_sets)]
    else:
        mult = np.ones_like(fits)
    mult = np.where(np.isfinite(fits), mult, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = np.nansum(np.where(mult > 0, fits, 0.0) * mult, 1) / mult.sum(1)
    return value, boot


def fit_summary(
    probs: np.ndarray,
    chosen: np.ndarray,
    codes: np.ndarray,
    n_sets: int,
    reps: Replicates | None = None,
) -> dict:
    """Mean 1 − JSD over the qualifying sets, with the two-way bootstrap CI."""
    value, boot = fit_replicates(probs, chosen, codes, n_sets, reps)
    lo, hi = percentile_ci(boot)
    return {"sets": n_sets, "comparisons": int((codes >= 0).sum()), "value": value, "ci_low": lo, "ci_high": hi}
