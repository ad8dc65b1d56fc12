"""Import TensorFlow in the background once the server runs, so the first Keras visitor does not wait for it.

``import tensorflow`` takes 5-15 s here. The first session whose Keras column is on (the toggle's
default) starts one daemon thread per process that imports it through rnn_core.keras_bridge (the
only module that imports TensorFlow); the pages' Keras calls then find it imported, or wait only
for the rest of an import already under way (Python's import lock). With Keras off from the start
(``?keras=false``), nothing imports TensorFlow at all.

Garbage collection after a click. Once Keras is imported, Streamlit calls ``keras.backend.clear_session()``
after every script run, and Keras' clear_session runs a full ``gc.collect()``, which walks every object of the
process: TensorFlow's and Keras' own (about 300,000), and every cached figure and Keras model of every visitor
(a cached plotly figure is 500-6,000 objects). It took 0.3-0.6 s of every click at first, and grows as the caches
fill (docs/performance.md, *Feels instant*). So:

* ``quiet_keras_cleanup`` makes Streamlit's call skip that collection (``free_memory=False``); the rest of
  clear_session (Keras' global state) still runs after every run. Streamlit's own collection after each run
  is off too (``runner.postScriptGC = false`` in .streamlit/config.toml).
* Once the import is done, everything alive is frozen (``gc.freeze``): Python's own collector, which still runs
  by its thresholds and frees what cycles leave, no longer walks TensorFlow's objects either.
"""

from __future__ import annotations

import functools
import gc
import sys
import threading

_lock = threading.Lock()
_thread: threading.Thread | None = None


def _import() -> None:
    from rnn_core import keras_bridge

    keras_bridge.versions()          # the bridge's lazy import of TensorFlow and Keras
    quiet_keras_cleanup()
    freeze_what_lives()


_quiet = False


def quiet_keras_cleanup() -> bool:
    """Once Keras is imported (by any page), make ``keras.backend.clear_session()`` skip its ``gc.collect()`` unless
    a caller asks for it (``free_memory=True``). Cheap to call on every run; returns whether it is done."""
    global _quiet
    if _quiet:
        return True
    backend = getattr(sys.modules.get("keras"), "backend", None)
    clear = getattr(backend, "clear_session", None)
    if clear is None:                  # Keras not imported, or its import still under way on another thread
        return False
    with _lock:
        if not _quiet:
            backend.clear_session = functools.partial(clear, free_memory=False)
            _quiet = True
    return True


def freeze_what_lives() -> None:
    """Collect what is garbage now, then freeze the rest: later full collections skip it (see the docstring)."""
    gc.collect()
    gc.freeze()


def start_tensorflow_import() -> threading.Thread:
    """Start the background import once per process (later calls return the same thread)."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_import, name="tensorflow-import", daemon=True)
            _thread.start()
        return _thread


_blas_limited = False


def limit_blas_threads() -> None:
    """One BLAS thread for the whole server process, set once.

    The NumPy core's per-step matmuls are small: with OpenBLAS' default of one thread per core, on a
    machine busy with other visitors each of them hands work to threads that are not free, and a run
    becomes 6-50x slower (docs/performance.md: *Training*). Visitors run in parallel instead.
    """
    global _blas_limited
    with _lock:
        if not _blas_limited:
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=1, user_api="blas")
            _blas_limited = True
