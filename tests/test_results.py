"""results.json schema v2: validation that names the path, NaN → null, atomic writes with the user's
umask, and the clear message for a schema-v1 file."""

import json
import os
import stat

import numpy as np
import pytest

from community_alignment.metrics import contract
from community_alignment.results import io as rio


@pytest.fixture(scope="module")
def results():
    rng = np.random.default_rng(0)
    n = 400
    ann = rng.integers(40, size=n)
    data = contract.EvalData(
        rng.integers(4, size=n),
        np.ones((n, 4), bool),
        ann,
        prompts=rng.integers(20, size=n),
        groups={"country": np.array(["a", "b", "c", "d"], dtype=object)[ann % 4]},
        set_keys=rng.integers(15, size=n).astype(str).astype(object),
    )
    scorers = {
        "model": contract.ScorerInput(rng.normal(size=(n, 4))),
        "random": contract.ScorerInput(np.zeros((n, 4)), "baseline"),
    }
    protocol = {
        "id": "ca-v2/main/sample/prompt/0123456789abcdef",
        "version": 2,
        "track": "main",
        "ranked": True,
        "dataset": {
            "source": "sample",
            "revision": None,
            "synthetic": True,
            "split_by": "prompt",
            "split": "test",
            "fingerprint": "0" * 64,
        },
    }
    return contract.evaluate(data, scorers, protocol, {"model": {"name": "m"}, "sha256": "0" * 64}, resamples=100)


def test_results_round_trip_and_nan_becomes_null(results, tmp_path):
    results.scorers["model"].overall.ece = float("nan")
    out = rio.write_results(str(tmp_path / "results.json"), results)
    assert out["scorers"]["model"]["overall"]["ece"] is None
    back = rio.read_results(str(tmp_path / "results.json"))
    assert back.model.overall.top1_accuracy == results.model.overall.top1_accuracy
    assert back.headline == rio.to_json(results)["headline"]
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]


@pytest.mark.parametrize(
    "mutate,where",
    [
        (lambda r: r.update(schema_version=1), "/schema_version"),
        (lambda r: r["protocol"]["dataset"].update(fingerprint="xyz"), "/protocol/dataset/fingerprint"),
        (lambda r: r["scorers"]["model"].update(kind="magic"), "/scorers/model/kind"),
        (
            lambda r: r["scorers"]["model"]["overall"]["top1_accuracy"].update(value=1.5),
            "/scorers/model/overall/top1_accuracy/value",
        ),
        (lambda r: r["scorers"]["model"]["overall"].pop("nll"), "/scorers/model/overall"),
        (lambda r: r["headline"].update(value=-3), "/headline/value"),
    ],
)
def test_schema_violations_name_their_path(results, mutate, where, tmp_path):
    data = rio.to_json(results)
    mutate(data)
    problems = rio.schema_errors(data)
    assert any(p == where for p, _ in problems), problems
    with pytest.raises(ValueError, match="do not match schema v2"):
        rio.write_results(str(tmp_path / "r.json"), data)
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_atomic_writes_keep_the_users_umask(tmp_path, umask):
    from community_alignment.io_utils import atomic_write_text

    old = os.umask(umask)
    try:
        atomic_write_text(str(tmp_path / "f.txt"), "x")
        with open(tmp_path / "plain.txt", "w") as f:
            f.write("x")
    finally:
        os.umask(old)
    mode = stat.S_IMODE(os.stat(tmp_path / "f.txt").st_mode)
    assert mode == stat.S_IMODE(os.stat(tmp_path / "plain.txt").st_mode) == 0o666 & ~umask


def test_a_schema_v1_file_gets_the_re_evaluate_message(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"schema_version": 1, "config": {}}))
    with pytest.raises(rio.ResultsVersionError, match="community-alignment evaluate"):
        rio.read_results(str(tmp_path / "results.json"))
