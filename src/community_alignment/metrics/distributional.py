"""Distributional fit on candidate sets judged by many annotators: 1 − Jensen–Shannon distance (base 2).

A *set* is one shown item: the same context and the same ordered candidates (`protocol.truth.set_keys`).
A set qualifies when at least `MIN_SET_ANNOTATORS` **distinct annotators** judged it in the evaluated
split (never a subsample). Observed distribution: the vote shares over the letters (one vote per
comparison). The model's distribution: the mean, over the set's comparisons, of its choice probabilities
softmax(score / T) over the present candidates (a conditioned model may differ by rater).

Even the true distribution does not reach 1 − JSD = 1 on a finite set: ten votes are a noisy estimate
of the shares. The synthetic sample's `oracle_true` reference shows that ceiling.

The CI resamples sets (with their prompt group's multiplicity in the two-way replicates), each set
keeping its votes: the unit of this statistic is the set (tests/test_bootstrap_coverage.py checks its
coverage).
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

    d = np.sqrt(np.clip(0.5 * kl(p, m) + 0.5 * kl(q, m), 0.0, 1.0))
    bad = np.isnan(p).any(-1) | np.isnan(q).any(-1)  # an undefined distribution is no match
    return np.where(bad, np.nan, d)


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


def set_fits(probs: np.ndarray, chosen: np.ndarray, codes: np.ndarray, n_sets: int) -> np.ndarray:
    """(S,) 1 − JSD per qualifying set between its vote shares and the mean of its rows' choice
    distributions (every row belongs to one set: sums by bincount)."""
    rows = np.flatnonzero(codes >= 0)
    c = codes[rows]
    votes = np.zeros((n_sets, 4))
    np.add.at(votes, (c, np.asarray(chosen)[rows]), 1.0)
    model = np.zeros((n_sets, 4))
    np.add.at(model, c, np.asarray(probs, dtype=np.float64)[rows])
    with np.errstate(invalid="ignore", divide="ignore"):
        obs = votes / votes.sum(1, keepdims=True)
        pred = model / model.sum(1, keepdims=True)
    return 1.0 - js_distance(obs, pred)


def set_prompt_codes(codes: np.ndarray, prompt_codes: np.ndarray, n_sets: int) -> np.ndarray:
    """The prompt code of each qualifying set (a set lies within one prompt group)."""
    out = np.zeros(n_sets, dtype=np.int64)
    rows = np.flatnonzero(codes >= 0)
    out[codes[rows]] = prompt_codes[rows]
    return out


def set_weights(codes: np.ndarray, n_sets: int, reps: Replicates | None) -> np.ndarray | None:
    """(B, S) replicate multiplicity of each qualifying set: its prompt group's count in the two-way
    replicates (sets are nested in prompt groups), or — without prompt groups — a seeded multinomial
    over the sets themselves."""
    if reps is None or reps.weights is None or n_sets == 0:
        return None
    if reps.prompt_weights is not None:
        return reps.prompt_weights[:, set_prompt_codes(codes, reps.prompt_codes, n_sets)].astype(np.float64)
    rng = np.random.default_rng([reps.seed, 17])
    return rng.multinomial(n_sets, np.full(n_sets, 1.0 / n_sets), size=reps.resamples).astype(np.float64)


def fit_replicates(
    probs: np.ndarray, chosen: np.ndarray, codes: np.ndarray, n_sets: int, reps: Replicates | None = None
) -> tuple[float, np.ndarray | None]:
    """(mean 1 − JSD over the qualifying sets, its (B,) replicates or None). The unit is the set: a
    replicate re-weights whole sets (by their prompt group's multiplicity) and keeps each set's votes,
    so the CI covers which sets were drawn — re-weighting raters inside a set would shrink its
    effective votes and bias the plug-in JSD downwards."""
    if n_sets == 0:
        return float("nan"), None
    fits = set_fits(probs, chosen, codes, n_sets)
    value = float(fits.mean())
    mult = set_weights(codes, n_sets, reps)
    if mult is None:
        return value, None
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = (mult @ fits) / mult.sum(1)
    return value, boot


def fit_summary(
    probs: np.ndarray,
    chosen: np.ndarray,
    codes: np.ndarray,
    n_sets: int,
    reps: Replicates | None = None,
) -> dict:
    """Mean 1 − JSD over the qualifying sets, with its bootstrap CI."""
    value, boot = fit_replicates(probs, chosen, codes, n_sets, reps)
    lo, hi = percentile_ci(boot)
    return {"sets": n_sets, "comparisons": int((codes >= 0).sum()), "value": value, "ci_low": lo, "ci_high": hi}
