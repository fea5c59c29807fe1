"""THE evaluation contract of protocol v2: every number of the benchmark, computed from scores.

Every consumer imports this module — the benchmark pipeline, `community-alignment evaluate`, the
report and plots (through the results it returns), the leaderboard, the `evaluate` metric, the
monoculture analysis and validation — and nothing else computes a metric, a group summary, the
headline or an agreement. Inputs are arrays:

- `EvalData`: the label side of the evaluated comparisons (who chose what among which candidates,
  annotator, prompt group, candidate set, group labels per axis). `protocol.truth` builds it from the
  dataset; the `evaluate` metric builds it from its arguments.
- scores (n, 4) per scorer, finite on every present candidate.

`Evaluation(data)` prepares what is shared by all scorers (replicate weights and clusters, group
codes, qualifying sets, denominators, cross-fitting folds); `Evaluation.block(...)` gives one scorer's
`ScorerBlock`; `Evaluation.versus(...)` the paired differences; `evaluate(...)` all of it as `Results`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..results.types import (
    AxisBlock,
    Difference,
    Distributional,
    Estimate,
    GroupBlock,
    MetricSummary,
    Overall,
    Results,
    ScorerBlock,
)
from . import accuracy, distributional
from .bootstrap import (
    DEFAULT_RESAMPLES,
    Clusters,
    Replicates,
    calibrate,
    cgm_variance,
    holm,
    onehot,
    percentile_ci,
    pvalue_zero,
)
from .groups import AXES, MIN_GROUP_ANNOTATORS, MISSING, encode

SCHEMA_VERSION = 2
#: The one headline: top-1 accuracy, macro over countries (each eligible country weighs the same).
HEADLINE = {
    "name": "top-1 accuracy, macro over countries",
    "metric": "top1_accuracy",
    "axis": "country",
    "statistic": "macro",
}
SUMMARY_METRICS = ("top1_accuracy", "pairwise_accuracy")
GROUP_METRICS = ("top1_accuracy", "pairwise_accuracy", "nll")
PERMUTATIONS = 200  # of the group labels, for the gap test


@dataclass
class EvalData:
    """The label side of n evaluated comparisons (array level)."""

    chosen: np.ndarray  # (n,) int 0..3
    present: np.ndarray  # (n, 4) bool: the candidate exists
    annotators: np.ndarray  # (n,)
    prompts: np.ndarray | None = None  # (n,) prompt group (two-way clustering); None → annotators only
    same_text: np.ndarray | None = None  # (n, 4, 4) bool: candidates j and k have identical text
    set_keys: np.ndarray | None = None  # (n,) candidate-set identity (distributional fit)
    groups: dict[str, np.ndarray] = field(default_factory=dict)  # axis → (n,) labels
    ids: np.ndarray | None = None  # (n,) comparison ids (for messages)

    def __post_init__(self):
        self.chosen = np.asarray(self.chosen, dtype=np.int64)
        self.present = np.asarray(self.present, dtype=bool)
        n = len(self.chosen)
        if self.present.shape != (n, 4):
            raise ValueError(f"present must be (n, 4) = ({n}, 4), got {self.present.shape}")
        if self.same_text is None:
            self.same_text = np.zeros((n, 4, 4), dtype=bool)

    def __len__(self) -> int:
        return len(self.chosen)

    def valid_for(self, chosen: np.ndarray) -> np.ndarray:
        """Competitors when `chosen` is the choice: present, and not a rejected copy of the chosen text."""
        rows = np.arange(len(chosen))
        dup = self.same_text[rows, chosen, :].copy()
        dup[rows, chosen] = False
        return self.present & ~dup

    @property
    def valid(self) -> np.ndarray:
        return self.valid_for(self.chosen)

    @property
    def informative(self) -> np.ndarray:
        """Comparisons with at least two competing candidates (the others say nothing about a scorer)."""
        return self.valid.sum(1) >= 2

    def select(self, sel: np.ndarray) -> EvalData:
        sel = np.asarray(sel)
        pick = lambda a: None if a is None else np.asarray(a)[sel]  # noqa: E731
        return EvalData(
            self.chosen[sel],
            self.present[sel],
            np.asarray(self.annotators)[sel],
            pick(self.prompts),
            self.same_text[sel],
            pick(self.set_keys),
            {k: np.asarray(v)[sel] for k, v in self.groups.items()},
            pick(self.ids),
        )


def check_scores(scores: np.ndarray, data: EvalData) -> np.ndarray:
    """Scores as float64 (n, 4); a NaN or ±inf on a present candidate is an error naming the rows."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (len(data), 4):
        raise accuracy.ScoreError(f"expected scores of shape ({len(data)}, 4), got {scores.shape}")
    bad = data.present & ~np.isfinite(scores)
    if bad.any():
        rows = np.flatnonzero(bad.any(1))
        ids = data.ids[rows] if data.ids is not None else rows
        shown = ", ".join(map(str, ids[:10])) + (f" … ({len(rows)} comparisons)" if len(rows) > 10 else "")
        raise accuracy.ScoreError(f"non-finite score (NaN or ±inf) on a present candidate: {shown}")
    return np.where(data.present, scores, np.nan)


#: Cross-fitting needs this many comparisons in the other fold; below it the temperature is fitted on all.
MIN_FOLD = 30


def folds_of(data: EvalData) -> np.ndarray:
    """The two cross-fitting folds: prompt groups (else annotators) split by the parity of their sorted
    code — a fold never shares a prompt group with the other."""
    units = data.prompts if data.prompts is not None else data.annotators
    return np.unique(np.asarray(units), return_inverse=True)[1] % 2


def crossfit_temperature(scores: np.ndarray, data: EvalData, valid: np.ndarray | None = None):
    """(T per comparison, summary T, note): the softmax temperature of each fold fitted on the other
    fold's comparisons (`accuracy.fit_temperature`). The evaluator fits it from the test scores alone:
    a submitted temperature is never trusted, and no comparison's NLL uses a T fitted on itself."""
    valid = data.valid if valid is None else valid
    s = np.nan_to_num(np.asarray(scores, dtype=np.float64))
    folds = folds_of(data)
    t_rows = np.ones(len(data))
    temps, notes = [], []
    for f in (0, 1):
        train = folds != f
        if train.sum() < MIN_FOLD or (folds == f).sum() == 0:
            train = np.ones(len(data), bool)
        t, note = accuracy.fit_temperature(s[train], data.chosen[train], valid[train])
        t_rows[folds == f] = t
        temps.append(t)
        if note:
            notes.append(note)
    summary = float(np.exp(np.mean(np.log(temps))))
    return t_rows, summary, "; ".join(sorted(set(notes))) or None


@dataclass
class Values:
    """Per-comparison numerators of one scorer (denominators: 1, and the pairs) and what else it needs."""

    top1: np.ndarray
    credit: np.ndarray
    pairs: np.ndarray
    nll: np.ndarray
    probs: np.ndarray  # (n, 4) choice probabilities over the present candidates (distributional fit)
    ece: float
    auc: float
    auc_residual: np.ndarray  # per comparison: its pairs' share of the AUC's linearisation
    temperature: float
    temperature_note: str | None


def _observed(scores, data: EvalData, valid: np.ndarray, t) -> tuple:
    top1 = accuracy.top1_credit(scores, data.chosen, valid)
    credit, pairs = accuracy.pairwise_credit(scores, data.chosen, valid)
    return top1, credit, pairs, accuracy.nll(scores, data.chosen, valid, t)


def _expected(scores, data: EvalData, truth: np.ndarray, t) -> tuple:
    """Expected values when the choice is drawn from `truth` (n, 4) (references with known probabilities)."""
    n = len(data)
    out = [np.zeros(n) for _ in range(4)]
    for c in range(4):
        rows = np.flatnonzero(data.present[:, c] & (truth[:, c] > 0))
        if not len(rows):
            continue
        sub = data.select(rows)
        ch = np.full(len(rows), c)
        valid = sub.valid_for(ch)
        sub.chosen = ch
        vals = _observed(scores[rows], sub, valid, t)
        for acc, v in zip(out, vals):
            acc[rows] += truth[rows, c] * v
    return tuple(out)


def per_comparison(
    scores: np.ndarray, data: EvalData, temperature: float = 1.0, truth: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(top-1 credit, pairwise credit, pairs, NLL) per comparison of one scorer — observed, or expected
    under the choice probabilities `truth` (n, 4) — with the contract's validation and tie policy.
    The individual track aggregates these per annotator (protocol.individual)."""
    scores = check_scores(scores, data)
    if truth is None:
        return _observed(scores, data, data.valid, temperature)
    return _expected(scores, data, np.asarray(truth, dtype=np.float64), temperature)


def pairwise_auc(scores: np.ndarray, data: EvalData) -> tuple[float, np.ndarray]:
    """(AUC, per-comparison residual) of the score margin over binary (chosen, rejected) pairs, each
    pair in both orientations: P(d_i > −d_j) + ½ P(=) for two pairs drawn at random
    (d = s_chosen − s_rejected) — the AUC a binary reward-model evaluation reports on pairs shown in
    random order, without the randomness. AUC = mean of the placement values V_i = P(−d_j < d_i); its
    influence function is ψ_i = 2 (V_i − AUC), so AUC − E[AUC] ≈ Σ_i ψ_i / m, and a comparison's
    residual is the sum of its pairs' ψ / m (the CI is two-way clustered on those residuals)."""
    d, row = accuracy.pair_margins(scores, data.chosen, data.valid)
    if not len(d):
        return float("nan"), np.zeros(len(data))
    neg = np.sort(-d)
    placement = (np.searchsorted(neg, d, side="left") + np.searchsorted(neg, d, side="right")) / (2 * len(d))
    value = float(placement.mean())
    residual = np.bincount(row, weights=2 * (placement - value) / len(d), minlength=len(data))
    return value, residual


@dataclass
class Ratio:
    """One ratio statistic per group: estimates, two-way clustered variances, linearisation residuals
    (one per comparison: the row's share of its group's estimate error) and replicates — raw (the
    pigeonhole bootstrap) and calibrated to the clustered variance."""

    point: np.ndarray  # (G,)
    variance: np.ndarray  # (G,)
    residual: np.ndarray  # (n,)
    raw: np.ndarray | None  # (B, G)
    reps: np.ndarray | None  # (B, G) calibrated


class Evaluation:
    """What every scorer of one evaluation shares: data, replicate weights and clusters, group codes,
    eligible groups, denominators, qualifying candidate sets and the cross-fitting folds.

    Statistics (docs/benchmark.md, "Confidence intervals"): every estimate's CI comes from the
    pigeonhole (two-way) bootstrap replicates, shared by all scorers and groups (so differences are
    paired), rescaled to the two-way clustered variance of Cameron, Gelbach & Miller (`bootstrap.
    calibrate`): the pigeonhole weights alone overstate the variance where annotators and prompts have
    few rows each. The worst group and the gap use simultaneous (max-t) intervals over the eligible
    groups; whether a gap exceeds chance is a permutation test of the group labels."""

    def __init__(
        self,
        data: EvalData,
        resamples: int = DEFAULT_RESAMPLES,
        seed: int = 0,
        axes: tuple[str, ...] | None = None,
        min_group_annotators: int = MIN_GROUP_ANNOTATORS,
        min_set_annotators: int = distributional.MIN_SET_ANNOTATORS,
        permutations: int = PERMUTATIONS,
    ):
        keep = data.informative
        #: rows of the input data that are evaluated (the informative ones); `block` takes scores for
        #: either the input rows or these
        self.kept = np.flatnonzero(keep)
        self.n_input = len(data)
        self.dropped_uninformative = int((~keep).sum())
        self.data = data if keep.all() else data.select(self.kept)
        d = self.data
        self.valid = d.valid
        self.resamples, self.seed, self.permutations = resamples, seed, permutations
        self.reps = Replicates.two_way(d.annotators, d.prompts, resamples, seed)
        self.clusters = Clusters.of(np.asarray(d.annotators), d.prompts)
        self.min_group_annotators = min_group_annotators
        self.min_set_annotators = min_set_annotators
        self.ones = np.ones(len(d))
        self.pairs = (self.valid.sum(1) - 1).astype(np.float64)
        self.axes: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}
        self._annotator_level: dict[str, bool] = {}
        ann = self.clusters.annotator
        wanted = [a for a in (axes or tuple(AXES)) if a in d.groups]
        for axis in wanted:
            names, codes = encode(d.groups[axis])
            eligible = np.array(
                [
                    name != MISSING and len(np.unique(ann[codes == k])) >= min_group_annotators
                    for k, name in enumerate(names)
                ]
            )
            self.axes[axis] = (names, codes, eligible)
            # an annotator attribute (country, age, …) or a comparison attribute (turn, prompt origin)
            per_annotator = np.unique(np.stack([ann, codes], 1), axis=0)
            self._annotator_level[axis] = len(per_annotator) == self.clusters.n_annotators
        # one indicator matrix for "overall" (a column of ones) and every group of every axis: each
        # scorer's replicate sums are then one matrix product (B × n) @ (n × 3·columns)
        self._onehot = {axis: onehot(codes, len(names)) for axis, (names, codes, _) in self.axes.items()}
        self._columns: dict[str, slice] = {"overall": slice(0, 1)}
        start = 1
        for axis, (names, _, _) in self.axes.items():
            self._columns[axis] = slice(start, start + len(names))
            start += len(names)
        self._indicator = np.concatenate([np.ones((len(d), 1), np.float32), *self._onehot.values()], 1)
        self._den_cache: dict = {}
        if d.set_keys is not None:
            self.set_codes, self.n_sets = distributional.qualifying_sets(d.set_keys, d.annotators, min_set_annotators)
        else:
            self.set_codes, self.n_sets = np.full(len(d), -1), 0
        self._country_set_codes: dict | None = None

    # --- per-scorer values -------------------------------------------------------------------

    def values(self, scores: np.ndarray, temperature: float | None = None, truth: np.ndarray | None = None) -> Values:
        """Per-comparison values. `temperature` None: cross-fitted (`crossfit_temperature`); a number:
        fixed (a scorer whose scores are its own log-probabilities, an oracle: 1)."""
        d = self.data
        scores = check_scores(scores, d)
        note = None
        if truth is not None or temperature is not None:
            t_rows = t = float(1.0 if temperature is None else temperature)
        else:
            t_rows, t, note = crossfit_temperature(scores, d, self.valid)
        if truth is None:
            top1, credit, pairs, nll = _observed(scores, d, self.valid, t_rows)
        else:
            top1, credit, pairs, nll = _expected(scores, d, np.asarray(truth, dtype=np.float64), t_rows)
        probs = accuracy.choice_probabilities(scores, d.present, t_rows)
        if not (np.isfinite(nll).all() and np.isfinite(probs).all()):  # cannot happen: the softmax is overflow-safe
            raise accuracy.ScoreError("the scores give non-finite choice probabilities")
        auc, auc_residual = pairwise_auc(scores, d)
        return Values(
            top1=top1,
            credit=credit,
            pairs=pairs,
            nll=nll,
            probs=probs,
            ece=accuracy.expected_calibration_error(scores, d.chosen, self.valid, t_rows),
            auc=auc,
            auc_residual=auc_residual,
            temperature=t,
            temperature_note=note,
        )

    def _metric_inputs(self, v: Values) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {
            "top1_accuracy": (v.top1, self.ones),
            "pairwise_accuracy": (v.credit, v.pairs),
            "nll": (v.nll, self.ones),
        }

    def _replicate_sums(self, vectors: list[np.ndarray]) -> list[np.ndarray] | None:
        """For each (n,) vector: its (B, 1 + ΣG) replicate sums overall and per group — one product."""
        if self.reps.weights is None:
            return None
        values = [np.asarray(v, np.float64) for v in vectors]
        big = any(np.abs(v).max(initial=0.0) > 1e30 for v in values)  # float32 would overflow: use float64
        dtype = np.float64 if big else np.float32
        x = np.concatenate([self._indicator.astype(dtype) * v.astype(dtype)[:, None] for v in values], 1)
        sums = self.reps.weights.astype(dtype) @ x
        width = self._indicator.shape[1]
        return [sums[:, k * width : (k + 1) * width].astype(np.float64) for k in range(len(vectors))]

    def _den_sums(self, den: np.ndarray) -> np.ndarray | None:
        """Replicate sums of a denominator; the scorer-independent ones (1 per comparison, the observed
        pairs) are computed once."""
        key = "ones" if den is self.ones else ("pairs" if np.array_equal(den, self.pairs) else None)
        if key in self._den_cache:
            return self._den_cache[key]
        out = self._replicate_sums([den])
        out = None if out is None else out[0]
        if key:
            self._den_cache[key] = out
        return out

    def _codes(self, where: str) -> tuple[np.ndarray, int]:
        if where == "overall":
            return np.zeros(len(self.data), dtype=np.int64), 1
        names, codes, _ = self.axes[where]
        return codes, len(names)

    def ratios(self, v: Values) -> dict[str, dict[str, Ratio]]:
        """metric → {"overall" | axis: Ratio} for the three ratio metrics of one scorer."""
        inputs = self._metric_inputs(v)
        nums = self._replicate_sums([num for num, _ in inputs.values()])
        out: dict[str, dict[str, Ratio]] = {}
        for k, (metric, (num, den)) in enumerate(inputs.items()):
            raw_all = None
            if nums is not None:
                with np.errstate(invalid="ignore", divide="ignore"):
                    raw_all = nums[k] / self._den_sums(den)
            out[metric] = {}
            for where, cols in self._columns.items():
                codes, g = self._codes(where)
                sums_n = np.bincount(codes, weights=num, minlength=g)
                sums_d = np.bincount(codes, weights=den, minlength=g)
                with np.errstate(invalid="ignore", divide="ignore"):
                    point = sums_n / sums_d
                    residual = np.nan_to_num((num - point[codes] * den) / sums_d[codes])
                variance = cgm_variance(residual, codes, g, self.clusters)
                raw = None if raw_all is None else raw_all[:, cols]
                out[metric][where] = Ratio(point, variance, residual, raw, calibrate(point, raw, variance))
        return out

    def block(
        self,
        scores: np.ndarray,
        kind: str = "model",
        temperature: float | None = None,
        truth: np.ndarray | None = None,
        temperature_note: str | None = None,
    ) -> tuple[ScorerBlock, dict]:
        """(ScorerBlock, cache for `versus`) of one scorer, from scores on the input rows or on the
        evaluated (`kept`) rows. `temperature` None: cross-fitted; `truth` (n, 4): the accuracy metrics
        become expected values under those choice probabilities (references)."""
        d = self.data
        if len(scores) == self.n_input != len(d):
            scores = np.asarray(scores)[self.kept]
            truth = None if truth is None else np.asarray(truth)[self.kept]
        v = self.values(scores, temperature, truth)
        ratios = self.ratios(v)
        ann = np.asarray(d.annotators)

        def est(r: Ratio, k: int = 0, metric: str = "top1_accuracy") -> Estimate:
            return _bounded(metric, float(r.point[k]), *_ci(None if r.reps is None else r.reps[:, k]))

        auc_var = cgm_variance(v.auc_residual, np.zeros(len(d), np.int64), 1, self.clusters)[0]
        auc_half = 1.959964 * np.sqrt(auc_var) if np.isfinite(auc_var) else np.nan
        overall = Overall(
            n=len(d),
            annotators=int(len(np.unique(ann))),
            prompt_groups=int(len(np.unique(d.prompts))) if d.prompts is not None else 0,
            top1_accuracy=est(ratios["top1_accuracy"]["overall"]),
            pairwise_accuracy=est(ratios["pairwise_accuracy"]["overall"], metric="pairwise_accuracy"),
            nll=est(ratios["nll"]["overall"], metric="nll"),
            pairwise_auc=Estimate(v.auc, max(0.0, v.auc - auc_half), min(1.0, v.auc + auc_half)),
            ece=v.ece,
        )
        axes, summaries = {}, {}
        for axis, (names, codes, eligible) in self.axes.items():
            groups = {}
            for k, name in enumerate(names):
                sel = codes == k
                e = {m: est(ratios[m][axis], k, m) for m in GROUP_METRICS}
                groups[name] = GroupBlock(
                    int(sel.sum()), int(len(np.unique(ann[sel]))), eligible=bool(eligible[k]), **e
                )
            summ = {}
            inputs = self._metric_inputs(v)
            for metric in SUMMARY_METRICS:
                summ[metric], summaries[(axis, metric)] = self._summarize(axis, ratios[metric][axis], *inputs[metric])
            axes[axis] = AxisBlock(groups, summ["top1_accuracy"], summ["pairwise_accuracy"])
        dist, dist_reps = self.distributional(v.probs)
        note = temperature_note or v.temperature_note
        if temperature is None and truth is None:
            note = "cross-fitted on 2 folds of prompt groups" + (f"; {note}" if note else "")
        block = ScorerBlock(kind, truth is not None, float(v.temperature), note, overall, axes, dist)
        cache = {"values": v, "ratios": ratios, "summaries": summaries, "distributional": dist_reps}
        return block, cache

    # --- group summaries ------------------------------------------------------------------------

    def _macro(self, axis: str, r: Ratio) -> tuple[float, float, np.ndarray | None]:
        """(macro, its clustered variance, its calibrated replicates) over the eligible groups."""
        names, codes, eligible = self.axes[axis]
        idx = np.flatnonzero(eligible)
        point = float(r.point[idx].mean())
        residual = np.where(eligible[codes], r.residual, 0.0) / len(idx)
        var = cgm_variance(residual, np.zeros(len(codes), np.int64), 1, self.clusters)
        raw = None if r.raw is None else r.raw[:, idx].mean(1)
        reps = calibrate(np.array([point]), None if raw is None else raw[:, None], var)
        return point, float(var[0]), None if reps is None else reps[:, 0]

    def _summarize(self, axis: str, r: Ratio, num: np.ndarray, den: np.ndarray) -> tuple[MetricSummary, dict]:
        """Macro (mean over eligible groups), worst eligible group and gap (best − worst), with CIs;
        for top-1, the permutation test of the gap. Worst and gap use simultaneous (max-t) intervals:
        valid however close the groups are, where a percentile interval of a minimum is biased."""
        names, _, eligible = self.axes[axis]
        idx = np.flatnonzero(eligible)
        nan = float("nan")
        if not len(idx):
            empty = MetricSummary(Estimate(nan), Estimate(nan), None, Estimate(nan))
            return empty, {"macro": (nan, None), "groups": idx}
        vals = r.point[idx]
        w = int(idx[np.argmin(vals)])
        macro, _, macro_reps = self._macro(axis, r)
        worst, gap = float(vals.min()), float(vals.max() - vals.min())
        lo, hi = simultaneous_bounds([r], idx)
        worst_ci = (float(lo[0].min()), float(hi[0].min())) if lo is not None else (nan, nan)
        gap_ci = (
            (max(0.0, float(lo[0].max() - hi[0].min())), float(hi[0].max() - lo[0].min()))
            if lo is not None
            else (nan, nan)
        )
        null = self._gap_null(axis, idx, num, den, float(vals.max() - vals.min()))
        summary = MetricSummary(
            _bounded("top1_accuracy", macro, *_ci(macro_reps)),
            _bounded("top1_accuracy", worst, *worst_ci),
            names[w],
            _bounded("top1_accuracy", gap, *gap_ci),
            gap_p=null["p"] if null else nan,
            gap_null_p95=null["p95_gap"] if null else nan,
        )
        return summary, {"macro": (macro, macro_reps), "groups": idx, "null": null}

    def _gap_null(self, axis: str, idx: np.ndarray, num: np.ndarray, den: np.ndarray, observed: float) -> dict | None:
        """Permutation test of the gap: the group labels are permuted across annotators (an annotator
        attribute) or across an annotator's comparisons (a comparison attribute), keeping the scorer's
        own per-comparison credits and the clustering; p = share of permuted gaps ≥ the observed one."""
        if len(idx) < 2 or self.permutations <= 0:
            return None
        names, codes, eligible = self.axes[axis]
        rng = np.random.default_rng([self.seed, 23, len(names)])
        ann = self.clusters.annotator
        gaps = np.empty(self.permutations)
        sel = eligible[codes]
        if self._annotator_level[axis]:
            label = np.full(self.clusters.n_annotators, -1)
            label[ann] = codes
            n_a = np.bincount(ann, weights=np.where(sel, num, 0.0), minlength=self.clusters.n_annotators)
            d_a = np.bincount(ann, weights=np.where(sel, den, 0.0), minlength=self.clusters.n_annotators)
            movable = np.flatnonzero(eligible[label])
            for b in range(self.permutations):
                perm = label.copy()
                perm[movable] = rng.permutation(label[movable])
                sn = np.bincount(perm[movable], weights=n_a[movable], minlength=len(names))[idx]
                sd = np.bincount(perm[movable], weights=d_a[movable], minlength=len(names))[idx]
                with np.errstate(invalid="ignore", divide="ignore"):
                    m = sn / sd
                gaps[b] = np.nanmax(m) - np.nanmin(m)
        else:
            rows = np.flatnonzero(sel)
            order = rows[np.argsort(ann[rows], kind="stable")]
            for b in range(self.permutations):
                keys = rng.random(len(order)) + ann[order]  # a shuffle within each annotator's comparisons
                perm_codes = codes[order][np.argsort(keys, kind="stable")]
                sn = np.bincount(perm_codes, weights=num[order], minlength=len(names))[idx]
                sd = np.bincount(perm_codes, weights=den[order], minlength=len(names))[idx]
                with np.errstate(invalid="ignore", divide="ignore"):
                    m = sn / sd
                gaps[b] = np.nanmax(m) - np.nanmin(m)
        return {
            "p": float((1 + (gaps >= observed - 1e-12).sum()) / (self.permutations + 1)),
            "mean_gap": float(gaps.mean()),
            "p95_gap": float(np.quantile(gaps, 0.95)),
            "permutations": self.permutations,
        }

    # --- distributional fit ---------------------------------------------------------------------

    def _country_sets(self) -> dict[str, tuple[np.ndarray, int]]:
        """Per country: the sets with ≥ MIN_GROUP_SET_ANNOTATORS raters of that country (computed once)."""
        if self._country_set_codes is None:
            d = self.data
            self._country_set_codes = {}
            if d.set_keys is not None and "country" in d.groups:
                labels = np.asarray(d.groups["country"], dtype=object)
                for c in sorted({x for x in labels if x != MISSING}, key=str):
                    self._country_set_codes[str(c)] = distributional.qualifying_sets(
                        d.set_keys, d.annotators, distributional.MIN_GROUP_SET_ANNOTATORS, labels == c
                    )
        return self._country_set_codes

    def distributional(self, probs: np.ndarray) -> tuple[Distributional, dict[str, tuple[float, np.ndarray | None]]]:
        """The distributional block and its replicates ("overall" and per country: (value, (B,)))."""
        d = self.data
        reps = {"overall": distributional.fit_replicates(probs, d.chosen, self.set_codes, self.n_sets, self.reps)}
        by_country = {}
        for c, (codes, n) in self._country_sets().items():
            reps[c] = distributional.fit_replicates(probs, d.chosen, codes, n, self.reps)
            lo, hi = percentile_ci(reps[c][1])
            by_country[c] = {
                "sets": n,
                "comparisons": int((codes >= 0).sum()),
                "value": reps[c][0],
                "ci_low": lo,
                "ci_high": hi,
            }
        value, boot = reps["overall"]
        fit = Estimate(value, *percentile_ci(boot))
        return Distributional(self.n_sets, int((self.set_codes >= 0).sum()), fit, by_country), reps

    # --- paired differences ------------------------------------------------------------------------

    def versus(
        self, a: dict, b: dict, axis: str = HEADLINE["axis"], metric: str = HEADLINE["metric"]
    ) -> dict[str, Difference]:
        """Paired differences a − b on the same replicates: "overall", "macro" and "worst" of `axis`, each
        eligible group ("<axis> / <group>", Holm across them), and the distributional fit ("fit", and
        "fit / <country>", Holm across countries). Ratio differences are calibrated to the two-way
        clustered variance of their residual difference; the worst-group difference uses joint
        simultaneous intervals (valid, conservative)."""
        out: dict[str, Difference] = {}
        ra, rb = a["ratios"][metric], b["ratios"][metric]
        out["overall"] = self._ratio_difference(ra["overall"], rb["overall"], "overall", 0)
        if axis in self.axes and (axis, metric) in a["summaries"]:
            names, codes, eligible = self.axes[axis]
            idx = np.flatnonzero(eligible)
            if len(idx):
                ma, mb = self._macro_residuals(axis, ra[axis]), self._macro_residuals(axis, rb[axis])
                var = cgm_variance(ma[1] - mb[1], np.zeros(len(codes), np.int64), 1, self.clusters)
                raw = None if ra[axis].raw is None else (ra[axis].raw[:, idx].mean(1) - rb[axis].raw[:, idx].mean(1))
                est = ma[0] - mb[0]
                reps = calibrate(np.array([est]), None if raw is None else raw[:, None], var)
                out["macro"] = _difference(est, None if reps is None else reps[:, 0])
                out["worst"] = _worst_difference(ra[axis], rb[axis], idx)
                family = {}
                for k in idx:
                    family[f"{axis} / {names[k]}"] = self._ratio_difference(ra[axis], rb[axis], axis, int(k))
                _holm(family)
                out.update(family)
        fa, fb = a["distributional"], b["distributional"]
        fits = {}
        for key in fa:
            if key in fb and np.isfinite(fa[key][0]) and np.isfinite(fb[key][0]):
                reps = None if fa[key][1] is None or fb[key][1] is None else fa[key][1] - fb[key][1]
                fits["fit" if key == "overall" else f"fit / {key}"] = _difference(fa[key][0] - fb[key][0], reps)
        countries = {k: v for k, v in fits.items() if k != "fit"}
        _holm(countries)
        out.update(fits)
        out.update(countries)
        return out

    def _macro_residuals(self, axis: str, r: Ratio) -> tuple[float, np.ndarray]:
        names, codes, eligible = self.axes[axis]
        idx = np.flatnonzero(eligible)
        return float(r.point[idx].mean()), np.where(eligible[codes], r.residual, 0.0) / len(idx)

    def _ratio_difference(self, ra: Ratio, rb: Ratio, where: str, k: int) -> Difference:
        codes, g = self._codes(where)
        est = float(ra.point[k] - rb.point[k])
        sel = codes == k
        var = cgm_variance(
            np.where(sel, ra.residual - rb.residual, 0.0), np.zeros(len(codes), np.int64), 1, self.clusters
        )
        raw = None if ra.raw is None else (ra.raw[:, k] - rb.raw[:, k])[:, None]
        reps = calibrate(np.array([est]), raw, var)
        return _difference(est, None if reps is None else reps[:, 0])


def _ci(replicates: np.ndarray | None) -> tuple[float, float]:
    return percentile_ci(replicates)


def _bounded(metric: str, value: float, lo: float, hi: float) -> Estimate:
    """An estimate whose CI stays in the metric's range (rates in [0, 1], NLL in [0, NLL_CAP]): the
    calibrated replicates are rescaled deviations and can step past a bound."""
    top = accuracy.NLL_CAP if metric == "nll" else 1.0
    return Estimate(
        value, float(np.clip(lo, 0.0, top)) if lo == lo else lo, float(np.clip(hi, 0.0, top)) if hi == hi else hi
    )


def _difference(estimate: float, replicates: np.ndarray | None) -> Difference:
    p = pvalue_zero(estimate, replicates)
    return Difference(Estimate(estimate, *percentile_ci(replicates)), p, p, bool(np.isfinite(p) and p < 0.05))


def _holm(family: dict[str, Difference]) -> None:
    adjusted = holm({k: x.p for k, x in family.items()})
    for k, x in family.items():
        x.p_holm, x.significant = adjusted[k]["p_holm"], adjusted[k]["significant"]


def _max_t(ratios: list[Ratio], idx: np.ndarray) -> tuple[np.ndarray | None, list[np.ndarray]]:
    """(max over the ratios' groups `idx` of |replicate − estimate| / se, per replicate; the se's)."""
    ses, stats = [], []
    for r in ratios:
        se = np.sqrt(r.variance[idx])
        ses.append(se)
        if r.reps is None or not np.isfinite(se).all() or (se == 0).any():
            return None, ses
        stats.append(np.abs(r.reps[:, idx] - r.point[idx]) / se)
    return np.nanmax(np.concatenate(stats, 1), 1), ses


def simultaneous_bounds(ratios: list[Ratio], idx: np.ndarray, level: float = 0.95):
    """(lower, upper) per ratio over the groups `idx`: max-t simultaneous intervals — all of them hold
    together with probability `level` — or (None, None) without usable replicates."""
    t, ses = _max_t(ratios, idx)
    if t is None or not np.isfinite(t).any():
        return None, None
    c = float(np.nanquantile(t, level))
    lo = [r.point[idx] - c * se for r, se in zip(ratios, ses)]
    hi = [r.point[idx] + c * se for r, se in zip(ratios, ses)]
    return lo, hi


def _worst_difference(ra: Ratio, rb: Ratio, idx: np.ndarray) -> Difference:
    """min_g a − min_g b with a CI from joint simultaneous intervals of both scorers' groups, and the
    p-value of the smallest joint level whose interval excludes 0."""
    est = float(ra.point[idx].min() - rb.point[idx].min())
    t, ses = _max_t([ra, rb], idx)
    if t is None:
        return Difference(Estimate(est), float("nan"), float("nan"), False)
    t = t[np.isfinite(t)]

    def bounds(c: float) -> tuple[float, float]:
        lo = float((ra.point[idx] - c * ses[0]).min() - (rb.point[idx] + c * ses[1]).min())
        hi = float((ra.point[idx] + c * ses[0]).min() - (rb.point[idx] - c * ses[1]).min())
        return lo, hi

    lo, hi = bounds(float(np.quantile(t, 0.95)))
    # the critical c* at which the interval first touches 0 (monotone in c): p = P(T ≥ c*)
    low_c, high_c = 0.0, float(t.max()) * 2 + 10
    if est == 0:
        p = 1.0
    else:
        for _ in range(60):
            mid = (low_c + high_c) / 2
            excludes = bounds(mid)[0] > 0 if est > 0 else bounds(mid)[1] < 0
            low_c, high_c = (mid, high_c) if excludes else (low_c, mid)
        p = float((1 + (t >= low_c).sum()) / (len(t) + 1))
    return Difference(Estimate(est, lo, hi), p, p, bool(p < 0.05))


def headline_of(block: ScorerBlock) -> Estimate:
    """The headline number of a scorer block (HEADLINE: top-1 macro over countries)."""
    axis = block.axes.get(HEADLINE["axis"])
    if axis is None:
        return Estimate(float("nan"))
    return getattr(getattr(axis, HEADLINE["metric"]), HEADLINE["statistic"])


@dataclass
class ScorerInput:
    """One scorer to evaluate: scores on the evaluated comparisons, its kind, its temperature (None:
    cross-fitted by the evaluator; a number: fixed — 1 for scores that are log-probabilities), and for
    references with known choice probabilities, `truth` (expected metrics)."""

    scores: np.ndarray
    kind: str = "model"
    temperature: float | None = None
    truth: np.ndarray | None = None
    temperature_note: str | None = None


def evaluate(
    data: EvalData,
    scorers: dict[str, ScorerInput],
    protocol: dict | None = None,
    submission: dict | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    axes: tuple[str, ...] | None = None,
    main: str = "model",
) -> Results:
    """Every number: one block per scorer, paired differences of `main` against every other scorer,
    the headline, the gap tests. `scorers` must contain `main`."""
    from .accuracy import TIE_POLICY

    if len(data) == 0:
        raise accuracy.ScoreError("no comparisons to evaluate")
    ev = Evaluation(data, resamples, seed, axes)
    blocks, caches = {}, {}
    for name, s in scorers.items():
        blocks[name], caches[name] = ev.block(
            np.asarray(s.scores, dtype=np.float64), s.kind, s.temperature, s.truth, s.temperature_note
        )
    versus = {name: ev.versus(caches[main], caches[name]) for name in scorers if name != main}
    head = headline_of(blocks[main])
    proto = dict(protocol or {})
    proto.update(
        comparisons=len(data),
        evaluated=len(ev.data),
        uninformative=ev.dropped_uninformative,
        annotators=int(len(np.unique(np.asarray(ev.data.annotators)))),
        prompt_groups=int(len(np.unique(ev.data.prompts))) if ev.data.prompts is not None else 0,
        qualifying_sets=ev.n_sets,
    )
    settings = {
        "ci": f"{ev.reps.method}, calibrated to the two-way clustered (CGM) variance; worst group and gap: "
        "simultaneous max-t intervals; gap test: permutation of group labels",
        "resamples": ev.resamples,
        "seed": seed,
        "permutations": ev.permutations,
        "temperature": "cross-fitted by the evaluator on 2 folds of prompt groups (log-probability scorers: 1)",
        "tie_policy": TIE_POLICY,
        "min_group_annotators": ev.min_group_annotators,
        "min_set_annotators": ev.min_set_annotators,
        "min_group_set_annotators": distributional.MIN_GROUP_SET_ANNOTATORS,
        "distributional_metric": distributional.METRIC,
        "nll_cap": accuracy.NLL_CAP,
        "uninformative": "comparisons with fewer than 2 competing candidates are left out of every metric",
    }
    noise = {}
    for axis in ev.axes:
        null = caches[main]["summaries"][(axis, "top1_accuracy")].get("null")
        if null:
            noise[axis] = null
    return Results(
        schema_version=SCHEMA_VERSION,
        protocol=proto,
        submission=dict(submission or {}),
        settings=settings,
        headline={**HEADLINE, "scorer": main, "value": head.value, "ci_low": head.ci_low, "ci_high": head.ci_high},
        scorers=blocks,
        versus=versus,
        noise_floor=noise,
    )


# --- agreement (monoculture) ------------------------------------------------------------------


def pick_distribution(scores: np.ndarray, present: np.ndarray) -> np.ndarray:
    """(n, 4) the scorer's top pick with ties broken uniformly at random (1/k on each tied top)."""
    scores = np.asarray(scores, dtype=np.float64)
    return accuracy.top_sets(np.where(present, scores, -np.inf), np.asarray(present, bool))


def agreement(picks: dict[str, dict[str, np.ndarray]]) -> dict:
    """Model–model agreement on **shared comparisons only**: for models a, b and the comparisons both
    scored, the mean probability that their (tie-randomised) top picks coincide, Σ_j P_a(j)·P_b(j).
    `picks`: model → {comparison id → (4,) pick distribution}. Symmetric, 1 on the diagonal for a
    tie-free model; None where two models share no comparison."""
    names = list(picks)
    matrix: list[list[float | None]] = []
    shared: list[list[int]] = []
    for a in names:
        row, nrow = [], []
        for b in names:
            common = sorted(set(picks[a]) & set(picks[b]))
            if not common:
                row.append(None)
            else:
                pa = np.stack([picks[a][k] for k in common])
                pb = np.stack([picks[b][k] for k in common])
                row.append(float((pa * pb).sum(1).mean()))
            nrow.append(len(common))
        matrix.append(row)
        shared.append(nrow)
    off = [matrix[i][j] for i in range(len(names)) for j in range(len(names)) if i < j and matrix[i][j] is not None]
    return {"models": names, "matrix": matrix, "shared": shared, "mean_pairwise": float(np.mean(off)) if off else None}


def annotator_agreement(chosen: np.ndarray, set_codes: np.ndarray, n_sets: int) -> dict:
    """On qualifying sets: the probability that two different raters of a set chose the same
    candidate (mean over sets), the plurality share, and the entropy of the vote shares."""
    if n_sets == 0:
        return {"sets": 0, "pair_agreement": None, "plurality_share": None, "mean_entropy_bits": None}
    rows = set_codes >= 0
    counts = np.zeros((n_sets, 4))
    np.add.at(counts, (set_codes[rows], np.asarray(chosen)[rows]), 1.0)
    n = counts.sum(1)
    pair = (counts * (counts - 1)).sum(1) / (n * (n - 1))
    shares = counts / n[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(shares > 0, shares * np.log2(shares), 0.0).sum(1)
    return {
        "sets": int(n_sets),
        "pair_agreement": float(pair.mean()),
        "plurality_share": float(counts.max(1).sum() / n.sum()),
        "mean_entropy_bits": float(ent.mean()),
    }


def monoculture_view(
    data: EvalData, model_scores: dict[str, np.ndarray], temperatures: dict[str, float | None] | None = None
) -> dict:
    """The paper's headline on the qualifying (≥ MIN_SET_ANNOTATORS distinct raters) sets: how alike
    the models' picks are (mean pairwise agreement) vs how often two annotators agree; each model's
    agreement with the annotators (its expected top-1 there); and, with the models' choice
    distributions (softmax(score / T) averaged over a set's raters), how alike the models'
    distributions are (1 − JSD between models) vs how well each matches the vote shares."""
    codes, n_sets = (
        distributional.qualifying_sets(data.set_keys, data.annotators)
        if data.set_keys is not None
        else (np.full(len(data), -1), 0)
    )
    rows = np.flatnonzero(codes >= 0)
    ids = data.ids if data.ids is not None else np.arange(len(data)).astype(str)
    temperatures = temperatures or {}
    picks, match, set_dist = {}, {}, {}
    votes = np.zeros((n_sets, 4))
    np.add.at(votes, (codes[rows], data.chosen[rows]), 1.0)
    shares = votes / np.maximum(votes.sum(1, keepdims=True), 1)
    for name, s in model_scores.items():
        s = np.asarray(s)
        dist = pick_distribution(s[rows], data.present[rows])
        picks[name] = dict(zip(map(str, ids[rows]), dist))
        match[name] = float(dist[np.arange(len(rows)), data.chosen[rows]].mean()) if len(rows) else None
        t = temperatures.get(name)
        if t is None and len(rows):  # cross-fitted on all the evaluated comparisons, as the contract does
            t = crossfit_temperature(np.where(data.present, s, np.nan), data)[0][rows]
        probs = accuracy.choice_probabilities(np.nan_to_num(s[rows]), data.present[rows], 1.0 if t is None else t)
        m = np.zeros((n_sets, 4))
        np.add.at(m, codes[rows], probs)
        set_dist[name] = m / np.maximum(m.sum(1, keepdims=True), 1e-300)
    names = list(model_scores)
    sim = [
        [float((1 - distributional.js_distance(set_dist[a], set_dist[b])).mean()) if n_sets else None for b in names]
        for a in names
    ]
    off = [sim[i][j] for i in range(len(names)) for j in range(len(names)) if i < j and sim[i][j] is not None]
    return {
        "min_set_annotators": distributional.MIN_SET_ANNOTATORS,
        "annotators": annotator_agreement(data.chosen, codes, n_sets),
        "models": agreement(picks),
        "model_matches_annotators": match,
        "distributions": {
            "models": names,
            "similarity": sim,
            "mean_pairwise_similarity": float(np.mean(off)) if off else None,
            "fit_to_votes": {
                n: float((1 - distributional.js_distance(set_dist[n], shares)).mean()) if n_sets else None
                for n in names
            },
            "metric": "1 - Jensen-Shannon distance (log base 2) between set-level choice distributions",
        },
    }
