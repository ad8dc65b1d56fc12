"""Real tables through the real uploader in headless Chromium: dates on the axis, long format as a batch.

Uploads plotly's stocks.csv and gapminder.csv (from the installed plotly
package) and reads what plotly.js drew. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import pytest
from browser_support import ACTION_TIMEOUT, IDLE, ROOT, settle, wait_until, watch_runs
from test_table_loading import plotly_dataset

pytestmark = [pytest.mark.browser, pytest.mark.keras]   # the app runs the Keras column
ARTIFACTS = ROOT / "test-artifacts"


# The `server` and `browser` fixtures (one of each for every browser test file) are in conftest.py.


# The x axis as plotly.js holds it: the first trace's x values and the axis type plotly inferred.
_AXIS = """el => { if (!el || !el.data || !el._fullLayout) return null;
    const t = (el._fullData || [])[0] || {};
    const title = el.layout.title && el.layout.title.text;
    return {title: title, x: t.x ? Array.from(t.x).map(String) : null, rows: t.z ? t.z.length : 0,
            type: el._fullLayout.xaxis.type, axis: el._fullLayout.xaxis.title && el._fullLayout.xaxis.title.text}; }"""


def chart_axis(page, title: str, ready, message: str) -> dict:
    """Poll the chart titled ``title`` until ``ready(data)`` holds (plotly draws after Streamlit's run ends)."""
    from playwright.sync_api import Error

    def look():
        charts = page.locator('[data-testid="rnnChart"]')
        for i in range(charts.count()):
            try:
                chart = charts.nth(i)
                chart.scroll_into_view_if_needed(timeout=10_000)
                data = chart.locator(".js-plotly-plot").evaluate(_AXIS, timeout=10_000)
            except Error:                                # replaced by a rerun while we looked: look again
                return None
            if data and (data["title"] or "").replace("<b>", "").startswith(title) and data["x"] and ready(data):
                return data
        return None

    return wait_until(look, message=message)     # an upper bound for a browser starved of CPU


def open_upload(browser, server, query: str = ""):
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    context.set_default_timeout(ACTION_TIMEOUT)         # upper bound: a browser starved of CPU
    page = context.new_page()
    watch_runs(page)                               # settle() counts Streamlit's script runs
    page.goto(server.url + "/hidden-states" + query)
    page.wait_for_selector(IDLE)
    settle(page)
    page.locator('[data-testid="stSidebar"]').get_by_text("upload a file", exact=True).click()
    settle(page)
    return context, page


def upload(page, name: str, data: bytes) -> None:
    # the sequence uploader
    page.locator('[data-testid="stFileUploaderDropzoneInput"][accept*=".csv"]').set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": data})
    settle(page)


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the sidebar selectbox labelled ``label``."""
    box = page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name=label)
    box.click()
    box.press("ArrowDown")                                   # opens the list of options
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def test_stocks_upload_puts_dates_on_the_heatmap_axis(browser, server):
    context, page = open_upload(browser, server)
    upload(page, "stocks.csv", plotly_dataset("stocks"))
    page.wait_for_function("() => document.body.innerText.includes('stocks.csv (csv, 105 steps x 6 features)')")
    for title in ("h_t of sequence 0 (NumPy)", "h_t of sequence 0 (Keras)"):
        heat = chart_axis(page, title, lambda d: d["x"][0].startswith("2018-01-01"), f"dates on {title}")
        assert heat["type"] == "date" and heat["axis"] == "date" and len(heat["x"]) == 105
        assert heat["x"][-1].startswith("2019-12-30")
    lines = chart_axis(page, "units", lambda d: d["x"][0].startswith("2018-01-01"), "dates on the line chart")
    assert lines["type"] == "date"
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "features (numeric columns)" in sidebar and "time column" in sidebar and "Preview: first rows" in sidebar
    no_exception(page)
    page.get_by_test_id("stMain").evaluate("el => el.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "upload_stocks.png"), full_page=True)
    page.locator('[data-testid="stSidebar"]').get_by_text("Table columns").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "upload_stocks_options.png"))
    context.close()


def test_gapminder_long_format_shows_a_batch_of_countries(browser, server):
    context, page = open_upload(browser, server, "?keras=false")
    upload(page, "gapminder.csv", plotly_dataset("gapminder"))
    page.wait_for_function("() => document.body.innerText.includes('gapminder.csv (csv, 1,704 steps x 7 features)')")
    choose(page, "sequence id (long format)", "country")
    choose(page, "time column", "year")
    page.wait_for_function("() => document.body.innerText.includes('64 sequences x 12 steps x 6 features')")
    heat = chart_axis(page, "h_t of sequence 0 (NumPy)", lambda d: len(d["x"]) == 12, "12 years on the heatmap")
    assert [float(v) for v in heat["x"][:3]] == [1952, 1957, 1962] and heat["axis"] == "year"
    assert page.locator('[data-testid="stNumberInput"]').filter(has_text="sequence in the batch").count() == 1
    body = page.locator("body").inner_text()
    assert "64 of 142 sequences" in body
    no_exception(page)
    page.get_by_test_id("stMain").evaluate("el => el.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "upload_gapminder.png"), full_page=True)
    page.locator('[data-testid="stSidebar"]').get_by_text("Table columns").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "upload_gapminder_options.png"))
    context.close()
