"""Vectorised expansion: conversations → comparisons (one per labelled turn) → chosen/rejected pairs.

A comparison at turn k has the context [prompt 1, preferred 1, …, prompt k-1, preferred k-1,
prompt k] (the conversation went on from the preferred response), the four candidates in letter
order and the 0-based index of the chosen one. A turn whose label is present but whose prompt is
missing cannot be shown and is dropped (``label_without_prompt``); a labelled turn after a turn
without a label, or after a turn without a prompt, keeps an empty message in its context and
``context_complete = False``.
Each comparison gives three pairs (chosen ≻ each other candidate); a pair with an empty side
(``pair_empty_side``) or with identical texts (``pair_identical_texts``) is dropped and counted.

Rows come out turn by turn (every comparison of turn 1 of the given conversations, in their order,
then turn 2, …), a comparison's pairs in the order of their rejected letter.

How: the text columns of the given conversations are laid end to end in one string view array
(`_Texts`, no text copied), so that every text of the output (a context message, a candidate, a
chosen or rejected answer) is a position in it, computed with numpy, and each output text column is
one `take`. The pair rules
(`_pairs_of`) are one function, used by `pairs` and by `summarize`'s counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import schema
from .reader import flags, offsets, one_array

_OTHERS = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]], dtype=np.int64)
_ROLES = pa.array(["user", "assistant"], pa.string())
#: Per turn, the columns its comparisons read: the prompt, then the four candidates in letter order.
_TURN_TEXTS = {t: [f"{t}_turn_prompt", *(f"{t}_turn_response_{x}" for x in schema.LETTERS)] for t in schema.TURNS}
_CANDIDATES = [c for t in schema.TURNS for c in _TURN_TEXTS[t][1:]]
_CONTEXT_AND_CANDIDATES = [c for t in schema.TURNS for c in _TURN_TEXTS[t]]


def chosen_index(table: pa.Table, turn: str) -> pa.Array:
    """0-based index (0 = a … 3 = d) of the preferred response at one turn; null where unlabelled."""
    labels = table[f"{turn}_turn_preferred_response"]
    index = pc.index_in(labels, value_set=pa.array(schema.PREFERRED_LABELS, labels.type))
    return pc.cast(index, pa.int8())


def _chosen_codes(table: pa.Table) -> dict[str, np.ndarray]:
    """Per turn, the chosen index of every row as int64, -1 where unlabelled."""
    return {
        t: np.asarray(pc.fill_null(chosen_index(table, t), -1).to_numpy(zero_copy_only=False), dtype=np.int64)
        for t in schema.TURNS
    }


_VIEW = np.dtype((np.void, 16))  # one cell of an Arrow string view array


class _Texts:
    """Text columns of `n` rows end to end (column after column), then one empty string: the position
    of row r of column c is `start[c] + r`, and `empty` the position of the empty string.

    The cells are held as Arrow string views (16 bytes each: a length and where the text is), over
    the columns' own text buffers: laying the columns end to end copies no text, a `take` gathers
    views with numpy, and the text of the output is copied once, by the cast to `string` (its size
    known in advance). pyarrow's `take` of a string array instead grows its output buffer by
    reallocation, and would need the columns concatenated first (two copies of the text)."""

    def __init__(self, table: pa.Table, columns: list[str]):
        self.n = table.num_rows
        arrays = [chunk for c in columns for chunk in table[c].chunks if len(chunk)]
        arrays.append(pa.array([""], pa.large_string()))
        views = pa.concat_arrays([a.cast(pa.string_view()) for a in arrays])  # no text copied
        self._buffers = views.buffers()[2:]
        self._views = np.frombuffer(views.buffers()[1], dtype=_VIEW)[views.offset : views.offset + len(views)]
        self.start = {c: i * self.n for i, c in enumerate(columns)}
        self.empty = len(columns) * self.n
        self.valid = np.concatenate([flags(a.is_valid()) for a in arrays])
        self.lengths = np.concatenate([np.diff(offsets(a)) for a in arrays])

    def take(self, positions: np.ndarray) -> pa.Array:
        """The texts at `positions`, as `string` (null where a cell is null)."""
        positions = np.asarray(positions, dtype=np.int64)
        valid = self.valid[positions]
        bitmap = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
        views = pa.py_buffer(self._views[positions])
        arr = pa.Array.from_buffers(pa.string_view(), len(positions), [bitmap, views, *self._buffers])
        return arr.cast(pa.string())

    def candidate(self, turn: str, letter: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Positions of candidate `letter` (0–3) of `turn` in `rows`."""
        return self.start[_TURN_TEXTS[turn][1]] + letter * self.n + rows

    def prompt(self, turn: str, rows: np.ndarray) -> np.ndarray:
        return self.start[_TURN_TEXTS[turn][0]] + rows


def _turn_rows(
    table: pa.Table, chosen: dict[str, np.ndarray], k: int, dropped: Counter, selected: np.ndarray | None = None
) -> np.ndarray:
    """Rows with a comparison at turn k (1-based): labelled and with a prompt; the others counted.
    `selected`: only these rows (a mask) are looked at."""
    turn = schema.TURNS[k - 1]
    labelled = chosen[turn] >= 0
    has_prompt = flags(table[f"{turn}_turn_prompt"].is_valid())
    if selected is not None:
        labelled, has_prompt = labelled & selected, has_prompt & selected
    dropped["label_without_prompt"] += int((labelled & ~has_prompt).sum())
    dropped["turn_without_label"] += int((has_prompt & ~labelled).sum())
    return np.flatnonzero(labelled & has_prompt)


def _context(texts: _Texts, chosen: dict[str, np.ndarray], k: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the 2k-1 context messages of turn k for `rows` (one row each; a missing earlier
    prompt or preferred response is the empty string), and whether the context is complete."""
    cols, complete = [], np.ones(len(rows), dtype=bool)
    for t in schema.TURNS[: k - 1]:
        prompt = texts.prompt(t, rows)
        c = chosen[t][rows]
        preferred = texts.candidate(t, np.maximum(c, 0), rows)
        prompt_ok, preferred_ok = texts.valid[prompt], (c >= 0) & texts.valid[preferred]
        complete &= prompt_ok & preferred_ok
        cols += [np.where(prompt_ok, prompt, texts.empty), np.where(preferred_ok, preferred, texts.empty)]
    cols.append(texts.prompt(schema.TURNS[k - 1], rows))
    return np.stack(cols, axis=1), complete


def _messages(texts: _Texts, positions: np.ndarray, first_role: int) -> pa.ListArray:
    """One message list per row of `positions` (rows × messages); roles alternate from `first_role`
    (0 user, 1 assistant)."""
    n, m = positions.shape
    content = texts.take(positions.ravel())
    roles = _ROLES.take(pa.array(np.tile((np.arange(m) + first_role) % 2, n)))
    struct = pa.StructArray.from_arrays([roles, content], names=["role", "content"])
    return pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32) * m), struct)


def _pairs_of(texts: _Texts, chosen: np.ndarray, turn: str, rows: np.ndarray, dropped: Counter):
    """The kept pairs of the comparisons `rows` of `turn` (their chosen indices `chosen`): for each, the
    comparison (index into rows), the rejected letter and the positions of both texts; drops counted.

    A pair is dropped when one side is empty, or when both texts are identical (compared only where
    their byte lengths agree)."""
    comp = np.repeat(np.arange(len(rows)), 3)
    rejected = _OTHERS[chosen].ravel()
    r = rows[comp]
    chosen_pos, rejected_pos = texts.candidate(turn, chosen[comp], r), texts.candidate(turn, rejected, r)
    empty = ~texts.valid[chosen_pos] | ~texts.valid[rejected_pos]
    maybe = np.flatnonzero(~empty & (texts.lengths[chosen_pos] == texts.lengths[rejected_pos]))
    same = np.zeros(len(comp), dtype=bool)
    if len(maybe):
        eq = pc.equal(texts.take(chosen_pos[maybe]), texts.take(rejected_pos[maybe]))
        same[maybe] = flags(eq)
    dropped["pair_empty_side"] += int(empty.sum())
    dropped["pair_identical_texts"] += int(same.sum())
    keep = ~(empty | same)
    return comp[keep], rejected[keep], chosen_pos[keep], rejected_pos[keep]


class _Rows:
    """The non-text columns of the given conversations, taken per comparison or pair."""

    def __init__(self, table: pa.Table):
        self.table = table
        self._cols: dict[str, pa.Array] = {}

    def col(self, name: str) -> pa.Array:
        if name not in self._cols:
            arr = one_array(self.table[name])
            self._cols[name] = arr.cast(pa.string()) if pa.types.is_large_string(arr.type) else arr
        return self._cols[name]

    def head(self, rows: np.ndarray, k: int, complete: np.ndarray) -> dict[str, pa.Array]:
        idx = pa.array(rows, pa.int64())
        return {
            "comparison_id": pc.binary_join_element_wise(
                pc.cast(self.col("conversation_id").take(idx), pa.string()), pa.scalar(str(k)), "-"
            ),
            "conversation_id": self.col("conversation_id").take(idx),
            "annotator_id": self.col("annotator_id").take(idx),
            "turn": pa.array(np.full(len(rows), k, dtype=np.int8)),
            "prompt_group": self.col("prompt_group").take(idx),
            "context_complete": pa.array(complete),
        }

    def tail(self, rows: np.ndarray) -> dict[str, pa.Array]:
        idx = pa.array(rows, pa.int64())
        return {
            c: self.col(c).take(idx) for c in ["split", *(c for c in schema.CARRIED_COLUMNS if c != "annotator_id")]
        }


def input_columns(kind: str) -> list[str]:
    """The conversation columns `comparison_tables` (kind "comparisons") or `pair_tables` ("pairwise") read."""
    texts = _CONTEXT_AND_CANDIDATES + ([f"{t}_turn_feedback" for t in schema.TURNS] if kind == "comparisons" else [])
    labels = [f"{t}_turn_preferred_response" for t in schema.TURNS]
    return ["conversation_id", "prompt_group", "split", *schema.CARRIED_COLUMNS, *labels, *texts]


def comparison_tables(
    conversations: pa.Table, dropped: Counter, selected: np.ndarray | None = None
) -> Iterator[pa.Table]:
    """The comparisons of `conversations` (of its `selected` rows, a mask, when given: the same as those
    of the rows filtered first, without copying them), one table per turn (turns without any left out)."""
    texts = _Texts(conversations, _CONTEXT_AND_CANDIDATES + [f"{t}_turn_feedback" for t in schema.TURNS])
    chosen, meta = _chosen_codes(conversations), _Rows(conversations)
    for k, turn in enumerate(schema.TURNS, start=1):
        rows = _turn_rows(conversations, chosen, k, dropped, selected)
        if not len(rows):
            continue
        context, complete = _context(texts, chosen, k, rows)
        candidates = texts.candidate(turn, np.arange(4)[None, :], rows[:, None])
        yield pa.table(
            {
                **meta.head(rows, k, complete),
                "context": _messages(texts, context, 0),
                "candidates": pa.FixedSizeListArray.from_arrays(texts.take(candidates.ravel()), 4),
                "chosen_index": pa.array(chosen[turn][rows].astype(np.int8)),
                "has_empty_candidate": pa.array(~texts.valid[candidates].all(axis=1)),
                "feedback": texts.take(texts.start[f"{turn}_turn_feedback"] + rows),
                **meta.tail(rows),
            }
        )


def pair_tables(conversations: pa.Table, dropped: Counter, selected: np.ndarray | None = None) -> Iterator[pa.Table]:
    """The chosen/rejected pairs of `conversations` (TRL's conversational explicit-prompt format), one
    table per turn; the comparisons' drops and the pairs' drops counted. `selected` as in
    `comparison_tables`."""
    texts = _Texts(conversations, _CONTEXT_AND_CANDIDATES)
    chosen, meta = _chosen_codes(conversations), _Rows(conversations)
    for k, turn in enumerate(schema.TURNS, start=1):
        rows = _turn_rows(conversations, chosen, k, dropped, selected)
        if not len(rows):
            continue
        comp, rejected, chosen_pos, rejected_pos = _pairs_of(texts, chosen[turn][rows], turn, rows, dropped)
        if not len(comp):
            continue
        context, complete = _context(texts, chosen, k, rows)
        r = rows[comp]
        yield pa.table(
            {
                "prompt": _messages(texts, context[comp], 0),
                "chosen": _messages(texts, chosen_pos[:, None], 1),
                "rejected": _messages(texts, rejected_pos[:, None], 1),
                **meta.head(r, k, complete[comp]),
                "chosen_index": pa.array(chosen[turn][r].astype(np.int8)),
                **meta.tail(r),
                "rejected_index": pa.array(rejected.astype(np.int8)),
            }
        )


def comparisons(conversations: pa.Table) -> tuple[pa.Table | None, Counter]:
    """One row per turn-level choice; the table (None when there is none) and the drop counts."""
    dropped: Counter = Counter()
    parts = list(comparison_tables(conversations, dropped))
    return (pa.concat_tables(parts) if parts else None), dropped


def pairs(conversations: pa.Table) -> tuple[pa.Table | None, Counter]:
    """Three chosen/rejected pairs per comparison of `conversations`, less the dropped ones; the table
    (None when there is none) and the drop counts (of the comparisons and of the pairs)."""
    dropped: Counter = Counter()
    parts = list(pair_tables(conversations, dropped))
    return (pa.concat_tables(parts) if parts else None), dropped


GROUP_AXES = {"country": "annotator_country", "language": "assigned_lang", "turn": "turn"}


def group_split_name(axis: str, value) -> str:
    """The split name of one group: `united_states`, `hi`, `turn_1`."""
    return f"turn_{value}" if axis == "turn" else str(value).replace(" ", "_")


def block_counts(conversations: pa.Table) -> dict:
    """The counts `summary` adds up, of one block of conversations (with its `split` column): rows of
    conversations, comparisons and kept pairs per (split, country, language, turn), and the drops."""
    dropped: Counter = Counter()
    keys = {c: conversations[c] for c in ("split", "annotator_country", "assigned_lang")}
    code, names = {}, {}
    for c, col in keys.items():  # local integer codes of the conversation-level values
        enc = pc.dictionary_encode(one_array(col))
        code[c] = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        names[c] = enc.dictionary.to_pylist()
    conv, comps, pairs_ = Counter(), Counter(), Counter()
    for s, n in zip(*np.unique(code["split"], return_counts=True)):
        conv[names["split"][s]] += int(n)
    texts, chosen = _Texts(conversations, _CANDIDATES), _chosen_codes(conversations)
    for k, turn in enumerate(schema.TURNS, start=1):
        rows = _turn_rows(conversations, chosen, k, dropped)
        for s, n in zip(*np.unique(code["split"][rows], return_counts=True)):
            comps[names["split"][s]] += int(n)
        comp, *_ = _pairs_of(texts, chosen[turn][rows], turn, rows, dropped)
        r = rows[comp]
        if r.size:  # one integer per (split, country, language): np.unique on rows of a 2-D array is slow
            n_c, n_lg = len(names["annotator_country"]), len(names["assigned_lang"])
            combined = (code["split"][r] * n_c + code["annotator_country"][r]) * n_lg + code["assigned_lang"][r]
            uniq, n = np.unique(combined, return_counts=True)
            for u, m in zip(uniq.tolist(), n.tolist()):
                (s, c), lg = divmod(u // n_lg, n_c), u % n_lg
                pairs_[names["split"][s], names["annotator_country"][c], names["assigned_lang"][lg], k] += m
    return {"conversations": conv, "comparisons": comps, "pairs": pairs_, "dropped": dropped}


def summary(blocks: list[dict]) -> dict:
    """Counts of comparisons, pairs and drops per split and per group, from `block_counts` of every
    block of a table."""
    total = {k: sum((b[k] for b in blocks), Counter()) for k in ("conversations", "comparisons", "pairs", "dropped")}
    for k in ("label_without_prompt", "turn_without_label", "pair_empty_side", "pair_identical_texts"):
        total["dropped"].setdefault(k, 0)
    split_names = sorted(total["conversations"])
    by_group: dict = {}
    for s in split_names:
        groups = {"country": Counter(), "language": Counter(), "turn": Counter()}
        for (split, country, lang, turn), n in total["pairs"].items():
            if split == s:
                groups["country"][country] += n
                groups["language"][lang] += n
                groups["turn"][turn] += n
        by_group[s] = {
            axis: {group_split_name(axis, g): n for g, n in sorted(c.items()) if n} for axis, c in groups.items()
        }
    pairs_per_split = Counter()
    for (split, *_), n in total["pairs"].items():
        pairs_per_split[split] += n
    return {
        "conversations": {s: total["conversations"][s] for s in split_names},
        "comparisons": {s: n for s, n in sorted(total["comparisons"].items())},
        "pairs": {s: pairs_per_split[s] for s in split_names if pairs_per_split[s]},
        "pairs_by_group": by_group,
        "dropped": dict(sorted(total["dropped"].items())),
    }


def summarize(conversations: pa.Table) -> dict:
    """Counts of comparisons, pairs and drops per split and per group, without building any text.

    Needs the `split` column. Applies the rules of `comparisons` and `pairs` (the same functions), so
    its numbers are the row counts those (and the builder's configs) produce.
    """
    needed = [*_CANDIDATES, *(f"{t}_turn_{c}" for t in schema.TURNS for c in ("prompt", "preferred_response"))]
    needed += ["split", "annotator_country", "assigned_lang"]
    return summary([block_counts(pa.Table.from_batches([b])) for b in conversations.select(needed).to_batches()])
