"""The dataset card: YAML header (configs, dataset_info) and count tables computed from the data."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from . import expand, schema
from .builder import CONFIGS, count_rows, group_config_name

LANGUAGE_NAMES = {"en": "English", "fr": "French", "it": "Italian", "pt": "Portuguese", "hi": "Hindi"}


def _size_category(n: int) -> str:
    for limit, name in [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")]:
        if n < limit:
            return name
    return "1M<n<10M"


ARXIV_URL = "https://arxiv.org/abs/2507.09650"


def card_yaml(meta: dict, configs: Iterable[str] | None = None, infos=None, metadata_configs=None) -> dict:
    """The card's YAML front matter. With `infos` (a `datasets` `DatasetInfosDict`) and `metadata_configs`
    (what `export` wrote) it also holds the `configs` and the complete `dataset_info` of each config,
    written by `datasets`' own serialisers (what `push_to_hub` writes)."""
    from huggingface_hub import DatasetCardData

    synthetic = bool(meta["synthetic"])
    data = DatasetCardData(
        pretty_name="Community Alignment" + (" (synthetic sample)" if synthetic else ""),
        license="cc-by-4.0",
        language=list(schema.LANGUAGES),
        multilinguality="multilingual",
        annotations_creators=["machine-generated"] if synthetic else ["crowdsourced"],
        language_creators=["machine-generated"] if synthetic else ["crowdsourced", "machine-generated"],
        source_datasets=["original"] if synthetic else [schema.HUB_REPO_ID],
        task_categories=["text-classification", "text-generation"],
        tags=["preference", "rlhf", "pluralistic-alignment", "reward-modeling", "dpo"]
        + (["synthetic"] if synthetic else []),
        size_categories=[_size_category(meta["pairs"])],
        paperswithcode_id=None,
    )
    data["arxiv"] = ARXIV_URL.rsplit("/", 1)[1]
    if metadata_configs is not None:
        wanted = set(configs) if configs is not None else set(metadata_configs)
        ordered = type(metadata_configs)({c.name: metadata_configs[c.name] for c in CONFIGS if c.name in wanted})
        ordered.to_dataset_card_data(data)
    if infos is not None:
        infos.to_dataset_card_data(data)
    return {k: v for k, v in data.to_dict().items() if v not in (None, [])}


def usage_snippet(usage: dict | None) -> str:
    """The `python` block that loads this data: from the package's cache, an export folder or a Hub repo."""
    kind = (usage or {}).get("kind", "cache")
    if kind == "cache":
        return (
            "```python\n"
            "from datasets import load_dataset\n\n"
            "# after `community-alignment prepare --all` (add `--source sample` for the offline synthetic sample)\n"
            'pairs = load_dataset("community_alignment", "pairwise")\n'
            'test_by_country = load_dataset("community_alignment", "by_country_test")  # test pairs, a split per country\n'
            'print(pairs["train"][0]["chosen"], sorted(test_by_country))\n'
            "```"
        )
    where = usage["where"]
    return (
        "```python\n"
        "from datasets import load_dataset\n\n"
        f"pairs = load_dataset({where!r})  # the default config: pairwise\n"
        f'test_by_country = load_dataset({where!r}, "by_country_test")  # test pairs, a split per country\n'
        'print(pairs["train"][0]["chosen"], sorted(test_by_country))\n'
        "```"
    )


def _table(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def count_tables(conversations: pa.Table, meta: dict) -> str:
    """Markdown tables of subgroup counts (conversations, comparisons, pairs) computed from the data."""
    parts = []
    by_cl = conversations.group_by(["annotator_country", "assigned_lang"]).aggregate([("conversation_id", "count")])
    d = {(r["annotator_country"], r["assigned_lang"]): r["conversation_id_count"] for r in by_cl.to_pylist()}
    parts.append(
        "### Conversations by country × assigned language\n\n"
        + _table(
            ["country", *schema.LANGUAGES, "total"],
            [
                [c, *(d.get((c, lg), 0) for lg in schema.LANGUAGES), sum(d.get((c, lg), 0) for lg in schema.LANGUAGES)]
                for c in schema.COUNTRIES
            ],
        )
    )
    comps = []
    for t in schema.TURNS:
        labelled = pc.and_(
            pc.is_valid(expand.chosen_index(conversations, t)), pc.is_valid(conversations[f"{t}_turn_prompt"])
        )
        comps.append(conversations.filter(labelled).select(["annotator_country", "assigned_lang", "wave"]))
    comp = pa.concat_tables(comps)
    for col, title in [("assigned_lang", "language"), ("annotator_country", "country"), ("wave", "wave")]:
        g = comp.group_by([col]).aggregate([(col, "count")]).sort_by(col).to_pylist()
        parts.append(
            f"### Comparisons by {title}\n\n" + _table([title, "comparisons"], [[r[col], r[f"{col}_count"]] for r in g])
        )
    rows = count_rows(meta)
    split_rows = [
        [c, *(rows[c].get(s, 0) for s in ("train", "validation", "test"))]
        for c in ("conversations", "comparisons", "pairwise")
    ]
    parts.append("### Rows per config and split\n\n" + _table(["config", "train", "validation", "test"], split_rows))
    for axis in ("country", "language", "turn"):
        names = [group_config_name(axis, s) for s in ("train", "validation", "test")]
        groups = list(rows[names[0]])
        parts.append(
            f"### `by_{axis}` (pairs per group; configs {', '.join(f'`{n}`' for n in names)})\n\n"
            + _table(
                ["group", "train", "validation", "test"], [[g, *(rows[n].get(g, 0) for n in names)] for g in groups]
            )
        )
    parts.append(
        "### Dropped, cleaned and inconsistent (counted, never silent)\n\n"
        + _table(
            ["reason", "count"],
            [[k, v] for k, v in {**meta["dropped"], **meta["cleaned"], **meta.get("inconsistencies", {})}.items()],
        )
    )
    return "\n\n".join(parts)


def render_card(
    conversations: pa.Table,
    meta: dict,
    configs: Iterable[str] | None = None,
    infos=None,
    metadata_configs=None,
    usage: dict | None = None,
) -> str:
    """The full card: YAML front matter, the prose template, and the generated count tables.

    `usage` says where the data is loaded from: {"kind": "cache"} (default: the package's prepared
    cache), {"kind": "folder", "where": DIR} or {"kind": "repo", "where": "ORG/NAME"}."""
    from importlib import resources

    template = (resources.files("community_alignment") / "templates" / "dataset_card.md.tmpl").read_text("utf-8")
    front = yaml.safe_dump(
        card_yaml(meta, configs, infos, metadata_configs), sort_keys=False, allow_unicode=True, width=120
    )
    origin = (
        "**These tables were computed on the embedded SYNTHETIC sample**, not on the real data. "
        "Run `community-alignment card --source hub` to compute them on the real file."
        if meta["synthetic"]
        else f"Computed on `{meta['file']}` (source `{meta['source']}`, revision `{meta['revision']}`)."
    )
    body = template.replace("{{COUNT_TABLES}}", origin + "\n\n" + count_tables(conversations, meta))
    body = body.replace("{{USAGE}}", usage_snippet(usage))
    body = body.replace("{{ARXIV_URL}}", ARXIV_URL)
    body = body.replace("{{PINNED_REVISION}}", schema.PINNED_REVISION)
    body = body.replace("{{FINGERPRINT}}", meta["split_manifest"]["fingerprints"]["test"])
    return f"---\n{front}---\n\n{body}"
