"""Confidence intervals that respect CA's crossed structure: annotators × prompt groups.

A CA comparison belongs to one annotator and one prompt group (the normalised first-turn prompt; a
prompt is judged by many annotators and an annotator judges many prompts). Rows are correlated within
both. Resampling rows, or annotators alone, understates the variance (tests/test_bootstrap_coverage.py
simulates crossed random effects: annotator-only percentile CIs cover ≈ 0.5–0.8 where the nominal
level is 0.95).

We use the **pigeonhole (two-way) bootstrap** (Owen 2007, "The pigeonhole bootstrap", Ann. Appl.
Stat.): each replicate draws multinomial counts for annotators and, independently, for prompt groups;
a comparison's weight is the product of its annotator's and its prompt group's counts. A statistic is
recomputed with those weights. Owen shows the variance estimate is mildly conservative (it double-counts
the residual term), so the CIs err on the wide side; the coverage test checks ≈ 0.95.

Every scorer, group and metric of one evaluation uses the **same** replicate weights, so differences
between scorers (paired tests), worst groups and gaps get CIs from the same replicates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_RESAMPLES = 1000
LEVEL = 0.95
METHOD = "two-way (pigeonhole) bootstrap over annotators × prompt groups, percentile 95% CI"


def _codes(labels: np.ndarray) -> tuple[np.ndarray, int]:
    _, inverse = np.unique(np.asarray(labels), return_inverse=True)
    return inverse.astype(np.int64), int(inverse.max()) + 1 if len(inverse) else 0


@dataclass
class Replicates:
    """Bootstrap replicate weights for n comparisons: `weights` (B, n) float32 = the annotator factor
    × the prompt factor (None when B = 0). `prompt_weights` (B, P) and `prompt_codes` (n,) keep the
    prompt factor for statistics whose unit is nested in prompts (distributional fit per set)."""

    weights: np.ndarray | None
    resamples: int
    seed: int
    method: str = METHOD
    prompt_weights: np.ndarray | None = None
    prompt_codes: np.ndarray | None = None

    @classmethod
    def two_way(
        cls, annotators: np.ndarray, prompts: np.ndarray | None, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
    ) -> Replicates:
        """Pigeonhole weights over annotators × prompts (annotators only when `prompts` is None)."""
        a, na = _codes(annotators)
        if resamples <= 0 or len(a) == 0:
            return cls(None, 0, seed)
        rng = np.random.default_rng(seed)
        wa = rng.multinomial(na, np.full(na, 1.0 / na), size=resamples).astype(np.float32)
        w = wa[:, a]
        if prompts is None:
            return cls(w, resamples, seed, "bootstrap over annotators only, percentile 95% CI")
        p, npr = _codes(prompts)
        wp = rng.multinomial(npr, np.full(npr, 1.0 / npr), size=resamples).astype(np.float32)
        w *= wp[:, p]
        return cls(w, resamples, seed, METHOD, wp, p)

    def subset(self, sel: np.ndarray) -> Replicates:
        if self.weights is None:
            return self
        codes = None if self.prompt_codes is None else self.prompt_codes[sel]
        return Replicates(self.weights[:, sel], self.resamples, self.seed, self.method, self.prompt_weights, codes)


def ratio_replicates(num: np.ndarray, den: np.ndarray, reps: Replicates) -> np.ndarray | None:
    """(B,) replicate values of Σnum/Σden (NaN where a replicate has no weight)."""
    if reps.weights is None:
        return None
    n = reps.weights @ np.asarray(num, dtype=np.float64).astype(np.float32)
    d = reps.weights @ np.asarray(den, dtype=np.float64).astype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (n / d).astype(np.float64)


def onehot(codes: np.ndarray, n_groups: int) -> np.ndarray:
    """(n, G) float32 indicator of each row's group code."""
    out = np.zeros((len(codes), n_groups), dtype=np.float32)
    out[np.arange(len(codes)), codes] = 1.0
    return out


def percentile_ci(replicates: np.ndarray | None, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of the finite replicate values (NaN, NaN without replicates)."""
    if replicates is None:
        return float("nan"), float("nan")
    r = np.asarray(replicates, dtype=np.float64)
    r = r[np.isfinite(r)]
    if len(r) < 2:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    return float(np.quantile(r, alpha)), float(np.quantile(r, 1 - alpha))


def pvalue_zero(estimate: float, replicates: np.ndarray | None) -> float:
    """Two-sided bootstrap p-value for "the true value is 0": the share of replicates at least as far
    from the estimate as 0 is (the replicate distribution re-centred at the null), with the +1
    correction so that p > 0."""
    if replicates is None or not np.isfinite(estimate):
        return float("nan")
    r = np.asarray(replicates, dtype=np.float64)
    r = r[np.isfinite(r)]
    if not len(r):
        return float("nan")
    return float((1 + (np.abs(r - estimate) >= abs(estimate)).sum()) / (len(r) + 1))


def holm(pvalues: dict[str, float], alpha: float = 0.05) -> dict[str, dict]:
    """Holm–Bonferroni step-down: adjusted p-values and rejections, per key."""
    keys = [k for k, p in pvalues.items() if np.isfinite(p)]
    order = sorted(keys, key=lambda k: pvalues[k])
    m = len(order)
    out: dict[str, dict] = {k: {"p": pvalues[k], "p_holm": float("nan"), "significant": False} for k in pvalues}
    running = 0.0
    for i, k in enumerate(order):
        running = max(running, min(1.0, (m - i) * pvalues[k]))
        out[k]["p_holm"] = running
        out[k]["significant"] = running < alpha
    return out
