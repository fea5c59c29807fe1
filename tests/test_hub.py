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
    assert res.returncode == 2 and "revision 'nope' does not exist" in res.stderr
