"""Overlap the copy's source reads with its target writes: a reader thread runs the SCAN walk and the
source pipelines (MEMORY USAGE, PTTL + DUMP) ahead of the writer (RESTORE on the target), through a
bounded queue, so the source and the target work at the same time instead of in turn.

    for item in prefetched(scan_batches(...), copier.fetch, depth=4, cancel=token):
        if isinstance(item, ScanBatch):
            save_checkpoint(item.cursor)      # every step of this batch is written
        else:
            copier.apply(item, stats)         # RESTOREs, big keys type by type

Each queued step holds at most one DUMP pipeline (``pipeline_bytes`` of payloads), so the memory the
read-ahead takes is bounded by ``depth`` pipelines. An error or a cancellation in the reader (raised by
the walk or a pipeline) is raised to the consumer; a consumer that stops (error, cancellation, break)
stops the reader and waits for it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from redisops.migrate.walker import ScanBatch

__all__ = ["prefetched"]

S = TypeVar("S")

_DONE = object()


class _Raised:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(
    batches: Iterable[ScanBatch],
    fetch: Callable[[list[bytes]], Iterable[S]],
    *,
    depth: int = 4,
) -> Iterator[S | ScanBatch]:
    """Every step of ``fetch(batch.keys)`` for each batch, then the batch itself (its end), read ahead by
    a thread by at most ``depth`` items. ``depth`` 0: no thread (the same items, read in turn)."""
    if depth <= 0:
        for batch in batches:
            yield from fetch(batch.keys)
            yield batch
        return
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in batches:
                for step in fetch(batch.keys):
                    if not put(step):
                        return
                if not put(batch):
                    return
            put(_DONE)
        except BaseException as e:  # handed to the consumer, raised there
            put(_Raised(e))

    reader = threading.Thread(target=read, name="redisops-copy-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        stop.set()
        reader.join(timeout=30)
