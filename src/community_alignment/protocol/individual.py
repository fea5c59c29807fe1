"""The individual track: few-shot personalization measured per annotator, from any submission's scores.

Track `unseen_annotators` (tracks.py) evaluates people the model never saw: the annotator-disjoint
split. A submission of this track holds (docs/benchmark.md, "The individual track"):

- **population rows** (`k = 0, draw = 0, control = 0`, or no k/draw/control columns at all): the
  submitted model's scores on *every* comparison of the validation **and** test annotators, once.
  The test rows give the usual group-level results (on unseen people); the validation rows are where
  the adaptation below is tuned — never on a test annotator's query set.
- optionally, **k-shot rows** (`k > 0`) of a model that personalizes itself (method `personalized`):
  for every test annotator evaluated at k, every draw and control (0 = own support, 1 = the random
  other user's support, episodes.py), the annotator's query comparisons scored with the user part
  fitted on that support. A k present must be complete.

Every number here comes from those scores and the episodes (`episodes.py`), pure numpy/scipy:

- **adapted** (every submission): a per-annotator multinomial logit over the submitted score and
  simple candidate features (standardised log length, letter), fitted on the k support comparisons
  with a Gaussian prior N(w₀, λ⁻¹ I) around the **pooled fit** w₀. w₀ is fitted on the validation
  annotators' support pools, λ chosen on their query sets (mean NLL over the k sweep). k = 0 is the
  pooled fit itself: the population-only control.
- **native** (k-shot rows present): the submission's own k-shot scores; k = 0 is its population rows.
- Controls beside every k: population-only (k = 0 on the same annotators) and random-other-user (the
  same method fitted on another annotator's support). A gain *counts* only where its top-1 is
  significantly above both controls (paired bootstrap over annotators, Holm across the k of a curve).
- Metrics per annotator (the native unit): best-of-4 top-1 and NLL over the query set, averaged over
  draws; pairwise accuracy as a secondary view. Over annotators: the mean, the 10th-percentile
  annotator, the share below the population-only control, the k-shot curve, gains with CIs paired on
  annotators (bootstrap over annotators), by country and by language; on the synthetic sample also as
  expected values under the generator's true probabilities (view `expected`) and the share of the
  gap to the individual oracle closed.

`individual_block(submission, truth)` is the one entry point (the leaderboard calls it per
submission). On a track-`main` submission (the prompt split: every test annotator was seen in
training) it gives the **seen** view; there the track has no validation rows, so the pooled fit and λ
are cross-fitted over two halves of the test annotators (each half tuned on the other).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..metrics.accuracy import fit_temperature, score_scale
from ..metrics.bootstrap import DEFAULT_RESAMPLES, Replicates, holm, percentile_ci, pvalue_zero
from ..metrics.choice_model import candidate_features, fit_map
from ..metrics.contract import crossfit_temperature, per_comparison
from ..results.types import (
    Difference,
    Estimate,
    GroupPoint,
    IndividualBlock,
    KShotPoint,
    MethodCurve,
    PersonDistribution,
)
from ..scoring.registry import fixed_temperature
from .episodes import CONTROL_OTHER, CONTROL_OWN, DESIGN, EpisodeDesign, Episodes, build_episodes, hashed
from .submission import Problem, Submission, SubmissionError, _ids
from .truth import SplitTruth, Truth

TRACK = "unseen_annotators"
EXTRA_COLUMNS = ("k", "draw", "control")
#: Prior precision grids, chosen on validation annotators: on the score's weight, and on the weights of
#: the candidate features (length, letters) — a person may weigh the scorer's opinion differently
#: without caring differently about length or position, so the two are regularised apart.
LAMBDA_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
LAMBDA_FEATURE_GRID = (1.0, 10.0, 100.0, 1000.0)
POOLED_PRECISION = 1e-3  # the pooled fit's (near-flat) prior precision
GROUP_AXES = ("country", "language")
#: Fewer annotators than this: a mean is reported without a CI and a difference without a p-value
#: (a bootstrap over 1–4 people says nothing).
MIN_CI_ANNOTATORS = 5
NAN = float("nan")
METHOD_DESCRIPTIONS = {
    "adapted": "the contract's adaptation: per-annotator logit over the submitted score, log length and letter, "
    "shrunk toward the pooled fit",
    "native": "the submission's own k-shot scores (its user part fitted on each support set)",
}


# --- reading a submission of the track --------------------------------------------------------


@dataclass
class SubmissionRows:
    """A submission's scores, aligned to the truth: population scores of the fitting split (validation;
    None on the seen view) and of the evaluated split, and the k-shot rows by (k, draw, control)."""

    fit: np.ndarray | None
    eval: np.ndarray
    native: dict[tuple[int, int, int], np.ndarray]  # (k, draw, control) → (n_eval, 4), NaN off its rows


def _columns(sub: Submission) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    zeros = np.zeros(len(sub), dtype=np.int64)
    return tuple(np.asarray(sub.extra.get(c, zeros), dtype=np.int64) for c in EXTRA_COLUMNS)


def _score_problems(scores: np.ndarray, present: np.ndarray, split: SplitTruth, rows: np.ndarray, what: str) -> list:
    """Scores finite on every present candidate, NaN on absent ones (as `submission.align`)."""
    out = []
    for mask, message in (
        (present & ~np.isfinite(scores), "NaN or ±inf on a present candidate"),
        (~present & ~np.isnan(scores), "a score where the candidate is absent (must be NaN)"),
    ):
        bad = rows[np.flatnonzero(mask.any(1))]
        if len(bad):
            out.append(Problem("scores", f"{what}: {message}: {_ids(split.conversation_id[bad], split.turn[bad])}"))
    return out


def _key(conv: np.ndarray, turn: np.ndarray) -> np.ndarray:
    """One int64 per (conversation id, turn) (ids < 2⁶⁰, turns 1–4)."""
    return np.asarray(conv, dtype=np.int64) * 8 + np.asarray(turn, dtype=np.int64)


def _first(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions of first occurrences, positions of repeats) of `codes`."""
    _, first = np.unique(codes, return_index=True)
    rest = np.ones(len(codes), dtype=bool)
    rest[first] = False
    return np.sort(first), np.flatnonzero(rest)


def read_rows(sub: Submission, truth: Truth, episodes: Episodes, fit: SplitTruth | None) -> SubmissionRows:
    """Align a submission's rows to the truth; SubmissionError lists every problem (duplicates, ids
    outside the track, missing population rows, incomplete k-shot rows, bad scores)."""
    problems: list[Problem] = []
    k, draw, control = _columns(sub)
    ev = truth.test
    design = episodes.design
    splits = [("test", ev)] + ([("validation", fit)] if fit is not None else [])
    ids = lambda r: _ids(sub.conversation_id[r], sub.turn[r])  # noqa: E731
    # where each row's (conversation, turn) is: split s, row i (or nowhere)
    keys = np.concatenate([_key(x.conversation_id, x.turn) for _, x in splits])
    which = np.concatenate([np.full(len(x.turn), s) for s, (_, x) in enumerate(splits)])
    pos = np.concatenate([np.arange(len(x.turn)) for _, x in splits])
    order = np.argsort(keys, kind="stable")
    sub_keys = _key(sub.conversation_id, sub.turn)
    at = np.clip(np.searchsorted(keys[order], sub_keys), 0, max(len(keys) - 1, 0))
    found = keys[order][at] == sub_keys if len(keys) else np.zeros(len(sub), dtype=bool)
    loc_split = np.where(found, which[order][at], -1)
    loc_row = np.where(found, pos[order][at], -1)
    pop = k == 0
    bad_pop = pop & ((draw != 0) | (control != 0))
    if bad_pop.any():
        problems.append(
            Problem(
                "rows", f"population rows (k = 0) must have draw = 0 and control = 0: {ids(np.flatnonzero(bad_pop))}"
            )
        )
    bad_k = ~np.isin(k, design.k_sweep)
    bad_draw = ~pop & ((draw < 0) | (draw >= design.draws))
    bad_control = ~pop & ~np.isin(control, (CONTROL_OWN, CONTROL_OTHER))
    for mask, what in (
        (bad_k, f"k must be one of {list(design.k_sweep)}"),
        (bad_draw, f"draw must be in 0..{design.draws - 1}"),
        (bad_control, "control must be 0 (own support) or 1 (random other user)"),
    ):
        if mask.any():
            problems.append(Problem("rows", f"{what}: {ids(np.flatnonzero(mask))}"))
    # population rows: every comparison of the evaluated (and fitting) split, once
    pop_rows = np.flatnonzero(pop & found)
    outside = np.flatnonzero(pop & ~found)
    first, repeat = _first(loc_split[pop_rows] * (len(keys) + 1) + loc_row[pop_rows])
    if len(repeat):
        problems.append(Problem("rows", f"duplicate population rows (k = 0): {ids(pop_rows[repeat])}"))
    if len(outside):
        where = sorted({truth.outside.get(int(c), "no split of this dataset") for c in sub.conversation_id[outside]})
        names = " and ".join(name for name, _ in splits)
        problems.append(
            Problem(
                "rows",
                f"{len(outside)} comparison(s) not among the {names} comparisons of track "
                f"{truth.protocol['track']!r} (found in: {', '.join(where)}): {ids(outside)}",
            )
        )
    pop_rows = pop_rows[first]
    pop_scores = []
    for s_i, (name, split) in enumerate(splits):
        mine = pop_rows[loc_split[pop_rows] == s_i]
        scores = np.full((len(split.turn), 4), np.nan)
        scores[loc_row[mine]] = sub.scores[mine]
        filled = np.zeros(len(split.turn), dtype=bool)
        filled[loc_row[mine]] = True
        if not filled.all():
            m = np.flatnonzero(~filled)
            problems.append(
                Problem(
                    "rows",
                    f"{len(m)} {name} comparison(s) have no population row (k = 0): {_ids(split.conversation_id[m], split.turn[m])}",
                )
            )
        idx = np.flatnonzero(filled)
        problems += _score_problems(scores[idx], split.data.present[idx], split, idx, f"{name} population rows")
        pop_scores.append(scores)
    # k-shot rows: complete per k, only the episodes' query comparisons of test annotators
    native: dict[tuple[int, int, int], np.ndarray] = {}
    shot = ~pop & ~bad_k & ~bad_draw & ~bad_control
    width = design.draws * 2
    for kk in sorted(set(k[shot].tolist())):
        others = episodes.others(kk)
        expected = []
        for a in episodes.at(kk):
            q = episodes.annotators[a].query
            for d in range(design.draws):
                expected.append((q * design.draws + d) * 2 + CONTROL_OWN)
                if others[(a, d)] is not None:
                    expected.append((q * design.draws + d) * 2 + CONTROL_OTHER)
        expected_codes = np.concatenate(expected) if expected else np.zeros(0, dtype=np.int64)
        rows = np.flatnonzero(shot & (k == kk))
        codes = (loc_row[rows] * design.draws + draw[rows]) * 2 + control[rows]
        ok = (loc_split[rows] == 0) & np.isin(codes, expected_codes)
        if (~ok).any():
            e = rows[~ok]
            problems.append(
                Problem(
                    "rows",
                    f"k = {kk}: {len(e)} row(s) that are not a query comparison of a test annotator evaluated at this k "
                    f"(or draw/control outside the episodes): {ids(e)}",
                )
            )
        rows, codes = rows[ok], codes[ok]
        first, repeat = _first(codes)
        if len(repeat):
            problems.append(
                Problem("rows", f"k = {kk}: duplicate (comparison, draw, control) rows: {ids(rows[repeat])}")
            )
        rows, codes = rows[first], codes[first]
        missing = expected_codes[~np.isin(expected_codes, codes)]
        if len(missing):
            m = missing // width
            problems.append(
                Problem(
                    "rows",
                    f"k = {kk}: {len(missing)} k-shot row(s) missing (every query comparison × draw × control of every "
                    f"annotator evaluated at k): {_ids(ev.conversation_id[m], ev.turn[m])}",
                )
            )
            continue
        for d in range(design.draws):
            for c in (CONTROL_OWN, CONTROL_OTHER):
                mine = rows[(draw[rows] == d) & (control[rows] == c)]
                if not len(mine):
                    continue
                arr = np.full((len(ev.turn), 4), np.nan)
                r_ev = loc_row[mine]
                arr[r_ev] = sub.scores[mine]
                problems += _score_problems(arr[r_ev], ev.data.present[r_ev], ev, r_ev, f"k = {kk} rows")
                native[(kk, d, c)] = arr
    if problems:
        raise SubmissionError(sub.path, problems)
    return SubmissionRows(pop_scores[1] if fit is not None else None, pop_scores[0], native)


def episodes_of(split: SplitTruth, design: EpisodeDesign = DESIGN) -> Episodes:
    """The fixed episodes of a split's annotators (protocol.episodes)."""
    return build_episodes(split.conversation_id, split.turn, split.data.annotators, split.data.informative, design)


def check_rows(sub: Submission, truth: Truth, design: EpisodeDesign = DESIGN) -> SubmissionRows:
    """`read_rows` against the truth's own episodes: on track `unseen_annotators` the population rows
    cover the validation and test annotators, on any other track the test annotators only."""
    fit = truth.validation if truth.track.name == TRACK else None
    return read_rows(sub, truth, episodes_of(truth.test, design), fit)


# --- the adaptation ---------------------------------------------------------------------------


@dataclass
class Adaptation:
    """The contract's per-annotator adaptation of a scorer: features [score / scale, log length z,
    letters b c d], pooled weights w0, prior precision diag(lam, lam_features, …)."""

    scale: float
    w0: np.ndarray
    lam: float
    names: list[str]
    lam_features: float = 100.0

    @property
    def precision(self) -> np.ndarray:
        return np.diag([self.lam] + [self.lam_features] * (len(self.w0) - 1))

    def design(self, scores: np.ndarray, split: SplitTruth) -> np.ndarray:
        """(n, 4, p) features of every comparison of `split`: the score (centred within the comparison, in
        units of `scale`), then the candidate features; 0 where absent."""
        present = split.data.present
        s = np.where(present, np.nan_to_num(scores), 0.0) / self.scale
        s = np.where(present, s - s.sum(1, keepdims=True) / np.maximum(present.sum(1, keepdims=True), 1), 0.0)
        extra, _ = candidate_features(split.lengths, present)
        return np.concatenate([s[..., None], extra], -1)

    def fit_users(self, X: np.ndarray, split: SplitTruth, supports: list[np.ndarray]) -> np.ndarray:
        """(E, p) user weights, one per support set (all of one size k); X = `design(...)`."""
        if not supports:
            return np.zeros((0, len(self.w0)))
        k = len(supports[0])
        if k == 0:
            return np.tile(self.w0, (len(supports), 1))
        rows = np.concatenate(supports)
        valid = split.data.valid[rows].reshape(len(supports), k, 4)
        chosen = split.data.chosen[rows].reshape(len(supports), k)
        return fit_map(X[rows].reshape(len(supports), k, 4, -1), valid, chosen, self.w0, self.precision)


def _arm(X: np.ndarray, split: SplitTruth, entries: list[tuple[int, np.ndarray]], W: np.ndarray) -> _Arm:
    """Query utilities x·w of many (annotator index, query rows) entries, entry e with weights W[e]."""
    if not entries:
        return _stack([], 1.0)
    rows = np.concatenate([q for _, q in entries])
    owner = np.concatenate([np.full(len(q), i) for i, q in entries])
    Wr = np.repeat(W, [len(q) for _, q in entries], axis=0)
    u = np.einsum("njp,np->nj", X[rows], Wr)
    return _Arm(rows, owner, np.where(split.data.present[rows], u, np.nan), 1.0)


def _score_feature_name() -> list[str]:
    return ["score"] + candidate_features(np.ones((1, 4)), np.ones((1, 4), dtype=bool))[1]


def fit_adaptation(
    split: SplitTruth,
    scores: np.ndarray,
    episodes: Episodes,
    annotators: list[int],
    grid: tuple = LAMBDA_GRID,
    feature_grid: tuple = LAMBDA_FEATURE_GRID,
) -> tuple[Adaptation, dict]:
    """The pooled fit on `annotators`' support pools and the prior precisions (λ on the score's weight,
    λ_features on the others) chosen on their query sets (mean per-annotator query NLL averaged over the
    k > 0 of the sweep). Returns the adaptation and its tuning record."""
    names = _score_feature_name()
    pools = [episodes.annotators[a].pool for a in annotators]
    pool_rows = np.concatenate(pools) if pools else np.zeros(0, dtype=np.int64)
    pool_rows = pool_rows[split.data.valid[pool_rows].sum(1) >= 2]
    scale = score_scale(np.nan_to_num(scores[pool_rows]), split.data.valid[pool_rows]) if len(pool_rows) else 0.0
    scale = scale if scale > 0 else 1.0
    base = Adaptation(scale, np.zeros(len(names)), 1.0, names)
    X = base.design(scores, split)
    if len(pool_rows):
        base.w0 = fit_map(
            X[pool_rows][None],
            split.data.valid[pool_rows][None],
            split.data.chosen[pool_rows][None],
            np.zeros(len(names)),
            POOLED_PRECISION * np.eye(len(names)),
        )[0]
    criterion: dict[str, float] = {}
    ks = [k for k in episodes.design.k_sweep if k > 0]

    def evaluate(lam: float, lam_f: float) -> float:
        key = f"{lam:g},{lam_f:g}"
        if key not in criterion:
            cand = Adaptation(scale, base.w0, float(lam), names, float(lam_f))
            per_k = []
            for k in ks:
                ats = [a for a in annotators if len(episodes.annotators[a].pool) >= k]
                if not ats:
                    continue
                draws = episodes.draws(k)
                sup = [episodes.annotators[a].support(k, d) for a in ats for d in range(draws)]
                W = cand.fit_users(X, split, sup)
                entries = [(i, episodes.annotators[a].query) for i, a in enumerate(ats) for _ in range(draws)]
                per_k.append(
                    float(np.nanmean(_per_annotator(_arm(X, split, entries, W), split, len(ats), None)["nll"]))
                )
            criterion[key] = float(np.mean(per_k)) if per_k else NAN
        return criterion[key]

    # coordinate search: λ on the score's weight, then λ on the other weights, then λ again
    def best(values: dict) -> float:
        return min(values, key=lambda g: (np.nan_to_num(values[g], nan=np.inf), g))

    lam, lam_f = 10.0, 100.0
    lam = best({g: evaluate(g, lam_f) for g in grid})
    lam_f = best({g: evaluate(lam, g) for g in feature_grid})
    lam = best({g: evaluate(g, lam_f) for g in grid})
    record = {
        "features": names,
        "score_scale": scale,
        "pooled_weights": dict(zip(names, map(float, base.w0))),
        "pooled_fit_comparisons": int(len(pool_rows)),
        "fitted_on_annotators": len(annotators),
        "lambda_grid": criterion,
        "lambda": lam,
        "lambda_features": lam_f,
        "lambda_criterion": "mean per-annotator query NLL, averaged over the k > 0 of the sweep; coordinate "
        "search over the grids (keys: λ on the score's weight, λ on the other features' weights)",
    }
    return Adaptation(scale, base.w0, lam, names, lam_f), record


# --- per-annotator values ---------------------------------------------------------------------


@dataclass
class _Arm:
    """Query scores of one method at one k and control: stacked rows of the evaluated split, the
    annotator index of each row (into the k's annotator list), and the temperature."""

    rows: np.ndarray
    owner: np.ndarray
    scores: np.ndarray
    temperature: float


def _stack(parts: list[tuple[int, np.ndarray, np.ndarray]], temperature: float) -> _Arm:
    if not parts:
        return _Arm(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)), temperature)
    return _Arm(
        np.concatenate([p[1] for p in parts]),
        np.concatenate([np.full(len(p[1]), p[0]) for p in parts]),
        np.concatenate([p[2] for p in parts]),
        temperature,
    )


def _per_annotator(arm: _Arm, split: SplitTruth, n: int, truth: np.ndarray | None) -> dict[str, np.ndarray]:
    """Per annotator (n): mean top-1, mean NLL, pairwise accuracy over their rows (all draws)."""
    out = {m: np.full(n, np.nan) for m in ("top1", "nll", "pairwise")}
    if not len(arm.rows):
        return out
    data = split.data.select(arm.rows)
    t = None if truth is None else truth[arm.rows]
    top1, credit, pairs, nll = per_comparison(arm.scores, data, arm.temperature, t)
    count = np.bincount(arm.owner, minlength=n).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["top1"] = np.bincount(arm.owner, top1, n) / count
        out["nll"] = np.bincount(arm.owner, nll, n) / count
        out["pairwise"] = np.bincount(arm.owner, credit, n) / np.bincount(arm.owner, pairs, n)
    out["top1"][count == 0] = np.nan
    out["nll"][count == 0] = np.nan
    return out


# --- statistics over annotators ---------------------------------------------------------------


class _Stats:
    """Bootstrap over annotators (multinomial counts per annotator, shared by every number of a block)."""

    def __init__(self, annotators: list[int], resamples: int, seed: int):
        self.index = {a: i for i, a in enumerate(annotators)}
        reps = Replicates.two_way(np.asarray(annotators), None, resamples, seed)
        self.weights = reps.weights  # (B, A) or None
        self.method = (
            "bootstrap over annotators (multinomial counts per annotator), percentile 95% CI; no CI or p-value "
            f"with fewer than {MIN_CI_ANNOTATORS} annotators"
        )

    def w(self, ann: list[int]) -> np.ndarray | None:
        if self.weights is None or len(ann) < MIN_CI_ANNOTATORS:
            return None
        return self.weights[:, [self.index[a] for a in ann]].astype(np.float64)

    @staticmethod
    def _mean_reps(v: np.ndarray, w: np.ndarray | None) -> np.ndarray | None:
        if w is None:
            return None
        ok = np.isfinite(v)
        ww = w[:, ok]
        with np.errstate(invalid="ignore", divide="ignore"):
            return (ww @ v[ok]) / ww.sum(1)

    def mean(self, v: np.ndarray, w: np.ndarray | None) -> Estimate:
        ok = np.isfinite(v)
        if not ok.any():
            return Estimate(NAN)
        return Estimate(float(v[ok].mean()), *percentile_ci(self._mean_reps(v, w)))

    def p10(self, v: np.ndarray, w: np.ndarray | None) -> Estimate:
        ok = np.isfinite(v)
        if not ok.any():
            return Estimate(NAN)
        vals = v[ok]
        order = np.argsort(vals, kind="stable")
        sv = vals[order]

        def q(weights: np.ndarray) -> np.ndarray:
            cum = np.cumsum(weights, -1)
            idx = (cum < 0.1 * cum[..., -1:]).sum(-1)  # first position where the cumulative share reaches 10%
            return sv[np.minimum(idx, len(sv) - 1)]

        point = float(q(np.ones(len(sv))))
        reps = None if w is None else q(w[:, ok][:, order])
        return Estimate(point, *percentile_ci(reps))

    def difference(self, a: np.ndarray, b: np.ndarray, w: np.ndarray | None) -> Difference:
        d = a - b
        d[np.abs(d) < 1e-12] = 0.0  # equal arrays computed in another order: no difference, not ±1e-16
        ok = np.isfinite(d)
        if not ok.any():
            return Difference(Estimate(NAN), NAN, NAN, False)
        est = float(d[ok].mean())
        reps = self._mean_reps(d, w)
        p = pvalue_zero(est, reps)
        return Difference(Estimate(est, *percentile_ci(reps)), p, p, bool(np.isfinite(p) and p < 0.05))

    def ratio(self, num: np.ndarray, den: np.ndarray, w: np.ndarray | None) -> tuple[Estimate, float]:
        ok = np.isfinite(num) & np.isfinite(den)
        if not ok.any() or den[ok].sum() == 0:
            return Estimate(NAN), NAN
        value = float(num[ok].sum() / den[ok].sum())
        if w is None:
            return Estimate(value), NAN
        ww = w[:, ok]
        with np.errstate(invalid="ignore", divide="ignore"):
            reps = (ww @ num[ok]) / (ww @ den[ok])
            num_reps = (ww @ num[ok]) / ww.sum(1)
        return Estimate(value, *percentile_ci(reps)), pvalue_zero(float(num[ok].mean()), num_reps)


# --- the block --------------------------------------------------------------------------------


def _mode_labels(split: SplitTruth, episodes: Episodes, axis: str) -> dict[int, str]:
    labels = split.data.groups.get(axis)
    if labels is None:
        return {}
    out = {}
    for a, e in episodes.annotators.items():
        vals, counts = np.unique(np.asarray(labels[np.concatenate([e.query, e.pool])], dtype=str), return_counts=True)
        out[a] = str(vals[np.argmax(counts)])
    return out


def _method_arms(
    method: str,
    k: int,
    episodes: Episodes,
    split: SplitTruth,
    ats: list[int],
    rows: SubmissionRows,
    adapt_of: dict[int, Adaptation],
    temperature: float,
) -> tuple[_Arm, _Arm]:
    """(own, random-other) query scores of a method at k for the annotators `ats`."""
    draws = episodes.draws(k)
    others = episodes.others(k) if k else {}
    own, other = [], []
    if method == "native":
        for i, a in enumerate(ats):
            q = episodes.annotators[a].query
            for d in range(draws):
                if k == 0:
                    own.append((i, q, rows.eval[q]))
                    continue
                own.append((i, q, rows.native[(k, d, CONTROL_OWN)][q]))
                if others[(a, d)] is not None:
                    other.append((i, q, rows.native[(k, d, CONTROL_OTHER)][q]))
        return _stack(own, temperature), _stack(other, temperature)
    groups: dict[int, list[int]] = {}
    for i, a in enumerate(ats):
        groups.setdefault(id(adapt_of[a]), []).append(i)
    own_arms, other_arms = [], []
    for members in groups.values():
        ad = adapt_of[ats[members[0]]]
        X = ad.design(rows.eval, split)
        sup_own, own_entries, sup_other, other_entries = [], [], [], []
        for i in members:
            a = ats[i]
            q = episodes.annotators[a].query
            for d in range(draws):
                sup_own.append(episodes.annotators[a].support(k, d))
                own_entries.append((i, q))
                b = others.get((a, d)) if k else None
                if b is not None:
                    sup_other.append(episodes.annotators[b].support(k, d))
                    other_entries.append((i, q))
        own_arms.append(_arm(X, split, own_entries, ad.fit_users(X, split, sup_own)))
        other_arms.append(_arm(X, split, other_entries, ad.fit_users(X, split, sup_other)))
    return _concat(own_arms), _concat(other_arms)


def _concat(arms: list[_Arm]) -> _Arm:
    arms = [a for a in arms if len(a.rows)]
    if not arms:
        return _stack([], 1.0)
    return _Arm(
        *(np.concatenate([getattr(a, f) for a in arms]) for f in ("rows", "owner", "scores")), arms[0].temperature
    )


def _references(
    truth: Truth, split: SplitTruth, episodes: Episodes, ats: list[int]
) -> dict[str, dict[str, np.ndarray]]:
    """Per-annotator expected top-1 / NLL of the references on the same query rows (as in the contract:
    random = a constant score; oracles from the generator's probabilities, expected under p_true)."""
    from .references import ORACLES

    parts = [(i, episodes.annotators[a].query) for i, a in enumerate(ats)]
    rows = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    owner = np.concatenate([np.full(len(p[1]), p[0]) for p in parts]) if parts else np.zeros(0, np.int64)
    present = split.data.present[rows]
    out = {}
    arm = _Arm(rows, owner, np.where(present, 0.0, np.nan), 1.0)
    v = _per_annotator(arm, split, len(ats), None)
    out["random"] = {"top1": v["top1"], "nll": v["nll"]}
    if truth.oracle and split is truth.test:
        p_true = truth.oracle["p_true"]
        for name, level in ORACLES.items():
            p = truth.oracle[level][rows]
            arm = _Arm(rows, owner, np.where(present, np.log(np.clip(p, 1e-12, None)), np.nan), 1.0)
            v = _per_annotator(arm, split, len(ats), p_true)
            out[name] = {"top1": v["top1"], "nll": v["nll"]}
    return out


def _curve(
    method: str,
    view: str,
    arms: dict[int, tuple[_Arm, _Arm]],
    refs: dict[int, dict],
    episodes: Episodes,
    split: SplitTruth,
    truth_p: np.ndarray | None,
    stats: _Stats,
    labels: dict[str, dict[int, str]],
    temperature: float,
) -> MethodCurve:
    ks = sorted(arms)
    ats0 = episodes.at(0)
    per = {}
    for k in ks:
        ats = episodes.at(k)
        own, other = arms[k]
        per[k] = (_per_annotator(own, split, len(ats), truth_p), _per_annotator(other, split, len(ats), truth_p))
    base = {a: i for i, a in enumerate(ats0)}
    points: dict[str, KShotPoint] = {}
    fam_pop, fam_other = {}, {}
    for k in ks:
        ats = episodes.at(k)
        w = stats.w(ats)
        own, other = per[k]
        pop = {m: per[0][0][m][[base[a] for a in ats]] for m in ("top1", "nll")}
        below_top1 = np.where(np.isfinite(own["top1"]), (own["top1"] < pop["top1"] - 1e-12).astype(float), np.nan)
        below_nll = np.where(np.isfinite(own["nll"]), (own["nll"] > pop["nll"] + 1e-12).astype(float), np.nan)
        nan_est = Estimate(NAN)
        vs_pop = {
            "top1": stats.difference(own["top1"], pop["top1"], w),
            "nll": stats.difference(pop["nll"], own["nll"], w),
        }
        vs_other = {
            "top1": stats.difference(own["top1"], other["top1"], w),
            "nll": stats.difference(other["nll"], own["nll"], w),
        }
        ref = refs[k]
        gap, gap_p = Estimate(NAN), NAN
        if "oracle_individual" in ref and k > 0:
            gap, gap_p = stats.ratio(own["top1"] - pop["top1"], ref["oracle_individual"]["top1"] - pop["top1"], w)
        q_rows = sum(len(episodes.annotators[a].query) for a in ats)
        points[str(k)] = KShotPoint(
            k=k,
            annotators=len(ats),
            comparisons=int(q_rows),
            draws=episodes.draws(k),
            top1=PersonDistribution(
                stats.mean(own["top1"], w), stats.p10(own["top1"], w), stats.mean(below_top1, w) if k else nan_est
            ),
            nll=PersonDistribution(
                stats.mean(own["nll"], w), _neg(stats.p10(-own["nll"], w)), stats.mean(below_nll, w) if k else nan_est
            ),
            pairwise=stats.mean(own["pairwise"], w),
            other_top1=stats.mean(other["top1"], w) if k else nan_est,
            other_nll=stats.mean(other["nll"], w) if k else nan_est,
            vs_population=vs_pop,
            vs_random_other=vs_other,
            counts=False,  # set below, after the Holm adjustment across the curve
            gap_closed=gap,
            gap_p=gap_p,
            references={r: {m: float(np.nanmean(v[m])) if len(v[m]) else NAN for m in v} for r, v in ref.items()},
        )
        if k > 0:
            fam_pop[str(k)], fam_other[str(k)] = vs_pop["top1"], vs_other["top1"]
    for fam in (fam_pop, fam_other):
        adj = holm({k: d.p for k, d in fam.items()})
        for k, d in fam.items():
            d.p_holm, d.significant = adj[k]["p_holm"], adj[k]["significant"]
    for k in fam_pop:  # a gain counts: above the population AND above the random other user (Holm, top-1)
        pop, other = fam_pop[k], fam_other[k]
        points[k].counts = bool(
            pop.significant and pop.difference.value > 0 and other.significant and other.difference.value > 0
        )
    by_group: dict[str, dict[str, dict[str, GroupPoint]]] = {}
    for axis, lab in labels.items():
        by_group[axis] = {}
        for k in ks:
            if k == 0:
                continue
            ats = episodes.at(k)
            own, other = per[k]
            pop_top1 = per[0][0]["top1"][[base[a] for a in ats]]
            fam = {}
            for g in sorted({lab[a] for a in ats}):
                idx = np.array([i for i, a in enumerate(ats) if lab[a] == g])
                members = [ats[i] for i in idx]
                w = stats.w(members)
                point = GroupPoint(
                    len(members),
                    stats.mean(own["top1"][idx], w),
                    stats.difference(own["top1"][idx], pop_top1[idx], w),
                    stats.difference(own["top1"][idx], other["top1"][idx], w),
                )
                by_group[axis].setdefault(g, {})[str(k)] = point
                fam[g] = point
            for attr in ("vs_population", "vs_random_other"):
                adj = holm({g: getattr(p, attr).p for g, p in fam.items()})
                for g, p in fam.items():
                    d = getattr(p, attr)
                    d.p_holm, d.significant = adj[g]["p_holm"], adj[g]["significant"]
    return MethodCurve(METHOD_DESCRIPTIONS[method] + f" ({view})", float(temperature), points, by_group)


def _native_temperature(
    sub: Submission, rows: SubmissionRows, fit_split: SplitTruth | None, split: SplitTruth
) -> tuple[float, dict]:
    """The temperature of the submission's own (native) scores: 1 for log-probabilities, else fitted on
    the validation annotators' population rows (unseen view) or cross-fitted on the evaluated rows
    (seen view, as the contract does). A submitted temperature is never used."""
    fixed = fixed_temperature(sub.metadata.get("model", {}).get("method", ""))
    if fixed is not None:
        return fixed, {"value": fixed, "fitted_on": "none: the scores are log-probabilities"}
    if fit_split is not None and rows.fit is not None:
        t, note = fit_temperature(rows.fit, fit_split.data.chosen, fit_split.data.valid)
        return t, {"value": t, "fitted_on": "validation annotators' population rows", "note": note}
    _, t, note = crossfit_temperature(rows.eval, split.data)
    return t, {"value": t, "fitted_on": "cross-fitted on the evaluated rows (two folds by prompt)", "note": note}


def _neg(e: Estimate) -> Estimate:
    """−e with its CI flipped (the 10th-percentile annotator of NLL is the 90th percentile of NLL)."""
    return Estimate(-e.value, -e.ci_high, -e.ci_low)


def individual_block(
    sub: Submission,
    truth: Truth,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    design: EpisodeDesign = DESIGN,
) -> IndividualBlock:
    """Every individual-level number of a submission: on a track-`unseen_annotators` submission the
    unseen view (tuned on validation annotators), on a track-`main` one the seen view (cross-fitted)."""
    unseen = truth.track.name == TRACK
    split = truth.test
    episodes = episodes_of(split, design)
    fit_split = truth.validation if unseen else None
    rows = read_rows(sub, truth, episodes, fit_split)
    temperature, tuning_t = _native_temperature(sub, rows, fit_split, split)
    tuning: dict = {"native_temperature": tuning_t}
    adapt_of: dict[int, Adaptation] = {}
    if unseen:
        v = truth.validation
        fit_eps = episodes_of(v, design)
        ad, rec = fit_adaptation(v, rows.fit, fit_eps, fit_eps.at(0))
        rec["fitted_on"] = "validation annotators (support pools: pooled fit; query sets: λ)"
        rec["validation_annotators"] = fit_eps.summary()
        tuning["adapted"] = rec
        adapt_of = {a: ad for a in episodes.annotators}
    else:
        fold = {a: hashed(design.salt, "fold", a) % 2 for a in episodes.annotators}
        tuning["adapted"] = {"fitted_on": "cross-fitted: each half of the test annotators tuned on the other half"}
        for f in (0, 1):
            tune_on = [a for a in episodes.at(0) if fold[a] != f]
            ad, rec = fit_adaptation(split, rows.eval, episodes, tune_on)
            tuning["adapted"][f"half_{f}"] = rec
            adapt_of.update({a: ad for a in episodes.annotators if fold[a] == f})
    methods = ["adapted"] + (["native"] if rows.native else [])
    native_ks = sorted({0} | {k for k, _, _ in rows.native})
    stats = _Stats(episodes.at(0), resamples, seed)
    labels = {axis: _mode_labels(split, episodes, axis) for axis in GROUP_AXES if axis in split.data.groups}
    views_truth = {"observed": None}
    if truth.oracle:
        views_truth["expected"] = truth.oracle["p_true"]
    arms = {}
    refs = {}
    for m in methods:
        arms[m] = {}
        for k in design.k_sweep if m == "adapted" else native_ks:
            ats = episodes.at(k)
            if not ats:
                continue
            arms[m][k] = _method_arms(m, k, episodes, split, ats, rows, adapt_of, temperature)
            if k not in refs:
                refs[k] = _references(truth, split, episodes, ats)
    views = {}
    for view, p in views_truth.items():
        views[view] = {
            m: _curve(m, view, arms[m], refs, episodes, split, p, stats, labels, temperature if m == "native" else 1.0)
            for m in methods
        }
    head_method = "native" if "native" in methods else "adapted"
    head_view = "expected" if "expected" in views else "observed"
    hp = views[head_view][head_method].points.get(str(design.headline_k))
    headline = {
        "method": head_method,
        "view": head_view,
        "k": design.headline_k,
        "available": hp is not None,
    }
    if hp is not None:
        headline.update(
            annotators=hp.annotators,
            top1=hp.top1.mean.value,
            # k = 0 on the same annotators as at k (those reaching k): the paired gain's baseline
            top1_population=hp.top1.mean.value - hp.vs_population["top1"].difference.value,
            gain=_diff_dict(hp.vs_population["top1"]),
            gain_vs_random_other=_diff_dict(hp.vs_random_other["top1"]),
            counts=hp.counts,
            gap_closed=_est_dict(hp.gap_closed),
            gap_p=hp.gap_p,
            oracle_individual=hp.references.get("oracle_individual", {}).get("top1", NAN),
        )
    d = design.to_dict()
    d["controls"] = {"0": "own support", "1": "random other user's support"}
    d["bootstrap"] = stats.method
    d["resamples"] = resamples
    return IndividualBlock(
        setting="unseen" if unseen else "seen",
        track=truth.protocol["track"],
        design=d,
        annotators=episodes.summary(),
        tuning=tuning,
        views=views,
        headline=headline,
    )


def _est_dict(e: Estimate) -> dict:
    return {"value": e.value, "ci_low": e.ci_low, "ci_high": e.ci_high}


def _diff_dict(d: Difference) -> dict:
    return {**_est_dict(d.difference), "p": d.p}


__all__ = [
    "EXTRA_COLUMNS",
    "TRACK",
    "Adaptation",
    "SubmissionRows",
    "check_rows",
    "episodes_of",
    "fit_adaptation",
    "individual_block",
    "read_rows",
]
