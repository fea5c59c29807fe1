"""Vectorised expansion: conversations → comparisons (one per labelled turn) → chosen/rejected pairs.

A comparison at turn k has the context [prompt 1, preferred 1, …, prompt k-1, preferred k-1,
prompt k] (the conversation went on from the preferred response), the four candidates in letter
order and the 0-based index of the chosen one. A turn whose label is present but whose prompt is
missing cannot be shown and is dropped (``label_without_prompt``); a labelled turn after a turn
without a label, or after a turn without a prompt, keeps an empty message in its context and
``context_complete = False``.
Each comparison gives three pairs (chosen ≻ each other candidate); a pair with an empty side
(``pair_empty_side``) or with identical texts (``pair_identical_texts``) is dropped and counted.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import schema

_TURN_NUMBER = {t: i + 1 for i, t in enumerate(schema.TURNS)}
_OTHERS = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]], dtype=np.int64)


def chosen_index(table: pa.Table, turn: str) -> pa.Array:
    """0-based index (0 = a … 3 = d) of the preferred response at one turn; null where unlabelled."""
    labels = table[f"{turn}_turn_preferred_response"]
    index = pc.index_in(labels, value_set=pa.array(schema.PREFERRED_LABELS, labels.type))
    return pc.cast(index, pa.int8())


def _interleave(columns: list[pa.Array]) -> pa.Array:
    """Row-major flattening of equally long columns: r0c0, r0c1, …, r1c0, …"""
    n, m = len(columns[0]), len(columns)
    flat = pa.concat_arrays([c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns])
    order = (np.arange(m)[None, :] * n + np.arange(n)[:, None]).ravel()
    return flat.take(pa.array(order))


def _messages(roles: list[str], contents: list[pa.Array]) -> pa.ListArray:
    n, m = len(contents[0]), len(contents)
    content = pc.cast(_interleave(contents), pa.string())
    role = pa.array(np.tile(np.asarray(roles, dtype=object), n), pa.string())
    struct = pa.StructArray.from_arrays([role, content], names=["role", "content"])
    return pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32) * m), struct)


def _preferred_text(table: pa.Table, turn: str) -> pa.ChunkedArray:
    idx = chosen_index(table, turn)
    cond = pc.make_struct(*[pc.fill_null(pc.equal(idx, i), False) for i in range(4)], field_names=list("abcd"))
    cands = [table[f"{turn}_turn_response_{x}"] for x in schema.LETTERS]
    return pc.case_when(cond, *cands)


def comparisons(conversations: pa.Table, turns: tuple[int, ...] | None = None) -> tuple[pa.Table, Counter]:
    """One row per turn-level choice (only of `turns`, 1-based, when given); the table and the drop counts."""
    dropped: Counter = Counter()
    last = max(turns) if turns else len(schema.TURNS)
    preferred = {t: _preferred_text(conversations, t) for t in schema.TURNS[: last - 1]}
    parts = []
    for k, turn in enumerate(schema.TURNS):
        if turns and k + 1 not in turns:
            continue
        idx = chosen_index(conversations, turn)
        labelled = pc.is_valid(idx)
        has_prompt = pc.is_valid(conversations[f"{turn}_turn_prompt"])
        dropped["label_without_prompt"] += int(pc.sum(pc.and_(labelled, pc.invert(has_prompt))).as_py() or 0)
        dropped["turn_without_label"] += int(pc.sum(pc.and_(has_prompt, pc.invert(labelled))).as_py() or 0)
        keep = pc.and_(labelled, has_prompt)
        sub = conversations.filter(keep)
        if sub.num_rows == 0:
            continue
        earlier = schema.TURNS[:k]
        contents, roles = [], []
        complete = pa.array(np.ones(sub.num_rows, dtype=bool))
        for t in earlier:
            pref = preferred[t].filter(keep)
            complete = pc.and_(complete, pc.and_(pc.is_valid(pref), pc.is_valid(sub[f"{t}_turn_prompt"])))
            contents += [pc.fill_null(sub[f"{t}_turn_prompt"], ""), pc.fill_null(pref, "")]
            roles += ["user", "assistant"]
        contents.append(sub[f"{turn}_turn_prompt"])
        roles.append("user")
        cand_cols = [sub[f"{turn}_turn_response_{x}"] for x in schema.LETTERS]
        empty = pc.or_(
            pc.or_(pc.is_null(cand_cols[0]), pc.is_null(cand_cols[1])),
            pc.or_(pc.is_null(cand_cols[2]), pc.is_null(cand_cols[3])),
        )
        n = sub.num_rows
        cand_flat = pc.cast(_interleave(cand_cols), pa.string())
        candidates = pa.FixedSizeListArray.from_arrays(cand_flat, 4).cast(pa.list_(pa.string(), 4))
        cid = pc.cast(sub["conversation_id"], pa.string())
        cols = {
            "comparison_id": pc.binary_join_element_wise(cid, pa.scalar(str(k + 1)), "-"),
            "conversation_id": sub["conversation_id"],
            "annotator_id": sub["annotator_id"],
            "turn": pa.array(np.full(n, k + 1, dtype=np.int8)),
            "prompt_group": sub["prompt_group"],
            "context_complete": complete,
            "context": _messages(roles, contents),
            "candidates": candidates,
            "chosen_index": chosen_index(sub, turn),
            "has_empty_candidate": empty,
            "feedback": pc.cast(sub[f"{turn}_turn_feedback"], pa.string()),
            "split": sub["split"],
        }
        for c in schema.CARRIED_COLUMNS:
            if c == "annotator_id":
                continue
            col = sub[c]
            cols[c] = pc.cast(col, pa.string()) if pa.types.is_large_string(col.type) else col
        parts.append(pa.table({name: _chunked(v) for name, v in cols.items()}))
    table = pa.concat_tables(parts) if parts else None
    return table, dropped


def _chunked(v) -> pa.ChunkedArray:
    return v if isinstance(v, pa.ChunkedArray) else pa.chunked_array([v])


def pair_drop_masks(chosen_text, rejected_text) -> tuple[np.ndarray, np.ndarray]:
    """Which pairs have an empty side, and which (non-empty) pairs have identical texts."""
    empty = pc.or_(pc.is_null(chosen_text), pc.is_null(rejected_text)).to_numpy(zero_copy_only=False)
    same = pc.fill_null(pc.equal(chosen_text, rejected_text), False).to_numpy(zero_copy_only=False)
    return np.asarray(empty), np.asarray(same) & ~np.asarray(empty)


def pairs(comps: pa.Table) -> tuple[pa.Table, Counter]:
    """Three chosen/rejected pairs per comparison in TRL's conversational explicit-prompt format."""
    dropped: Counter = Counter()
    n = comps.num_rows
    chosen = comps["chosen_index"].to_numpy().astype(np.int64)
    rows = np.repeat(np.arange(n), 3)
    rejected = _OTHERS[chosen].ravel()
    flat = pc.list_flatten(comps["candidates"])
    flat = flat.combine_chunks() if isinstance(flat, pa.ChunkedArray) else flat
    chosen_text = flat.take(pa.array(rows * 4 + chosen[rows]))
    rejected_text = flat.take(pa.array(rows * 4 + rejected))
    empty, same = pair_drop_masks(chosen_text, rejected_text)
    dropped["pair_empty_side"] = int(empty.sum())
    dropped["pair_identical_texts"] = int(same.sum())
    keep = np.flatnonzero(~(empty | same))
    rows, rejected = rows[keep], rejected[keep]
    base = comps.drop_columns(["context", "candidates", "has_empty_candidate", "feedback"]).take(pa.array(rows))
    out = {
        "prompt": _chunked(comps["context"].take(pa.array(rows))),
        "chosen": _chunked(_messages(["assistant"], [chosen_text.take(pa.array(keep))])),
        "rejected": _chunked(_messages(["assistant"], [rejected_text.take(pa.array(keep))])),
    }
    for name in base.column_names:
        out[name] = base[name]
    out["rejected_index"] = pa.chunked_array([pa.array(rejected.astype(np.int8))])
    return pa.table(out), dropped


GROUP_AXES = {"country": "annotator_country", "language": "assigned_lang", "turn": "turn"}


def group_split_name(axis: str, value) -> str:
    """The split name of one group: `united_states`, `hi`, `turn_1`."""
    return f"turn_{value}" if axis == "turn" else str(value).replace(" ", "_")


def summarize(conversations: pa.Table) -> dict:
    """Counts of comparisons, pairs and drops per split and per group, without building any text.

    Needs the `split` column. Uses the same rules as `comparisons` and `pairs`, so its numbers are
    the row counts those functions (and the builder's configs) produce.
    """
    dropped: Counter = Counter()
    split = np.asarray(conversations["split"].to_numpy(zero_copy_only=False))
    country = np.asarray(conversations["annotator_country"].to_numpy(zero_copy_only=False))
    lang = np.asarray(conversations["assigned_lang"].to_numpy(zero_copy_only=False))
    comp = Counter()
    pair_rows = []  # (row indices, turn) of kept pairs
    for k, turn in enumerate(schema.TURNS):
        idx = chosen_index(conversations, turn)
        labelled = pc.is_valid(idx)
        has_prompt = pc.is_valid(conversations[f"{turn}_turn_prompt"])
        dropped["label_without_prompt"] += int(pc.sum(pc.and_(labelled, pc.invert(has_prompt))).as_py() or 0)
        dropped["turn_without_label"] += int(pc.sum(pc.and_(has_prompt, pc.invert(labelled))).as_py() or 0)
        keep = np.asarray(pc.and_(labelled, has_prompt).to_numpy(zero_copy_only=False))
        comp.update(split[keep])
        chosen = np.asarray(pc.fill_null(idx, -1).to_numpy(zero_copy_only=False))
        preferred = _preferred_text(conversations, turn)
        for j, x in enumerate(schema.LETTERS):
            exists = keep & (chosen != j)
            empty, same = pair_drop_masks(preferred, conversations[f"{turn}_turn_response_{x}"])
            dropped["pair_empty_side"] += int((empty & exists).sum())
            dropped["pair_identical_texts"] += int((same & exists).sum())
            pair_rows.append((np.flatnonzero(exists & ~empty & ~same), k + 1))
    rows = np.concatenate([r for r, _ in pair_rows])
    turns = np.concatenate([np.full(len(r), t) for r, t in pair_rows])
    # integer codes of the conversation-level values (sorted names), so the per-pair work is on integers
    split_names, split_code = np.unique(split, return_inverse=True)
    countries, langs = np.unique(country, return_inverse=True), np.unique(lang, return_inverse=True)
    pair_split = split_code[rows]
    by_group: dict = {}
    for i, s in enumerate(split_names):
        sel = pair_split == i
        by_group[str(s)] = {
            "country": _count_codes(*countries, rows[sel], "country"),
            "language": _count_codes(*langs, rows[sel], "language"),
            "turn": _count(turns[sel], "turn"),
        }
    return {
        "conversations": {str(s): int(n) for s, n in zip(split_names, np.bincount(split_code))},
        "comparisons": {str(s): int(n) for s, n in sorted(comp.items())},
        "pairs": {
            str(s): int(n) for s, n in zip(split_names, np.bincount(pair_split, minlength=len(split_names))) if n
        },
        "pairs_by_group": by_group,
        "dropped": dict(sorted(dropped.items())),
    }


def _count_codes(names: np.ndarray, codes: np.ndarray, rows: np.ndarray, axis: str) -> dict[str, int]:
    """`_count` of `names[codes[rows]]` without building the values (names sorted, as np.unique gives)."""
    n = np.bincount(codes[rows], minlength=len(names))
    return {group_split_name(axis, a): int(b) for a, b in zip(names, n) if b}


def _count(values: np.ndarray, axis: str) -> dict[str, int]:
    v, n = np.unique(values, return_counts=True)
    return {group_split_name(axis, a): int(b) for a, b in zip(v, n)}
