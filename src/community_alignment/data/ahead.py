"""Work ahead on a worker thread: the data layer's one way of using the second core.

pyarrow's readers and compute kernels release the GIL, so while the main thread parses the next CSV
block (or `datasets` writes the current table), a worker thread can type the previous block (or
expand the next chunk).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def prefetched(fn: Callable[[T], R], items: Iterable[T], depth: int, workers: int = 1) -> Iterator[R]:
    """`fn(item)` for each item, in order, with up to `depth` next items computed on `workers` worker
    threads meanwhile (`depth` 0: in the calling thread). The items are drawn in the calling thread. An error
    of `fn` is raised where its item is reached, and an error drawing an item only after the results
    of the items before it (so the first error in item order is the one raised); the items not yet
    reached are not computed."""
    if depth <= 0:
        for item in items:
            yield fn(item)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque = deque()
        iterator = iter(items)
        failed: BaseException | None = None
        try:
            while True:
                try:
                    item = next(iterator)
                except StopIteration:
                    break
                except BaseException as e:  # raised below, once the earlier items are through
                    failed = e
                    break
                pending.append(pool.submit(fn, item))
                if len(pending) > depth:
                    yield pending.popleft().result()
            while pending:  # an earlier item's error comes first
                yield pending.popleft().result()
            if failed is not None:
                raise failed
        finally:
            for future in pending:  # an error or an abandoned generator: drop what was not started
                future.cancel()
