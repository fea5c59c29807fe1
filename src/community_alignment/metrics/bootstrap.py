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
    """Two-sided bootstrap p-value for "the true value is 0", read from the same replicate distribution
    as the percentile CI: 2 · min(P(r ≤ 0), P(r ≥ 0)) with the +1 correction (so p > 0), hence a 95%
    CI excludes 0 exactly when p < 0.05 (up to the correction)."""
    if replicates is None or not np.isfinite(estimate):
        return float("nan")
    r = np.asarray(replicates, dtype=np.float64)
    r = r[np.isfinite(r)]
    if not len(r):
        return float("nan")
    below = (1 + (r <= 0).sum()) / (len(r) + 1)
    above = (1 + (r >= 0).sum()) / (len(r) + 1)
    return float(min(1.0, 2 * min(below, above)))


@dataclass
class Clusters:
    """Annotator, prompt-group and (annotator, prompt) cell codes of n comparisons (prompts optional)."""

    annotator: np.ndarray
    n_annotators: int
    prompt: np.ndarray | None = None
    n_prompts: int = 0
    cell: np.ndarray | None = None
    n_cells: int = 0

    @classmethod
    def of(cls, annotators: np.ndarray, prompts: np.ndarray | None) -> Clusters:
        a, na = _codes(annotators)
        if prompts is None:
            return cls(a, na)
        p, npr = _codes(prompts)
        c, nc = _codes(a * max(npr, 1) + p)
        return cls(a, na, p, npr, c, nc)


def _clustered_sum_of_squares(e: np.ndarray, groups: np.ndarray, n_groups: int, codes: np.ndarray, n: int):
    """Per group: Σ_k (Σ_{i in group, cluster k} e_i)² × K/(K − 1), K = the group's clusters."""
    key = groups * n + codes
    sums = np.bincount(key, weights=e, minlength=n_groups * n).reshape(n_groups, n)
    present = np.bincount(key, minlength=n_groups * n).reshape(n_groups, n) > 0
    k = present.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums**2).sum(1) * np.where(k > 1, k / (k - 1), np.nan), k


def cgm_variance(residuals: np.ndarray, groups: np.ndarray, n_groups: int, clusters: Clusters) -> np.ndarray:
    """(G,) variance of a (linearised) statistic per group, two-way clustered on annotators and prompt
    groups (Cameron, Gelbach & Miller 2011): V_annotator + V_prompt − V_cell, each a clustered sum of
    squares of the residuals with the K/(K−1) correction; if the difference is not positive, the larger
    one-way variance. NaN for a group with fewer than two annotators (or prompt groups)."""
    e = np.asarray(residuals, dtype=np.float64)
    va, ka = _clustered_sum_of_squares(e, groups, n_groups, clusters.annotator, clusters.n_annotators)
    if clusters.prompt is None:
        return va
    vp, kp = _clustered_sum_of_squares(e, groups, n_groups, clusters.prompt, clusters.n_prompts)
    vc, _ = _clustered_sum_of_squares(e, groups, n_groups, clusters.cell, clusters.n_cells)
    v = va + vp - np.nan_to_num(vc)
    v = np.where(v > 0, v, np.fmax(va, vp))
    return np.where((ka > 1) & (kp > 1), v, np.nan)


def calibrate(point: np.ndarray, replicates: np.ndarray | None, variance: np.ndarray) -> np.ndarray | None:
    """Replicates rescaled around the estimate so that their variance equals `variance` (per column):
    the pigeonhole bootstrap's shape (skewness, the joint distribution across groups and scorers) with
    the two-way clustered variance (the pigeonhole weights count row-level noise up to ≈ 3×, which makes
    CIs too wide when annotators and prompts have few rows each, as in CA). A column without a usable
    variance becomes NaN (no CI)."""
    if replicates is None:
        return None
    r = np.asarray(replicates, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        boot_var = np.nanvar(r, axis=0)
        factor = np.sqrt(np.asarray(variance, dtype=np.float64) / boot_var)
    factor = np.where(np.isfinite(factor), factor, np.nan)
    zero = np.isfinite(boot_var) & (boot_var == 0) & (np.asarray(variance) == 0)
    factor = np.where(zero, 1.0, factor)
    return point + factor * (r - point)


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
