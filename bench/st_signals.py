"""Streamlit's own signals and the app server's start, shared by the benchmark (bench/) and the browser tests
(tests/browser_support.py).

* ``FINISHED_STATUS_JS``: a JavaScript function of a websocket message's bytes that returns the status of a
  ``ForwardMsg.script_finished`` (field 6 of the protobuf, a varint), or -1 for any other message. It reads the
  top-level fields only.
* ``free_port``, ``run_app_args``: a free loopback port, and ``streamlit run app.py``'s arguments to serve on it.
* ``wait_healthy``: wait for a started ``streamlit run`` to answer ``/_stcore/health``.
* ``stop``: end a server process (terminate, then kill).
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

FINISHED_STATUS_JS = """(bytes => {
    let i = 0;
    const varint = () => {
        let v = 0, s = 1, b;
        do { b = bytes[i++]; v += (b & 0x7f) * s; s *= 128; } while (b & 0x80 && i < bytes.length);
        return v;
    };
    while (i < bytes.length) {
        const key = varint(), field = Math.floor(key / 8), wire = key % 8;
        if (wire === 0) { const v = varint(); if (field === 6) return v; }
        else if (wire === 2) { const n = varint(); i += n; }    // not `i += varint()`: i would be read first
        else if (wire === 1) i += 8;
        else if (wire === 5) i += 4;
        else return -1;
    }
    return -1;
})"""


def wait_healthy(url: str, proc: subprocess.Popen, seconds: float = 90.0) -> bool:
    """Whether the server at ``url`` answered its health check within ``seconds`` (False once ``proc`` exits)."""
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_app_args(port: int) -> list[str]:
    """``streamlit run app.py`` headless on 127.0.0.1:``port``, without usage statistics or a file watcher."""
    return ["run", "app.py", "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
