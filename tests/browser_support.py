"""Starting the app as a user would, and driving Debian's Chromium with Playwright (no browser download)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.st_signals import FINISHED_STATUS_JS, free_port, run_app_args, stop, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"           # logs and screenshots (not committed)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# Streamlit's front end probes <page path>/_stcore/... for a base path before falling back to the root;
# those 404s on deep links are expected and are not errors of the app.
EXPECTED_CONSOLE_NOISE = ("/_stcore/health", "/_stcore/host-config")


KOREAN_FONTS = "fonts-noto-cjk"       # Debian's Noto CJK: Hangul in headless Chromium and in Plotly's charts


def has_korean_font() -> bool:
    """Whether fontconfig knows a font with Hangul (else Chromium draws Korean as empty boxes)."""
    if shutil.which("fc-list"):
        found = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True, timeout=60)
        if found.returncode == 0:
            return bool(found.stdout.strip())
    return subprocess.run(["dpkg", "-s", KOREAN_FONTS], capture_output=True, timeout=60).returncode == 0


def ensure_chromium() -> str:
    """Debian's chromium and a Korean font, installed with apt-get when missing (CI runs as root)."""
    packages = ([] if Path(CHROMIUM).exists() else ["chromium"]) + ([] if has_korean_font() else [KOREAN_FONTS])
    if not packages:
        return CHROMIUM
    apt = shutil.which("apt-get")
    if apt is None:
        raise RuntimeError(f"{' and '.join(packages)} missing and apt-get is not available to install it.")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run([apt, "update", "-qq"], check=True, env=env, timeout=600)
    subprocess.run([apt, "install", "-y", "-qq", *packages], check=True, env=env, timeout=1200)
    return CHROMIUM


class AppServer:
    """``streamlit run app.py`` on a free loopback port, stopped on exit."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "w")  # noqa: SIM115 - stays open for the server's lifetime, closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "streamlit", *run_app_args(self.port)],
                                     cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        if wait_healthy(self.url, self.proc):
            return
        self.stop()
        raise RuntimeError(f"the app did not become healthy; see {log_path}")

    def stop(self) -> None:
        stop(self.proc)
        self.log.close()


# Counts the script runs of the page, from two of Streamlit's own signals, both installed before any of the page's
# scripts (add_init_script), so no run is missed, however fast:
# * the app element entering the "running" script state (data-test-script-state on stApp);
# * the server's ForwardMsg.script_finished (field 6 of the protobuf, a varint status) on the app's websocket.
# The first alone is not enough: when a run is quick and the browser starved of CPU, the "running" and
# "notRunning" updates reach React in one batch and the attribute never shows "running" (seen once in 15 runs
# of the suite under load, on a cached rerun). A finish counted on the websocket is trusted two animation
# frames later, once the frontend has handled the message and React has drawn the run's elements.
_RUN_COUNTER = """(() => {
    if (window.__stRuns !== undefined) return;
    window.__stRuns = 0;
    window.__stSettled = 0;
    new MutationObserver(records => {
        for (const r of records) {
            if (r.target.getAttribute('data-testid') === 'stApp'
                    && r.target.getAttribute('data-test-script-state') === 'running') window.__stRuns++;
        }
    }).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-test-script-state']});

    window.__frames = 0;
    const tick = () => { window.__frames++; requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    window.__wsFinished = 0;
    window.__wsSettled = 0;
    window.__finishFrame = 0;
    const finishedStatus = __FINISHED_STATUS__;    // bench/st_signals.py: FINISHED_STATUS_JS
    const count = data => {
        const status = finishedStatus(new Uint8Array(data));
        if (status >= 0 && status !== 2) {          // 2: FINISHED_EARLY_FOR_RERUN, another run follows
            window.__wsFinished++;
            window.__finishFrame = window.__frames;
        }
    };
    const NativeWebSocket = window.WebSocket;
    window.WebSocket = class extends NativeWebSocket {
        constructor(...args) {
            super(...args);
            this.addEventListener('message', event => {
                if (event.data instanceof ArrayBuffer) count(event.data);
                else if (event.data instanceof Blob) event.data.arrayBuffer().then(count);
            });
        }
    };
})();"""  # noqa: E501 - a line of the injected JavaScript; rewrapping would change the string

_SETTLED = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    const seenRunning = window.__stRuns > window.__stSettled;
    const finished = window.__wsFinished > window.__wsSettled && window.__frames >= window.__finishFrame + 2;
    if (!seenRunning && !finished) return false;
    window.__stSettled = window.__stRuns;
    window.__wsSettled = window.__wsFinished;
    return true;
}"""


def run_counts(page) -> tuple[int, int]:
    """(runs seen entering "running", script_finished messages received) so far in this page."""
    return tuple(page.evaluate("[window.__stRuns, window.__wsFinished]"))


# Every wait in the browser tests is an upper bound for a browser starved of CPU, never a pace: a wait that
# is met returns at once, so only a broken app pays it. One bound for all (seconds; Playwright takes ms).
UPPER_BOUND_S = 180.0
ACTION_TIMEOUT = int(UPPER_BOUND_S * 1000)


def watch_runs(page) -> None:
    """Count Streamlit's script runs in this page (call before page.goto); settle() waits on the count."""
    page.add_init_script(_RUN_COUNTER.replace("__FINISHED_STATUS__", FINISHED_STATUS_JS))


def settle(page, timeout: float = ACTION_TIMEOUT) -> None:
    """Wait until Streamlit has finished the run that the last action started (or the first run after goto).

    Waits on Streamlit's own signal, not on time: at least one new script run since the last settle()
    (counted by watch_runs), and the app's script state back to notRunning. Call it once per action that
    reruns the script.
    """
    page.wait_for_function(_SETTLED, timeout=timeout, polling=50)


def open_view(page, label: str) -> None:
    """Open the tab ``label``: a view of the page drawn only while open (Streamlit's lazy tabs), so opening it
    reruns the page; returns when that run is done."""
    page.get_by_role("tab", name=label, exact=True).click()
    settle(page)


# The data of the first drawn chart whose title starts with `start`, read in one step inside the page (no element
# handle is held across Streamlit's re-renders). A chart not drawn yet (plotly.js still loading) is scrolled into
# view, which a lazily drawn chart would need, and the poll goes on.
_FIND_PLOT = r"""start => {
    for (const chart of document.querySelectorAll('[data-testid="rnnChart"]')) {
        const el = chart.querySelector('.js-plotly-plot');
        if (!el || !el.data) { chart.scrollIntoView({block: 'center'}); return null; }
        // A long title is wrapped (<br>, read as a space, as the chart's caption does); the theme adds <b>.
        const title = ((el.layout.title && el.layout.title.text) || '').replace(/<br\s*\/?>/gi, ' ')
            .replace(/<[^>]+>/g, '');
        if (!title.startsWith(start)) continue;
        const t = (el._fullData || [])[0] || {};      // _fullData: typed arrays already decoded by plotly.js
        const z = t.z ? Array.from(t.z, r => Array.from(r)) : null;
        if (t.type === 'heatmap' && z === null) { chart.scrollIntoView({block: 'center'}); return null; }
        return {title: title, z: z, n: el.data.length, type: t.type};
    }
    return null;
}"""


def plot_titled(page, start: str, timeout: float = UPPER_BOUND_S) -> dict:
    """The data of the rendered chart whose title starts with ``start``, as the browser holds it.

    Charts are drawn once plotly.js has loaded, and plotly.js redraws asynchronously
    after each rerun, so this polls (inside the page) until the chart is found with its data drawn.
    """
    try:
        return page.wait_for_function(_FIND_PLOT, arg=start, timeout=timeout * 1000, polling=100).json_value()
    except Exception as err:                       # playwright's TimeoutError
        raise AssertionError(f"no rendered chart titled {start!r}") from err


def wait_until(predicate, timeout: float = UPPER_BOUND_S, message: str = "condition"):
    """Poll ``predicate()`` until it returns a truthy value."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.2)


def wait_for_plot(page, start: str, shape: tuple[int, int], timeout: float = UPPER_BOUND_S) -> dict:
    """plot_titled, polled until its heatmap has ``shape`` (rows, columns).

    Streamlit writes the caption before the chart and plotly.js draws
    asynchronously, so right after new text appears a chart may still hold
    the previous figure for a moment.
    """
    deadline = time.time() + timeout
    while True:
        data = plot_titled(page, start, timeout)
        z = data["z"] or []
        if (len(z), len(z[0]) if z else 0) == shape or time.time() > deadline:
            return data
        time.sleep(0.2)
