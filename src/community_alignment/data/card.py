"""The dataset card: YAML header (configs, dataset_info) and count tables computed from the data."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from . import expand, schema
from .builder import CONFIGS, count_rows

LANGUAGE_NAMES = {"en": "English", "fr": "French", "it": "Italian", "pt": "Portuguese", "hi": "Hindi"}


def _size_category(n: int) -> str:
    for limit, name in [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")]:
        if n < limit:
            return name
    return "1M<n<10M"


def card_yaml(meta: dict, configs: Iterable[str] | None = None) -> dict:
    """The card's YAML front matter; `configs` point at the parquet layout written by `export`."""
    from .builder import CommunityAlignment

    rows = count_rows(meta)
    wanted = set(configs) if configs is not None else {c.name for c in CONFIGS}
    configs, infos = [], []
    for cfg in (c for c in CONFIGS if c.name in wanted):
        splits = rows[cfg.name]
        entry = {
            "config_name": cfg.name,
            "data_files": [{"split": s, "path": f"{cfg.name}/{s}-*.parquet"} for s in splits],
        }
        if cfg.name == CommunityAlignment.DEFAULT_CONFIG_NAME:
            entry["default"] = True
        configs.append(entry)
        features = CommunityAlignment(config_name=cfg.name, source="sample").info.features
        infos.append(
            {
                "config_name": cfg.name,
                "features": features._to_yaml_list(),
                "splits": [{"name": s, "num_examples": n} for s, n in splits.items()],
            }
        )
    return {
        "pretty_name": "Community Alignment" + (" (synthetic sample)" if meta["synthetic"] else ""),
        "license": "cc-by-4.0",
        "language": list(schema.LANGUAGES),
        "multilinguality": "multilingual",
        "task_categories": ["text-classification", "text-generation"],
        "tags": ["preference", "rlhf", "pluralistic-alignment", "reward-modeling", "dpo"]
        + (["synthetic"] if meta["synthetic"] else []),
        "size_categories": [_size_category(meta["pairs"])],
        "configs": configs,
        "dataset_info": infos,
    }


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
        g = rows[f"by_{axis}"]
        parts.append(f"### `by_{axis}` (train pairs)\n\n" + _table(["split", "pairs"], [[k, v] for k, v in g.items()]))
    parts.append(
        "### Dropped and cleaned (counted, never silent)\n\n"
        + _table(["reason", "count"], [[k, v] for k, v in {**meta["dropped"], **meta["cleaned"]}.items()])
    )
    return "\n\n".join(parts)


def render_card(conversations: pa.Table, meta: dict, configs: Iterable[str] | None = None) -> str:
    """The full card: YAML front matter, the prose template, and the generated count tables."""
    from importlib import resources

    template = (resources.files("community_alignment") / "templates" / "dataset_card.md.tmpl").read_text("utf-8")
    front = yaml.safe_dump(card_yaml(meta, configs), sort_keys=False, allow_unicode=True, width=120)
    origin = (
        "**These tables were computed on the embedded SYNTHETIC sample**, not on the real data. "
        "Run `community-alignment card --source hub` to compute them on the real file."
        if meta["synthetic"]
        else f"Computed on `{meta['file']}` (source `{meta['source']}`, revision `{meta['revision']}`)."
    )
    body = template.replace("{{COUNT_TABLES}}", origin + "\n\n" + count_tables(conversations, meta))
    body = body.replace("{{PINNED_REVISION}}", schema.PINNED_REVISION)
    body = body.replace("{{FINGERPRINT}}", meta["split_manifest"]["fingerprints"]["test"])
    return f"---\n{front}---\n\n{body}"
