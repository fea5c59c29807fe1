"""The pluralism experiment: a pooled and a country-conditioned reward model on the embedded sample,
trained and scored identically, then one comparative report (runs/pluralism/report.md).

    python benchmarks/pluralism.py [--key value …]     # extra flags go to both runs
"""

import os
import sys

from community_alignment.pipeline.compare import compare
from community_alignment.pipeline.config import parse_args
from community_alignment.pipeline.run import run

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv=None) -> None:
    extra = list(sys.argv[1:] if argv is None else argv)
    dirs = {}
    for arm in ("pooled", "country"):
        bench, targs = parse_args(["--config", os.path.join(HERE, "configs", f"pluralism_{arm}.yaml"), *extra])
        run(bench, targs)
        dirs[arm] = bench.output_dir
    out = os.path.join(os.path.dirname(dirs["pooled"]), "pluralism", "report.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    summary = compare(dirs, out)
    for arm, s in summary.items():
        print(f"{arm:8s} worst-country top-1 {100 * s['worst']:.1f} ({s['worst_group']}), macro {100 * s['macro']:.1f}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
