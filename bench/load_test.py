"""A class opening the app at once: time until each page is complete, and the server's peak memory.

    python -m bench.load_test                 # both scenarios (a few minutes)
    python -m bench.load_test --quick         # 3 + 2 visitors, to check the script runs

Loopback only, bounded in count and time (every wait has a timeout; the script stops by itself):
starts ``streamlit run app.py`` on 127.0.0.1, opens the app once as a teacher would before class
(the home page, then a small Keras page, so TensorFlow has been imported), then

* **same link**: 20 browser sessions open one shared link at the same moment
  (``/gradient-flow?units=32&steps=400&example=adding problem&seed=42``, Keras on);
* **different links**: 8 sessions open the gradient-flow page at the same moment, each with its own
  configuration (units 16-72, steps 200-900, Keras on).

Each session is its own page (own websocket: a separate Streamlit session) of one headless Chromium
(/usr/bin/chromium); the pages share one browser context, so its HTTP and code caches, as a class's
browsers each have their own warm cache after the first load (``--separate-contexts``: a fresh context
per page, which makes Chromium parse Streamlit's JavaScript 20 times on the same 2 cores). Background
pages are not throttled (each student looks at their own page). A page is complete when Streamlit's
script state is notRunning and every chart on it holds drawn plotly data.

``--websocket``: the same scenarios without browsers. Each session is a client of Streamlit's own
websocket protocol (the protobuf messages its front end sends and receives): it asks for the page's
run with the link's query string and waits for the script to finish, counting the plotly charts and
any exception element it was sent. This is what the server does for a class whose browsers each draw
on their own machine; the browser mode also pays for 20 renderers on the server's 2 cores.

Reported per scenario: each session's time from navigation to complete (browser included), the
server's part of it (from the start of the session's first script run to the end of its last one, from
the app's run log, explorer/run_log.py), the server's peak resident memory (VmHWM, reset before the
scenario), and the CPU seconds the server and Chromium used (they share the machine's 2 cores, so the
browser-inclusive times say as much about 20 renderers on 2 cores as about the server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browser_support import ARTIFACTS, CHROMIUM_ARGS, AppServer, ensure_chromium  # noqa: E402
from chart_support import CHART_COMPONENT  # noqa: E402

SHARED = "/gradient-flow?units=32&steps=400&example=" + quote("adding problem") + "&seed=42"
CHARTS = 3                                   # the gradient-flow page draws 3 plotly charts (its first view open)
TIMEOUT = 600                                # seconds, per scenario: the script always ends
# Each student's page is in the foreground of their own machine: no timer throttling of background pages.
UNTHROTTLED = ["--disable-background-timer-throttling", "--disable-renderer-backgrounding",
               "--disable-backgrounding-occluded-windows"]
VIEWPORT = {"width": 1400, "height": 6000}  # tall enough that every chart renders

COMPLETE = """n => {
    if (document.querySelector('[data-testid="stException"]')) return 'exception';
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    const charts = document.querySelectorAll('[data-testid="rnnChart"]');
    if (charts.length < n) return false;
    return Array.from(charts).every(c => { const p = c.querySelector('.js-plotly-plot');
                                           return p && p._fullData && p._fullData.length > 0; });
}"""


def different_links(n: int) -> list[str]:
    """n gradient-flow configurations, units 16-72 and steps 200-900, Keras on."""
    out = []
    for i in range(n):
        units = 16 + round(i * 56 / max(n - 1, 1))
        steps = 200 + round(i * 700 / max(n - 1, 1))
        out.append(f"/gradient-flow?units={units}&steps={steps}&example=" + quote("adding problem") + f"&seed={i}")
    return out


async def visit(browser, context, url: str, start: float) -> float:
    """Open url in a new page (a new Streamlit session): seconds until it is complete.

    ``context``: the shared browser context, or None for a fresh one (closed afterwards)."""
    own = context is None
    if own:
        context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    try:
        await page.goto(url, timeout=TIMEOUT * 1000)
        done = await page.wait_for_function(COMPLETE, arg=CHARTS, timeout=TIMEOUT * 1000, polling=100)
        if await done.json_value() == "exception":
            raise RuntimeError(f"{url}: the page shows an exception: "
                               + await page.locator('[data-testid="stException"]').first.inner_text())
        return time.perf_counter() - start
    finally:
        await (context.close() if own else page.close())


async def ws_visit(server: AppServer, url: str, start: float) -> float:
    """One session over Streamlit's websocket protocol, no browser: seconds until its script run finished with
    every chart sent; an exception element or another finish status is an error."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    path, _, query = url.partition("?")
    async with websockets.connect(server.url.replace("http", "ws") + "/_stcore/stream", subprotocols=["streamlit"],
                                  max_size=None, open_timeout=TIMEOUT) as ws:
        ask = BackMsg()
        ask.rerun_script.query_string = query
        ask.rerun_script.page_name = path.strip("/")
        ask.rerun_script.context_info.url = server.url + url
        await ws.send(ask.SerializeToString())
        charts = 0
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await asyncio.wait_for(ws.recv(), TIMEOUT))
            if msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element.WhichOneof("type")
                if element == "exception":
                    raise RuntimeError(f"{url}: the page shows an exception: {msg.delta.new_element.exception.message}")
                charts += (element == "bidi_component"        # a chart (explorer/plotly_view.py)
                           and msg.delta.new_element.bidi_component.component_name == CHART_COMPONENT)
            if msg.WhichOneof("type") == "script_finished":
                if msg.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY or charts < CHARTS:
                    raise RuntimeError(f"{url}: finished with status {msg.script_finished} and {charts} charts")
                return time.perf_counter() - start


def server_times(log: Path, since: float) -> list[float]:
    """Per session that started after ``since`` (wall clock): seconds from ``since`` to its last run's end,
    and its service time (first run's start to last run's end), from the app's run log."""
    sessions: dict[str, list[float]] = {}
    if not log.exists():
        return []
    for line in log.read_text().splitlines():
        run = json.loads(line)
        if run["start"] >= since and run["session"]:
            first_last = sessions.setdefault(run["session"], [run["start"], run["end"]])
            first_last[0], first_last[1] = min(first_last[0], run["start"]), max(first_last[1], run["end"])
    return sorted(end - since for _start, end in sessions.values())


def chromium_cpu() -> float:
    total = 0.0
    for p in psutil.process_iter(["name", "cmdline"]):
        try:
            if "chromium" in (p.info["name"] or "") or any("chromium" in c for c in (p.info["cmdline"] or [])[:1]):
                t = p.cpu_times()
                total += t.user + t.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")     # resets VmHWM (Linux >= 4.0)


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


async def scenario(browsers: list, server: AppServer, name: str, urls: list[str], separate: bool, log: Path) -> dict:
    """Open ``urls`` at once: in the browsers (round robin), or over the websocket when ``browsers`` is empty."""
    proc = psutil.Process(server.proc.pid)
    reset_peak(proc.pid)
    cpu0, chrome0 = sum(proc.cpu_times()[:2]), chromium_cpu()
    contexts = [None if separate else await b.new_context(viewport=VIEWPORT) for b in browsers]
    since = time.time()
    start = time.perf_counter()
    k = len(browsers)                 # session i opens in browser i mod k
    visits = (visit(browsers[i % k], contexts[i % k], server.url + u, start) if k else ws_visit(server, u, start)
              for i, u in enumerate(urls))
    outcomes = await asyncio.gather(*visits, return_exceptions=True)
    wall = time.perf_counter() - start
    for context in contexts:
        if context is not None:
            await context.close()
    times = [t for t in outcomes if isinstance(t, float)]
    for failed in (o for o in outcomes if not isinstance(o, float)):
        print(f"{name}: a session did not complete: {str(failed)[:300]}", flush=True)
    times = times or [float("nan")]
    served = server_times(log, since) or [float("nan")]
    result = {"name": name, "sessions": len(urls), "times": sorted(times), "served": served, "wall": wall,
              "peak_rss": peak_rss(proc.pid), "rss_after": proc.memory_info().rss,
              "server_cpu": sum(proc.cpu_times()[:2]) - cpu0, "chromium_cpu": chromium_cpu() - chrome0}
    t = result["times"]
    where = "in the browser" if browsers else "over the websocket (no browser)"
    print(f"{name}: {len(urls)} sessions, complete {where} after median {statistics.median(t):.1f} s, last "
          f"{t[-1]:.1f} s (first {t[0]:.1f} s); the server's part done after median {statistics.median(served):.1f} s, "
          f"last {served[-1]:.1f} s ({len(served)} sessions logged); server peak RSS "
          f"{result['peak_rss'] / 2**30:.2f} GiB; CPU in {wall:.1f} s: server {result['server_cpu']:.1f} s"
          + (f", Chromium {result['chromium_cpu']:.1f} s" if browsers else ""), flush=True)
    return result


async def main_async(quick: bool, only: str | None = None, separate: bool = False, n_browsers: int = 1) -> None:
    """n_browsers = 0: websocket clients instead of browsers (the warm-up visit is one too)."""
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    plans = [("same link", [SHARED] * (3 if quick else 20)), ("different links", different_links(2 if quick else 8))]
    async with async_playwright() as p:
        path = ensure_chromium() if n_browsers else None
        browsers = [await p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS + UNTHROTTLED)
                    for _ in range(n_browsers)]
        try:
            for name, urls in plans:
                if only and name != only:
                    continue
                slug = name.replace(" ", "-")
                log = ARTIFACTS / f"load-{slug}-runs.jsonl"
                log.unlink(missing_ok=True)
                os.environ["RNN_EXPLORER_RUN_LOG"] = str(log)        # the server inherits it (explorer/run_log.py)
                server = AppServer(ARTIFACTS / f"load-{slug}.log")   # a fresh server per scenario
                try:
                    proc = psutil.Process(server.proc.pid)
                    start = time.perf_counter()
                    # Before class: the teacher opens the app once (this also imports TensorFlow in the background).
                    warm_up = "/gradient-flow?units=4&steps=12"
                    await (visit(browsers[0], None, server.url + warm_up, start) if browsers
                           else ws_visit(server, warm_up, start))
                    print(f"[{name}] warm-up visit {time.perf_counter() - start:.1f} s, server RSS "
                          f"{proc.memory_info().rss / 2**30:.2f} GiB", flush=True)
                    await scenario(browsers, server, name, urls, separate, log)
                finally:
                    server.stop()
                    os.environ.pop("RNN_EXPLORER_RUN_LOG", None)
        finally:
            for b in browsers:
                await b.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="3 + 2 sessions")
    parser.add_argument("--only", choices=["same link", "different links"], help="run one scenario")
    parser.add_argument("--separate-contexts", action="store_true",
                        help="a fresh browser context per session (no shared browser cache)")
    parser.add_argument("--browsers", type=int, default=1,
                        help="Chromium processes the sessions are spread over (one compositor each)")
    parser.add_argument("--websocket", action="store_true",
                        help="no browsers: each session is a client of Streamlit's websocket protocol")
    args = parser.parse_args()
    asyncio.run(main_async(args.quick, args.only, args.separate_contexts, 0 if args.websocket else args.browsers))


if __name__ == "__main__":
    main()
