"""The `datasets` builder for Community Alignment: configs, splits and metadata over the data layer."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import expand, schema, sources, splits
from .reader import read_conversations

logger = logging.getLogger(__name__)

_CITATION = """\
@inproceedings{zhang2026cultivating,
  title     = {Cultivating Pluralism In Algorithmic Monoculture: The Community Alignment Dataset},
  author    = {Zhang, Lily Hong and others},
  booktitle = {International Conference on Learning Representations (ICLR)},
  year      = {2026},
  note      = {arXiv:2507.09650}
}
"""
_DESCRIPTION = (
    "Community Alignment (Meta): turn-level best-of-4 choices by annotators in five countries and five "
    "languages, with demographics. Converted by the community-alignment package."
)
_SYNTHETIC_WARNING = (
    "SYNTHETIC DATA: built from the embedded synthetic sample of the community-alignment package "
    "(generated text with a known preference model). It is not the real Community Alignment dataset."
)
META_MARKER = "\n\ncommunity_alignment_meta: "
CHUNK_ROWS = 4096  # conversations expanded at a time (bounds the transient memory of pairs)
#: The cache folder name, hence the bare name `load_dataset("community_alignment")` finds.
DATASET_NAME = "community_alignment"

#: Source files whose code decides what is written: part of every cache hash.
_CODE_FILES = ("builder.py", "expand.py", "reader.py", "schema.py", "splits.py")
CODE_HASH = hashlib.sha256(b"".join((Path(__file__).parent / f).read_bytes() for f in _CODE_FILES)).hexdigest()[:16]

KINDS = ("conversations", "comparisons", "pairwise", "groups")


@dataclasses.dataclass
class CommunityAlignmentConfig(datasets.BuilderConfig):
    """One config: what rows (`kind`), how split (`split_by`), and for group configs the axis."""

    kind: str = "pairwise"
    group_axis: str | None = None
    split_by: str = "prompt"
    source_split: str = "train"

    def __post_init__(self):
        super().__post_init__()
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.split_by not in splits.SPLIT_BY:
            raise ValueError(f"split_by must be one of {splits.SPLIT_BY}, got {self.split_by!r}")
        if self.source_split not in splits.SPLITS:
            raise ValueError(f"source_split must be one of {splits.SPLITS}, got {self.source_split!r}")


def _config(name: str, kind: str, description: str, axis: str | None = None) -> CommunityAlignmentConfig:
    return CommunityAlignmentConfig(
        name=name, version=datasets.Version("1.0.0"), description=description, kind=kind, group_axis=axis
    )


CONFIGS = [
    _config("conversations", "conversations", "One row per conversation, typed and cleaned (45 columns)."),
    _config("comparisons", "comparisons", "One row per turn-level best-of-4 choice: context, 4 candidates, chosen."),
    _config("pairwise", "pairwise", "Chosen/rejected pairs in TRL's conversational explicit-prompt format."),
    _config("by_country", "groups", "Pairs of `source_split` (default train), one split per country.", "country"),
    _config("by_language", "groups", "Pairs of `source_split` (default train), one split per language.", "language"),
    _config("by_turn", "groups", "Pairs of `source_split` (default train), one split per turn.", "turn"),
]
CONFIG_NAMES = [c.name for c in CONFIGS]

_MEMO: dict[str, tuple[pa.Table, dict]] = {}


def load_prepared_table(resolved: sources.ResolvedSource, split_by: str) -> tuple[pa.Table, dict]:
    """Read + clean + split once per process (shared by all configs of one `prepare --all`)."""
    key = f"{resolved.identity()}|{split_by}|{CODE_HASH}"
    if key not in _MEMO:
        _MEMO.clear()
        table, report = read_conversations(resolved.path)
        table = table.append_column(
            "prompt_group", splits.group_ids(splits.normalise_prompt(table["first_turn_prompt"]))
        )
        names = splits.assign_splits(table, split_by=split_by)
        table = table.append_column("split", names)
        summary = expand.summarize(table)
        dropped = {**report.dropped, **summary.pop("dropped")}
        meta = {
            "synthetic": resolved.synthetic,
            "source": resolved.source,
            "revision": resolved.revision,
            "hub_file": resolved.hub_file,
            "file": os.path.basename(resolved.path),
            "schema_version": report.version,
            "code_hash": CODE_HASH,
            "rows_read": report.rows_read,
            "conversations": table.num_rows,
            "comparisons": sum(summary["comparisons"].values()),
            "pairs": sum(summary["pairs"].values()),
            "dropped": dropped,
            "cleaned": report.cleaned,
            "extra_columns": report.extra_columns,
            "split_manifest": splits.manifest(table, names, split_by),
            "per_split": summary,
        }
        _MEMO[key] = (table, meta)
    return _MEMO[key]


def read_meta(info: datasets.DatasetInfo) -> dict:
    """The package's metadata (counts, drops, split fingerprints, synthetic flag) of a prepared dataset."""
    desc = info.description or ""
    if META_MARKER not in desc:
        raise ValueError("this dataset was not prepared by community_alignment (no metadata in its description)")
    return json.loads(desc.split(META_MARKER, 1)[1])


class CommunityAlignment(datasets.ArrowBasedBuilder):
    """Community Alignment as `datasets` configs: conversations, comparisons, pairwise, by_*."""

    BUILDER_CONFIG_CLASS = CommunityAlignmentConfig
    BUILDER_CONFIGS = CONFIGS
    DEFAULT_CONFIG_NAME = "pairwise"
    VERSION = datasets.Version("1.0.0")

    def __init__(
        self,
        *args,
        source: str = "hub",
        data_path: str | None = None,
        revision: str | None = None,
        hub_file: str = "v1.1",
        hub_endpoint: str | None = None,
        **kwargs,
    ):
        if source not in sources.SOURCES:
            raise ValueError(f"source must be one of {sources.SOURCES}, got {source!r}")
        self.source = source
        self.data_path = data_path
        self.revision = revision
        self.hub_file = hub_file
        self.hub_endpoint = hub_endpoint
        # One hash per (config, source, code): the prepared-cache fallback of a bare
        # `load_dataset("community_alignment")` refuses several configs sharing one hash.
        kwargs.setdefault("hash", self._source_hash(kwargs.get("config_name") or self.DEFAULT_CONFIG_NAME))
        kwargs.setdefault("dataset_name", DATASET_NAME)
        super().__init__(*args, **kwargs)

    def _source_hash(self, config_name: str) -> str:
        if self.source == "hub":
            ident = f"hub|{self.revision or schema.PINNED_REVISION}|{self.hub_file}"
        else:
            path = self.data_path
            if self.source == "sample" and not path:
                from ..synthetic.sample import sample_path

                path = sample_path()
            if path and os.path.exists(path):
                ident = f"{self.source}|{sources.file_stamp(path)}"
            else:
                ident = f"{self.source}|{path}"
        return hashlib.sha256(f"{config_name}|{ident}|{CODE_HASH}".encode()).hexdigest()[:16]

    # --- datasets API -------------------------------------------------------------------------

    def _info(self) -> datasets.DatasetInfo:
        kind = self.config.kind
        features = {
            "conversations": schema.conversation_features,
            "comparisons": schema.comparison_features,
        }.get(kind, schema.pair_features)()
        desc = _DESCRIPTION + " " + (self.config.description or "")
        if getattr(self, "source", None) == "sample":
            desc = _SYNTHETIC_WARNING + "\n\n" + desc
        return datasets.DatasetInfo(
            description=desc,
            features=features,
            homepage=f"https://huggingface.co/datasets/{schema.HUB_REPO_ID}",
            license="cc-by-4.0",
            citation=_CITATION,
        )

    def _split_generators(self, dl_manager):
        resolved = sources.resolve(self.source, self.data_path, self.revision, self.hub_file, self.hub_endpoint)
        table, meta = load_prepared_table(resolved, self.config.split_by)
        base = self.info.description.split(META_MARKER, 1)[0]
        self.info.description = base + META_MARKER + json.dumps(meta, sort_keys=True)
        cfg = self.config
        if cfg.kind != "groups":
            return [
                datasets.SplitGenerator(name=s, gen_kwargs={"table": table, "split": s, "group": None})
                for s in splits.SPLITS
            ]
        groups = meta["per_split"]["pairs_by_group"].get(cfg.source_split, {}).get(cfg.group_axis, {})
        return [
            datasets.SplitGenerator(name=g, gen_kwargs={"table": table, "split": cfg.source_split, "group": g})
            for g in sorted(groups)
        ]

    def _generate_tables(self, table: pa.Table, split: str, group: str | None) -> Iterator:
        # Row indices, not a filtered copy: only one chunk of rows is ever materialised.
        mask = pc.equal(table["split"], split)
        kind, axis = self.config.kind, self.config.group_axis
        turns = None
        if group is not None and axis == "turn":
            turns = (int(group.split("_")[1]),)  # expand only that turn
        elif group is not None:  # country / language are conversation attributes: select before expanding
            col = table[expand.GROUP_AXES[axis]]
            mask = pc.and_(mask, pc.equal(pc.replace_substring(col, " ", "_"), group))
        rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
        for batch_id, start in enumerate(range(0, len(rows), CHUNK_ROWS)):
            chunk = table.take(pa.array(rows[start : start + CHUNK_ROWS]))
            if kind == "conversations":
                out = chunk.select(schema.COLUMNS_V11)
            else:
                out, _ = expand.comparisons(chunk, turns)
                if out is None:
                    continue
                if kind != "comparisons":
                    out, _ = expand.pairs(out)
            if out.num_rows:
                yield _key(batch_id), self._cast(out)

    def _cast(self, out: pa.Table) -> pa.Table:
        schema_ = self.info.features.arrow_schema
        out = out.select([f.name for f in schema_])
        return out.cast(schema_)

    def download_and_prepare(self, *args, **kwargs):
        super().download_and_prepare(*args, **kwargs)
        self._keep_default_newest()

    def _keep_default_newest(self) -> None:
        """Touch the default config's cache folder so a bare `load_dataset("community_alignment")`
        (the prepared-cache fallback picks the newest folder) loads `pairwise`."""
        out = Path(self._output_dir)
        if self.config.name == self.DEFAULT_CONFIG_NAME or len(out.parts) < 3:
            return
        default = (
            out.parents[2] / self.DEFAULT_CONFIG_NAME / out.parent.name / self._source_hash(self.DEFAULT_CONFIG_NAME)
        )
        if default.is_dir():
            os.utime(default)


def _key(batch_id: int):
    key_cls = getattr(datasets.builder, "Key", None)
    return key_cls(0, batch_id) if key_cls is not None else batch_id


def prepared_meta(builder: CommunityAlignment) -> dict:
    """Metadata of a builder after `download_and_prepare` (also readable from `Dataset.info`)."""
    return read_meta(builder.info)


def count_rows(meta: dict) -> dict:
    """Per-config, per-split row counts from the metadata (what each config holds once prepared)."""
    s = meta["per_split"]

    def ordered(d: dict) -> dict:
        return {k: d[k] for k in splits.SPLITS if k in d}

    out = {
        "conversations": ordered(s["conversations"]),
        "comparisons": ordered(s["comparisons"]),
        "pairwise": ordered(s["pairs"]),
    }
    train_groups = s["pairs_by_group"].get("train", {})
    for axis in ("country", "language", "turn"):
        out[f"by_{axis}"] = dict(train_groups.get(axis, {}))
    return out


__all__ = ["CommunityAlignment", "CommunityAlignmentConfig", "read_meta", "count_rows"]
