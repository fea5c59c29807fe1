"""The real Hub code path (huggingface_hub's downloader) against a loopback stand-in of the Hub."""

import json
import subprocess
import sys

import pytest
from conftest import subprocess_env
from hub_standin import HubStandIn

from community_alignment.data import schema
from community_alignment.data.sources import SourceError, download_from_hub
from community_alignment.synthetic.sample import sample_path


@pytest.fixture
def hub():
    import gzip

    data = gzip.decompress(open(sample_path(), "rb").read())
    with HubStandIn(schema.HUB_REPO_ID, schema.PINNED_REVISION, {"community_alignment.csv": data}) as h:
        h.data = data
        yield h


def test_downloads_the_pinned_revision(hub, tmp_path):
    path = download_from_hub(endpoint=hub.endpoint, cache_dir=str(tmp_path))
    assert open(path, "rb").read() == hub.data
    assert schema.PINNED_REVISION in path
    assert all(schema.PINNED_REVISION in p for _, p in hub.requests)


def test_wrong_revision_is_a_clear_error(hub, tmp_path):
    with pytest.raises(SourceError, match="revision 'v9.9' does not exist .* pinned revision is 97343c7f"):
        download_from_hub(revision="v9.9", endpoint=hub.endpoint, cache_dir=str(tmp_path))


def test_missing_legacy_file_is_a_clear_error(hub, tmp_path):
    with pytest.raises(SourceError, match="data/filtered_community_alignment.csv' is not in"):
        download_from_hub(hub_file="v1.0-filtered", endpoint=hub.endpoint, cache_dir=str(tmp_path))


def test_offline_uses_the_cache_and_else_says_how_to_proceed(hub, tmp_path, monkeypatch):
    path = download_from_hub(endpoint=hub.endpoint, cache_dir=str(tmp_path))
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    n = len(hub.requests)
    assert download_from_hub(endpoint=hub.endpoint, cache_dir=str(tmp_path)) == path
    assert len(hub.requests) == n  # served from the HF cache, no request
    with pytest.raises(SourceError, match="--source local --data-path .*--source sample"):
        download_from_hub(endpoint=hub.endpoint, cache_dir=str(tmp_path / "empty"))


def test_cli_hub_source_end_to_end(hub, tmp_path):
    env = subprocess_env(
        {
            "HF_ENDPOINT": hub.endpoint,
            "HF_HOME": str(tmp_path / "home"),
            "HF_DATASETS_CACHE": str(tmp_path / "ds"),
            "HF_HUB_OFFLINE": "0",
        }
    )
    res = subprocess.run(
        [sys.executable, "-m", "community_alignment.cli", "info", "--json"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    info = json.loads(res.stdout)
    assert info["source"] == "hub" and info["revision"] == schema.PINNED_REVISION and info["synthetic"] is False
    res = subprocess.run(
        [sys.executable, "-m", "community_alignment.cli", "info", "--revision", "nope"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert res.returncode == 1 and "revision 'nope' does not exist" in res.stderr


def _hub_env(monkeypatch, tmp_path):
    import datasets.config
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(c, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "ds"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "ds"))


def test_a_moved_branch_is_a_new_cache_entry(hub, tmp_path, monkeypatch):
    """The cache is keyed on the commit a revision resolves to, not on the revision's name."""
    from community_alignment import CommunityAlignment
    from community_alignment.data.builder import read_meta

    _hub_env(monkeypatch, tmp_path)
    kw = {"config_name": "conversations", "source": "hub", "revision": "main", "hub_endpoint": hub.endpoint}
    b = CommunityAlignment(**kw)
    b.download_and_prepare()
    meta = read_meta(b.info)
    assert meta["commit"] == schema.PINNED_REVISION and meta["revision"] == "main"
    n_before = sum(s.num_examples for s in b.info.splits.values())
    # the branch moves to a commit with fewer conversations
    import csv
    import io

    rows = list(csv.reader(io.StringIO(hub.data.decode("utf-8"), newline="")))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows[:101])
    hub.commit, hub.files = "c" * 40, {"community_alignment.csv": out.getvalue().encode()}
    b2 = CommunityAlignment(**kw)
    assert b2.hash != b.hash
    b2.download_and_prepare()
    assert read_meta(b2.info)["commit"] == "c" * 40
    assert sum(s.num_examples for s in b2.info.splits.values()) == 100 < n_before


def test_offline_branch_resolves_from_the_cache(hub, tmp_path, monkeypatch):
    from community_alignment.data.sources import resolve_commit

    _hub_env(monkeypatch, tmp_path)
    download_from_hub(revision="main", endpoint=hub.endpoint)
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    assert resolve_commit("main", endpoint=hub.endpoint) == schema.PINNED_REVISION
    with pytest.raises(SourceError, match="could not resolve .*@v2.*--source sample"):
        resolve_commit("v2", endpoint=hub.endpoint)
