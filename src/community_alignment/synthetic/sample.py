"""The embedded synthetic sample shipped in the package, and the command that regenerates it."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .generate import GeneratorConfig, write

SAMPLE_FILE = "sample.csv.gz"
SAMPLE_PROBS_FILE = "sample.probs.csv.gz"
#: The shipped sample's generator settings; `make-sample` with these reproduces it. One annotator per
#: 15 conversations (CA: 25) with a narrow activity spread, so that the 10% annotator test split holds
#: ≈ 24 people, most with enough comparisons for 16-shot support plus a query set (the individual
#: track's ground truth needs people, not comparisons; docs/synthetic.md).
SAMPLE_CONFIG = GeneratorConfig(n_conversations=3000, seed=20250711, conversations_per_annotator=15.0, activity_sd=0.3)


def sample_path() -> str:
    """Path of the shipped sample CSV (gzip; 45 v1.1 columns, synthetic)."""
    return str(resources.files("community_alignment.synthetic") / "data" / SAMPLE_FILE)


def sample_probs_path() -> str:
    """Path of the shipped sample's true choice probabilities."""
    return str(resources.files("community_alignment.synthetic") / "data" / SAMPLE_PROBS_FILE)


def make_sample(out_dir: str | None = None, config: GeneratorConfig = SAMPLE_CONFIG) -> dict:
    """Regenerate the sample (into the package's data folder unless `out_dir` is given)."""
    folder = Path(out_dir) if out_dir else Path(sample_path()).parent
    return write(str(folder / SAMPLE_FILE), config, probs_path=str(folder / SAMPLE_PROBS_FILE))
