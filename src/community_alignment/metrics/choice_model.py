"""Regularised multinomial-logit choice models over best-of-4 candidates (numpy only).

One concept, used by the individual track twice: the contract's per-annotator adaptation of any
submission's scores (`protocol.individual`) and the user part of the personalized model trained here
(`scoring.personalized`). A choice among the valid candidates of a comparison is modelled as

    P(j) = softmax_j(offset_j + x_j · w)        over the valid candidates j,

with a Gaussian prior w ~ N(μ, Λ⁻¹). `fit_map` finds the MAP weights of many independent problems at
once (a batch of E support sets of m comparisons each) by Newton's method with backtracking; the
objective is convex, so the answer does not depend on the starting point.

`candidate_features` gives the simple candidate features the adaptation uses beside a scorer's score:
the log length standardised within the comparison, and the letter (a is the reference).
"""

from __future__ import annotations

import numpy as np

LETTER_NAMES = ("letter_b", "letter_c", "letter_d")
#: Added to the within-set standard deviation of log lengths, so near-equal lengths stay near 0.
LENGTH_SD_FLOOR = 0.1


def log_softmax(u: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """log softmax over the valid entries of the last axis (−inf elsewhere)."""
    u = np.where(valid, u, -np.inf)
    top = u.max(-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return u - top - np.log(np.exp(u - top).sum(-1, keepdims=True))


def length_feature(lengths: np.ndarray, present: np.ndarray) -> np.ndarray:
    """(n, 4) log length standardised within each comparison: (log L − mean) / (sd + 0.1) over the
    present candidates; 0 where absent."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = np.where(present, np.log(np.maximum(np.nan_to_num(lengths, nan=1.0), 1.0)), np.nan)
        k = present.sum(1, keepdims=True)
        mean = np.nansum(ll, 1, keepdims=True) / np.maximum(k, 1)
        sd = np.sqrt(np.nansum((ll - mean) ** 2, 1, keepdims=True) / np.maximum(k, 1))
        z = (ll - mean) / (sd + LENGTH_SD_FLOOR)
    return np.where(present, np.nan_to_num(z), 0.0)


def letter_features(n: int, turn: np.ndarray | None = None, by_turn: bool = False) -> tuple[np.ndarray, list[str]]:
    """(n, 4, q) letter indicators (a is the reference): b, c, d — or, `by_turn`, one set per turn 1–4."""
    if not by_turn:
        out = np.zeros((n, 4, 3))
        for j in range(1, 4):
            out[:, j, j - 1] = 1.0
        return out, list(LETTER_NAMES)
    t = np.clip(np.asarray(turn, dtype=np.int64) - 1, 0, 3)
    out = np.zeros((n, 4, 12))
    for j in range(1, 4):
        out[np.arange(n), j, t * 3 + j - 1] = 1.0
    return out, [f"turn{tt + 1}_{name}" for tt in range(4) for name in LETTER_NAMES]


def candidate_features(
    lengths: np.ndarray, present: np.ndarray, turn: np.ndarray | None = None, letters_by_turn: bool = False
) -> tuple[np.ndarray, list[str]]:
    """(n, 4, q) simple candidate features and their names: standardised log length, letter indicators."""
    present = np.asarray(present, dtype=bool)
    letters, names = letter_features(len(present), turn, letters_by_turn)
    x = np.concatenate([length_feature(lengths, present)[..., None], letters], -1)
    return np.where(present[..., None], x, 0.0), ["log_length_z", *names]


def _objective(X, offset, valid, chosen, w, mu, precision) -> tuple[np.ndarray, np.ndarray]:
    """(E,) negative log-posterior (up to a constant) and (E, m, 4) choice probabilities."""
    u = offset + np.einsum("emjp,ep->emj", X, w)
    lp = log_softmax(u, valid)
    picked = np.take_along_axis(lp, chosen[..., None], -1)[..., 0]
    d = w - mu
    return -picked.sum(1) + 0.5 * np.einsum("ep,pq,eq->e", d, precision, d), np.where(valid, np.exp(lp), 0.0)


def fit_map(
    X: np.ndarray,
    valid: np.ndarray,
    chosen: np.ndarray,
    prior_mean: np.ndarray,
    prior_precision: np.ndarray,
    offset: np.ndarray | None = None,
    max_iter: int = 30,
    tol: float = 1e-6,
) -> np.ndarray:
    """MAP weights (E, p) of E independent choice models: X (E, m, 4, p) features, valid (E, m, 4),
    chosen (E, m) (a valid candidate), offset (E, m, 4) (default 0), prior N(prior_mean (p,) or (E, p),
    prior_precision⁻¹ (p, p)). m = 0 gives the prior mean. Newton steps with backtracking (Armijo)."""
    X = np.asarray(X, dtype=np.float64)
    E, m, _, p = X.shape
    valid = np.asarray(valid, dtype=bool)
    X = np.where(valid[..., None], X, 0.0)
    chosen = np.asarray(chosen, dtype=np.int64)
    mu = np.broadcast_to(np.asarray(prior_mean, dtype=np.float64), (E, p)).copy()
    lam = np.asarray(prior_precision, dtype=np.float64)
    offset = np.zeros((E, m, 4)) if offset is None else np.where(valid, np.asarray(offset, dtype=np.float64), 0.0)
    if m == 0 or E == 0:
        return mu
    if not np.take_along_axis(valid, chosen[..., None], -1).all():
        raise ValueError("fit_map: a chosen candidate is not valid")
    Y = np.zeros((E, m, 4))
    np.put_along_axis(Y, chosen[..., None], 1.0, -1)
    w = mu.copy()

    def objective(idx, v):
        return _objective(X[idx], offset[idx], valid[idx], chosen[idx], v, mu[idx], lam)

    f, P = objective(np.arange(E), w)
    active = np.arange(E)  # episodes still moving; only they are recomputed
    for _ in range(max_iter):
        if not len(active):
            break
        Xa, Pa = X[active], P[active]
        grad = np.einsum("emj,emjp->ep", Pa - Y[active], Xa) + (w[active] - mu[active]) @ lam.T
        xbar = np.einsum("emj,emjp->emp", Pa, Xa)
        PX = (Pa[..., None] * Xa).reshape(len(active), m * 4, p)
        H = PX.transpose(0, 2, 1) @ Xa.reshape(len(active), m * 4, p) - xbar.transpose(0, 2, 1) @ xbar + lam
        step = np.linalg.solve(H, grad[..., None])[..., 0]
        decrease = np.einsum("ep,ep->e", grad, step)
        t = np.ones(len(active))
        new_w = w[active] - step
        new_f, new_P = objective(active, new_w)
        pending = np.flatnonzero(new_f > f[active] - 1e-4 * decrease)
        for _ in range(30):  # backtracking (Armijo), only where the full step did not decrease enough
            if not len(pending):
                break
            t[pending] /= 2
            idx = active[pending]
            cand = w[idx] - t[pending, None] * step[pending]
            cf, cP = objective(idx, cand)
            new_w[pending], new_f[pending], new_P[pending] = cand, cf, cP
            pending = pending[cf > f[idx] - 1e-4 * t[pending] * decrease[pending]]
        improved = new_f <= f[active] + 1e-12
        keep = active[improved]
        w[keep], f[keep], P[keep] = new_w[improved], new_f[improved], new_P[improved]
        moved = np.abs(t[:, None] * step).max(1)
        active = active[improved & (moved > tol)]
    return w
