"""The app's server with every script run timed, for bench/browser_timing.py: the server's part of a visitor's wait.

    python -m bench.timed_server LOG [PROFILE_DIR] -- streamlit-run-arguments...

In the server's process (``main``), nothing in the app changes; Streamlit's own calls are wrapped:

* the call that executes the script (``exec_func_with_error_handling``): each line of ``LOG`` is a whole run,
  app.py's sidebar included (explorer/run_log.py, with ``RNN_EXPLORER_RUN_LOG``, times ``page.run()`` alone):
  ``{"session", "start", "end", "page"}``, wall-clock seconds, ``page`` the page's script hash;
* beside it, ``LOG`` with the suffix ``.events.jsonl``: when each rerun request arrived (``backmsg``), when its
  ``script_finished`` was queued for the websocket (``finished``, on the event loop) and written to the socket
  (``written``, by Streamlit's asyncio sender task), and how long Streamlit's work after each run took
  (``post_run_gc``: gc.collect(2), runner.postScriptGC; ``keras_clear_session``: keras.backend.clear_session()
  once Keras is imported). That work runs on the script thread and mostly holds the GIL, so the event loop sends
  little meanwhile;
* with ``PROFILE_DIR``: while the file ``PROFILE_DIR/on`` exists, each run is profiled with cProfile (the script
  thread only) into ``PROFILE_DIR/<start>.prof``.

In the benchmark's process, ``TimedServer`` starts it on a free loopback port and reads what it logged.
"""

from __future__ import annotations

import contextlib
import cProfile
import gc
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.st_signals import free_port, run_app_args, stop, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
_lock = threading.Lock()


# -- in the server's process -------------------------------------------------------------------------------------
def _append(path: Path, record: dict) -> None:
    with _lock, open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def install(log: Path, profile_dir: Path | None) -> None:
    """Wrap the script's execution (a line of ``log`` per run, profiled while ``profile_dir/on`` exists)."""
    from streamlit.runtime.scriptrunner import script_runner

    original = script_runner.exec_func_with_error_handling

    def timed(func, ctx):
        profiler = cProfile.Profile() if profile_dir is not None and (profile_dir / "on").exists() else None
        start = time.time()
        try:
            if profiler is None:
                return original(func, ctx)
            with profiler:
                return original(func, ctx)
        finally:
            _append(log, {"session": getattr(ctx, "session_id", None), "start": start, "end": time.time(),
                          "page": getattr(ctx, "page_script_hash", None)})
            if profiler is not None:
                profiler.dump_stats(str(profile_dir / f"{start:.6f}.prof"))

    script_runner.exec_func_with_error_handling = timed
    _install_events(log.with_suffix(".events.jsonl"))


def _install_events(path: Path) -> None:
    """Log each rerun request's arrival, each script_finished handed to the websocket, the post-run work."""
    from streamlit.runtime import runtime as runtime_module
    from streamlit.runtime.app_session import AppSession
    from streamlit.runtime.scriptrunner import script_runner

    handle_backmsg = AppSession.handle_backmsg

    def on_backmsg(self, msg):
        if msg.WhichOneof("type") == "rerun_script":
            _append(path, {"event": "backmsg", "t": time.time(), "session": self.id})
        return handle_backmsg(self, msg)

    AppSession.handle_backmsg = on_backmsg
    send = runtime_module.Runtime._send_message

    def on_send(self, session_info, msg):
        # The time before the write: after it, the script thread's post-run gc.collect(2) may hold the GIL, and a
        # time taken then would be late by the whole collection.
        start = time.time()
        result = send(self, session_info, msg)
        if msg.WhichOneof("type") == "script_finished":
            _append(path, {"event": "finished", "t": start, "session": session_info.session.id,
                           "status": msg.script_finished})
        return result

    runtime_module.Runtime._send_message = on_send
    _install_written(path)

    def timed_call(event: str, fn):
        def wrapper(*args, **kwargs):
            start = time.time()
            try:
                return fn(*args, **kwargs)
            finally:
                _append(path, {"event": event, "t": start, "seconds": time.time() - start})
        return wrapper

    class _TimedGC:                                 # the script runner's ``gc`` module, its collect() timed
        def __getattr__(self, name):
            return getattr(gc, name)

        collect = staticmethod(timed_call("post_run_gc", gc.collect))

    script_runner.gc = _TimedGC()
    script_runner._clean_problem_modules = timed_call("keras_clear_session", script_runner._clean_problem_modules)


def _top_level_varint(payload: bytes, field: int) -> int | None:
    """The value of a top-level varint field of a serialized protobuf message (None if absent)."""
    i, n = 0, len(payload)

    def varint() -> int:
        nonlocal i
        value, shift = 0, 0
        while i < n:
            byte = payload[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return value

    while i < n:
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            value = varint()
            if number == field:
                return value
        elif wire == 2:
            length = varint()
            i += length
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
        else:
            return None
    return None


def _install_written(path: Path) -> None:
    """Log when a script_finished is written to the socket (``written``): Streamlit's Starlette server queues each
    message and an asyncio task writes it, so it leaves later than it was handed over when the GIL is busy."""
    from starlette.websockets import WebSocket

    send_bytes = WebSocket.send_bytes

    async def on_send_bytes(self, data: bytes) -> None:
        await send_bytes(self, data)
        status = _top_level_varint(data, 6)            # ForwardMsg.script_finished
        if status is not None:
            _append(path, {"event": "written", "t": time.time(), "status": status})

    WebSocket.send_bytes = on_send_bytes


def main() -> None:
    args = sys.argv[1:]
    split = args.index("--")
    mine, streamlit_args = args[:split], args[split + 1:]
    install(Path(mine[0]), Path(mine[1]) if len(mine) > 1 else None)
    from streamlit.web import cli

    sys.argv = ["streamlit", *streamlit_args]
    cli.main()


# -- in the benchmark's process ----------------------------------------------------------------------------------
def _records(path: Path, since: float, until: float, key: str = "t") -> list[dict]:
    """The JSON lines of ``path`` whose ``key`` (and ``end``, when there is one) lie in [since, until]."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue                                 # a line being written
        if since <= record[key] <= until and record.get("end", since) <= until:
            out.append(record)
    return out


class TimedServer:
    """``streamlit run app.py`` through this module on a free loopback port; what each run took, from its logs."""

    def __init__(self, workdir: Path, options: list[str] = ()) -> None:
        self.workdir = workdir
        self.log = workdir / "server-runs.jsonl"          # whole script runs
        self.events = self.log.with_suffix(".events.jsonl")
        self.page_log = workdir / "page-runs.jsonl"       # page.run() only (explorer/run_log.py)
        self.profile_dir = workdir / "profiles"
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        self._seen = {"runs": (0, 0), "cleans": (0, 0)}     # (bytes read, lines counted) of each log, for idle()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.out = open(workdir / "streamlit.log", "w")  # noqa: SIM115 - closed in stop()
        env = dict(os.environ, RNN_EXPLORER_RUN_LOG=str(self.page_log))
        extra = [f"--{name}={value}" for name, value in (o.split("=", 1) for o in options)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.timed_server", str(self.log), str(self.profile_dir), "--",
             *run_app_args(port), *extra], cwd=ROOT, env=env, stdout=self.out, stderr=subprocess.STDOUT)
        if wait_healthy(self.url, self.proc):
            return
        self.stop()
        raise RuntimeError(f"the app did not become healthy; see {workdir / 'streamlit.log'}")

    def stop(self) -> None:
        stop(self.proc)
        self.out.close()

    def idle(self) -> bool:
        """Whether every script run so far is followed by its post-run work (keras_clear_session is logged once
        after each run, Keras imported or not): the server is not busy with a previous action."""
        for name, path, needle in (("runs", self.log, b'"start"'), ("cleans", self.events, b'"keras_clear_session"')):
            offset, count = self._seen[name]
            if path.exists():
                with open(path, "rb") as f:
                    f.seek(offset)
                    data = f.read()
                whole = data[:data.rfind(b"\n") + 1]          # complete lines only
                self._seen[name] = (offset + len(whole), count + whole.count(needle))
        return self._seen["cleans"][1] >= self._seen["runs"][1]

    def wait_idle(self, timeout: float = 60.0) -> None:
        deadline = time.time() + timeout
        while not self.idle() and time.time() < deadline:
            time.sleep(0.02)

    def runs(self, since: float, until: float) -> list[dict]:
        """Whole script runs that started and ended in [since, until] (wall clock)."""
        return _records(self.log, since, until, key="start")

    def page_runs(self, since: float, until: float) -> list[dict]:
        return _records(self.page_log, since, until, key="start")

    def timeline(self, since: float, until: float, epoch0: float) -> dict:
        """The server's events in [since, until], in ms after ``epoch0`` (the page's input on the wall clock: one
        machine, one clock): the first rerun request's arrival, the runs' start and end, the last script_finished
        handed to the websocket; the post-run gc.collect(2) and keras.backend.clear_session() in ms."""
        runs = self.runs(since, until)
        events = _records(self.events, since - 0.01, until)
        at = lambda t: round((t - epoch0) * 1e3, 1)
        request = [e["t"] for e in events if e["event"] == "backmsg"]
        queued = [e["t"] for e in events if e["event"] == "finished"]
        written = [e["t"] for e in events if e["event"] == "written" and e["status"] != 2]
        spent = lambda name: round(sum(e["seconds"] for e in events if e["event"] == name) * 1e3, 1)
        return {"server_request": at(request[0]) if request else None,
                "server_run_start": at(runs[0]["start"]) if runs else None,
                "server_run_end": at(runs[-1]["end"]) if runs else None,
                "server_finished_queued": at(queued[-1]) if queued else None,
                "server_finished_sent": at(written[-1]) if written else None,
                "post_run_gc_ms": spent("post_run_gc"), "keras_clear_session_ms": spent("keras_clear_session")}

    @contextlib.contextmanager
    def profiling(self):
        """Every run inside the block under cProfile; yields the list of .prof files, filled when the block ends."""
        for old in self.profile_dir.glob("*.prof"):
            old.unlink()
        switch = self.profile_dir / "on"
        switch.touch()
        files: list[Path] = []
        try:
            yield files
        finally:
            switch.unlink()
            files += sorted(self.profile_dir.glob("*.prof"))


if __name__ == "__main__":
    main()
