"""pluralistic_fit: best-of-4 top-1 and pairwise accuracy overall and per group (worst group, gap),
with annotator-clustered bootstrap CIs — the core of the community-alignment benchmark as an
`evaluate` metric. Load it offline from its local path:

    import evaluate, community_alignment.evaluate_metric as m
    metric = evaluate.load(m.PATH)
    metric.compute(predictions=scores, references=chosen, groups=countries, annotators=annotator_ids)
"""

import datasets
import evaluate
import numpy as np

from community_alignment.metrics import accuracy, bootstrap

_DESCRIPTION = __doc__
_KWARGS_DESCRIPTION = """
Args:
    predictions: list of 4 scores per comparison (NaN for a candidate without a score).
    references: index (0-3) of the chosen candidate.
    groups: optional group label per comparison (e.g. country).
    annotators: optional annotator id per comparison (bootstrap clusters; default: each row its own).
    temperature: softmax temperature for the NLL (fit it on validation).
    resamples: bootstrap resamples (default 1000).
Returns: top1_accuracy, pairwise_accuracy, nll (each with ci_low/ci_high), and with groups: per-group
    values, worst_group, worst, gap (best − worst) of top-1.
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

    def _compute(self, predictions, references, groups=None, annotators=None, temperature=1.0, resamples=1000):
        scores = np.asarray(predictions, dtype=np.float64)
        chosen = np.asarray(references, dtype=np.int64)
        clusters = np.arange(len(chosen)) if annotators is None else np.asarray(annotators)
        credit, pairs = accuracy.pairwise_credit(scores, chosen)
        values = {
            "top1_accuracy": (accuracy.top1_credit(scores, chosen), np.ones(len(chosen))),
            "pairwise_accuracy": (credit, pairs),
            "nll": (accuracy.nll(scores, chosen, temperature), np.ones(len(chosen))),
        }
        out = {}
        for name, (num, den) in values.items():
            v, lo, hi = bootstrap.ratio_ci(num, den, clusters, resamples=resamples)
            out[name], out[f"{name}_ci_low"], out[f"{name}_ci_high"] = v, lo, hi
        if groups is not None:
            g = np.asarray(groups, dtype=object)
            per = {str(k): float(values["top1_accuracy"][0][g == k].mean()) for k in sorted(set(g), key=str)}
            worst = min(per, key=per.get)
            out.update(groups=per, worst_group=worst, worst=per[worst], gap=max(per.values()) - per[worst])
        return out
