"""The bracket task on the Training page, "Use these weights", then "Inside a trained network" in headless Chromium.

Waits on Streamlit's own signals (settle) and on the charts' data as plotly.js holds it, never on time. The
link turns Keras off: the page needs no TensorFlow. Screenshots go to test-artifacts/ (not committed).
"""

from __future__ import annotations

import re

import pytest
from browser_support import (
    ACTION_TIMEOUT,
    ARTIFACTS,
    IDLE,
    UPPER_BOUND_S,
    open_view,
    settle,
    wait_until,
    watch_runs,
)

pytestmark = pytest.mark.browser

LINK = "/training?cell=LSTM&keras=false&train_task=brackets&train_units=48"

# The trace names and the number of points of the first drawn chart whose title starts with `start` (the charts
# render when scrolled into view: the first one not drawn yet is scrolled to, and the poll goes on).
_TRACES = """start => {
    for (const chart of document.querySelectorAll('[data-testid="rnnChart"]')) {
        const el = chart.querySelector('.js-plotly-plot');
        if (!el || !el._fullData) { chart.scrollIntoView({block: 'center'}); return null; }
        const title = ((el.layout.title && el.layout.title.text) || '').replace(/<[^>]+>/g, '');
        if (!title.startsWith(start)) continue;
        return {title: title, traces: el._fullData.map(t => ({name: t.name || '', n: (t.x || []).length,
                                                             text: t.text ? Array.from(t.text).join('') : ''}))};
    }
    return null;
}"""


def traces(page, start: str) -> dict:
    try:
        return page.wait_for_function(_TRACES, arg=start, timeout=UPPER_BOUND_S * 1000, polling=100).json_value()
    except Exception as err:                       # playwright's TimeoutError
        raise AssertionError(f"no drawn chart titled {start!r}") from err


def progress(page) -> str:
    bar = page.locator('[data-testid="stProgress"]')
    return bar.first.inner_text() if bar.count() else ""


def test_train_brackets_use_the_weights_and_look_inside(server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 2400})
    context.set_default_timeout(ACTION_TIMEOUT)        # upper bound: a browser starved of CPU
    page = context.new_page()
    watch_runs(page)
    try:
        page.goto(server.url + LINK)
        page.wait_for_selector(IDLE)
        settle(page)
        page.get_by_role("button", name="Train", exact=True).click()
        wait_until(lambda: "done" in progress(page), message="the bracket task to finish training")
        settle(page)
        page.get_by_role("button", name="Use these weights").click()
        settle(page)
        page.get_by_role("link", name="Inside a trained network").click()    # in the app: the session goes on
        settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "Inside a trained network" in page.locator("h1").first.inner_text()

        said = page.get_by_text(re.compile(r"follows the nesting depth most closely")).first.inner_text()
        r = float(re.search(r"r = ([+-][\d.]+)", said).group(1))
        assert abs(r) >= 0.5, said                                     # a depth unit (0.85-0.96 measured at 48)
        page.screenshot(path=str(ARTIFACTS / "inside-trained-network.png"), full_page=True)

        open_view(page, "State space and fixed points")                # one view of the page drawn at a time
        pca = traces(page, "h_t in its first 2 principal components")
        names = [t["name"] for t in pca["traces"]]
        assert "stable fixed point" in names or "unstable fixed point" in names, names
        eigen = traces(page, "Eigenvalues of the Jacobian at the fixed points")
        assert any(t["name"].startswith("point 0") and t["n"] == 96 for t in eigen["traces"])   # [h, c]: 2 x 48

        open_view(page, "Select and match")
        heat = traces(page, "h of unit ")
        assert heat["traces"][1]["n"] == 600                          # every character of the text, on its cell
        matches = page.get_by_role("button", name="Select", exact=True)    # not plotly.js's "Box Select"
        wait_until(lambda: matches.count() > 0, message="the match list")
        first = page.locator('[data-testid="stMarkdownContainer"]', has_text=re.compile(r"t = \d+ …")).first
        start = int(re.search(r"t = (\d+)", first.inner_text()).group(1))
        page.screenshot(path=str(ARTIFACTS / "inside-select-and-match.png"), full_page=True)

        matches.first.click()                                          # a match becomes the selection
        settle(page)
        sliders = page.get_by_role("slider")

        def slider_values() -> list[str | None]:
            return [sliders.nth(i).get_attribute("aria-valuetext") for i in range(sliders.count())]

        wait_until(lambda: str(start) in slider_values(), message="the span slider to move to the match")
    finally:
        context.close()
