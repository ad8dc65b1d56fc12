"""In headless Chromium: a table and a .keras model whose file, column, model and layer names are Markdown, HTML,
formulas, shortcodes and addresses. The front end shows each as its literal text, requests nothing from the
addresses, and draws no link, image, formula or icon from them (issue #21).

Waits on Streamlit's own signals (script runs, the page's text). Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import pytest
from browser_support import ACTION_TIMEOUT, ARTIFACTS, settle, watch_runs
from test_browser_e2e import Console, choose_upload, no_exception_box, upload
from test_browser_model_upload import upload_model
from test_inert_text import FEATURES, FILE, TIME, literal, make_named_model, payload_csv

from explorer.inert import WORD_JOINER

pytestmark = [pytest.mark.browser, pytest.mark.keras]

TRAP = "127.0.0.1:9"          # the payloads' address: nothing listens there, and nothing may ask
# Anywhere in the page: a link or image to the payloads' addresses, or Streamlit's logo (":streamlit:").
LIVE = """markers => {
    const found = [];
    for (const el of document.querySelectorAll('a[href], img')) {
        const where = (el.getAttribute('href') || '') + ' ' + (el.getAttribute('src') || '');
        if (where.includes('127.0.0.1:9') || where.trim().startsWith('javascript:') || where.includes('example.com')
                || el.getAttribute('alt') === 'Streamlit logo')
            found.push(el.outerHTML.slice(0, 200));
    }
    // In each Markdown text that shows a payload: no link, image, formula, colour, code or bug_report icon.
    for (const box of document.querySelectorAll('[data-testid="stMarkdownContainer"]')) {
        const text = box.innerText.replaceAll('\u2060', '');
        if (!markers.some(m => text.includes(m))) continue;
        const live = 'a, img, .katex, .stMarkdownColoredText, code, [aria-label^="bug_report"]';
        for (const el of box.querySelectorAll(live)) found.push(el.outerHTML.slice(0, 200));
    }
    return found;
}"""
MARKERS = ["127.0.0.1:9", "[click]", "x^2", ":material/bug_report:", "**bold**", "은닉 상태", "__b__", ":smile:",
           ":streamlit:", "www.example.com", "<b>when</b>"]
HEATMAP_AXIS = """() => {
    for (const chart of document.querySelectorAll('[data-testid="rnnChart"]')) {
        const el = chart.querySelector('.js-plotly-plot');
        if (!el || !el._fullLayout) { chart.scrollIntoView({block: 'center'}); return null; }
        const title = (el.layout.title && el.layout.title.text) || '';
        if (!title.replace(/<[^>]+>/g, '').startsWith('h_t of sequence 0 (NumPy)')) continue;
        const axis = el.querySelector('.xtitle');
        return axis ? axis.textContent : null;
    }
    return null;
}"""


@pytest.fixture(scope="module")
def named_model(tmp_path_factory):
    return make_named_model(tmp_path_factory.mktemp("browser_named_model"))


def shown(page) -> str:
    """The page's text as a reader sees it (explorer.inert's invisible word joiners removed)."""
    return page.locator("body").inner_text().replace(WORD_JOINER, "")


def wait_for_text(page, text: str) -> None:
    page.wait_for_function("t => document.body.innerText.replaceAll('\\u2060', '').includes(t)", arg=text)


def open_recorded(browser, server, path: str):
    """The app in a new context that records every request its pages make (before the first one)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    context.set_default_timeout(ACTION_TIMEOUT)
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    console = Console(page)
    watch_runs(page)
    page.goto(server.url + path)
    settle(page)
    return context, page, console, requests


def test_uploaded_names_are_plain_text_and_fetch_nothing(browser, server, named_model):
    context, page, console, requests = open_recorded(browser, server, "/hidden-states")
    choose_upload(page)
    upload(page, FILE, payload_csv())
    wait_for_text(page, "(csv, 12 steps x 7 features)")     # the caption that names the file and its columns
    text = shown(page)
    assert literal(FILE) in text
    for name in FEATURES:
        assert literal(name) in text, name
    assert FEATURES[-1] not in text                                 # the 5,000-character name is cut
    # The app's texts drop the override mark (Streamlit's own list of uploaded files shows the name as it is).
    assert "\u202e" not in "".join(page.locator('[data-testid="stMarkdownContainer"]').all_inner_texts())
    # The time column names the chart's axis: Plotly shows its HTML as text.
    axis = page.wait_for_function(HEATMAP_AXIS, polling=100).json_value()
    assert axis == TIME
    page.get_by_test_id("stMain").evaluate("el => el.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "inert_csv.png"), full_page=True)
    assert page.evaluate(LIVE, MARKERS) == []

    # A .keras model: its file, model and layer names hold shortcodes, emphasis and an address.
    model, layer, data, _refused = named_model
    file = "![px](http://127.0.0.1:9/x.png) **m**.keras"
    upload_model(page, file, data)
    wait_for_text(page, "Sequential model")
    assert literal(file) in shown(page) and literal(model.name) in shown(page)
    page.get_by_role("button", name="Show this layer on every page").click()
    settle(page)
    wait_for_text(page, "reads 2 feature(s) per step")   # the message names the layer and the file
    text = shown(page)
    assert "😄" not in text and literal(layer) in text       # no emoji for ":smile:", "--" not a dash
    page.screenshot(path=str(ARTIFACTS / "inert_model.png"), full_page=True)
    assert page.evaluate(LIVE, MARKERS) == []
    no_exception_box(page)
    assert not [url for url in requests if TRAP in url], [url for url in requests if TRAP in url]
    assert not console.errors, console.errors
    context.close()
