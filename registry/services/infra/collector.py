"""Python's cyclic garbage collector, paused while an import reads, plans and writes a large file."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_inside = 0  # calls (in any thread) now inside collector_paused()


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic cyclic collection inside (as a `with` or a decorator); reference counting frees as ever.

    An import keeps hundreds of thousands of objects alive to its end: the file's rows, then the
    plan's rows and references. CPython starts a full collection each time the surviving objects
    have grown by a quarter, and each one walks all of them again and frees nothing (about 2.5 s
    of the bench's 100,000-row bureau import, bench/README.md). The collector is turned on again,
    and catches up as usual, when the last call inside leaves: the outer of nested ones, or the last
    of several threads (the web process's job worker).
    """
    global _inside
    with _lock:
        _inside += 1
        gc.disable()
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if not _inside:
                gc.enable()
