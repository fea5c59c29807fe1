"""pluralistic_fit: the community-alignment evaluation contract as an `evaluate` metric — best-of-4
top-1, pairwise accuracy and AUC, NLL, ECE, per-group macro / worst / gap with two-way clustered CIs
(annotators × prompt groups), and distributional fit on candidate sets with ≥ 10 distinct annotators.
It calls `community_alignment.metrics.contract`, the code the benchmark and the leaderboard use, so the
same inputs give the same numbers. Load it offline from its local path:

    import evaluate, community_alignment.evaluate_metric as m
    metric = evaluate.load(m.PATH)
    metric.compute(predictions=scores, references=chosen, annotators=annotator_ids, prompts=prompt_groups,
                   groups={"country": countries})
"""

import dataclasses

import datasets
import evaluate
import numpy as np

from community_alignment.metrics import contract

_DESCRIPTION = __doc__
_KWARGS_DESCRIPTION = """
Args:
    predictions: 4 scores per comparison; NaN exactly where a candidate is absent.
    references: index (0-3) of the chosen candidate.
    annotators: annotator id per comparison (CI clusters; default: each comparison its own).
    prompts: prompt group per comparison (second CI cluster; default: none, annotators only).
    groups: {axis: label per comparison} (e.g. {"country": [...]}); groups need ≥ 10 distinct
        annotators to enter macro / worst / gap.
    candidates: optional texts (n, 4): a rejected candidate identical to the chosen text is left out.
    set_keys: optional candidate-set id per comparison (distributional fit on sets with ≥ 10 annotators).
    temperature: softmax temperature for NLL, ECE and the choice distribution (fit it on validation).
    resamples, seed: bootstrap replicates (default 1000) and seed (default 0).
Returns: the contract's scorer block flattened: top1_accuracy, pairwise_accuracy, nll, pairwise_auc (each
    with _ci_low/_ci_high), ece, distributional_fit, and per axis <axis>_macro / _worst / _worst_group /
    _gap of top-1 (with CIs) and <axis>_groups; "block" holds the full nested block.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class PluralisticFit(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("float64"), length=4),
                    "references": datasets.Value("int64"),
                }
            ),
        )

    def _compute(
        self,
        predictions,
        references,
        annotators=None,
        prompts=None,
        groups=None,
        candidates=None,
        set_keys=None,
        temperature=1.0,
        resamples=1000,
        seed=0,
    ):
        from community_alignment.protocol.truth import same_text
        from community_alignment.results.io import clean_json

        scores = np.asarray(predictions, dtype=np.float64)
        chosen = np.asarray(references, dtype=np.int64)
        n = len(chosen)
        data = contract.EvalData(
            chosen=chosen,
            present=~np.isnan(scores),
            annotators=np.arange(n) if annotators is None else np.asarray(annotators),
            prompts=None if prompts is None else np.asarray(prompts, dtype=object),
            same_text=None if candidates is None else same_text([list(c) for c in candidates]),
            set_keys=None if set_keys is None else np.asarray(set_keys, dtype=object),
            groups={k: np.asarray(v, dtype=object) for k, v in (groups or {}).items()},
        )
        ev = contract.Evaluation(data, resamples=resamples, seed=seed, axes=tuple(data.groups))
        keep = np.flatnonzero(data.informative)
        block, _ = ev.block(scores[keep], "model", float(temperature))
        o = block.overall
        out = {}
        for name in ("top1_accuracy", "pairwise_accuracy", "nll", "pairwise_auc"):
            e = getattr(o, name)
            out[name], out[f"{name}_ci_low"], out[f"{name}_ci_high"] = e.value, e.ci_low, e.ci_high
        out["ece"] = o.ece
        out["distributional_fit"] = block.distributional.fit.value
        for axis, a in block.axes.items():
            s = a.top1_accuracy
            for stat in ("macro", "worst", "gap"):
                e = getattr(s, stat)
                out[f"{axis}_{stat}"], out[f"{axis}_{stat}_ci_low"], out[f"{axis}_{stat}_ci_high"] = (
                    e.value,
                    e.ci_low,
                    e.ci_high,
                )
            out[f"{axis}_worst_group"] = s.worst_group
            out[f"{axis}_groups"] = {g: b.top1_accuracy.value for g, b in a.groups.items()}
        out["block"] = clean_json(dataclasses.asdict(block))
        return out
