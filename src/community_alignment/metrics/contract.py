"""THE evaluation contract of protocol v2: every number of the benchmark, computed from scores.

Every consumer imports this module — the benchmark pipeline, `community-alignment evaluate`, the
report and plots (through the results it returns), the leaderboard, the `evaluate` metric, the
monoculture analysis and validation — and nothing else computes a metric, a group summary, the
headline or an agreement. Inputs are arrays:

- `EvalData`: the label side of the evaluated comparisons (who chose what among which candidates,
  annotator, prompt group, candidate set, group labels per axis). `protocol.truth` builds it from the
  dataset; the `evaluate` metric builds it from its arguments.
- scores (n, 4) per scorer, finite on every present candidate.

`Evaluation(data)` prepares what is shared by all scorers (replicate weights, group codes,
qualifying sets, denominators, the noise floor); `Evaluation.block(...)` gives one scorer's
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
    Replicates,
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
NOISE_FLOOR_DRAWS = 200


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


@dataclass
class Values:
    """Per-comparison numerators of one scorer (denominators are the scorer-independent 1 and pairs)."""

    top1: np.ndarray
    credit: np.ndarray
    pairs: np.ndarray
    nll: np.ndarray
    probs: np.ndarray  # (n, 4) choice probabilities over the present candidates (distributional fit)
    ece: float
    auc: Estimate


def _observed(scores, data: EvalData, valid: np.ndarray, t: float) -> tuple:
    top1 = accuracy.top1_credit(scores, data.chosen, valid)
    credit, pairs = accuracy.pairwise_credit(scores, data.chosen, valid)
    return top1, credit, pairs, accuracy.nll(scores, data.chosen, valid, t)


def _expected(scores, data: EvalData, truth: np.ndarray, t: float) -> tuple:
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


def pairwise_auc(scores: np.ndarray, data: EvalData, reps: Replicates | None) -> Estimate:
    """AUC of the score margin over binary (chosen, rejected) pairs, each pair in both orientations:
    P(d_i > −d_j) + ½ P(=) for two pairs drawn at random (d = s_chosen − s_rejected). This is the AUC
    a binary reward-model evaluation reports on pairs shown in random order, without the randomness.

    CI: the linearised bootstrap with the evaluation's replicate weights. AUC = mean of the placement
    values V_i = P(−d_j < d_i); its influence function is ψ_i = 2 (V_i − AUC), so a replicate is
    AUC + Σ w ψ / Σ w (exact to first order; one matrix product instead of a sort per replicate),
    clipped to [0, 1]."""
    d, row = accuracy.pair_margins(scores, data.chosen, data.valid)
    if not len(d):
        return Estimate(float("nan"))
    neg = np.sort(-d)
    placement = (np.searchsorted(neg, d, side="left") + np.searchsorted(neg, d, side="right")) / (2 * len(d))
    value = float(placement.mean())
    if reps is None or reps.weights is None:
        return Estimate(value)
    n = len(data)
    psi = np.bincount(row, weights=2 * (placement - value), minlength=n)  # per comparison
    count = np.bincount(row, minlength=n).astype(np.float64)
    w = reps.weights
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = value + (w @ psi.astype(np.float32)) / (w @ count.astype(np.float32))
    return Estimate(value, *percentile_ci(np.clip(boot, 0.0, 1.0)))  # a first-order replicate can step past 1


class Evaluation:
    """What every scorer of one evaluation shares: data, replicate weights, group codes, eligible
    groups, denominators, qualifying candidate sets and the noise floor."""

    def __init__(
        self,
        data: EvalData,
        resamples: int = DEFAULT_RESAMPLES,
        seed: int = 0,
        axes: tuple[str, ...] | None = None,
        min_group_annotators: int = MIN_GROUP_ANNOTATORS,
        min_set_annotators: int = distributional.MIN_SET_ANNOTATORS,
    ):
        keep = data.informative
        #: rows of the input data that are evaluated (the informative ones); `block` takes scores for
        #: either the input rows or these
        self.kept = np.flatnonzero(keep)
        self.n_input = len(data)
        self.dropped_uninformative = int((~keep).sum())
        self.data = data if keep.all() else data.select(np.flatnonzero(keep))
        d = self.data
        self.valid = d.valid
        self.resamples, self.seed = resamples, seed
        self.reps = Replicates.two_way(d.annotators, d.prompts, resamples, seed)
        self.min_group_annotators = min_group_annotators
        self.min_set_annotators = min_set_annotators
        self.ones = np.ones(len(d))
        self.pairs = (self.valid.sum(1) - 1).astype(np.float64)
        self.axes: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}
        wanted = [a for a in (axes or tuple(AXES)) if a in d.groups]
        for axis in wanted:
            names, codes = encode(d.groups[axis])
            eligible = np.array(
                [
                    name != MISSING and len(np.unique(np.asarray(d.annotators)[codes == k])) >= min_group_annotators
                    for k, name in enumerate(names)
                ]
            )
            self.axes[axis] = (names, codes, eligible)
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
        self.noise_floor = self._noise_floor()

    # --- per-scorer values -------------------------------------------------------------------

    def values(self, scores: np.ndarray, temperature: float = 1.0, truth: np.ndarray | None = None) -> Values:
        d = self.data
        scores = check_scores(scores, d)
        if truth is None:
            top1, credit, pairs, nll = _observed(scores, d, self.valid, temperature)
        else:
            top1, credit, pairs, nll = _expected(scores, d, np.asarray(truth, dtype=np.float64), temperature)
        return Values(
            top1=top1,
            credit=credit,
            pairs=pairs,
            nll=nll,
            probs=accuracy.choice_probabilities(scores, d.present, temperature),
            ece=accuracy.expected_calibration_error(scores, d.chosen, self.valid, temperature),
            auc=pairwise_auc(scores, d, self.reps),
        )

    def _metric_inputs(self, v: Values) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {
            "top1_accuracy": (v.top1, self.ones),
            "pairwise_accuracy": (v.credit, v.pairs),
            "nll": (v.nll, self.ones),
        }

    def _estimate(self, num, den, reps_values=None) -> Estimate:
        value = float(np.sum(num) / np.sum(den)) if np.sum(den) > 0 else float("nan")
        return Estimate(value, *percentile_ci(reps_values))

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

    def replicates(self, v: Values) -> dict[str, dict[str, np.ndarray | None]]:
        """metric → {"overall": (B,), axis: (B, G)} replicate values (None without replicates)."""
        inputs = self._metric_inputs(v)
        nums = self._replicate_sums([num for num, _ in inputs.values()])
        out = {}
        for k, (metric, (_, den)) in enumerate(inputs.items()):
            if nums is None:
                out[metric] = dict.fromkeys(self._columns)
                continue
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = nums[k] / self._den_sums(den)
            out[metric] = {name: ratio[:, cols] for name, cols in self._columns.items()}
            out[metric]["overall"] = out[metric]["overall"][:, 0]
        return out

    def group_replicates(
        self, v: Values, reps: dict | None = None
    ) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray | None]]]:
        """axis → metric → (group values (G,), replicate group values (B, G) or None)."""
        reps = reps or self.replicates(v)
        out = {}
        for axis, (names, codes, _) in self.axes.items():
            out[axis] = {}
            for metric, (num, den) in self._metric_inputs(v).items():
                g = len(names)
                with np.errstate(invalid="ignore", divide="ignore"):
                    point = np.bincount(codes, weights=num, minlength=g) / np.bincount(codes, weights=den, minlength=g)
                out[axis][metric] = (point, reps[metric][axis])
        return out

    def block(
        self,
        scores: np.ndarray,
        kind: str = "model",
        temperature: float = 1.0,
        truth: np.ndarray | None = None,
        temperature_note: str | None = None,
    ) -> tuple[ScorerBlock, dict]:
        """(ScorerBlock, replicate cache for `versus`) of one scorer, from scores on the input rows or on
        the evaluated (`kept`) rows. `truth` (n, 4): the accuracy metrics become expected values under
        those choice probabilities (references)."""
        d = self.data
        if len(scores) == self.n_input != len(d):
            scores = np.asarray(scores)[self.kept]
            truth = None if truth is None else np.asarray(truth)[self.kept]
        v = self.values(scores, temperature, truth)
        ann = np.asarray(d.annotators)
        reps = self.replicates(v)
        overall_reps = {m: r["overall"] for m, r in reps.items()}
        overall = Overall(
            n=len(d),
            annotators=int(len(np.unique(ann))),
            prompt_groups=int(len(np.unique(d.prompts))) if d.prompts is not None else 0,
            top1_accuracy=self._estimate(v.top1, self.ones, overall_reps["top1_accuracy"]),
            pairwise_accuracy=self._estimate(v.credit, v.pairs, overall_reps["pairwise_accuracy"]),
            nll=self._estimate(v.nll, self.ones, overall_reps["nll"]),
            pairwise_auc=v.auc,
            ece=v.ece,
        )
        group_reps = self.group_replicates(v, reps)
        axes = {}
        summaries_reps = {}
        for axis, (names, codes, eligible) in self.axes.items():
            groups = {}
            for k, name in enumerate(names):
                sel = codes == k
                est = {}
                for metric in GROUP_METRICS:
                    point, reps = group_reps[axis][metric]
                    est[metric] = Estimate(float(point[k]), *percentile_ci(None if reps is None else reps[:, k]))
                groups[name] = GroupBlock(
                    int(sel.sum()), int(len(np.unique(ann[sel]))), eligible=bool(eligible[k]), **est
                )
            summ = {}
            for metric in SUMMARY_METRICS:
                point, reps = group_reps[axis][metric]
                summ[metric], summaries_reps[(axis, metric)] = _summarize(names, point, reps, eligible)
            axes[axis] = AxisBlock(groups, summ["top1_accuracy"], summ["pairwise_accuracy"])
        dist, dist_reps = self.distributional(v.probs)
        block = ScorerBlock(kind, truth is not None, float(temperature), temperature_note, overall, axes, dist)
        cache = {
            "overall": overall_reps,
            "groups": group_reps,
            "summaries": summaries_reps,
            "values": v,
            "distributional": dist_reps,
        }
        return block, cache

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

    # --- shared statistics --------------------------------------------------------------------

    def _noise_floor(self) -> dict[str, dict]:
        """Per axis: the gap (best − worst eligible group, top-1) of a scorer with no signal at all —
        each comparison's top-1 credit drawn as Bernoulli(1/k) — over NOISE_FLOOR_DRAWS draws."""
        if not self.axes:
            return {}
        rng = np.random.default_rng([self.seed, 7])
        k = self.valid.sum(1)
        draws = (rng.random((NOISE_FLOOR_DRAWS, len(k))) < 1.0 / k).astype(np.float32)
        out = {}
        for axis, (_, _, eligible) in self.axes.items():
            if eligible.sum() < 2:
                out[axis] = {"mean_gap": float("nan"), "p95_gap": float("nan"), "draws": NOISE_FLOOR_DRAWS}
                continue
            ind = self._onehot[axis]
            means = (draws @ ind) / ind.sum(0)
            means = means[:, eligible]
            gaps = means.max(1) - means.min(1)
            out[axis] = {
                "mean_gap": float(gaps.mean()),
                "p95_gap": float(np.quantile(gaps, 0.95)),
                "draws": NOISE_FLOOR_DRAWS,
            }
        return out

    def versus(
        self, a: dict, b: dict, axis: str = HEADLINE["axis"], metric: str = HEADLINE["metric"]
    ) -> dict[str, Difference]:
        """Paired differences a − b (same replicate weights): overall, headline (macro), worst, and per
        eligible group of `axis` (Holm across those groups)."""
        out: dict[str, Difference] = {}
        ra, rb = a["overall"][metric], b["overall"][metric]
        va, vb = a["values"], b["values"]
        num_a = self._metric_inputs(va)[metric]
        num_b = self._metric_inputs(vb)[metric]
        est = float(num_a[0].sum() / num_a[1].sum() - num_b[0].sum() / num_b[1].sum())
        diff = None if ra is None else ra - rb
        out["overall"] = _difference(est, diff)
        if axis in self.axes and (axis, metric) in a["summaries"]:
            sa, sb = a["summaries"][(axis, metric)], b["summaries"][(axis, metric)]
            for stat in ("macro", "worst"):
                diff = None if sa[stat] is None else sa[stat] - sb[stat]
                out[stat] = _difference(sa[f"{stat}_point"] - sb[f"{stat}_point"], diff)
            names, _, eligible = self.axes[axis]
            pa, rpa = a["groups"][axis][metric]
            pb, rpb = b["groups"][axis][metric]
            family = {}
            for k, name in enumerate(names):
                if not eligible[k]:
                    continue
                diff = None if rpa is None else rpa[:, k] - rpb[:, k]
                family[f"{axis} / {name}"] = _difference(float(pa[k] - pb[k]), diff)
            adjusted = holm({k: x.p for k, x in family.items()})
            for k, x in family.items():
                x.p_holm, x.significant = adjusted[k]["p_holm"], adjusted[k]["significant"]
            out.update(family)
        return out


def _difference(estimate: float, replicates: np.ndarray | None) -> Difference:
    p = pvalue_zero(estimate, replicates)
    return Difference(Estimate(estimate, *percentile_ci(replicates)), p, p, bool(np.isfinite(p) and p < 0.05))


def _summarize(names: list[str], point: np.ndarray, reps: np.ndarray | None, eligible: np.ndarray):
    """MetricSummary over eligible groups + its replicates (macro, worst, gap) for paired tests."""
    idx = np.flatnonzero(eligible)
    nan = float("nan")
    if not len(idx):
        empty = MetricSummary(Estimate(nan), Estimate(nan), None, Estimate(nan))
        return empty, {"macro": None, "worst": None, "gap": None, "macro_point": nan, "worst_point": nan}
    vals = point[idx]
    w = int(idx[np.argmin(vals)])
    macro, worst, gap = float(vals.mean()), float(vals.min()), float(vals.max() - vals.min())
    r = None
    if reps is not None:
        sub = reps[:, idx]
        with np.errstate(invalid="ignore"):
            r = {"macro": np.nanmean(sub, 1), "worst": np.nanmin(sub, 1), "gap": np.nanmax(sub, 1) - np.nanmin(sub, 1)}
        incomplete = ~np.isfinite(sub).all(1)
        for key in r:
            r[key] = np.where(incomplete, np.nan, r[key])
    summary = MetricSummary(
        Estimate(macro, *percentile_ci(None if r is None else r["macro"])),
        Estimate(worst, *percentile_ci(None if r is None else r["worst"])),
        names[w],
        Estimate(gap, *percentile_ci(None if r is None else r["gap"])),
    )
    cache = {"macro": None if r is None else r["macro"], "worst": None if r is None else r["worst"]}
    cache.update(gap=None if r is None else r["gap"], macro_point=macro, worst_point=worst)
    return summary, cache


def headline_of(block: ScorerBlock) -> Estimate:
    """The headline number of a scorer block (HEADLINE: top-1 macro over countries)."""
    axis = block.axes.get(HEADLINE["axis"])
    if axis is None:
        return Estimate(float("nan"))
    return getattr(getattr(axis, HEADLINE["metric"]), HEADLINE["statistic"])


@dataclass
class ScorerInput:
    """One scorer to evaluate: scores on the evaluated comparisons, its temperature, its kind, and for
    references with known choice probabilities, `truth` (expected metrics)."""

    scores: np.ndarray
    kind: str = "model"
    temperature: float = 1.0
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
    the headline, the noise floor. `scorers` must contain `main`."""
    from .accuracy import TIE_POLICY

    ev = Evaluation(data, resamples, seed, axes)
    keep = np.flatnonzero(data.informative)
    blocks, caches = {}, {}
    for name, s in scorers.items():
        scores = np.asarray(s.scores, dtype=np.float64)[keep]
        truth = None if s.truth is None else np.asarray(s.truth, dtype=np.float64)[keep]
        blocks[name], caches[name] = ev.block(scores, s.kind, s.temperature, truth, s.temperature_note)
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
        "ci": ev.reps.method,
        "resamples": ev.resamples,
        "seed": seed,
        "tie_policy": TIE_POLICY,
        "min_group_annotators": ev.min_group_annotators,
        "min_set_annotators": ev.min_set_annotators,
        "min_group_set_annotators": distributional.MIN_GROUP_SET_ANNOTATORS,
        "distributional_metric": distributional.METRIC,
        "uninformative": "comparisons with fewer than 2 competing candidates are left out of every metric",
    }
    return Results(
        schema_version=SCHEMA_VERSION,
        protocol=proto,
        submission=dict(submission or {}),
        settings=settings,
        headline={**HEADLINE, "scorer": main, "value": head.value, "ci_low": head.ci_low, "ci_high": head.ci_high},
        scorers=blocks,
        versus=versus,
        noise_floor=ev.noise_floor,
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
    data: EvalData, model_scores: dict[str, np.ndarray], temperatures: dict[str, float] | None = None
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
        probs = accuracy.choice_probabilities(np.nan_to_num(s[rows]), data.present[rows], temperatures.get(name, 1.0))
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
