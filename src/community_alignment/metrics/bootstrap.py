"""Bootstrap confidence intervals clustered on annotators (resample whole annotators)."""

from __future__ import annotations

import numpy as np

DEFAULT_RESAMPLES = 1000


def cluster_sums(values: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum `values` (n,) or (n, k) within each cluster; returns (cluster ids, sums)."""
    ids, inverse = np.unique(clusters, return_inverse=True)
    values = np.asarray(values, dtype=np.float64)
    out = np.zeros((len(ids), *values.shape[1:]))
    np.add.at(out, inverse, values)
    return ids, out


def ratio_ci(
    numerator: np.ndarray,
    denominator: np.ndarray,
    clusters: np.ndarray,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """Σnum/Σden with a percentile CI from resampling clusters with replacement."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    if den.sum() == 0:
        return float("nan"), float("nan"), float("nan")
    _, sums = cluster_sums(np.stack([num, den], 1), clusters)
    value = float(num.sum() / den.sum())
    if len(sums) < 2 or resamples <= 0:
        return value, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(len(sums), size=(resamples, len(sums)))
    boot = sums[idx].sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        stats = boot[:, 0] / boot[:, 1]
    stats = stats[np.isfinite(stats)]
    alpha = (1 - level) / 2
    return value, float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha))


def paired_difference_pvalue(
    a: np.ndarray,
    b: np.ndarray,
    weights: np.ndarray,
    clusters: np.ndarray,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Difference of weighted means (a − b) and a two-sided clustered-bootstrap p-value for it being 0."""
    w = np.asarray(weights, dtype=np.float64)
    d = (np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) * w
    if w.sum() == 0:
        return float("nan"), float("nan")
    _, sums = cluster_sums(np.stack([d, w], 1), clusters)
    diff = float(d.sum() / w.sum())
    if len(sums) < 2:
        return diff, float("nan")
    rng = np.random.default_rng(seed)
    boot = sums[rng.integers(len(sums), size=(resamples, len(sums)))].sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        stats = boot[:, 0] / boot[:, 1]
    stats = stats[np.isfinite(stats)]
    # centre the bootstrap distribution at 0 (null) and count as-extreme values
    p = (np.abs(stats - diff) >= abs(diff)).mean()
    return diff, float(max(p, 1.0 / (len(stats) + 1)))


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
