"""Write and read results.json (schema v2: validated against the shipped JSON Schema, written
atomically, NaN → null), and the provenance helpers every artefact records."""

from __future__ import annotations

import json
import math
import os
from importlib import resources

import numpy as np

from ..io_utils import atomic_write_json
from .types import Results

SCHEMA_VERSION = 2


class ResultsVersionError(ValueError):
    """A results file of another schema version."""


def load_schema() -> dict:
    return json.loads((resources.files("community_alignment.results") / "schema.json").read_text("utf-8"))


def clean_json(obj):
    """numpy → Python, NaN/inf → None (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {str(k): clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_json(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def schema_errors(results: dict) -> list[tuple[str, str]]:
    """(JSON path, message) for every JSON-Schema violation (empty when valid)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema())
    return [("/" + "/".join(map(str, e.absolute_path)), e.message) for e in validator.iter_errors(results)]


def to_json(results: Results | dict) -> dict:
    return clean_json(results.to_dict() if isinstance(results, Results) else results)


def write_results(path: str, results: Results | dict) -> dict:
    data = to_json(results)
    problems = schema_errors(data)
    if problems:
        raise ValueError(
            f"results do not match schema v{SCHEMA_VERSION}:\n"
            + "\n".join(f"{p or '/'}: {m}" for p, m in problems[:20])
        )
    atomic_write_json(path, data)
    return data


def read_results(path: str) -> Results:
    """Read a schema-v2 results.json; an older file gets a clear message (re-evaluate it)."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        raise ResultsVersionError(
            f"{path}: results schema v{version}, this package reads v{SCHEMA_VERSION}. Results are recomputed "
            "from scores: run `community-alignment evaluate runs/<name>/submission.parquet --out DIR` "
            "(a v1 run has no submission.parquet: re-run the benchmark, which writes one)."
        )
    return Results.from_dict(data)


def package_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for p in (
        "community-alignment",
        "datasets",
        "transformers",
        "trl",
        "accelerate",
        "torch",
        "huggingface-hub",
        "numpy",
    ):
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = None
    return out


def git_sha() -> str | None:
    import subprocess

    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    sha = out.stdout.strip() if out.returncode == 0 else ""
    return sha if len(sha) == 40 else None
