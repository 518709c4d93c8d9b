"""Many things at once, in threads: hosts, servers, submissions.

The standard library's thread pool, imported when first used: it costs milliseconds that ``doit list`` need not pay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future

T = TypeVar("T")
R = TypeVar("R")


def each(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """``fn(item)`` for every item, at most ``workers`` at once; the results in the items' order."""
    items = list(items)
    if not items:
        return []
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
        return list(pool.map(fn, items))


def as_done(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``fn(item)`` for every item, at most ``workers`` at once; each result as soon as it is there."""
    items = list(items)
    if not items:
        return
    from concurrent.futures import ThreadPoolExecutor, as_completed

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
        for future in as_completed([pool.submit(fn, item) for item in items]):
            yield future.result()


def meanwhile(fn: Callable[..., R], *args) -> Future:
    """``fn(*args)`` in a thread of its own while the caller goes on; ``.result()`` waits for it (and raises what it
    raised)."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)
