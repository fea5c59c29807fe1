"""Prepare configs into the datasets cache, and export them as a Hub dataset folder (optionally pushed).

The export layout and metadata are those of `DatasetDict.push_to_hub`: `<config>/<split>-NNNNN-of-NNNNN.parquet`
shards of at most `max_shard_size`, a README whose YAML holds `configs` (data files, default) and a complete
`dataset_info` per config (features, splits with `num_bytes` / `num_examples`, download and dataset sizes)
written with `datasets`' own `DatasetInfosDict` / `MetadataConfigs`, so `load_dataset(DIR)` reads it
without a warning. `--push-to-hub ORG/NAME` uploads that same folder in one commit.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .builder import (
    CONFIG_NAMES,
    DERIVED_CONFIG_NAMES,
    CommunityAlignment,
    EmptyConfigError,
    load_prepared_table,
    read_meta,
    release_prepared_tables,
)
from .sources import SourceSpec, resolve

MAX_SHARD_SIZE = 500 << 20  # bytes of Arrow per parquet shard (push_to_hub's default)


class ExportError(RuntimeError):
    """The export cannot proceed (e.g. the destination is not empty and --overwrite was not given)."""


def _ordered(configs: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(configs))
    unknown = [c for c in names if c not in CONFIG_NAMES]
    if unknown:
        raise ValueError(f"unknown config(s) {unknown}; choose from {CONFIG_NAMES}")
    # pairwise first when a derived config is asked for (they are written from it), the default last
    base = [c for c in names if c not in DERIVED_CONFIG_NAMES]
    return (
        [c for c in base if c != "pairwise"]
        + (["pairwise"] if "pairwise" in names else [])
        + [c for c in names if c in DERIVED_CONFIG_NAMES]
    )


def prepare(
    configs: Iterable[str],
    spec: SourceSpec,
    cache_dir: str | None = None,
    hub_endpoint: str | None = None,
    keep_table: bool = False,
) -> dict[str, CommunityAlignment]:
    """`download_and_prepare` each config into the datasets cache; returns {config: prepared builder}.

    Afterwards `load_dataset("community_alignment", CONFIG)` loads each from any folder, offline. Of
    several configs, one without any row in the file (a tiny file) is left out of the result. The
    default config (`pairwise`), when prepared, is left the most recently prepared one, so a bare
    `load_dataset("community_alignment")` loads it (`datasets`' prepared-cache fallback picks the newest).
    The conversations table read for the base configs is released before the derived ones (which read
    the prepared `pairwise` files) unless `keep_table`.
    """
    if isinstance(spec, dict):  # the v1 call: prepare(configs, {"source": ..., ...})
        spec = SourceSpec(**{k: v for k, v in spec.items() if k != "hub_endpoint"})
    out, names = {}, _ordered(configs)
    for name in names:
        if name in DERIVED_CONFIG_NAMES and not keep_table:
            release_prepared_tables()
        builder = CommunityAlignment(
            config_name=name, cache_dir=cache_dir, hub_endpoint=hub_endpoint, **spec.builder_kwargs()
        )
        try:
            builder.download_and_prepare()
        except EmptyConfigError:
            if len(names) == 1:
                raise
            continue  # the caller sees it missing from the result (the CLI lists it)
        out[name] = builder
    if not out:
        raise EmptyConfigError(f"none of the configs {names} has a row in this file")
    default = out.get(CommunityAlignment.DEFAULT_CONFIG_NAME)
    if default is not None and len(out) > 1:
        os.utime(default.cache_dir)  # the one place that steers the bare-name fallback (see docstring)
    return out


def _writable_destination(out_dir: str, overwrite: bool) -> None:
    p = Path(out_dir)
    if p.exists() and not p.is_dir():
        raise ExportError(f"{out_dir}: exists and is not a folder")
    if p.is_dir() and any(p.iterdir()) and not overwrite:
        raise ExportError(f"{out_dir}: the folder is not empty; pass --overwrite to replace its contents")


def export(
    out_dir: str,
    spec: SourceSpec,
    configs: Iterable[str] = CONFIG_NAMES,
    cache_dir: str | None = None,
    push_to_hub: str | None = None,
    api=None,
    overwrite: bool = False,
    max_shard_size: int = MAX_SHARD_SIZE,
    hub_endpoint: str | None = None,
) -> dict[str, int]:
    """Write the configs as a Hub dataset folder; returns {relative parquet path: rows}.

    Refuses a non-empty `out_dir` unless `overwrite`. The folder is written beside it first and swapped
    in at the end, so a failed export leaves the old folder as it was.
    """
    from datasets.info import DatasetInfo, DatasetInfosDict
    from datasets.splits import SplitDict, SplitInfo
    from datasets.utils.metadata import MetadataConfigs

    from .card import render_card

    if isinstance(spec, dict):
        spec = SourceSpec(**{k: v for k, v in spec.items() if k != "hub_endpoint"})
    _writable_destination(out_dir, overwrite)
    builders = prepare(configs, spec, cache_dir, hub_endpoint, keep_table=True)
    parent = os.path.dirname(os.path.abspath(out_dir)) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".export-", dir=parent)
    os.chmod(tmp, 0o777 & ~_umask())
    written: dict[str, int] = {}
    infos, metadata_configs = DatasetInfosDict(), MetadataConfigs()
    try:
        for name in (c for c in CONFIG_NAMES if c in builders):
            builder = builders[name]
            dsd = builder.as_dataset()
            split_infos = SplitDict()
            download_size = dataset_size = 0
            for split, ds in dsd.items():
                nbytes = builder.info.splits[split].num_bytes
                n_shards = max(1, int(nbytes / max_shard_size) + 1)
                os.makedirs(os.path.join(tmp, name), exist_ok=True)
                for i in range(n_shards):
                    rel = f"{name}/{split}-{i:05d}-of-{n_shards:05d}.parquet"
                    shard = ds.shard(num_shards=n_shards, index=i, contiguous=True)
                    shard.to_parquet(os.path.join(tmp, rel))
                    written[rel] = shard.num_rows
                    download_size += os.path.getsize(os.path.join(tmp, rel))
                split_infos.add(SplitInfo(name=split, num_bytes=nbytes, num_examples=ds.num_rows))
                dataset_size += nbytes
            infos[name] = DatasetInfo(
                config_name=name,
                features=builder.info.features,
                splits=split_infos,
                download_size=download_size,
                dataset_size=dataset_size,
                size_in_bytes=download_size + dataset_size,
            )
            entry = {"data_files": [{"split": s, "path": f"{name}/{s}-*"} for s in dsd]}
            if name == CommunityAlignment.DEFAULT_CONFIG_NAME:
                entry["default"] = True
            metadata_configs[name] = entry
        meta = read_meta(next(iter(builders.values())).info)
        table, _ = load_prepared_table(resolve(spec, endpoint=hub_endpoint), spec.split_by)
        usage = {"kind": "repo", "where": push_to_hub} if push_to_hub else {"kind": "folder", "where": out_dir}
        text = render_card(
            table, meta, configs=list(infos), infos=infos, metadata_configs=metadata_configs, usage=usage
        )
        with open(os.path.join(tmp, "README.md"), "w", encoding="utf-8") as f:
            f.write(text)
        if os.path.isdir(out_dir):
            old = tempfile.mkdtemp(prefix=".export-old-", dir=parent)
            os.replace(out_dir, os.path.join(old, "d"))
            os.replace(tmp, out_dir)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out_dir)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)
    if push_to_hub:
        push_folder(out_dir, push_to_hub, api=api)
    return written


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def push_folder(folder: str, repo_id: str, api=None, private: bool = False) -> str:
    """Create the dataset repo if needed and upload the folder in one commit; returns the commit URL."""
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True, private=private)
    info = api.upload_folder(
        folder_path=folder,
        repo_id=repo_id,
        repo_type="dataset",
        commit_message="Upload Community Alignment configs (community-alignment export)",
    )
    return str(info)
