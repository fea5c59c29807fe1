"""Benchmark arguments (TRL style: one dataclass parsed by TrlParser together with TRL's own trainer
config: `RewardConfig` for `--method reward`, `DPOConfig` for `--method dpo`)."""

from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass, field

from ..protocol.tracks import TRACKS
from ..scoring.registry import TRAINABLE
from ..training.conditioning import CONDITIONING

#: methods a benchmark run can produce scores with (builders in pipeline/builders.py)
SCORING = (*TRAINABLE, "llm_judge")


@dataclass
class BenchmarkArguments:
    """What to train and how to evaluate it. TRL's RewardConfig / DPOConfig fields pass through."""

    method: str = field(
        default="reward",
        metadata={"help": f"{' | '.join(SCORING)}: the trainer config follows it (llm_judge is scored, not trained)"},
    )
    model: str = field(
        default="default",
        metadata={
            "help": "Hub id or local path of the starting model; default: all-MiniLM-L6-v2 (reward) or a tiny "
            "locally built causal LM (dpo)"
        },
    )
    model_revision: str | None = field(default=None, metadata={"help": "revision of --model"})
    model_name: str | None = field(
        default=None,
        metadata={"help": "the trained model's own name in the submission (default: local/<name>)"},
    )
    ref_model: str | None = field(default=None, metadata={"help": "DPO reference model (default: the starting policy)"})
    conditioning: str = field(default="none", metadata={"help": " | ".join(CONDITIONING)})
    placebo_seed: int | None = field(
        default=None,
        metadata={"help": "placebo arm: each annotator's profile replaced by another's (seeded permutation)"},
    )
    track: str = field(
        default="main",
        metadata={"help": "protocol track: main | en | unseen_annotators (a subsample/filter makes main/en smoke)"},
    )
    source: str = field(default="sample", metadata={"help": "hub | local | sample"})
    data_path: str | None = field(default=None, metadata={"help": "CSV/parquet for source=local"})
    data_revision: str | None = field(default=None, metadata={"help": "Hub revision of the dataset"})
    split_by: str = field(default="prompt", metadata={"help": "prompt | annotator (set by the track)"})
    countries: list[str] | None = field(default=None, metadata={"help": "keep only these countries (train/val/test)"})
    languages: list[str] | None = field(default=None, metadata={"help": "keep only these assigned languages"})
    turns: list[int] | None = field(default=None, metadata={"help": "keep only these turns (1-4)"})
    max_train_pairs: int | None = field(default=1200, metadata={"help": "random subset of train pairs (0/None: all)"})
    max_eval_comparisons: int | None = field(
        default=None, metadata={"help": "random subset of the test split: makes the run a smoke run (never ranked)"}
    )
    name: str = field(default="default", metadata={"help": "results go to <runs_dir>/<name>/"})
    runs_dir: str = field(default="runs")
    score_batch_size: int = field(default=32)
    bootstrap_resamples: int = field(default=1000)
    skip_training: bool = field(default=False, metadata={"help": "score --model as it is (no training)"})
    judge_elicitation: str = field(default="logprobs", metadata={"help": "llm_judge: logprobs | sampled"})
    judge_samples: int = field(default=20, metadata={"help": "llm_judge: sampled letters per prompt"})
    judge_permutations: str = field(default="cyclic", metadata={"help": "llm_judge: cyclic (4 shifts) | all (24)"})
    judge_max_length: int = field(default=2048, metadata={"help": "llm_judge: tokens per prompt"})
    judge_max_candidate_tokens: int = field(default=384, metadata={"help": "llm_judge: cap per candidate"})
    reference_free: bool = field(
        default=False,
        metadata={"help": "dpo: score β·log π without the reference (reported as method dpo_reference_free)"},
    )
    # --- the individual track (track unseen_annotators; method personalized) ---
    seen_submission: str | None = field(
        default=None,
        metadata={"help": "unseen_annotators: a track-main submission whose seen-annotator view is reported beside"},
    )
    features: str = field(
        default="minilm", metadata={"help": "personalized: candidate features, minilm (all-MiniLM-L6-v2) | hashing"}
    )
    hashing_dim: int = field(default=512, metadata={"help": "personalized: buckets of the hashing features"})
    rank: int = field(default=4, metadata={"help": "personalized: K, the size of the shared user basis"})
    max_train_comparisons: int | None = field(
        default=None, metadata={"help": "personalized: random subset of train comparisons (0/None: all)"}
    )
    feature_cache: str | None = field(
        default=None, metadata={"help": "personalized: embedding cache folder (default <runs_dir>/.feature_cache)"}
    )

    def __post_init__(self):
        choices = {
            "method": SCORING,
            "conditioning": CONDITIONING,
            "source": ("hub", "local", "sample"),
            "split_by": ("prompt", "annotator"),
            "track": tuple(t for t in TRACKS if t != "smoke"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"--{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.method not in TRAINABLE and not self.skip_training:
            raise ValueError(
                f"--method {self.method} is scored, not trained: use `community-alignment score --method {self.method}`"
            )
        track_split = TRACKS[self.track].split_by
        if track_split:
            self.split_by = track_split
        if self.method == "personalized" and self.track != "unseen_annotators":
            raise ValueError("--method personalized runs on --track unseen_annotators (its user part needs episodes)")
        if self.method == "personalized" and self.conditioning != "none":
            raise ValueError("--method personalized reads no profile: --conditioning must be none")
        if self.track == "unseen_annotators" and (self.smoke or self.max_eval_comparisons):
            raise ValueError(
                "--track unseen_annotators evaluates every validation and test annotator: no --max_eval_comparisons, "
                "--countries, --languages or --turns"
            )
        if self.features not in ("minilm", "hashing"):
            raise ValueError(f"--features must be minilm or hashing, got {self.features!r}")

    @property
    def output_dir(self) -> str:
        return os.path.join(self.runs_dir, self.name)

    @property
    def smoke(self) -> bool:
        """A subsampled or filtered evaluation (beyond the track's own definition): never ranked."""
        track_languages = TRACKS[self.track].languages
        languages = self.languages and tuple(sorted(self.languages)) != tuple(sorted(track_languages or ()))
        return bool(self.max_eval_comparisons or self.countries or self.turns or languages)

    @property
    def evaluated_track(self) -> str:
        return "smoke" if self.smoke else self.track

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _output_dir(training_args, output_dir: str):
    if training_args.output_dir in (None, "", "trainer_output"):
        training_args.output_dir = output_dir
    return training_args


def method_of(argv: list[str]) -> str:
    """The method a command line asks for, the way the full parse will read it: `--method X`,
    `--method=X`, or `method:` in the `--config` YAML (the command line wins)."""
    import yaml

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--method")
    pre.add_argument("--config")
    known, _ = pre.parse_known_args(argv)
    method = known.method
    if method is None and known.config:
        with open(known.config, encoding="utf-8") as f:
            method = (yaml.safe_load(f) or {}).get("method")
    method = method or "reward"
    if method not in SCORING:
        raise ValueError(f"--method must be one of {SCORING}, got {method!r}")
    return method


def parse_args(argv: list[str] | None = None):
    """(BenchmarkArguments, RewardConfig | DPOConfig) from the command line ⊕ an optional --config YAML."""
    import sys

    import torch
    from trl import DPOConfig, RewardConfig, TrlParser

    argv = list(sys.argv[1:] if argv is None else argv)
    method = method_of(argv)
    config_cls = DPOConfig if method == "dpo" else RewardConfig
    parser = TrlParser((BenchmarkArguments, config_cls))
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
        max_length=384,
    )
    # TRL turns checkpointing on by default; it only slows small models down.
    defaults["activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"] = False
    if method == "reward":  # batches of similar lengths: far less padding (the encoder records "length")
        defaults.update(train_sampling_strategy="group_by_length", length_column_name="length")
    if not torch.cuda.is_available():  # TRL defaults to bf16, which the config rejects on a CPU-only machine
        defaults.update(use_cpu=True, bf16=False)
    parser.set_defaults(**defaults)
    bench, training_args = parser.parse_args_and_config(argv)
    if bench.method != method:  # cannot happen through method_of, but a YAML/CLI mix must never diverge silently
        raise ValueError(f"--method {bench.method!r} does not match the trainer config chosen for {method!r}")
    return bench, _output_dir(training_args, bench.output_dir + "/trainer")
