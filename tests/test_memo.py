"""The byte-bounded result cache, without Streamlit: bounded by bytes, each key computed once, \
shared arrays read-only."""

import threading
from dataclasses import dataclass

import numpy as np
import pytest

from explorer.memo import ByteCache, key_of, nbytes

MiB = 2**20


def mib(n: float) -> np.ndarray:
    return np.zeros(int(n * MiB) // 4, np.float32)


def test_entries_are_bounded_by_bytes_not_count():
    cache = ByteCache(max_bytes=10 * MiB, max_item_bytes=10 * MiB)
    for i in range(20):
        cache.get_or_compute(("run", i), lambda: mib(1.5))
        assert cache.current_bytes <= 10 * MiB
    assert len(cache) == 6                               # 6 x 1.5 MiB fit in 10 MiB, 7 do not
    assert ("run", 19) in cache and ("run", 0) not in cache   # least recently used go first


def test_a_result_too_large_is_returned_but_not_kept():
    cache = ByteCache(max_bytes=8 * MiB)                 # items up to a quarter: 2 MiB
    small = cache.get_or_compute("small", lambda: mib(1))
    big = cache.get_or_compute("big", lambda: mib(3))
    assert big.nbytes == 3 * MiB and "big" not in cache and "small" in cache
    assert cache.stats["not_kept"] == 1 and small.nbytes == MiB


def test_twenty_callers_of_one_key_compute_it_once():
    cache = ByteCache(max_bytes=10 * MiB)
    release, calls, results = threading.Event(), [], []

    def compute():
        calls.append(1)
        release.wait(30)
        return mib(0.5)

    threads = [threading.Thread(target=lambda: results.append(cache.get_or_compute("link", compute)))
               for _ in range(20)]
    for t in threads:
        t.start()
    # all 20 are inside: one computing, 19 waiting on the key's lock
    waiting = threading.Event()
    for _ in range(3000):
        with cache._lock:
            entry = cache._key_locks.get("link")
            if entry is not None and entry[1] == 20:
                waiting.set()
                break
        waiting.wait(0.01)
    assert waiting.is_set(), "the 20 callers did not all reach the cache"
    release.set()
    for t in threads:
        t.join(30)
    assert len(calls) == 1 and len(results) == 20
    assert all(r is results[0] for r in results)         # one shared result
    assert not cache._key_locks                          # per-key locks are dropped when nobody waits


def test_a_failed_computation_is_not_cached_and_can_be_retried():
    cache = ByteCache(max_bytes=MiB)
    with pytest.raises(ZeroDivisionError):
        cache.get_or_compute("k", lambda: 1 / 0)
    assert cache.get_or_compute("k", lambda: 7) == 7


def test_shared_arrays_are_read_only():
    cache = ByteCache(max_bytes=MiB)

    @dataclass
    class Run:
        states: np.ndarray
        grads: dict

    run = cache.get_or_compute("r", lambda: Run(np.ones(3), {"w": np.ones(2)}))
    with pytest.raises(ValueError):
        run.states[0] = 5
    with pytest.raises(ValueError):
        run.grads["w"][0] = 5


def test_slots_bound_concurrent_computations_and_nested_calls_reuse_theirs():
    cache = ByteCache(max_bytes=MiB, slots=1)
    running, peak, lock = [0], [0], threading.Lock()

    @cache.memoize
    def inner(i):
        return i

    @cache.memoize
    def outer(i):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        value = inner(i) + 1                             # a nested cached call: must not wait for a second slot
        with lock:
            running[0] -= 1
        return value

    threads = [threading.Thread(target=outer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert peak[0] == 1 and all(outer(i) == i + 1 for i in range(8))


def test_nbytes_counts_a_views_base_once():
    base = mib(1)
    assert nbytes((base[:10], base[5:], base)) == pytest.approx(MiB, abs=1024)
    assert nbytes({"a": mib(1), "b": [mib(2)]}) == pytest.approx(3 * MiB, abs=2048)


def test_keys_follow_array_contents():
    a = np.arange(6, dtype=np.float32)
    assert key_of(a) == key_of(a.copy())
    assert key_of(a) != key_of(a.reshape(2, 3)) and key_of(a) != key_of(a + 1)
    assert key_of((a, None, "x")) == key_of((a.copy(), None, "x"))


def test_no_deadlock_when_a_visitor_asks_directly_for_what_another_computes_inside():
    cache = ByteCache(max_bytes=MiB, slots=1)
    go_on, computing = threading.Event(), threading.Event()

    @cache.memoize
    def inner(i):
        return i

    @cache.memoize
    def outer(i):
        computing.set()
        go_on.wait(30)                                   # until the other visitor is waiting for the slot
        return inner(i) + 1                              # then needs the key that visitor asked for

    t1 = threading.Thread(target=outer, args=(1,), daemon=True)
    t1.start()
    assert computing.wait(30)
    t2 = threading.Thread(target=inner, args=(1,), daemon=True)
    t2.start()
    for _ in range(3000):
        if cache.stats["waited_for_slot"] == 1:
            break
        go_on.wait(0.01)
    go_on.set()
    t1.join(10)
    t2.join(10)
    assert not t1.is_alive() and not t2.is_alive(), "the two visitors wait for each other"
    assert outer(1) == 2 and inner(1) == 1



def test_keys_of_date_and_text_arrays():
    from explorer.memo import key_of

    dates = np.array(["2024-01-01", "2024-01-08"], "datetime64[D]")
    assert key_of(dates) == key_of(dates.copy()) != key_of(dates + np.timedelta64(1, "D"))
    words = np.array(["a", "b"], object)
    assert key_of(words) == key_of(words.copy()) != key_of(np.array(["a", "c"], object))


def test_a_context_joins_the_key():
    cache, calls, lang = ByteCache(max_bytes=MiB), [], ["en"]

    @cache.memoize(context=lambda: lang[0])
    def label(n):
        calls.append((n, lang[0]))
        return f"{lang[0]}:{n}"

    assert label(1) == "en:1" and label(1) == "en:1"
    lang[0] = "ko"
    assert label(1) == "ko:1" and label(1) == "ko:1"       # another context: computed once more, then kept
    lang[0] = "en"
    assert label(1) == "en:1"
    assert calls == [(1, "en"), (1, "ko")]
