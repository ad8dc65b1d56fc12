"""A result cache bounded by bytes, shared by every visitor of the server, computing each key once.

``st.cache_data`` bounds its entries by count: 32 entries of a 100,000-step run are gigabytes.
Here every cached function shares one :class:`ByteCache` (a ``cachetools.LRUCache`` whose size of an
entry is the bytes of its arrays), so what the server keeps is bounded whatever links are opened.
A result larger than ``max_item_bytes`` is returned but not kept.

As with Streamlit's caches, one key is computed once: 20 visitors opening the same link at the same
time wait on a per-key lock while the first computes, then all read the same result. Cached arrays
are made read-only, since visitors share them. At most ``slots`` computations run at the same time
(a semaphore, taken by the outermost cached call of a thread only): the rest wait their turn, which
bounds the memory of the runs in flight as the cache bounds the memory of the results.

Plain Python (no Streamlit), so it is tested on its own (tests/test_memo.py).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import sys
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import cachetools
import numpy as np


def nbytes(obj: Any, _seen: set[int] | None = None, _depth: int = 0) -> int:
    """Bytes held by a result: its NumPy arrays (a view counts its whole base once), plus small objects.

    Walks tuples, lists, dicts, dataclasses and plain objects' attributes; other objects count
    ``sys.getsizeof``.
    """
    seen = set() if _seen is None else _seen
    if isinstance(obj, np.ndarray):
        root = obj
        while isinstance(root.base, np.ndarray):
            root = root.base
        if id(root) in seen:
            return 0
        seen.add(id(root))
        return int(root.nbytes) + 112
    if id(obj) in seen or _depth > 8:
        return 0
    seen.add(id(obj))
    if isinstance(obj, (str, bytes, bytearray, int, float, bool, type(None))):
        return sys.getsizeof(obj)
    if isinstance(obj, dict):
        return sys.getsizeof(obj) + sum(nbytes(k, seen, _depth + 1) + nbytes(v, seen, _depth + 1)
                                        for k, v in list(obj.items()))
    if isinstance(obj, (tuple, list, set, frozenset)):
        return sys.getsizeof(obj) + sum(nbytes(v, seen, _depth + 1) for v in obj)
    if dataclasses.is_dataclass(obj) or hasattr(obj, "__dict__"):
        return sys.getsizeof(obj) + sum(nbytes(v, seen, _depth + 1) for v in list(vars(obj).values()))
    return sys.getsizeof(obj)


def freeze(obj: Any, _depth: int = 0) -> Any:
    """Make the arrays of a shared result read-only (in place), so no visitor can change another's numbers."""
    if isinstance(obj, np.ndarray):
        obj.flags.writeable = False
    elif _depth > 8 or isinstance(obj, (str, bytes, int, float, bool, type(None))):
        pass
    elif isinstance(obj, dict):
        for v in obj.values():
            freeze(v, _depth + 1)
    elif isinstance(obj, (tuple, list)):
        for v in obj:
            freeze(v, _depth + 1)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            freeze(getattr(obj, f.name), _depth + 1)
    return obj


def key_of(value: Any) -> Any:
    """A hashable key for an argument: arrays by shape, dtype and a digest of their bytes."""
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        if data.dtype.kind in "mM":            # dates and durations: their int64 ticks (buffers refuse datetime64)
            data = data.view(np.int64)
        elif data.dtype.hasobject:             # strings in an object array: their text
            data = np.frombuffer("\x00".join(map(str, data.ravel())).encode(), np.uint8)
        return ("ndarray", value.shape, value.dtype.str, hashlib.blake2b(data.data, digest_size=16).digest())
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(key_of(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, key_of(v)) for k, v in value.items())))
    if dataclasses.is_dataclass(value) and not isinstance(value, type) and value.__hash__ is None:
        return (type(value).__qualname__, tuple(key_of(getattr(value, f.name)) for f in dataclasses.fields(value)))
    hash(value)                      # configurations are frozen dataclasses; anything else must be hashable
    return value


class ByteCache:
    """An LRU cache of results bounded by their bytes, with compute-once-per-key and run slots.

    Args:
        max_bytes: the most all entries together may hold.
        max_item_bytes: larger results are returned but not kept (default: a quarter of max_bytes, so one
            huge run cannot flush everything else).
        slots: how many computations may run at once (None: no limit).
    """

    def __init__(self, max_bytes: int, max_item_bytes: int | None = None, slots: int | None = None) -> None:
        self.max_bytes = int(max_bytes)
        self.max_item_bytes = int(max_item_bytes if max_item_bytes is not None else max_bytes // 4)
        self._lru = cachetools.LRUCache(maxsize=self.max_bytes, getsizeof=lambda v: v[1])
        self._lock = threading.Lock()
        self._key_locks: dict[Any, list] = {}        # key -> [lock, number of threads using it]
        self._slots = threading.BoundedSemaphore(slots) if slots else None
        self._local = threading.local()
        self.stats = {"hits": 0, "misses": 0, "computed": 0, "not_kept": 0, "waited_for_slot": 0}
        self.built: Counter[str] = Counter()         # computations per cached function (its name), for tests

    @property
    def current_bytes(self) -> int:
        return int(self._lru.currsize)

    def __len__(self) -> int:
        return len(self._lru)

    def __contains__(self, key: Any) -> bool:
        with self._lock:
            return key in self._lru

    def clear(self) -> None:
        with self._lock:
            self._lru.clear()

    def _get(self, key: Any) -> tuple[bool, Any]:
        with self._lock:
            entry = self._lru.get(key)
            if entry is None:
                return False, None
            self.stats["hits"] += 1
            return True, entry[0]

    def get_or_compute(self, key: Any, compute: Callable[[], Any], sizeof: Callable[[Any], int] = nbytes,
                       label: str = "") -> Any:
        """The cached value of ``key``, or ``compute()`` once (other callers of the same key wait for it).

        Locks are always taken in one order, so no two visitors can wait for each other: a run slot first
        (only by a thread's outermost cached call, and only on a miss), then the key's lock, then the keys of
        the cached functions it calls (which take no slot of their own).
        """
        hit, value = self._get(key)
        if hit:
            return value
        depth = getattr(self._local, "depth", 0)
        outer = self._slots is not None and depth == 0
        if outer and not self._slots.acquire(blocking=False):
            with self._lock:
                self.stats["waited_for_slot"] += 1
            self._slots.acquire()
        self._local.depth = depth + 1
        with self._lock:
            entry = self._key_locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                hit, value = self._get(key)          # computed by the thread we waited for
                if hit:
                    return value
                with self._lock:
                    self.stats["misses"] += 1
                value = freeze(compute())
                size = int(sizeof(value))
                with self._lock:
                    self.stats["computed"] += 1
                    self.built[label] += 1
                    if size <= self.max_item_bytes:
                        self._lru[key] = (value, size)
                    else:
                        self.stats["not_kept"] += 1
                return value
        finally:
            with self._lock:
                entry[1] -= 1
                if entry[1] == 0:
                    self._key_locks.pop(key, None)
            self._local.depth = depth
            if outer:
                self._slots.release()

    def memoize(self, fn: Callable | None = None, *, sizeof: Callable[[Any], int] = nbytes,
                context: Callable[[], Any] | None = None):
        """Decorator: cache ``fn``'s results in this cache, keyed by its name and arguments.

        ``context`` (optional) is called on every call and its hashable value joins the key: what the result
        depends on besides the arguments, such as the visitor's language for figures with translated labels.
        """
        def wrap(f: Callable) -> Callable:
            name = f"{f.__module__}.{f.__qualname__}"

            @functools.wraps(f)
            def cached(*args, **kwargs):
                key = (name, key_of(args), key_of(kwargs))
                if context is not None:
                    key += (key_of(context()),)
                return self.get_or_compute(key, lambda: f(*args, **kwargs), sizeof, label=name)

            cached.uncached = f
            return cached

        return wrap(fn) if fn is not None else wrap

