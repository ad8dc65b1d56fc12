"""Timing of script runs, for the load test only: off unless ``RNN_EXPLORER_RUN_LOG`` names a file.

With it set, every script run appends one JSON line ``{"session", "page", "start", "end"}`` (wall-clock
seconds) to that file, so bench/load_test.py can tell the server's part of a visitor's wait (from the
first run's start to the last run's end) from the browser's. A run that stops early (st.stop) is
logged too; one that raises is logged with ``"error": true``.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator

PATH = os.environ.get("RNN_EXPLORER_RUN_LOG")
_lock = threading.Lock()


@contextlib.contextmanager
def timed(page: str) -> Iterator[None]:
    """Log the run of ``page`` (a no-op when the variable is not set)."""
    if not PATH:
        yield
        return
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    start, failed = time.time(), False
    try:
        yield
    except Exception as err:                        # st.stop and st.rerun are control flow, not failures
        failed = type(err).__name__ not in ("StopException", "RerunException")
        raise
    finally:
        line = {"session": getattr(ctx, "session_id", None), "page": page, "start": start, "end": time.time()}
        if failed:
            line["error"] = True
        with _lock, open(PATH, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
