"""Where the data comes from: one `SourceSpec` (hub, local file or embedded sample) resolved to a local file.

The identity of a source, which keys every cache, is its *content*: the resolved commit SHA for the Hub
(a branch or tag name is resolved first, so a moved branch is a new source) and a SHA-256 of the file
for local files and the sample. A file's digest is computed once and remembered by
(device, inode, size, mtime, ctime): ctime changes with every write and cannot be set back, so an
edit that keeps size and mtime still gets a new digest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import stat

from . import schema

SOURCES = ("hub", "local", "sample")
SPLIT_BY = ("prompt", "annotator")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


class SourceError(RuntimeError):
    """The data could not be obtained; the message says how to proceed."""


@dataclasses.dataclass(frozen=True)
class SourceSpec:
    """What data a command reads: the one object the CLI, the builder and the benchmark share.

    `source`: "hub" (the pinned Hub file), "local" (`data_path`, a CA CSV/CSV.gz or the Hub's parquet
    export) or "sample" (the embedded synthetic sample). `revision` and `hub_file` apply to the Hub;
    `split_by` chooses prompt- or annotator-disjoint splits.
    """

    source: str = "hub"
    data_path: str | None = None
    revision: str | None = None
    hub_file: str = "v1.1"
    split_by: str = "prompt"

    @classmethod
    def of(cls, obj) -> SourceSpec:
        """The spec of any object with the five source attributes (CLI arguments, a `DataSelection`)."""
        return cls(**{f.name: getattr(obj, f.name) for f in dataclasses.fields(cls)})

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")
        if self.split_by not in SPLIT_BY:
            raise ValueError(f"split_by must be one of {SPLIT_BY}, got {self.split_by!r}")
        if self.hub_file not in schema.HUB_FILES:
            raise ValueError(f"hub_file must be one of {sorted(schema.HUB_FILES)}, got {self.hub_file!r}")
        if self.source == "hub" and self.data_path:
            raise ValueError("data_path is only used with source='local' (or 'sample')")
        if self.source == "local" and not self.data_path:
            raise ValueError("source='local' needs data_path (a CA CSV, or the Hub's parquet export)")
        if self.source != "hub" and self.revision:
            raise ValueError("revision is only used with source='hub'")

    def builder_kwargs(self) -> dict:
        """The builder config fields of this spec: `CommunityAlignment(config_name=..., **spec.builder_kwargs())`."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ResolvedSource:
    """A local file plus where it came from and its content identity."""

    source: str
    path: str
    revision: str | None
    hub_file: str | None
    synthetic: bool
    commit: str | None = None
    sha256: str | None = None

    def identity(self) -> str:
        """A digest of the content: the commit and file for the Hub, the file's SHA-256 otherwise (with the
        source kind: the same bytes as `local` and as `sample` differ in their synthetic label)."""
        key = f"hub|{self.commit}|{self.hub_file}" if self.source == "hub" else f"{self.source}|{self.sha256}"
        return hashlib.sha256(key.encode()).hexdigest()[:16]


_HOW_TO_PROCEED = (
    "To proceed without the Hub, either point at a copy of the file with "
    "`--source local --data-path /path/to/community_alignment.csv` "
    "(Python: CommunityAlignment(source='local', data_path=...)), or use the embedded synthetic "
    "sample with `--source sample` (synthetic data, not the real dataset)."
)


# --- local files ----------------------------------------------------------------------------------


def check_data_file(path: str) -> str:
    """The absolute path of a readable regular file, or a `SourceError` saying what is wrong with it."""
    path = os.path.abspath(os.fspath(path))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except OSError as e:
        raise SourceError(f"{path}: cannot be read ({e.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise SourceError(f"{path}: is a directory; give the CA file itself (a .csv, .csv.gz or .parquet)")
    if not stat.S_ISREG(st.st_mode):
        raise SourceError(f"{path}: is not a regular file")
    if not os.access(path, os.R_OK):
        raise SourceError(f"{path}: permission denied (the file is not readable by this user)")
    return path


_DIGESTS: dict[tuple, str] = {}


def _stamp(path: str) -> tuple:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _memo_file() -> str | None:
    root = os.environ.get("HF_DATASETS_CACHE")
    if not root:
        try:
            import datasets.config

            root = str(datasets.config.HF_DATASETS_CACHE)
        except Exception:  # pragma: no cover - datasets is a dependency
            return None
    return os.path.join(os.path.expanduser(root), "community_alignment", "content_digests.json")


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes (hex), read 8 MiB at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(8 << 20), b""):
            h.update(block)
    return h.hexdigest()


def content_digest(path: str) -> str:
    """SHA-256 of a file's bytes, computed once per (device, inode, size, mtime, ctime) and remembered
    in this process and in `$HF_DATASETS_CACHE/community_alignment/content_digests.json`."""
    path = os.path.abspath(path)
    key = (path, *_stamp(path))
    if key in _DIGESTS:
        return _DIGESTS[key]
    memo_path, memo = _memo_file(), {}
    skey = "|".join(map(str, key))
    if memo_path and os.path.isfile(memo_path):
        try:
            with open(memo_path, encoding="utf-8") as f:
                memo = json.load(f)
        except (OSError, ValueError):
            memo = {}
    digest = memo.get(skey) if isinstance(memo, dict) else None
    if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
        digest = file_sha256(path)
        if memo_path:
            live = {k: v for k, v in memo.items() if _still_there(k)} if isinstance(memo, dict) else {}
            live[skey] = digest
            try:
                from ..io_utils import atomic_write_text

                atomic_write_text(memo_path, json.dumps(live, sort_keys=True))
            except OSError:
                pass  # a read-only cache: remember in this process only
    _DIGESTS[key] = digest
    return digest


def _still_there(skey: str) -> bool:
    path, *stamp = skey.split("|")
    try:
        return "|".join(map(str, _stamp(path))) == "|".join(stamp)
    except OSError:
        return False


# --- the Hub --------------------------------------------------------------------------------------


def _hub_errors():
    from huggingface_hub.errors import (
        EntryNotFoundError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    return EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError


def _raise_hub_error(e: Exception, where: str, revision: str, repo_id: str, filename: str) -> None:
    entry, local, repo, rev = _hub_errors()
    if isinstance(e, local):  # before EntryNotFoundError: it is a subclass
        raise SourceError(
            f"could not download {where}: the Hugging Face Hub is unreachable or offline mode is on "
            f"(HF_HUB_OFFLINE), and the file is not in the local HF cache ({e.__class__.__name__}). " + _HOW_TO_PROCEED
        ) from None
    if isinstance(e, rev):
        raise SourceError(
            f"revision {revision!r} does not exist in the Hub dataset {repo_id}. The pinned revision is "
            f"{schema.PINNED_REVISION}; pass --revision with an existing commit, branch or tag."
        ) from None
    if isinstance(e, entry):
        raise SourceError(
            f"{filename!r} is not in {repo_id} at revision {revision!r} ({where}). v1.0 files live at the "
            "revisions before v1.1: pass --revision with such a commit, or use hub_file='v1.1'."
        ) from None
    if isinstance(e, repo):
        raise SourceError(f"the Hub dataset {repo_id} was not found or is not accessible. {_HOW_TO_PROCEED}") from None
    raise e


def resolve_commit(
    revision: str = schema.PINNED_REVISION,
    hub_file: str = "v1.1",
    repo_id: str = schema.HUB_REPO_ID,
    endpoint: str | None = None,
    cache_dir: str | None = None,
) -> str:
    """The commit SHA a revision (commit, branch or tag) points at now: one HEAD request, or the local
    HF cache's refs when offline. A 40-hex revision is returned as is."""
    import huggingface_hub
    from huggingface_hub import constants

    if _COMMIT.match(revision):
        return revision
    filename = schema.HUB_FILES[hub_file]
    where = f"{repo_id}@{revision}:{filename}"
    entry, local, repo, rev = _hub_errors()
    if not constants.HF_HUB_OFFLINE:
        url = huggingface_hub.hf_hub_url(repo_id, filename, repo_type="dataset", revision=revision, endpoint=endpoint)
        try:
            meta = huggingface_hub.get_hf_file_metadata(url, endpoint=endpoint)
            if meta.commit_hash:
                return meta.commit_hash
        except (entry, repo, rev) as e:
            if not isinstance(e, local):
                _raise_hub_error(e, where, revision, repo_id, filename)
        except Exception:  # unreachable: fall back to the cache's refs below
            pass
    cached = huggingface_hub.try_to_load_from_cache(
        repo_id, filename, cache_dir=cache_dir, revision=revision, repo_type="dataset"
    )
    if isinstance(cached, str):
        m = re.search(r"[/\\]snapshots[/\\]([0-9a-f]{40})[/\\]", cached)
        if m:
            return m.group(1)
    raise SourceError(
        f"could not resolve {where} to a commit: the Hugging Face Hub is unreachable or offline mode is on "
        "(HF_HUB_OFFLINE), and the local HF cache has no copy of that revision. " + _HOW_TO_PROCEED
    )


def download_from_hub(
    revision: str = schema.PINNED_REVISION,
    hub_file: str = "v1.1",
    repo_id: str = schema.HUB_REPO_ID,
    endpoint: str | None = None,
    cache_dir: str | None = None,
) -> str:
    """`hf_hub_download` of the CA file at a revision; honours the HF cache and offline mode."""
    import huggingface_hub

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
    except Exception as e:
        _raise_hub_error(e, where, revision, repo_id, filename)
        raise  # pragma: no cover


# --- resolving a spec -----------------------------------------------------------------------------


def _as_spec(source, data_path, revision, hub_file, split_by="prompt") -> SourceSpec:
    if isinstance(source, SourceSpec):
        return source
    return SourceSpec(source=source, data_path=data_path, revision=revision, hub_file=hub_file, split_by=split_by)


def identify(
    source: SourceSpec | str = "hub",
    data_path: str | None = None,
    revision: str | None = None,
    hub_file: str = "v1.1",
    endpoint: str | None = None,
) -> ResolvedSource:
    """Identify a source without downloading: the commit SHA for the Hub (`path` empty), the checked
    path and content digest otherwise."""
    spec = _as_spec(source, data_path, revision, hub_file)
    if spec.source == "hub":
        rev = spec.revision or schema.PINNED_REVISION
        commit = resolve_commit(rev, spec.hub_file, endpoint=endpoint)
        return ResolvedSource("hub", "", rev, schema.HUB_FILES[spec.hub_file], synthetic=False, commit=commit)
    if spec.source == "local":
        path = check_data_file(spec.data_path)
        return ResolvedSource("local", path, None, None, synthetic=False, sha256=content_digest(path))
    from ..synthetic.sample import sample_path

    path = check_data_file(spec.data_path or sample_path())
    return ResolvedSource("sample", path, None, None, synthetic=True, sha256=content_digest(path))


def fetch(resolved: ResolvedSource, endpoint: str | None = None) -> ResolvedSource:
    """`resolved` with a local `path`: downloads a Hub file at its exact commit (no-op for files)."""
    if resolved.source != "hub" or resolved.path:
        return resolved
    key = next(k for k, v in schema.HUB_FILES.items() if v == resolved.hub_file)
    path = download_from_hub(revision=resolved.commit, hub_file=key, endpoint=endpoint)
    return dataclasses.replace(resolved, path=path)


def resolve(
    source: SourceSpec | str = "hub",
    data_path: str | None = None,
    revision: str | None = None,
    hub_file: str = "v1.1",
    endpoint: str | None = None,
) -> ResolvedSource:
    """Turn a `SourceSpec` (or the same fields as arguments) into a local file, downloading if needed."""
    return fetch(identify(source, data_path, revision, hub_file, endpoint), endpoint)
