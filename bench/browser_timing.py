"""What a user waits for, measured in headless Chromium (Debian's /usr/bin/chromium).

    python -m bench.browser_timing

Starts the app as a user would, then measures:
  * open the app -> first page interactive (home page; then the hidden-states page with Keras, cold),
  * a flag toggle (go_backwards) -> updated chart, at the default size and at T=1000, H=128,
  * the bytes the server sends over the websocket for one rerun at T=10,000 (H=128, Keras off).
Median of 5 toggles each; the first Keras run (TensorFlow import) is reported separately.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browser_support import CHROMIUM_ARGS, IDLE, ROOT, AppServer, ensure_chromium, settle, watch_runs  # noqa: E402

SIGNATURE = """() => { const el = document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')[1];
    const t = el && el._fullData && el._fullData[0];
    return t && t.z && t.z[0] ? JSON.stringify(Array.from(t.z[0]).slice(0, 3)) : null; }"""


def toggle_times(page, label: str, repeats: int = 5) -> list[float]:
    """Click a sidebar toggle; time until the NumPy heatmap shows new data and the script has finished."""
    times = []
    switch = page.get_by_test_id("stSidebarUserContent").get_by_text(label, exact=True)
    for _ in range(repeats):
        page.wait_for_function(f"({SIGNATURE})() !== null", timeout=120_000)
        before = page.evaluate(SIGNATURE)
        start = time.perf_counter()
        switch.click()
        page.wait_for_function(f"b => {{ const s = ({SIGNATURE})(); return s !== null && s !== b; }}", arg=before,
                               timeout=120_000)
        page.wait_for_selector(IDLE, timeout=120_000)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    from playwright.sync_api import sync_playwright

    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    server = AppServer(out / "timing-streamlit.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=ensure_chromium(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            watch_runs(page)
            start = time.perf_counter()
            page.goto(server.url)
            settle(page, timeout=180_000)
            print(f"open app -> home page interactive: {time.perf_counter() - start:.2f} s")
            start = time.perf_counter()
            page.goto(server.url + "/hidden-states")
            settle(page, timeout=180_000)
            print("open hidden states with Keras, first time (imports TensorFlow): "
                  f"{time.perf_counter() - start:.2f} s")
            for query, name in (("", "default (T=12, H=4), Keras on"),
                                ("?units=128&steps=1000", "T=1000, H=128, Keras on")):
                page.goto(server.url + "/hidden-states" + query)
                settle(page, timeout=180_000)
                times = toggle_times(page, "go_backwards")
                print(f"toggle -> updated chart, {name}: median {statistics.median(times) * 1e3:.0f} ms "
                      f"(first {times[0] * 1e3:.0f} ms, all {[round(t * 1e3) for t in times]})")
            received: list[int] = []
            page = browser.new_page(viewport={"width": 1400, "height": 1000})   # a fresh page, so its socket is seen
            watch_runs(page)
            page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.append(len(payload))))
            page.goto(server.url + "/hidden-states?units=128&steps=10000&keras=false")
            settle(page, timeout=180_000)
            received.clear()
            toggle_times(page, "go_backwards", repeats=1)
            print(f"bytes sent to the browser for one rerun at T=10,000, H=128 (Keras off): "
                  f"{sum(received) / 1e6:.2f} MB in {len(received)} websocket messages")
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
