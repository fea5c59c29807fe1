"""Leaderboard: validation with a corpus of bad submissions, submit (dry run + Hub stand-in), build, browser."""

import copy
import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import REPO_ROOT, cheap_run, subprocess_env

from community_alignment.leaderboard import build as lb_build
from community_alignment.leaderboard.submit import SubmissionError, model_card_yaml, path_in_repo, submit
from community_alignment.leaderboard.validate import validate_file, validate_many


@pytest.fixture(scope="module")
def valid_runs(tmp_path_factory):
    """Two real runs of the pipeline with cheap 'models' (the length and position scorers)."""
    root = tmp_path_factory.mktemp("lb")
    out = {
        name: cheap_run(root, name, "0123abc", 300, 50, 100) / "results.json"
        for name in ("length-model", "prior-model")
    }
    return root, out


def test_valid_runs_pass(valid_runs):
    _, files = valid_runs
    problems = validate_many([str(p) for p in files.values()])
    assert all(v == [] for v in problems.values()), problems
    res = subprocess.run(
        [sys.executable, "-m", "community_alignment.cli", "validate", *map(str, files.values())],
        capture_output=True,
        text=True,
        env=subprocess_env(),
    )
    assert res.returncode == 0 and res.stdout.count(": OK") == 2


def _mutations():
    def setp(path, value):
        def f(d):
            node = d
            for k in path[:-1]:
                node = node[k]
            node[path[-1]] = value

        return f

    def raw(text):
        return ("raw", text)

    return {
        "broken_json": (raw('{"schema_version": 1, "config": '), "not valid JSON"),
        "not_an_object": (raw("[1, 2, 3]"), "expected a JSON object"),
        "wrong_schema_version": (setp(["schema_version"], 2), "schema_version"),
        "nan_metric": ("nan", "non-finite number"),
        "inf_metric": ("inf", "non-finite number"),
        "accuracy_above_one": (setp(["overall", "top1_accuracy", "value"], 1.5), "outside [0, 1.0]"),
        "negative_nll": (setp(["overall", "nll", "value"], -0.2), "outside [0, inf]"),
        "value_outside_ci": (setp(["overall", "pairwise_accuracy", "ci_low"], 0.99), "outside its CI"),
        "wrong_fingerprint": (
            setp(["config", "dataset", "split_fingerprint"], "f" * 64),
            "does not match the current builder",
        ),
        "missing_country_axis": (lambda d: d["results"].pop("country"), "missing required axis"),
        "group_sizes_inconsistent": (
            lambda d: d["results"]["turn"]["groups"]["turn_1"].update(n=999999),
            "group sizes sum to",
        ),
        "unknown_axis": (lambda d: d["results"].update(religion={"groups": {}}), "unknown axis"),
        "unknown_group": (
            lambda d: d["results"]["country"]["groups"].update(
                atlantis=copy.deepcopy(d["results"]["country"]["groups"]["india"])
            ),
            "unknown group",
        ),
        "huge_string": (setp(["config", "model_name"], "x" * 20000), "characters"),
        "html_in_name": (setp(["config", "model_name"], "<script>alert(1)</script>"), "model_name"),
        "dpo_without_reference": (
            lambda d: d["config"].update(method="dpo", ref_model=None, beta=None),
            "reference model",
        ),
        "malformed_revision": (setp(["config", "model_sha"], "../../etc/passwd"), "well-formed revision"),
        "missing_dataset": (lambda d: d["config"].pop("dataset"), "dataset"),
        "string_metric": (setp(["overall", "top1_accuracy", "value"], "high"), "top1_accuracy"),
        "n_mismatch": (setp(["overall", "n"], 3), "config.dataset.comparisons"),
    }


@pytest.mark.parametrize("case", list(_mutations()))
def test_bad_submission_is_rejected_with_a_reason(case, valid_runs, tmp_path):
    _, files = valid_runs
    mutate, reason = _mutations()[case]
    base = files["length-model"].read_text()
    path = tmp_path / f"{case}.json"
    if isinstance(mutate, tuple):
        path.write_text(mutate[1])
    elif mutate in ("nan", "inf"):
        d = json.loads(base)
        d["overall"]["ece"] = "__X__"
        path.write_text(json.dumps(d).replace('"__X__"', "NaN" if mutate == "nan" else "Infinity"))
    else:
        d = json.loads(base)
        mutate(d)
        path.write_text(json.dumps(d))
    problems = validate_file(str(path))
    assert problems, case
    assert any(reason in str(p) for p in problems), [str(p) for p in problems]


def test_duplicate_entries_and_oversized_files(valid_runs, tmp_path):
    _, files = valid_runs
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    shutil.copy(files["length-model"], a)
    shutil.copy(files["length-model"], b)
    problems = validate_many([str(a), str(b)])
    assert problems[str(a)] == [] and "duplicate of" in str(problems[str(b)][0])
    big = tmp_path / "big.json"
    big.write_text(" " * (6 << 20))
    assert "larger than" in str(validate_file(str(big))[0])


def test_submit_dry_run_writes_the_exact_commit(valid_runs, tmp_path):
    _, files = valid_runs
    out = tmp_path / "dry"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "community_alignment.cli",
            "submit",
            str(files["length-model"]),
            "--repo",
            "me/ca-results",
            "--dry-run",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=subprocess_env(),
    )
    assert res.returncode == 0, res.stderr
    written = out / "org" / "length-model" / "results_0123abc_reward_none.json"
    assert json.loads(written.read_text()) == json.loads(files["length-model"].read_text())
    msg = (out / "COMMIT_MESSAGE.txt").read_text()
    assert (
        msg.startswith("Add org/length-model (reward, conditioning none, revision 0123abc)") and "create_pr=True" in msg
    )


def test_submit_refuses_an_invalid_file(valid_runs, tmp_path):
    _, files = valid_runs
    d = json.loads(files["length-model"].read_text())
    d["schema_version"] = 7
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(d))
    with pytest.raises(SubmissionError, match="failed validation"):
        submit(str(bad), "me/x", dry_run_dir=str(tmp_path / "never"))
    assert not (tmp_path / "never").exists()


def test_submit_opens_a_pull_request_through_huggingface_hub(valid_runs):
    from hub_standin import HubStandIn
    from huggingface_hub import HfApi

    _, files = valid_runs
    with HubStandIn("me/ca-results", "a" * 40, {}) as hub:
        url = submit(str(files["prior-model"]), "me/ca-results", api=HfApi(endpoint=hub.endpoint, token="hf_test"))
        assert url.endswith("/discussions/1")
        ((path, payload),) = hub.commits
    data = json.loads(files["prior-model"].read_text())
    assert path == "/api/datasets/me/ca-results/commit/main" and payload["create_pr"]
    assert payload["files"] == {path_in_repo(data): json.loads(files["prior-model"].read_text())}
    assert payload["summary"].startswith("Add org/prior-model")


def test_model_card_yaml(valid_runs):
    import yaml

    _, files = valid_runs
    text = model_card_yaml(str(files["length-model"]))
    assert text.startswith("# WARNING: these numbers come from the synthetic sample")
    meta = yaml.safe_load(text)
    results = meta["model-index"][0]["results"]
    assert results[0]["dataset"]["type"] == "facebook/community-alignment-dataset"
    names = [m["name"] for r in results for m in r["metrics"]]
    assert "top-1 accuracy, macro over countries" in names


def test_build_ranks_models_with_references(valid_runs, tmp_path):
    root, files = valid_runs
    info = lb_build.build(str(root), str(tmp_path / "site"))
    assert info["entries"] == 2 and info["rejected"] == {}
    rows = (tmp_path / "site" / "leaderboard.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert header[:3] == ["rank", "model", "revision"]
    models = [r.split(",")[1] for r in rows[1:3]]
    headlines = [float(r.split(",")[header.index("headline")]) for r in rows[1:3]]
    assert headlines == sorted(headlines, reverse=True) and set(models) == {"org/length-model", "org/prior-model"}
    assert any(r.split(",")[1] == "oracle_true" for r in rows)
    md = (tmp_path / "site" / "leaderboard.md").read_text()
    assert "| 1 |" in md and "oracle_true" in md and "synthetic" in md
    html = (tmp_path / "site" / "index.html").read_text()
    assert "http://" not in html.split("<script>")[1] and "https://" not in html


def test_strings_are_escaped_in_the_page():
    rows = [{"model": "</script><script>alert(1)</script>", "kind": "model", "synthetic": False}]
    page = lb_build.render_html(
        {"rows": rows, "axes": {}, "details": [None], "monoculture": {"models": []}, "headline": "h"}
    )
    assert "</script><script>alert(1)" not in page and "\\u003c/script\\u003e" in page
    assert "&lt;" in lb_build.to_markdown(
        [
            {
                "rank": 1,
                "model": "<b>x</b>|y",
                "method": "reward",
                "conditioning": "none",
                "better_than_next": False,
                "headline": 0.5,
                "headline_ci_low": 0.4,
                "headline_ci_high": 0.6,
                "worst_country": "india",
                "worst_country_top1": 0.3,
                "gap": 0.1,
                "top1": 0.5,
                "pairwise": 0.6,
                "one_minus_jsd": 0.8,
                "synthetic": False,
            }
        ]
    )


def _chromium():
    for path in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.path.exists(path) and shutil.which("chromedriver"):
            return path
    return None


@pytest.mark.skipif(_chromium() is None and os.environ.get("CI") != "true", reason="chromium not installed")
def test_page_in_a_real_browser(valid_runs, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.common.by import By

    root, _ = valid_runs
    site = tmp_path / "site"
    entries, _ = lb_build.collect(str(root))
    hostile = copy.deepcopy(entries[0])
    hostile["config"]["model_name"] = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    hostile["_path"] = entries[0]["_path"]
    entries.append(hostile)
    rows = lb_build.leaderboard_rows(entries)
    site.mkdir()
    (site / "index.html").write_text(lb_build.render_html(lb_build.page_data(rows, entries)))

    opts = webdriver.ChromeOptions()
    opts.binary_location = _chromium()
    for a in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1400,1600",
    ):
        opts.add_argument(a)
    os.environ["SE_OFFLINE"] = "true"
    driver = webdriver.Chrome(
        options=opts, service=webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    )
    try:
        driver.get((site / "index.html").as_uri())
        model_rows = driver.find_elements(By.CSS_SELECTOR, "#board-body tr.model")
        names = [r.find_elements(By.TAG_NAME, "td")[1].text for r in model_rows]
        assert len(model_rows) == 3 and {"org/length-model", "org/prior-model"} <= set(names)
        assert hostile["config"]["model_name"] in names  # shown as text …
        assert driver.execute_script("return window.__pwned === undefined")  # … never executed
        first_col = lambda: [
            r.find_elements(By.TAG_NAME, "td")[1].text for r in driver.find_elements(By.CSS_SELECTOR, "#board-body tr")
        ]  # noqa: E731
        before = first_col()
        header = [
            th
            for th in driver.find_elements(By.CSS_SELECTOR, "#board-head th")
            if th.get_attribute("data-key") == "model"
        ][0]
        header.click()
        after = first_col()
        assert after != before and after == sorted(after, key=lambda s: s)  # sorted by model name
        heat_cells = driver.find_elements(By.CSS_SELECTOR, "#heat-body td.cell")
        assert len(driver.find_elements(By.CSS_SELECTOR, "#heat-body tr")) == 3 and len(heat_cells) >= 15
        assert all(c.value_of_css_property("background-color") not in ("", "rgba(0, 0, 0, 0)") for c in heat_cells)
        driver.find_elements(By.CSS_SELECTOR, "#board-body tr.model")[0].click()
        assert "model_name" in driver.find_element(By.ID, "detail-body").text
        assert "pick the same candidate" in driver.find_element(By.ID, "mono-text").text
        os.makedirs(os.path.join(REPO_ROOT, "test-artifacts"), exist_ok=True)
        driver.save_screenshot(os.path.join(REPO_ROOT, "test-artifacts", "leaderboard.png"))
    finally:
        driver.quit()
