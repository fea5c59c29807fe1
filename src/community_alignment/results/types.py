"""Typed result objects of protocol v2 (results.json schema v2). One `ScorerBlock` per scorer — the
submitted model and every reference alike — so every consumer reads the same shape.

`to_dict()` gives the JSON form (NaN → null happens in `results.io`); `from_dict()` reads it back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

NAN = float("nan")


def _num(v) -> float:
    return NAN if v is None else float(v)


@dataclass
class Estimate:
    """A point estimate with its 95% CI (NaN bounds when no CI could be computed)."""

    value: float
    ci_low: float = NAN
    ci_high: float = NAN

    @classmethod
    def from_dict(cls, d: dict) -> Estimate:
        return cls(_num(d.get("value")), _num(d.get("ci_low")), _num(d.get("ci_high")))


@dataclass
class GroupBlock:
    n: int
    annotators: int
    top1_accuracy: Estimate
    pairwise_accuracy: Estimate
    nll: Estimate
    eligible: bool

    @classmethod
    def from_dict(cls, d: dict) -> GroupBlock:
        return cls(
            int(d["n"]),
            int(d["annotators"]),
            Estimate.from_dict(d["top1_accuracy"]),
            Estimate.from_dict(d["pairwise_accuracy"]),
            Estimate.from_dict(d["nll"]),
            bool(d["eligible"]),
        )


@dataclass
class MetricSummary:
    """Macro (mean over eligible groups), worst eligible group and gap (best − worst), with CIs (worst
    and gap: simultaneous intervals); for top-1, the permutation test of the gap (`gap_p`) and the 95th
    percentile of the gap under permuted group labels (`gap_null_p95`)."""

    macro: Estimate
    worst: Estimate
    worst_group: str | None
    gap: Estimate
    gap_p: float = NAN
    gap_null_p95: float = NAN

    @classmethod
    def from_dict(cls, d: dict) -> MetricSummary:
        return cls(
            Estimate.from_dict(d["macro"]),
            Estimate.from_dict(d["worst"]),
            d.get("worst_group"),
            Estimate.from_dict(d["gap"]),
            _num(d.get("gap_p")),
            _num(d.get("gap_null_p95")),
        )


@dataclass
class AxisBlock:
    groups: dict[str, GroupBlock]
    top1_accuracy: MetricSummary
    pairwise_accuracy: MetricSummary

    @property
    def eligible_groups(self) -> list[str]:
        return [g for g, b in self.groups.items() if b.eligible]

    @classmethod
    def from_dict(cls, d: dict) -> AxisBlock:
        return cls(
            {g: GroupBlock.from_dict(b) for g, b in d["groups"].items()},
            MetricSummary.from_dict(d["top1_accuracy"]),
            MetricSummary.from_dict(d["pairwise_accuracy"]),
        )


@dataclass
class Overall:
    n: int
    annotators: int
    prompt_groups: int
    top1_accuracy: Estimate
    pairwise_accuracy: Estimate
    nll: Estimate
    pairwise_auc: Estimate
    ece: float

    @classmethod
    def from_dict(cls, d: dict) -> Overall:
        return cls(
            int(d["n"]),
            int(d["annotators"]),
            int(d["prompt_groups"]),
            Estimate.from_dict(d["top1_accuracy"]),
            Estimate.from_dict(d["pairwise_accuracy"]),
            Estimate.from_dict(d["nll"]),
            Estimate.from_dict(d["pairwise_auc"]),
            _num(d.get("ece")),
        )


@dataclass
class Distributional:
    sets: int
    comparisons: int
    fit: Estimate
    by_country: dict[str, dict] = field(default_factory=dict)  # country → {sets, comparisons, value, ci_low, ci_high}

    @classmethod
    def from_dict(cls, d: dict) -> Distributional:
        return cls(int(d["sets"]), int(d["comparisons"]), Estimate.from_dict(d["fit"]), dict(d.get("by_country", {})))


@dataclass
class ScorerBlock:
    """Every number of one scorer on the evaluated comparisons."""

    kind: str  # "model" | "baseline" | "oracle"
    expected: bool  # accuracy metrics are expected values under known choice probabilities (references)
    temperature: float
    temperature_note: str | None
    overall: Overall
    axes: dict[str, AxisBlock]
    distributional: Distributional

    @classmethod
    def from_dict(cls, d: dict) -> ScorerBlock:
        return cls(
            d["kind"],
            bool(d["expected"]),
            _num(d["temperature"]),
            d.get("temperature_note"),
            Overall.from_dict(d["overall"]),
            {a: AxisBlock.from_dict(b) for a, b in d["axes"].items()},
            Distributional.from_dict(d["distributional"]),
        )


@dataclass
class Difference:
    """A paired difference (scorer − reference) with its CI and bootstrap p-value (Holm within a family)."""

    difference: Estimate
    p: float
    p_holm: float
    significant: bool

    @classmethod
    def from_dict(cls, d: dict) -> Difference:
        return cls(Estimate.from_dict(d["difference"]), _num(d["p"]), _num(d["p_holm"]), bool(d["significant"]))


@dataclass
class Results:
    schema_version: int
    protocol: dict  # id, version, track, ranked, dataset{…}, comparisons, informative, annotators, prompt_groups
    submission: dict  # the submission's metadata (model, method, conditioning, provenance) + file sha256
    settings: dict  # ci method, resamples, seed, tie policy, thresholds
    headline: dict  # definition + value with CI (of the submitted model)
    scorers: dict[str, ScorerBlock]  # "model" + references
    versus: dict[str, dict[str, Difference]]  # reference → {"overall", "headline", "country / <g>"…}
    noise_floor: dict[
        str, dict
    ]  # axis → the model's gap test: {p, mean_gap, p95_gap, permutations} under permuted labels
    extras: dict = field(default_factory=dict)  # track-specific blocks (e.g. the individual track)
    wall_time_s: float = NAN

    @property
    def model(self) -> ScorerBlock:
        return self.scorers["model"]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Results:
        return cls(
            int(d["schema_version"]),
            d["protocol"],
            d["submission"],
            d["settings"],
            d["headline"],
            {k: ScorerBlock.from_dict(v) for k, v in d["scorers"].items()},
            {r: {k: Difference.from_dict(x) for k, x in v.items()} for r, v in d.get("versus", {}).items()},
            d.get("noise_floor", {}),
            d.get("extras", {}),
            _num(d.get("wall_time_s")),
        )


# --- the individual track (Results.extras["individual"]) ------------------------------------------


@dataclass
class PersonDistribution:
    """One metric over annotators (each annotator: the mean over their query comparisons, averaged over
    support draws): the mean annotator, the 10th-percentile annotator, and the share of annotators
    strictly below the population-only control (NaN at k = 0), each with its CI (bootstrap over annotators)."""

    mean: Estimate
    p10: Estimate
    below_population: Estimate

    @classmethod
    def from_dict(cls, d: dict) -> PersonDistribution:
        return cls(
            Estimate.from_dict(d["mean"]), Estimate.from_dict(d["p10"]), Estimate.from_dict(d["below_population"])
        )


@dataclass
class KShotPoint:
    """One k of a k-shot curve, on the annotators whose support pool reaches k."""

    k: int
    annotators: int
    comparisons: int  # query comparisons of those annotators
    draws: int
    top1: PersonDistribution
    nll: PersonDistribution
    pairwise: Estimate  # mean over annotators of their pairwise accuracy (secondary view)
    other_top1: Estimate  # the random-other-user control (NaN at k = 0)
    other_nll: Estimate
    vs_population: dict[str, Difference]  # "top1": k-shot − k = 0; "nll": NLL(k = 0) − NLL(k) (> 0 = better)
    vs_random_other: dict[str, Difference]  # the same against the random-other-user control
    counts: bool  # top-1 gain significant (Holm over the curve) and positive over both controls
    gap_closed: Estimate  # (k-shot − k = 0) / (individual oracle − k = 0), top-1 (NaN without oracle)
    gap_p: float  # paired bootstrap p-value of its numerator
    references: dict[str, dict[str, float]]  # reference → {"top1", "nll"} on the same annotators and rows

    @classmethod
    def from_dict(cls, d: dict) -> KShotPoint:
        diffs = lambda x: {k: Difference.from_dict(v) for k, v in x.items()}  # noqa: E731
        return cls(
            int(d["k"]),
            int(d["annotators"]),
            int(d["comparisons"]),
            int(d["draws"]),
            PersonDistribution.from_dict(d["top1"]),
            PersonDistribution.from_dict(d["nll"]),
            Estimate.from_dict(d["pairwise"]),
            Estimate.from_dict(d["other_top1"]),
            Estimate.from_dict(d["other_nll"]),
            diffs(d["vs_population"]),
            diffs(d["vs_random_other"]),
            bool(d["counts"]),
            Estimate.from_dict(d["gap_closed"]),
            _num(d.get("gap_p")),
            {r: {m: _num(v) for m, v in x.items()} for r, x in d.get("references", {}).items()},
        )


@dataclass
class GroupPoint:
    """One group (country or language) at one k: mean top-1 over its annotators and both gains."""

    annotators: int
    top1: Estimate
    vs_population: Difference
    vs_random_other: Difference

    @classmethod
    def from_dict(cls, d: dict) -> GroupPoint:
        return cls(
            int(d["annotators"]),
            Estimate.from_dict(d["top1"]),
            Difference.from_dict(d["vs_population"]),
            Difference.from_dict(d["vs_random_other"]),
        )


@dataclass
class MethodCurve:
    """The k-shot curve of one personalization method (the contract's adaptation of the submitted
    scores, or the submission's own k-shot scores)."""

    description: str
    temperature: float
    points: dict[str, KShotPoint]  # str(k) → point
    by_group: dict[str, dict[str, dict[str, GroupPoint]]]  # axis → group → str(k) → point

    @classmethod
    def from_dict(cls, d: dict) -> MethodCurve:
        return cls(
            d["description"],
            _num(d.get("temperature")),
            {k: KShotPoint.from_dict(v) for k, v in d["points"].items()},
            {
                a: {g: {k: GroupPoint.from_dict(p) for k, p in ks.items()} for g, ks in groups.items()}
                for a, groups in d.get("by_group", {}).items()
            },
        )


@dataclass
class IndividualBlock:
    """Few-shot personalization of one submission (docs/benchmark.md, "The individual track")."""

    setting: str  # "unseen" (track unseen_annotators) | "seen" (the prompt split: annotators seen in training)
    track: str
    design: dict  # the episode design (k sweep, draws, query share, minimum query, salt, control)
    annotators: dict  # evaluated, too_few {count, annotators[…]}, per_k {k: {annotators, pool_smaller_than_k}}
    tuning: dict  # what was fitted, on which annotators (pooled fit, regularisation strength)
    views: dict[str, dict[str, MethodCurve]]  # "observed" | "expected" → "adapted" | "native" → curve
    headline: dict  # the pre-registered number: method, view, k, gains, gap closed, p

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> IndividualBlock:
        return cls(
            d["setting"],
            d["track"],
            d["design"],
            d["annotators"],
            d["tuning"],
            {v: {m: MethodCurve.from_dict(c) for m, c in ms.items()} for v, ms in d["views"].items()},
            d["headline"],
        )


def individual_of(results: Results) -> IndividualBlock | None:
    """The individual-track block of a results object (None when absent)."""
    d = results.extras.get("individual")
    if d is None:
        return None
    return d if isinstance(d, IndividualBlock) else IndividualBlock.from_dict(d)
