"""Train a reward model or DPO policy on Community Alignment and report pluralistic fit.

    accelerate launch benchmarks/train.py [--config benchmarks/configs/NAME.yaml] [--key value …]
    python benchmarks/train.py            # the default run: MiniLM reward model on the embedded sample

Arguments: community_alignment.pipeline.config.BenchmarkArguments plus TRL's RewardConfig/DPOConfig.
"""

from community_alignment.pipeline.config import parse_args
from community_alignment.pipeline.run import run
from community_alignment.results.report import terminal_summary


def main(argv=None) -> None:
    bench, training_args = parse_args(argv)
    results = run(bench, training_args)
    if results is not None:
        print("\n" + terminal_summary(results))
        print(f"\nwrote {bench.output_dir}/: submission.parquet, results.json, report.md, plots/, model/")


if __name__ == "__main__":
    main()
