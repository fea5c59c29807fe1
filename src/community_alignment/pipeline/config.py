"""Benchmark arguments (TRL style: a dataclass parsed by TrlParser with TRL's own trainer config)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass
class BenchmarkArguments:
    """What to train and how to evaluate it. TRL's RewardConfig / DPOConfig fields pass through."""

    method: str = field(default="reward", metadata={"help": "reward (sequence classifier) or dpo"})
    model: str = field(
        default="default",
        metadata={
            "help": "Hub id or local path; default: all-MiniLM-L6-v2 (reward) or a tiny locally built causal LM (dpo)"
        },
    )
    model_revision: str | None = field(default=None, metadata={"help": "revision of --model"})
    ref_model: str | None = field(default=None, metadata={"help": "DPO reference model (default: the starting policy)"})
    conditioning: str = field(default="none", metadata={"help": "none | country | demographics"})
    source: str = field(default="sample", metadata={"help": "hub | local | sample"})
    data_path: str | None = field(default=None, metadata={"help": "CSV/parquet for source=local"})
    data_revision: str | None = field(default=None, metadata={"help": "Hub revision of the dataset"})
    split_by: str = field(default="prompt", metadata={"help": "prompt | annotator"})
    countries: list[str] | None = field(default=None, metadata={"help": "keep only these countries"})
    languages: list[str] | None = field(default=None, metadata={"help": "keep only these assigned languages"})
    turns: list[int] | None = field(default=None, metadata={"help": "keep only these turns (1-4)"})
    max_train_pairs: int | None = field(default=2400, metadata={"help": "random subset of train pairs (None: all)"})
    max_eval_comparisons: int | None = field(default=400, metadata={"help": "random subset of the eval split"})
    max_val_comparisons: int | None = field(default=200, metadata={"help": "validation subset (temperature fit)"})
    eval_split: str = field(default="test", metadata={"help": "split to report (test; validation fits T)"})
    name: str = field(default="default", metadata={"help": "results go to <runs_dir>/<name>/"})
    runs_dir: str = field(default="runs")
    score_batch_size: int = field(default=32)
    bootstrap_resamples: int = field(default=1000)
    skip_training: bool = field(default=False, metadata={"help": "score --model as it is (no training)"})
    reference_free: bool = field(
        default=False,
        metadata={"help": "dpo: score β·log π without the reference (reported as method dpo_reference_free)"},
    )

    def __post_init__(self):
        choices = {
            "method": ("reward", "dpo"),
            "conditioning": ("none", "country", "demographics"),
            "source": ("hub", "local", "sample"),
            "split_by": ("prompt", "annotator"),
            "eval_split": ("validation", "test"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"--{name} must be one of {allowed}, got {getattr(self, name)!r}")

    @property
    def output_dir(self) -> str:
        import os

        return os.path.join(self.runs_dir, self.name)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _output_dir(training_args, output_dir: str):
    if training_args.output_dir in (None, "", "trainer_output"):
        training_args.output_dir = output_dir
    return training_args


def parse_args(argv: list[str] | None = None):
    """(BenchmarkArguments, RewardConfig | DPOConfig) from the command line ⊕ an optional --config YAML."""
    import sys

    import yaml
    from trl import DPOConfig, RewardConfig, TrlParser

    argv = list(sys.argv[1:] if argv is None else argv)
    method = "reward"
    if "--config" in argv:
        with open(argv[argv.index("--config") + 1]) as f:
            method = (yaml.safe_load(f) or {}).get("method", method)
    if "--method" in argv:
        method = argv[argv.index("--method") + 1]
    config_cls = DPOConfig if method == "dpo" else RewardConfig
    parser = TrlParser((BenchmarkArguments, config_cls))
    import torch

    fields = {f.name for f in dataclasses.fields(config_cls)}
    defaults = dict(
        report_to="none",
        save_strategy="no",
        logging_steps=10,
        per_device_train_batch_size=8,
        learning_rate=1e-4 if method == "reward" else 5e-4,
        num_train_epochs=1,
        seed=0,
        output_dir="trainer_output",
        disable_tqdm=False,
        max_length=128,
    )
    # TRL turns checkpointing on by default; it only slows small models down.
    defaults["activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"] = False
    if not torch.cuda.is_available():  # TRL defaults to bf16, which the config rejects on a CPU-only machine
        defaults.update(use_cpu=True, bf16=False)
    parser.set_defaults(**defaults)
    bench, training_args = parser.parse_args_and_config(argv)
    return bench, _output_dir(training_args, bench.output_dir + "/trainer")
