"""Per-comparison accuracy, likelihood and calibration of 4-way scores.

Inputs everywhere: `scores` (n, 4) float with NaN for a candidate that is missing (empty cell) or
identical to the chosen one (no label between them), and `chosen` (n,) int in 0..3.
Tie policy (recorded in results as TIE_POLICY): a pairwise tie counts ½; a top-1 tie among k
candidates that include the chosen one gives 1/k credit.
"""

from __future__ import annotations

import numpy as np

TIE_POLICY = "pairwise ties count 1/2; top-1 ties among k candidates including the chosen give 1/k"


def _check(scores: np.ndarray, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    chosen = np.asarray(chosen, dtype=np.int64)
    if scores.ndim != 2 or scores.shape[1] != 4 or len(chosen) != len(scores):
        raise ValueError(f"expected scores (n, 4) and chosen (n,), got {scores.shape} and {chosen.shape}")
    if np.isnan(scores[np.arange(len(chosen)), chosen]).any():
        raise ValueError("the chosen candidate has no score (NaN)")
    return scores, chosen


def pairwise_credit(scores: np.ndarray, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(credit, pairs) per comparison: Σ over valid rejected j of [s_c > s_j] + ½[s_c = s_j], and the count."""
    scores, chosen = _check(scores, chosen)
    s_c = scores[np.arange(len(chosen)), chosen][:, None]
    valid = ~np.isnan(scores)
    valid[np.arange(len(chosen)), chosen] = False
    with np.errstate(invalid="ignore"):
        credit = np.where(valid, (s_c > scores) + 0.5 * (s_c == scores), 0.0)
    return credit.sum(1), valid.sum(1).astype(np.float64)


def top1_credit(scores: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """1/k when the chosen candidate is among the k candidates with the top score, else 0."""
    scores, chosen = _check(scores, chosen)
    filled = np.where(np.isnan(scores), -np.inf, scores)
    top = filled.max(1, keepdims=True)
    at_top = filled == top
    return np.where(at_top[np.arange(len(chosen)), chosen], 1.0 / at_top.sum(1), 0.0)


def choice_probabilities(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(scores / T) over the candidates that have a score."""
    s = np.asarray(scores, dtype=np.float64) / temperature
    s = np.where(np.isnan(s), -np.inf, s)
    s = s - s.max(1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(1, keepdims=True)


def nll(scores: np.ndarray, chosen: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Negative log-likelihood (nats) of the choice under softmax(scores / T), per comparison."""
    scores, chosen = _check(scores, chosen)
    p = choice_probabilities(scores, temperature)[np.arange(len(chosen)), chosen]
    return -np.log(np.clip(p, 1e-300, None))


def fit_temperature(scores: np.ndarray, chosen: np.ndarray, bounds=(1e-3, 1e3)) -> float:
    """Temperature minimising mean NLL (golden-section search on log T); fit it on validation only."""
    scores, chosen = _check(scores, chosen)
    if len(chosen) == 0:
        return 1.0
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    g = (np.sqrt(5) - 1) / 2
    f = lambda lt: nll(scores, chosen, float(np.exp(lt))).mean()
    a, b = lo + (1 - g) * (hi - lo), lo + g * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = lo + (1 - g) * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = f(b)
    return float(np.exp((lo + hi) / 2))


def expected_calibration_error(
    scores: np.ndarray, chosen: np.ndarray, temperature: float = 1.0, bins: int = 10
) -> float:
    """ECE of the top-1 prediction: Σ_b |acc_b − conf_b| · n_b / n over equal-width confidence bins."""
    scores, chosen = _check(scores, chosen)
    p = choice_probabilities(scores, temperature)
    conf = p.max(1)
    correct = (p.argmax(1) == chosen).astype(np.float64)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            ece += abs(correct[sel].mean() - conf[sel].mean()) * sel.mean()
    return float(ece)
