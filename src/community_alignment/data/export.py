"""Prepare configs and write them as a Hub-style dataset folder (parquet + card), optionally pushed."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable

from .builder import CONFIG_NAMES, CommunityAlignment, load_prepared_table, read_meta
from .card import render_card
from .sources import resolve


def prepare(configs: Iterable[str], source_kwargs: dict, cache_dir: str | None = None) -> dict:
    """download_and_prepare each config; returns {config: DatasetDict}. The default config goes last."""
    names = list(configs)
    unknown = [c for c in names if c not in CONFIG_NAMES]
    if unknown:
        raise ValueError(f"unknown config(s) {unknown}; choose from {CONFIG_NAMES}")
    default = CommunityAlignment.DEFAULT_CONFIG_NAME
    names = [c for c in names if c != default] + ([default] if default in names else [])
    out = {}
    for name in names:
        builder = CommunityAlignment(config_name=name, cache_dir=cache_dir, **source_kwargs)
        builder.download_and_prepare()
        out[name] = builder.as_dataset()
    return out


def export(
    out_dir: str,
    source_kwargs: dict,
    configs: Iterable[str] = CONFIG_NAMES,
    cache_dir: str | None = None,
    push_to_hub: str | None = None,
    api=None,
) -> dict:
    """Write `out_dir/<config>/<split>-00000-of-00001.parquet` and `out_dir/README.md` (the card).

    `load_dataset(out_dir)` then reads it with plain `datasets`; with `push_to_hub`, the folder is
    uploaded to that dataset repo through `huggingface_hub` (created if missing).
    """
    prepared = prepare(configs, source_kwargs, cache_dir)
    tmp = tempfile.mkdtemp(prefix=".export-", dir=os.path.dirname(os.path.abspath(out_dir)) or ".")
    written = {}
    try:
        for name, dsd in prepared.items():
            for split, ds in dsd.items():
                rel = f"{name}/{split}-00000-of-00001.parquet"
                os.makedirs(os.path.join(tmp, name), exist_ok=True)
                ds.to_parquet(os.path.join(tmp, rel))
                written[rel] = ds.num_rows
        any_ds = next(iter(next(iter(prepared.values())).values()))
        meta = read_meta(any_ds.info)
        table, _ = load_prepared_table(resolve(**_resolve_kwargs(source_kwargs)), "prompt")
        with open(os.path.join(tmp, "README.md"), "w", encoding="utf-8") as f:
            f.write(render_card(table, meta, configs=list(prepared)))
        if os.path.exists(out_dir):
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)
    if push_to_hub:
        push_folder(out_dir, push_to_hub, api=api)
    return written


def _resolve_kwargs(source_kwargs: dict) -> dict:
    keys = ("source", "data_path", "revision", "hub_file")
    out = {k: source_kwargs[k] for k in keys if k in source_kwargs}
    if "hub_endpoint" in source_kwargs:
        out["endpoint"] = source_kwargs["hub_endpoint"]
    return out


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
