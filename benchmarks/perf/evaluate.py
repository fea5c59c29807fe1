"""`evaluate` at the real protocol's size: a CA-sized synthetic file (90,256 conversations, ≈ 23k test
comparisons, ≈ 260 sets with ≥ 10 distinct raters) through the contract with every scorer block (the
model, 3 baselines, 5 oracles) and the two-way bootstrap. Goal: < 60 s and < 2 GB on 2 cores.

The floor, measured in the same run, is the same evaluation without the bootstrap (`resamples=0`):
the ratio says what the CIs cost.

    community-alignment make-sample --out /tmp/ca/ca.csv.gz --n-conversations 90256   # once (≈ 3 min)
    python benchmarks/perf/evaluate.py --file /tmp/ca/ca.csv.gz [--resamples 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: reset at exec, unlike ru_maxrss, which keeps the forking
    parent's size in the child)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(path: str, probs: str, resamples: int, sub_path: str) -> None:
    """One measured evaluation in a fresh process (its peak RSS is ours)."""
    import numpy as np

    from community_alignment.metrics.contract import ScorerInput, evaluate
    from community_alignment.protocol.references import reference_inputs
    from community_alignment.protocol.submission import read_submission
    from community_alignment.protocol.truth import load_truth, sample_oracle

    t0 = time.perf_counter()
    truth = load_truth("main", source="local", data_path=path)
    truth.oracle = sample_oracle(truth.test, probs)
    t_truth = time.perf_counter() - t0
    sub = read_submission(sub_path)
    idx = truth.index()
    rows = np.array([idx[(c, t)] for c, t in zip(sub.conversation_id, sub.turn)])
    scores = np.empty_like(sub.scores)
    scores[rows] = sub.scores
    t1 = time.perf_counter()
    scorers = {"model": ScorerInput(scores, "model", sub.metadata["model"]["temperature"]), **reference_inputs(truth)}
    res = evaluate(truth.test.data, scorers, truth.protocol, sub.metadata, resamples=resamples)
    t_eval = time.perf_counter() - t1
    peak = peak_rss_mb()
    print(
        json.dumps(
            {
                "truth_s": t_truth,
                "evaluate_s": t_eval,
                "peak_rss_mb": peak,
                "comparisons": res.protocol["comparisons"],
                "sets": res.protocol["qualifying_sets"],
                "scorers": len(res.scorers),
                "headline": res.headline["value"],
            }
        )
    )


def make_submission(path: str, out: str) -> None:
    """A length-plus-noise 'model' on the whole test split, written as a submission."""
    import numpy as np

    from community_alignment.protocol.submission import build_metadata, write_submission
    from community_alignment.protocol.truth import load_truth

    truth = load_truth("main", source="local", data_path=path)
    rng = np.random.default_rng(0)
    scores = np.where(
        truth.test.data.present,
        np.log(np.nan_to_num(truth.test.lengths, nan=1.0)) + rng.normal(size=truth.test.lengths.shape),
        np.nan,
    )
    model = dict(name="perf/length-noise", base_model=None, revision=None, base_revision=None, weights_sha256=None)
    model.update(method="other", conditioning="none", ref_model=None, beta=None, dtype="none", max_length=None)
    model.update(chat_template_hash=None, temperature=1.0)
    write_submission(out, truth.test.conversation_id, truth.test.turn, scores, build_metadata(truth.protocol, model))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", required=True, help="a CA-sized synthetic CSV from make-sample --out")
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    probs = args.file.replace(".csv", ".probs.csv")
    if args.child:
        child(args.file, probs, int(args.child[0]), args.child[1])
        return
    work = tempfile.mkdtemp(prefix="perf-evaluate-")
    env = dict(os.environ, HF_DATASETS_CACHE=os.path.join(work, "cache"), HF_HOME=os.path.join(work, "home"))
    sub = os.path.join(work, "submission.parquet")
    t = time.perf_counter()
    os.environ.update(HF_DATASETS_CACHE=env["HF_DATASETS_CACHE"], HF_HOME=env["HF_HOME"])
    make_submission(args.file, sub)  # also prepares the comparisons config once (not timed below)
    print(f"prepared the comparisons config and the submission in {time.perf_counter() - t:.0f} s")
    out = {}
    for name, resamples in (("floor (no bootstrap)", 0), (f"evaluate ({args.resamples} replicates)", args.resamples)):
        res = subprocess.run(
            [sys.executable, __file__, "--file", args.file, "--child", str(resamples), sub],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        out[name] = json.loads(res.stdout.strip().splitlines()[-1])
    for name, r in out.items():
        print(
            f"{name:28s} truth {r['truth_s']:5.1f} s  contract {r['evaluate_s']:5.1f} s  total {r['truth_s'] + r['evaluate_s']:5.1f} s  "
            f"peak RSS {r['peak_rss_mb']:6.0f} MB  ({r['comparisons']} comparisons, {r['sets']} sets, {r['scorers']} scorer blocks)"
        )
    floor, full = out["floor (no bootstrap)"], out[f"evaluate ({args.resamples} replicates)"]
    total = full["truth_s"] + full["evaluate_s"]
    print(f"bootstrap cost: contract {full['evaluate_s'] / max(floor['evaluate_s'], 1e-9):.1f}× the floor")
    print(
        f"goal < 60 s: {total:.1f} s {'OK' if total < 60 else 'MISSED'};  goal < 2 GB: {full['peak_rss_mb']:.0f} MB {'OK' if full['peak_rss_mb'] < 2048 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
