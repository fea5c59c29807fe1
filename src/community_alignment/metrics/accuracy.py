"""Per-comparison accuracy, likelihood and calibration of best-of-4 scores (numpy only).

Inputs everywhere:
- `scores` (n, 4) float: a finite score for every candidate in `valid`; values outside `valid` are
  ignored (absent candidates are NaN in a submission).
- `chosen` (n,) int in 0..3.
- `valid` (n, 4) bool: the candidates that compete with the chosen one — present, and not a rejected
  copy of the chosen text (no label between identical texts). The chosen candidate is always valid.
A NaN or ±inf on a valid candidate is an error that names the rows: it is never read as "missing".

Tie policy (recorded in results as TIE_POLICY): a pairwise tie counts ½; a top-1 tie among k
candidates that include the chosen one gives 1/k credit. A constant scorer therefore gets exactly
the expected value of a uniformly random one (1/k, ½, log k).
"""

from __future__ import annotations

import warnings

import numpy as np

TIE_POLICY = "pairwise ties count 1/2; top-1 ties among k candidates including the chosen give 1/k"


class ScoreError(ValueError):
    """Scores that cannot be evaluated (non-finite where a candidate competes, wrong shape)."""


def _rows(idx: np.ndarray, limit: int = 10) -> str:
    shown = ", ".join(str(int(i)) for i in idx[:limit])
    return shown + (f" … ({len(idx)} rows)" if len(idx) > limit else "")


def check(scores: np.ndarray, chosen: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated float64 scores, int64 chosen, bool valid; raises ScoreError naming the bad rows."""
    scores = np.asarray(scores, dtype=np.float64)
    chosen = np.asarray(chosen, dtype=np.int64)
    valid = np.asarray(valid, dtype=bool)
    if scores.ndim != 2 or scores.shape[1] != 4 or len(chosen) != len(scores) or valid.shape != scores.shape:
        raise ScoreError(
            f"expected scores (n, 4), chosen (n,), valid (n, 4); got {scores.shape}, {chosen.shape}, {valid.shape}"
        )
    if len(chosen) and (chosen.min() < 0 or chosen.max() > 3):
        raise ScoreError("chosen indices must be in 0..3")
    rows = np.arange(len(chosen))
    if not valid[rows, chosen].all():
        raise ScoreError(
            f"the chosen candidate is not valid (absent) in rows {_rows(np.flatnonzero(~valid[rows, chosen]))}"
        )
    bad = valid & ~np.isfinite(scores)
    if bad.any():
        raise ScoreError(
            f"non-finite score (NaN or ±inf) on a present candidate in rows {_rows(np.flatnonzero(bad.any(1)))}"
        )
    return scores, chosen, valid


def pairwise_credit(scores: np.ndarray, chosen: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(credit, pairs) per comparison: Σ over valid rejected j of [s_c > s_j] + ½[s_c = s_j], and the count."""
    scores, chosen, valid = check(scores, chosen, valid)
    rows = np.arange(len(chosen))
    rejected = valid.copy()
    rejected[rows, chosen] = False
    s_c = scores[rows, chosen][:, None]
    credit = np.where(rejected, (s_c > scores) + 0.5 * (s_c == scores), 0.0)
    return credit.sum(1), rejected.sum(1).astype(np.float64)


def top_sets(scores: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(n, 4) share of the top pick per candidate: 1/k on each of the k valid candidates tied at the
    maximum, 0 elsewhere (the pick of a scorer that breaks ties uniformly at random)."""
    filled = np.where(valid, scores, -np.inf)
    at_top = valid & (filled == filled.max(1, keepdims=True))
    return at_top / np.maximum(at_top.sum(1, keepdims=True), 1)


def top1_credit(scores: np.ndarray, chosen: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """1/k when the chosen candidate is among the k valid candidates with the top score, else 0."""
    scores, chosen, valid = check(scores, chosen, valid)
    return top_sets(scores, valid)[np.arange(len(chosen)), chosen]


def choice_probabilities(scores: np.ndarray, valid: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(scores / T) over the valid candidates (0 elsewhere)."""
    s = np.where(valid, np.asarray(scores, dtype=np.float64) / temperature, -np.inf)
    top = s.max(1, keepdims=True)
    e = np.where(valid, np.exp(s - np.where(np.isfinite(top), top, 0.0)), 0.0)
    return e / np.maximum(e.sum(1, keepdims=True), 1e-300)


def nll(scores: np.ndarray, chosen: np.ndarray, valid: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Negative log-likelihood (nats) of the choice under softmax(scores / T) over the valid candidates."""
    scores, chosen, valid = check(scores, chosen, valid)
    s = np.where(valid, scores / temperature, -np.inf)
    top = s.max(1, keepdims=True)
    logz = top[:, 0] + np.log(np.where(valid, np.exp(s - top), 0.0).sum(1))
    return logz - s[np.arange(len(chosen)), chosen]


def score_scale(scores: np.ndarray, valid: np.ndarray) -> float:
    """Typical spread of the scores within a comparison (median absolute deviation from the
    comparison's mean, over valid candidates): the natural unit of a temperature."""
    s = np.where(valid, scores, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        dev = np.abs(s - np.nanmean(s, axis=1, keepdims=True))
    dev = dev[valid & np.isfinite(dev)]
    dev = dev[dev > 0]
    return float(np.median(dev)) if len(dev) else 0.0


#: The temperature search spans this factor on either side of the score scale.
TEMPERATURE_RANGE = 1e4


def fit_temperature(scores: np.ndarray, chosen: np.ndarray, valid: np.ndarray) -> tuple[float, str | None]:
    """(T minimising mean NLL, warning or None). The search is on log T within
    [scale / TEMPERATURE_RANGE, scale · TEMPERATURE_RANGE], scale = `score_scale`; hitting a bound is
    reported (the upper bound means the scores carry no usable signal: the fit is ≈ uniform)."""
    from scipy.optimize import minimize_scalar

    scores, chosen, valid = check(scores, chosen, valid)
    scale = score_scale(scores, valid)
    if len(chosen) == 0 or scale == 0.0:
        return 1.0, "constant scores: the temperature is irrelevant (uniform choice probabilities)"
    lo, hi = np.log(scale / TEMPERATURE_RANGE), np.log(scale * TEMPERATURE_RANGE)
    res = minimize_scalar(
        lambda lt: float(nll(scores, chosen, valid, float(np.exp(lt))).mean()),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-6},
    )
    t = float(np.exp(res.x))
    warning = None
    if res.x - lo < 1e-3 * (hi - lo):
        warning = f"temperature fit hit its lower bound ({t:.3g} = scale/{TEMPERATURE_RANGE:g}): scores are near-deterministic"
    elif hi - res.x < 1e-3 * (hi - lo):
        warning = f"temperature fit hit its upper bound ({t:.3g} = scale·{TEMPERATURE_RANGE:g}): the scores carry no usable signal"
    return t, warning


def expected_calibration_error(
    scores: np.ndarray, chosen: np.ndarray, valid: np.ndarray, temperature: float = 1.0, bins: int = 10
) -> float:
    """ECE of the top-1 prediction: Σ_b |acc_b − conf_b| · n_b / n over equal-width confidence bins
    (accuracy of a tied top counts 1/k, as top-1 does)."""
    scores, chosen, valid = check(scores, chosen, valid)
    if len(chosen) == 0:
        return float("nan")
    p = choice_probabilities(scores, valid, temperature)
    conf = p.max(1)
    correct = top_sets(scores, valid)[np.arange(len(chosen)), chosen]
    which = np.clip(np.digitize(conf, np.linspace(0, 1, bins + 1)[1:-1]), 0, bins - 1)
    n = np.bincount(which, minlength=bins)
    acc = np.bincount(which, weights=correct, minlength=bins)
    cf = np.bincount(which, weights=conf, minlength=bins)
    used = n > 0
    return float((np.abs(acc[used] - cf[used])).sum() / len(chosen))


def pair_margins(scores: np.ndarray, chosen: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(margin s_chosen − s_rejected, comparison row) of every binary (chosen, rejected) pair."""
    scores, chosen, valid = check(scores, chosen, valid)
    rows = np.arange(len(chosen))
    rejected = valid.copy()
    rejected[rows, chosen] = False
    r, j = np.nonzero(rejected)
    return scores[r, chosen[r]] - scores[r, j], r
