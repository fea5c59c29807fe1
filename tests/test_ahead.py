"""`prefetched`: results in item order on any number of worker threads, the first error first."""

import threading
import time

import pytest

from community_alignment.data.ahead import prefetched


@pytest.mark.parametrize("depth,workers", [(0, 1), (1, 1), (3, 2)])
def test_results_come_in_item_order(depth, workers):
    def slow_first(i):
        time.sleep(0.02 if i % 3 == 0 else 0)
        return i * i, threading.current_thread().name

    out = list(prefetched(slow_first, range(12), depth, workers=workers))
    assert [v for v, _ in out] == [i * i for i in range(12)]
    on_main = {name == threading.main_thread().name for _, name in out}
    assert on_main == ({True} if depth == 0 else {False})


def test_an_earlier_items_error_comes_before_an_error_drawing_a_later_item():
    def items():
        yield 1
        yield 2
        raise ValueError("drawing item 3 failed")

    def fn(i):
        if i == 2:
            raise KeyError("item 2 failed")
        return i

    gen = prefetched(fn, items(), depth=2, workers=2)
    assert next(gen) == 1
    with pytest.raises(KeyError, match="item 2"):
        next(gen)


def test_an_error_drawing_items_is_raised_after_the_earlier_results():
    def items():
        yield from (1, 2)
        raise ValueError("bad item")

    gen = prefetched(lambda i: i, items(), depth=3)
    assert [next(gen), next(gen)] == [1, 2]
    with pytest.raises(ValueError, match="bad item"):
        next(gen)
