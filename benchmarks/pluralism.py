"""The pluralism experiment: pooled vs country-conditioned reward models (and a placebo arm whose
profiles are shuffled across annotators), each trained with several seeds on the same data and scored
on the same whole test split; one comparative report with paired statistics (runs/pluralism/report.md).

    python benchmarks/pluralism.py [--seeds 0 1 2] [--arms pooled country placebo] [--key value …]

Extra flags go to every run (e.g. `--languages en` for the English subset, where only the profile, not
the text, can tell US and India annotators apart; `--max_train_pairs 800`).
"""

import argparse
import os
import sys

from community_alignment.io_utils import atomic_write_json
from community_alignment.pipeline.compare import compare
from community_alignment.pipeline.config import parse_args
from community_alignment.pipeline.run import run
from community_alignment.results.io import clean_json

HERE = os.path.dirname(os.path.abspath(__file__))
ARMS = {
    "pooled": ["--config", os.path.join(HERE, "configs", "pluralism_pooled.yaml")],
    "country": ["--config", os.path.join(HERE, "configs", "pluralism_country.yaml")],
    "placebo": ["--config", os.path.join(HERE, "configs", "pluralism_country.yaml"), "--placebo_seed", "12345"],
}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    ap.add_argument("--report_resamples", type=int, default=1000)
    known, extra = ap.parse_known_args(sys.argv[1:] if argv is None else argv)
    dirs: dict[str, list[str]] = {}
    runs_dir = "runs"
    for arm in known.arms:
        for seed in known.seeds:
            bench, targs = parse_args([*ARMS[arm], "--seed", str(seed), "--name", f"pluralism_{arm}_s{seed}", *extra])
            runs_dir = bench.runs_dir
            if not os.path.exists(os.path.join(bench.output_dir, "submission.parquet")):
                run(bench, targs)
            dirs.setdefault(arm, []).append(bench.output_dir)
    out = os.path.join(runs_dir, "pluralism", "report.md")
    summary = compare(dirs, out, resamples=known.report_resamples)
    atomic_write_json(os.path.join(runs_dir, "pluralism", "pluralism.json"), clean_json(summary))
    for name, c in summary["contrasts"].items():
        w = c["worst"]
        print(
            f"{name}: worst-country top-1 {100 * w['difference']:+.1f} [{100 * w['ci_low']:+.1f}, {100 * w['ci_high']:+.1f}] p={w['p']:.4f}"
        )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
