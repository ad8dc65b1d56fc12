"""Import TensorFlow in the background once the server runs, so the first Keras visitor does not wait for it.

``import tensorflow`` takes 5-15 s here. The first session whose Keras column is on (the toggle's
default) starts one daemon thread per process that imports it through rnn_core.keras_bridge (the
only module that imports TensorFlow); the pages' Keras calls then find it imported, or wait only
for the rest of an import already under way (Python's import lock). With Keras off from the start
(``?keras=false``), nothing imports TensorFlow at all.

Once the import is done, everything alive is moved out of the garbage collector's reach (``gc.freeze``).
TensorFlow and Keras bring about 300,000 objects that live as long as the process, and after every script run
Streamlit calls ``keras.backend.clear_session()``, which runs a full collection: walking them took 0.3-0.6 s of
every click (docs/performance.md, *Feels instant*). Frozen, they are never walked again; whatever is made later
is collected as before.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_thread: threading.Thread | None = None


def _import() -> None:
    from rnn_core import keras_bridge

    keras_bridge.versions()          # the bridge's lazy import of TensorFlow and Keras
    freeze_what_lives()


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
