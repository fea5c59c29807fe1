"""Resolve a data source (the Hub, a local file, or the embedded synthetic sample) to a local file."""

from __future__ import annotations

import dataclasses
import hashlib
import os

from . import schema

SOURCES = ("hub", "local", "sample")


class SourceError(RuntimeError):
    """The data could not be obtained; the message says how to proceed."""


def file_stamp(path: str) -> str:
    """ "abspath|size|mtime": changes whenever the file does (cache keys, not content hashes)."""
    st = os.stat(path)
    return f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}"


@dataclasses.dataclass(frozen=True)
class ResolvedSource:
    """A local file plus where it came from."""

    source: str
    path: str
    revision: str | None
    hub_file: str | None
    synthetic: bool

    def identity(self) -> str:
        """A digest that changes when the file does (path, size, mtime), for cache keys."""
        key = f"{self.source}|{file_stamp(self.path)}|{self.revision}"
        return hashlib.sha256(key.encode()).hexdigest()[:16]


_HOW_TO_PROCEED = (
    "To proceed without the Hub, either point at a copy of the file with "
    "`--source local --data-path /path/to/community_alignment.csv` "
    "(Python: CommunityAlignment(source='local', data_path=...)), or use the embedded synthetic "
    "sample with `--source sample` (synthetic data, not the real dataset)."
)


def download_from_hub(
    revision: str = schema.PINNED_REVISION,
    hub_file: str = "v1.1",
    repo_id: str = schema.HUB_REPO_ID,
    endpoint: str | None = None,
    cache_dir: str | None = None,
) -> str:
    """`hf_hub_download` of the CA file at a pinned revision; honours the HF cache and offline mode."""
    import huggingface_hub
    from huggingface_hub.errors import (
        EntryNotFoundError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if hub_file not in schema.HUB_FILES:
        raise ValueError(f"hub_file must be one of {sorted(schema.HUB_FILES)}, got {hub_file!r}")
    filename = schema.HUB_FILES[hub_file]
    where = f"{repo_id}@{revision}:{filename}"
    try:
        return huggingface_hub.hf_hub_download(
            repo_id=repo_id,
            filename=filename,
            repo_type="dataset",
            revision=revision,
            endpoint=endpoint,
            cache_dir=cache_dir,
        )
    except LocalEntryNotFoundError as e:  # before EntryNotFoundError: it is a subclass
        raise SourceError(
            f"could not download {where}: the Hugging Face Hub is unreachable or offline mode is on "
            f"(HF_HUB_OFFLINE), and the file is not in the local HF cache ({e.__class__.__name__}). " + _HOW_TO_PROCEED
        ) from None
    except RevisionNotFoundError:
        raise SourceError(
            f"revision {revision!r} does not exist in the Hub dataset {repo_id}. The pinned revision is "
            f"{schema.PINNED_REVISION}; pass --revision with an existing commit, branch or tag."
        ) from None
    except EntryNotFoundError:
        raise SourceError(
            f"{filename!r} is not in {repo_id} at revision {revision!r} ({where}). v1.0 files live at the "
            "revisions before v1.1: pass --revision with such a commit, or use hub_file='v1.1'."
        ) from None
    except RepositoryNotFoundError:
        raise SourceError(f"the Hub dataset {repo_id} was not found or is not accessible. {_HOW_TO_PROCEED}") from None


def resolve(
    source: str = "hub",
    data_path: str | None = None,
    revision: str | None = None,
    hub_file: str = "v1.1",
    endpoint: str | None = None,
) -> ResolvedSource:
    """Turn (source, data_path, revision) into a local file, downloading from the Hub if needed."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    if source == "hub":
        if data_path:
            raise ValueError("data_path is only used with source='local'")
        rev = revision or schema.PINNED_REVISION
        path = download_from_hub(revision=rev, hub_file=hub_file, endpoint=endpoint)
        return ResolvedSource("hub", path, rev, schema.HUB_FILES[hub_file], synthetic=False)
    if source == "local":
        if not data_path:
            raise ValueError("source='local' needs data_path (a CA CSV, or the Hub's parquet export)")
        if not os.path.exists(data_path):
            raise SourceError(f"{data_path}: no such file")
        return ResolvedSource("local", os.path.abspath(data_path), revision, None, synthetic=False)
    from ..synthetic.sample import sample_path

    path = data_path or sample_path()
    return ResolvedSource("sample", os.path.abspath(path), None, None, synthetic=True)
