"""Comparisons and pairs on hand-made files whose counts are known exactly."""

from collections import Counter

import pyarrow as pa
from conftest import make_row, write_csv

from community_alignment.data import expand, splits
from community_alignment.data.reader import read_conversations


def _prepared(path):
    table, _ = read_conversations(path)
    table = table.append_column("prompt_group", splits.group_ids(splits.normalise_prompt(table["first_turn_prompt"])))
    return table.append_column("split", splits.assign_splits(table))


def test_counts_equal_sum_of_labels_and_three_pairs_each(tmp_path):
    rows = [make_row(i, n_turns=1 + i % 4) for i in range(1, 21)]
    rows[4]["second_turn_preferred_response"] = ""  # conversation 5 (2 turns): a shown turn without a label
    table = _prepared(write_csv(tmp_path / "a.csv", rows))
    labels = sum(1 for r in rows for t in ("first", "second", "third", "fourth") if r[f"{t}_turn_preferred_response"])
    comps, dropped = expand.comparisons(table)
    assert comps.num_rows == labels
    assert dropped["turn_without_label"] == 1
    pairs, pdrop = expand.pairs(table)
    assert pairs.num_rows == 3 * labels
    assert pdrop["pair_empty_side"] == 0 and pdrop["pair_identical_texts"] == 0
    assert pdrop["turn_without_label"] == dropped["turn_without_label"] == 1
    summary = expand.summarize(table)
    assert sum(summary["comparisons"].values()) == labels
    assert sum(summary["pairs"].values()) == 3 * labels


def test_identical_and_empty_pairs_are_dropped_and_counted(tmp_path):
    r1 = make_row(1, n_turns=1, labels=("response_b",))
    r1["first_turn_response_d"] = r1["first_turn_response_b"]  # a rejected text identical to the chosen
    r2 = make_row(2, n_turns=1, labels=("response_a",))
    r2["first_turn_response_c"] = "EMPTY STRING"  # an empty candidate cell
    table = _prepared(write_csv(tmp_path / "a.csv", [r1, r2]))
    comps, _ = expand.comparisons(table)
    assert comps.num_rows == 2  # both labels are comparisons, also with an empty cell
    assert comps["has_empty_candidate"].to_pylist() == [False, True]
    pairs, dropped = expand.pairs(table)
    assert dropped["pair_empty_side"] == 1 and dropped["pair_identical_texts"] == 1
    assert pairs.num_rows == 6 - 2
    assert expand.summarize(table)["dropped"]["pair_identical_texts"] == 1
    assert expand.summarize(table)["dropped"]["pair_empty_side"] == 1


def test_turn_k_context_uses_the_preferred_responses(tmp_path):
    row = make_row(7, n_turns=3, labels=("response_c", "response_a", "response_d"))
    comps, _ = expand.comparisons(_prepared(write_csv(tmp_path / "a.csv", [row])))
    third = [r for r in comps.to_pylist() if r["turn"] == 3][0]
    assert third["context"] == [
        {"role": "user", "content": "prompt 7 turn 1"},
        {"role": "assistant", "content": "c7-t1-c"},
        {"role": "user", "content": "prompt 7 turn 2"},
        {"role": "assistant", "content": "c7-t2-a"},
        {"role": "user", "content": "prompt 7 turn 3"},
    ]
    assert third["candidates"] == ["c7-t3-a", "c7-t3-b", "c7-t3-c", "c7-t3-d"]
    assert third["chosen_index"] == 3 and third["comparison_id"] == "7-3" and third["context_complete"]


def test_pairs_are_trl_conversational_explicit_prompt(tmp_path):
    row = make_row(3, n_turns=2, labels=("response_d", "response_b"))
    pairs, _ = expand.pairs(_prepared(write_csv(tmp_path / "a.csv", [row])))
    second = [p for p in pairs.to_pylist() if p["turn"] == 2]
    assert [p["rejected_index"] for p in second] == [0, 2, 3]
    assert all(p["chosen"] == [{"role": "assistant", "content": "c3-t2-b"}] for p in second)
    assert [p["rejected"][0]["content"] for p in second] == ["c3-t2-a", "c3-t2-c", "c3-t2-d"]
    assert second[0]["prompt"][-1] == {"role": "user", "content": "prompt 3 turn 2"}
    assert second[0]["prompt"][1] == {"role": "assistant", "content": "c3-t1-d"}


def test_unlabelled_earlier_turn_marks_context_incomplete(tmp_path):
    row = make_row(4, n_turns=2, labels=("", "response_a"))
    table = _prepared(write_csv(tmp_path / "a.csv", [row]))
    comps, dropped = expand.comparisons(table)
    assert comps.num_rows == 1 and dropped["turn_without_label"] == 1
    rec = comps.to_pylist()[0]
    assert rec["context_complete"] is False and rec["context"][1] == {"role": "assistant", "content": ""}


def test_label_without_prompt_is_dropped_and_counted(tmp_path):
    row = make_row(5, n_turns=1)
    row["second_turn_preferred_response"] = "response_a"
    table = _prepared(write_csv(tmp_path / "a.csv", [row]))
    comps, dropped = expand.comparisons(table)
    assert comps.num_rows == 1 and dropped["label_without_prompt"] == 1
    assert expand.summarize(table)["dropped"]["label_without_prompt"] == 1


def test_metadata_is_carried(tmp_path):
    row = make_row(6, n_turns=1, annotator_country="india", assigned_lang="hi", annotator_age="")
    comps, _ = expand.comparisons(_prepared(write_csv(tmp_path / "a.csv", [row])))
    rec = comps.to_pylist()[0]
    assert rec["annotator_country"] == "india" and rec["assigned_lang"] == "hi" and rec["annotator_age"] is None
    assert isinstance(comps["context"].type, pa.ListType)


def test_counts_by_block_add_up_to_the_counts_of_the_whole_table(tmp_path):
    """`summary` of per-block `block_counts` (how the builder counts while reading) equals
    `summarize` of the table, and both equal the rows `comparisons` and `pairs` produce."""
    import random

    rng = random.Random(3)
    rows = []
    for i in range(1, 121):
        r = make_row(i, n_turns=1 + i % 4, annotator_country=rng.choice(["india", "france", "united states"]))
        if i % 9 == 0:
            r["first_turn_response_c"] = r["first_turn_response_a"]  # an identical pair
        if i % 13 == 0:
            r["first_turn_response_d"] = ""  # an empty side
        if i % 17 == 0 and r["second_turn_prompt"]:
            r["second_turn_preferred_response"] = ""  # a shown turn without a label
        rows.append(r)
    table = _prepared(write_csv(tmp_path / "a.csv", rows))
    whole = expand.summarize(table)
    blocks = [table.slice(i, 7) for i in range(0, table.num_rows, 7)]
    assert expand.summary([expand.block_counts(b) for b in blocks]) == whole
    pairs, _ = expand.pairs(table)
    comps, _ = expand.comparisons(table)
    by_split = pairs.group_by("split").aggregate([("split", "count")]).to_pylist()
    assert {r["split"]: r["split_count"] for r in by_split} == whole["pairs"]
    assert sum(whole["comparisons"].values()) == comps.num_rows
    assert whole["dropped"]["pair_identical_texts"] > 0 and whole["dropped"]["pair_empty_side"] > 0
    for split, groups in whole["pairs_by_group"].items():
        part = pairs.filter(pa.compute.equal(pairs["split"], split))
        assert sum(groups["country"].values()) == sum(groups["turn"].values()) == part.num_rows


def test_expansion_of_a_chunked_table_equals_that_of_one_chunk(tmp_path):
    """Columns of several chunks (the builder's chunks span record batches) expand to the same rows."""
    rows = [make_row(i, n_turns=1 + i % 4) for i in range(1, 41)]
    table = _prepared(write_csv(tmp_path / "a.csv", rows))
    pieces = pa.concat_tables([table.slice(i, 6) for i in range(0, 40, 6)])
    assert pieces.column("conversation_id").num_chunks > 1
    for fn in (expand.comparisons, expand.pairs):
        assert fn(pieces)[0].equals(fn(table.combine_chunks())[0]), fn.__name__


def test_expansion_of_selected_rows_equals_that_of_the_rows_filtered_first(tmp_path):
    """The builder expands a slice of the table with the mask of its split's rows (no copy); the rows
    and the drops are those of the filtered rows."""
    import numpy as np

    rows = [make_row(i, n_turns=1 + i % 4) for i in range(1, 41)]
    rows[6]["first_turn_response_c"] = rows[6]["first_turn_response_a"]  # an identical pair
    rows[9]["first_turn_response_d"] = ""  # an empty side and an empty candidate
    rows[14]["third_turn_preferred_response"] = ""  # a shown turn without a label
    rows[13]["third_turn_preferred_response"] = ""  # the same, in a row not selected
    table = _prepared(write_csv(tmp_path / "a.csv", rows))
    table = pa.concat_tables([table.slice(i, 9) for i in range(0, 40, 9)])  # columns of several chunks
    mask = np.array([i % 3 != 1 for i in range(table.num_rows)])
    for fn in (expand.comparison_tables, expand.pair_tables):
        filtered, masked = Counter(), Counter()
        want = pa.concat_tables(list(fn(table.filter(pa.array(mask)), filtered)))
        got = pa.concat_tables(list(fn(table, masked, mask)))
        assert got.equals(want), fn.__name__
        assert masked == filtered and filtered["turn_without_label"] == 1, fn.__name__


def test_texts_take_equals_pyarrows_take_nulls_and_chunks_included():
    """`_Texts` lays the columns out as string views over their own text; its `take` is pyarrow's take
    of the columns concatenated (then the empty string), as `string`, nulls kept."""
    import numpy as np

    a = pa.chunked_array(
        [pa.array(["x" * 20, None, "short"], pa.large_string()), pa.array(["é" * 9, ""], pa.large_string())]
    )
    b = pa.chunked_array([pa.array([None, "b" * 13, "c", "दे", "last one, long enough"], pa.large_string())])
    table = pa.table({"a": a, "b": b})
    texts = expand._Texts(table, ["a", "b"])
    everything = pa.concat_arrays([*a.chunks, *b.chunks, pa.array([""], pa.large_string())])
    positions = np.array([10, 0, 1, 5, 9, 3, 3, 6, texts.empty, 2, 7, 4])
    assert texts.take(positions).equals(everything.take(pa.array(positions)).cast(pa.string()))
    assert texts.take(np.array([], dtype=np.int64)).equals(pa.array([], pa.string()))
