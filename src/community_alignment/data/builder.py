"""The `datasets` builder for Community Alignment: configs, splits and metadata over the data layer.

The source (`source`, `data_path`, `revision`, `hub_file`) and the split scheme (`split_by`) are
`BuilderConfig` fields (`CommunityAlignment(config_name="pairwise", source="sample")`, or
`CommunityAlignment(config_name=..., **spec.builder_kwargs())` for a `SourceSpec`). They do not change
the config id (`pairwise`, so the prepared cache answers `load_dataset("community_alignment", "pairwise")`):
they go into the cache *hash*, together with the content identity of the source (the file's SHA-256,
or the resolved Hub commit) and the version of the code, so a changed file, a moved branch or new code
is a new cache entry. Both identities are recorded in the dataset info (`read_meta(info)`).

The group configs (`by_country`, `by_language`, `by_turn` over train pairs, and `by_*_validation` /
`by_*_test` over the other splits) and the context-limited `pairwise_last_turn` are written from the
prepared `pairwise` Arrow files, never re-expanded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import expand, schema, sources, splits
from .ahead import prefetched
from .reader import flags, read_conversations, restore_responses

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
CHUNK_ROWS = 2048  # conversations expanded at a time (bounds the transient memory of pairs)
#: Record batches of a prepared `pairwise` file filtered at a time into a group split (≈ 32k pairs).
DERIVED_WINDOW = 32
#: Chunks expanded ahead on worker threads while the current one is written, and those threads.
PREFETCH = 2
EXPAND_WORKERS = 2
#: The cache folder name, hence the bare name `load_dataset("community_alignment")` finds.
DATASET_NAME = "community_alignment"

#: Source files whose code decides what is written: part of every cache hash.
_CODE_FILES = ("ahead.py", "builder.py", "expand.py", "reader.py", "schema.py", "splits.py")
CODE_HASH = hashlib.sha256(b"".join((Path(__file__).parent / f).read_bytes() for f in _CODE_FILES)).hexdigest()[:16]

KINDS = ("conversations", "comparisons", "pairwise", "groups")
GROUP_AXES = tuple(expand.GROUP_AXES)
#: Config fields that name the data (in the cache hash, not in the config id).
SOURCE_FIELDS = tuple(f.name for f in dataclasses.fields(sources.SourceSpec))


@dataclasses.dataclass
class CommunityAlignmentConfig(datasets.BuilderConfig):
    """One config: what rows (`kind`), for group configs the axis and source split, and the source.

    `context_turns`: for pair configs, how many earlier exchanges (user prompt + preferred answer) the
    prompt keeps; None keeps all (`pairwise`), 0 keeps only the current prompt (`pairwise_last_turn`).
    """

    kind: str = "pairwise"
    group_axis: str | None = None
    source_split: str = "train"
    context_turns: int | None = None
    # the data (a `SourceSpec`): compared through the cache hash, not the config
    source: str = dataclasses.field(default="hub", compare=False)
    data_path: str | None = dataclasses.field(default=None, compare=False)
    revision: str | None = dataclasses.field(default=None, compare=False)
    hub_file: str = dataclasses.field(default="v1.1", compare=False)
    split_by: str = dataclasses.field(default="prompt", compare=False)

    def __post_init__(self):
        super().__post_init__()
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.source_split not in splits.SPLITS:
            raise ValueError(f"source_split must be one of {splits.SPLITS}, got {self.source_split!r}")
        if self.kind == "groups" and self.group_axis not in GROUP_AXES:
            raise ValueError(f"group_axis must be one of {GROUP_AXES}, got {self.group_axis!r}")

    @property
    def spec(self) -> sources.SourceSpec:
        return sources.SourceSpec(**{f: getattr(self, f) for f in SOURCE_FIELDS})

    @property
    def derived(self) -> bool:
        """Written from the prepared `pairwise` data (group splits, context-limited pairs)."""
        return self.kind == "groups" or (self.kind == "pairwise" and self.context_turns is not None)


def _config(name: str, kind: str, description: str, **fields) -> CommunityAlignmentConfig:
    return CommunityAlignmentConfig(
        name=name, version=datasets.Version("2.0.0"), description=description, kind=kind, **fields
    )


def group_config_name(axis: str, source_split: str) -> str:
    """`by_country` (train pairs), `by_country_validation`, `by_country_test`."""
    return f"by_{axis}" if source_split == "train" else f"by_{axis}_{source_split}"


CONFIGS = [
    _config("conversations", "conversations", "One row per conversation, typed and cleaned (45 columns)."),
    _config("comparisons", "comparisons", "One row per turn-level best-of-4 choice: context, 4 candidates, chosen."),
    _config("pairwise", "pairwise", "Chosen/rejected pairs in TRL's conversational explicit-prompt format."),
    _config(
        "pairwise_last_turn",
        "pairwise",
        "The pairwise pairs with only the current user prompt as `prompt` (no earlier turns): shorter "
        "sequences, for trainers that drop pairs longer than their max length (TRL's CLI).",
        context_turns=0,
    ),
] + [
    _config(
        group_config_name(axis, s),
        "groups",
        f"The {s} pairs, one split per {axis}.",
        group_axis=axis,
        source_split=s,
    )
    for s in splits.SPLITS
    for axis in GROUP_AXES
]
CONFIG_NAMES = [c.name for c in CONFIGS]
#: The configs that are written from `pairwise` (built after it).
DERIVED_CONFIG_NAMES = [c.name for c in CONFIGS if c.derived]

_MEMO: dict[str, tuple[pa.Table, dict]] = {}


def load_prepared_table(resolved: sources.ResolvedSource, split_by: str) -> tuple[pa.Table, dict]:
    """Read + clean + split once per process (shared by the configs of one `prepare --all`).

    `resolved` comes from `sources.resolve(spec)`; the memo is keyed on its content identity. The
    table is in file order with `prompt_group` and `split` columns, and holds the `*_turn_responses`
    columns compacted (`reader.read_conversations(compact=True)`; `reader.restore_responses` rebuilds them).
    """
    resolved = sources.fetch(resolved)
    key = f"{resolved.identity()}|{split_by}|{CODE_HASH}"
    if key not in _MEMO:
        _MEMO.clear()
        counts: list[dict] = []

        def with_splits(block: pa.Table) -> pa.Table:  # in the reading pipeline, block by block
            keys = splits.normalise_prompt(block["first_turn_prompt"])
            block = block.append_column("prompt_group", splits.group_ids(keys))
            block = block.append_column("split", splits.assign_splits(block, split_by=split_by, prompt_keys=keys))
            counts.append(expand.block_counts(block))
            return block

        table, report = read_conversations(resolved.path, compact=True, per_block=with_splits)
        # the columns sliced alike, so that each record batch is zero-copy (file order is kept: a split's
        # rows are picked when its configs are written, see `_split_batches`)
        table = pa.Table.from_batches(table.to_batches())
        # a repeated conversation_id was dropped after the blocks were counted: count again
        summary = expand.summarize(table) if report.dropped["duplicate_conversation_id"] else expand.summary(counts)
        dropped = {**report.dropped, **summary.pop("dropped")}
        meta = {
            "synthetic": resolved.synthetic,
            "source": resolved.source,
            "revision": resolved.revision,
            "commit": resolved.commit,
            "hub_file": resolved.hub_file,
            "file": os.path.basename(resolved.path),
            "sha256": resolved.sha256,
            "schema_version": report.version,
            "code_hash": CODE_HASH,
            "rows_read": report.rows_read,
            "conversations": table.num_rows,
            "comparisons": sum(summary["comparisons"].values()),
            "pairs": sum(summary["pairs"].values()),
            "dropped": dropped,
            "cleaned": report.cleaned,
            "inconsistencies": report.inconsistencies,
            "extra_columns": report.extra_columns,
            "split_manifest": splits.manifest(table, table["split"].combine_chunks(), split_by),
            "per_split": summary,
        }
        _MEMO[key] = (table, meta)
    return _MEMO[key]


def release_prepared_tables() -> None:
    """Drop the process's memoised conversations table (the derived configs do not need it) and hand the
    freed memory back to the system."""
    _MEMO.clear()
    pa.default_memory_pool().release_unused()


def read_meta(info: datasets.DatasetInfo) -> dict:
    """The package's metadata (counts, drops, split fingerprints, source identity, synthetic flag)."""
    desc = info.description or ""
    if META_MARKER not in desc:
        raise ValueError("this dataset was not prepared by community_alignment (no metadata in its description)")
    return json.loads(desc.split(META_MARKER, 1)[1])


def cache_hash(config_name: str, split_by: str, resolved: sources.ResolvedSource) -> str:
    """The builder's cache hash: config × split scheme × source content × code version."""
    key = f"{config_name}|{split_by}|{resolved.identity()}|{CODE_HASH}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class EmptyConfigError(sources.SourceError):
    """The file has no row for a config (e.g. a group config of a split the file's few rows miss)."""


class CommunityAlignment(datasets.ArrowBasedBuilder):
    """Community Alignment as `datasets` configs: conversations, comparisons, pairwise (+ last turn), by_*."""

    BUILDER_CONFIG_CLASS = CommunityAlignmentConfig
    BUILDER_CONFIGS = CONFIGS
    DEFAULT_CONFIG_NAME = "pairwise"
    VERSION = datasets.Version("2.0.0")

    def __init__(self, *args, hub_endpoint: str | None = None, **kwargs):
        name = kwargs.get("config_name") or self.DEFAULT_CONFIG_NAME
        if name not in CONFIG_NAMES:
            raise ValueError(f"unknown config {name!r}; choose from {CONFIG_NAMES}")
        fixed = [k for k in ("kind", "group_axis", "source_split", "context_turns") if kwargs.get(k) is not None]
        if fixed:
            raise ValueError(
                f"{', '.join(fixed)} cannot be changed on config {name!r}: pick a named config instead "
                f"(group splits of validation/test pairs: {', '.join(n for n in CONFIG_NAMES if n.endswith('_test'))} …)"
            )
        spec = sources.SourceSpec(**{k: kwargs[k] for k in SOURCE_FIELDS if kwargs.get(k) is not None})
        for k in SOURCE_FIELDS:
            kwargs[k] = getattr(spec, k)
        self.hub_endpoint = hub_endpoint
        self.resolved = sources.identify(spec, endpoint=hub_endpoint)
        kwargs["hash"] = cache_hash(name, spec.split_by, self.resolved)
        kwargs.setdefault("dataset_name", DATASET_NAME)
        kwargs["config_id"] = name
        try:
            super().__init__(*args, **kwargs)
        except OSError as e:  # a cache path that is a file, or a folder we may not write
            where = kwargs.get("cache_dir") or datasets.config.HF_DATASETS_CACHE
            raise sources.SourceError(
                f"cannot use the datasets cache {where}: {e.strerror or e} (give a writable folder with "
                "--cache-dir / cache_dir=, or set HF_DATASETS_CACHE)"
            ) from None

    # --- datasets API -------------------------------------------------------------------------

    def _info(self) -> datasets.DatasetInfo:
        kind = self.config.kind
        features = {
            "conversations": schema.conversation_features,
            "comparisons": schema.comparison_features,
        }.get(kind, schema.pair_features)()
        desc = _DESCRIPTION + " " + (self.config.description or "")
        if self.config.source == "sample":
            desc = _SYNTHETIC_WARNING + "\n\n" + desc
        return datasets.DatasetInfo(
            description=desc,
            features=features,
            homepage=f"https://huggingface.co/datasets/{schema.HUB_REPO_ID}",
            license="cc-by-4.0",
            citation=_CITATION,
        )

    def _set_meta(self, meta: dict) -> None:
        base = self.info.description.split(META_MARKER, 1)[0]
        self.info.description = base + META_MARKER + json.dumps(meta, sort_keys=True)

    def _split_generators(self, dl_manager):
        cfg = self.config
        if cfg.derived:
            return self._derived_split_generators()
        self.resolved = sources.fetch(self.resolved, self.hub_endpoint)
        if self.resolved.source != "hub":  # a local path goes through the download manager unchanged
            self.resolved = dataclasses.replace(self.resolved, path=dl_manager.download(self.resolved.path))
        _, meta = load_prepared_table(self.resolved, cfg.split_by)
        self._set_meta(meta)
        return self._nonempty([datasets.SplitGenerator(name=s, gen_kwargs={"split": s}) for s in splits.SPLITS], meta)

    def _nonempty(self, generators: list, meta: dict) -> list:
        """The split generators of the splits this config has rows in (`datasets` cannot load a prepared
        split of no rows); a config without any row is an error that says so."""
        rows = count_rows(meta)[self.config.name]
        kept = [g for g in generators if rows.get(g.name, 0)]
        if not kept:
            raise EmptyConfigError(
                f"{meta['file']}: config {self.config.name!r} has no rows in this file "
                f"({meta['conversations']} conversation(s), {meta['comparisons']} comparison(s), {meta['pairs']} pair(s))"
            )
        return kept

    def _derived_split_generators(self):
        cfg = self.config
        pairwise = CommunityAlignment(
            config_name="pairwise",
            cache_dir=self._cache_dir_root,
            hub_endpoint=self.hub_endpoint,
            **dataclasses.asdict(cfg.spec),
        )
        pairwise.download_and_prepare()
        meta = read_meta(pairwise.info)
        self._set_meta(meta)
        self._pairwise = {s: pairwise.as_dataset(split=s) for s in pairwise.info.splits}
        if cfg.kind != "groups":
            generators = [datasets.SplitGenerator(name=s, gen_kwargs={"split": s}) for s in splits.SPLITS]
        else:
            groups = meta["per_split"]["pairs_by_group"].get(cfg.source_split, {}).get(cfg.group_axis, {})
            generators = [
                datasets.SplitGenerator(
                    name=g, gen_kwargs={"split": cfg.source_split, "group": _group_value(cfg.group_axis, g)}
                )
                for g in sorted(groups)
            ]
        return self._nonempty(generators, meta)

    def _generate_tables(self, split: str, group: int | None = None) -> Iterator:
        cfg = self.config
        if cfg.derived:
            yield from self._generate_derived(split, group)
            return
        table, _ = load_prepared_table(self.resolved, cfg.split_by)
        if cfg.kind == "conversations":  # each record batch's rows of the split: one filter, then written
            for batch_id, part in enumerate(_split_batches(table, split)):
                yield _key(0, batch_id), self._cast(restore_responses(part))
            return
        expansion = expand.comparison_tables if cfg.kind == "comparisons" else expand.pair_tables

        def rows_of(item: tuple[pa.Table, np.ndarray]) -> list[pa.Table]:
            part, mask = item
            if mask.mean() < 0.5:  # a sparse split (validation, test): copying its rows costs less than
                part, mask = part.filter(pa.array(mask)), None  # the per-row work over the skipped ones
            return [self._cast(t) for t in expansion(part, Counter(), mask)]

        # chunks of CHUNK_ROWS conversations of the split (their order is the rows' order: turn by turn
        # within a chunk), expanded on worker threads while datasets writes the one before; a chunk is
        # a zero-copy slice of the table and the mask of its rows of the split (never filtered: a copy)
        chunks = _split_chunks(table, split, CHUNK_ROWS, expand.input_columns(cfg.kind))
        batch_id = 0
        for out in prefetched(rows_of, chunks, PREFETCH, workers=EXPAND_WORKERS):
            for t in out:  # one table per turn, each one contiguous (the writer would copy a chunked one)
                yield _key(0, batch_id), t
                batch_id += 1

    def _generate_derived(self, split: str, group: int | None) -> Iterator:
        """Stream the prepared pairwise Arrow files of `split` (memory-mapped, bounded memory).

        A group split is filtered DERIVED_WINDOW record batches at a time (one C++ filter per window, and
        one contiguous table per window, so the written record batches are full-sized, not the group's
        share of each source batch); the last-turn cut goes batch by batch (its other columns are written
        zero-copy from the map). Either runs PREFETCH windows ahead on a worker thread while datasets
        writes the current one.
        """
        cfg = self.config
        if cfg.kind == "groups":
            column = expand.GROUP_AXES[cfg.group_axis]
            value = pa.scalar(group, self._pairwise[split].data.schema.field(column).type)
            size = DERIVED_WINDOW

            def rows_of(window: list[pa.RecordBatch]) -> pa.Table:
                table = pa.Table.from_batches(window)
                return table.filter(pc.equal(table[column], value)).combine_chunks()
        else:
            size = 1

            def rows_of(window: list[pa.RecordBatch]) -> pa.Table:
                return pa.Table.from_batches([_keep_context_turns(window[0], cfg.context_turns)])

        def keyed(item: tuple) -> tuple:
            return item[0], rows_of(item[1])

        windows = _windows(self._pairwise[split].cache_files, size)
        for key, out in prefetched(keyed, windows, PREFETCH):
            if out.num_rows:
                yield key, out

    def _cast(self, out: pa.Table) -> pa.Table:
        target = self.info.features
        cols = []
        for name, feat in target.items():
            col = out[name]
            if isinstance(feat, datasets.ClassLabel) and (
                pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
            ):
                col = pc.index_in(col, value_set=pa.array(feat.names, col.type))
            cols.append(col)
        return pa.Table.from_arrays(cols, names=list(target)).cast(target.arrow_schema)

    def download_and_prepare(self, *args, **kwargs):
        try:
            super().download_and_prepare(*args, **kwargs)
        except (PermissionError, NotADirectoryError, FileExistsError) as e:
            raise sources.SourceError(
                f"cannot write the datasets cache at {self._cache_dir_root}: {e.strerror or e} "
                "(use --cache-dir / cache_dir= with a writable folder, or set HF_DATASETS_CACHE)"
            ) from None


def _group_value(axis: str, split_name: str) -> int:
    """The stored value of a group split: a ClassLabel id for country / language, the turn number."""
    if axis == "turn":
        return int(split_name.split("_")[1])
    names = schema.COUNTRIES if axis == "country" else schema.LANGUAGES
    return list(names).index(split_name.replace("_", " "))


def _split_batches(table: pa.Table, split: str, columns: list[str] | None = None) -> Iterator[pa.Table]:
    """The rows of `split` (file order) in `columns`, one table per record batch of `table`, each
    filtered from its batch alone (a take on the whole table would concatenate every column first)."""
    for batch in table.to_batches():
        part = (batch if columns is None else batch.select(columns)).filter(pc.equal(batch.column("split"), split))
        if part.num_rows:
            yield pa.Table.from_batches([part])


def _split_chunks(table: pa.Table, split: str, size: int, columns: list[str]) -> Iterator[tuple[pa.Table, np.ndarray]]:
    """Zero-copy slices of `table` (in `columns`) holding `size` rows of `split` each (the last one
    fewer), in file order, each with the mask of those rows (the expansion looks at those only)."""
    mask = flags(pc.equal(table["split"], split))
    rows = np.flatnonzero(mask)
    table = table.select(columns)
    for i in range(0, len(rows), size):
        start, stop = int(rows[i]), int(rows[min(i + size, len(rows)) - 1]) + 1
        yield table.slice(start, stop - start), mask[start:stop]


def _windows(cache_files: list[dict], size: int) -> Iterator[tuple]:
    """(key, up to `size` record batches) of the Arrow stream files in order, memory-mapped (a map stays
    valid while a batch from it is alive, so a window can outlive its file's turn)."""
    for file_id, entry in enumerate(cache_files):
        window: list[pa.RecordBatch] = []
        for batch_id, batch in enumerate(pa.ipc.open_stream(pa.memory_map(entry["filename"]))):
            window.append(batch)
            if len(window) == size:
                yield _key(file_id, batch_id), window
                window = []
        if window:
            yield _key(file_id, batch_id), window


def _keep_context_turns(batch: pa.RecordBatch, turns: int) -> pa.RecordBatch:
    """The batch with each `prompt` cut to its last 2·turns + 1 messages (the current user prompt last)."""
    i = batch.schema.get_field_index("prompt")
    prompt = batch.column(i)
    offsets = prompt.offsets.to_numpy()
    keep = 2 * turns + 1
    starts = np.maximum(offsets[:-1], offsets[1:] - keep)
    lengths = offsets[1:] - starts
    new_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    idx = np.repeat(starts - new_offsets[:-1], lengths) + np.arange(new_offsets[-1])
    values = prompt.values.take(pa.array(idx, pa.int64()))
    cut = pa.ListArray.from_arrays(pa.array(new_offsets), values, type=prompt.type)
    return pa.RecordBatch.from_arrays(
        [cut if j == i else batch.column(j) for j in range(batch.num_columns)], schema=batch.schema
    )


def _key(shard: int, batch_id: int):
    key_cls = getattr(datasets.builder, "Key", None)
    return key_cls(shard, batch_id) if key_cls is not None else batch_id


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
        "pairwise_last_turn": ordered(s["pairs"]),
    }
    for split in splits.SPLITS:
        groups = s["pairs_by_group"].get(split, {})
        for axis in GROUP_AXES:
            out[group_config_name(axis, split)] = dict(sorted(groups.get(axis, {}).items()))
    return {name: out[name] for name in CONFIG_NAMES}


__all__ = [
    "CommunityAlignment",
    "EmptyConfigError",
    "CommunityAlignmentConfig",
    "read_meta",
    "count_rows",
    "load_prepared_table",
    "CONFIG_NAMES",
]
