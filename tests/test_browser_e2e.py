"""End to end in headless Chromium: the real front end, real uploads, URLs, two users at once.

Starts ``streamlit run app.py`` as a user would and drives Debian's Chromium
through Playwright. Screenshots of every page go to test-artifacts/ (not committed). The ``server`` and ``browser``
fixtures (one of each for all browser test files) are in conftest.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_support import (
    ACTION_TIMEOUT,
    ARTIFACTS,
    EXPECTED_CONSOLE_NOISE,
    AppServer,
    plot_titled,
    run_counts,
    settle,
    wait_for_plot,
    wait_until,
    watch_runs,
)

pytestmark = [pytest.mark.browser, pytest.mark.keras]   # the app runs the Keras column
PAGES = {"Home": "RNN Explorer", "Unrolled hidden states": "Unrolled hidden states", "Output shapes": "Output shapes",
         "Gradient flow (BPTT)": "Gradient flow (BPTT)", "Keras vs NumPy": "Keras vs NumPy", "Training": "Training"}


class Console:
    def __init__(self, page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self._add(m))
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def _add(self, message) -> None:
        if message.type != "error":
            return
        where = (message.location or {}).get("url", "")
        if any(noise in where for noise in EXPECTED_CONSOLE_NOISE):
            return
        self.errors.append(f"{message.text} ({where})")


def open_app(browser, server, path: str = "", width: int = 1400, height: int = 1000):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(ACTION_TIMEOUT)
    page = context.new_page()
    console = Console(page)
    watch_runs(page)
    page.goto(server.url + path)
    settle(page)
    return context, page, console


def no_exception_box(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()


def title(page) -> str:
    return page.locator("h1").first.inner_text().strip()


def test_every_page_from_the_navigation(browser, server):
    context, page, console = open_app(browser, server, height=2400)
    page.wait_for_function("() => document.querySelector('h1') && document.querySelector('h1').innerText"
                           ".includes('RNN Explorer')")          # Home is drawn
    for label, heading in PAGES.items():
        if heading not in title(page):          # the page already shown reruns nothing when its link is clicked
            page.locator('[data-testid="stSidebarNav"] a', has_text=label).first.click()
            settle(page)
        page.wait_for_function("h => document.querySelector('h1') && "
                               "document.querySelector('h1').innerText.includes(h)",
                               arg=heading)
        no_exception_box(page)
        slug = re.sub(r"\W+", "_", label.lower()).strip("_")
        page.screenshot(path=str(ARTIFACTS / f"page_{slug}.png"), full_page=True)
    assert not console.errors, console.errors
    context.close()


def test_settle_sees_each_run_by_both_of_streamlits_signals(browser, server):
    """settle() counts a run by the app's "running" state and by the websocket's script_finished: both must see
    every run, or the fallback for a run too quick to show "running" would be dead code."""
    context, page, _ = open_app(browser, server, "/output-shapes")
    runs, finished = run_counts(page)
    assert runs >= 1 and finished >= 1, (runs, finished)
    page.get_by_test_id("stSidebarUserContent").get_by_text("return_state", exact=True).click()
    settle(page)
    # The code box may still be a lazy-loading placeholder right after the run: poll, and allow it to be absent.
    page.wait_for_function("() => (document.querySelector('[data-testid=\"stCode\"]') || {innerText: ''})"
                           ".innerText.includes('tuple of')")
    later_runs, later_finished = run_counts(page)
    assert later_finished > finished and later_runs >= runs, ((runs, finished), (later_runs, later_finished))
    context.close()


def code_shows(page, text: str) -> None:
    """Poll until the first code box holds ``text`` (absent while it lazy-loads, stale while the front end is
    still drawing the finished run): what is asserted is what is polled, never read once."""
    page.wait_for_function("t => (document.querySelector('[data-testid=\"stCode\"]') || {innerText: ''})"
                           ".innerText.includes(t)", arg=text)


def test_toggles_change_shapes_and_plots(browser, server):
    context, page, console = open_app(browser, server, "/output-shapes")
    code_shows(page, "out.shape       # (1, 12, 4)")
    page.get_by_test_id("stSidebarUserContent").get_by_text("return_sequences", exact=True).click()
    settle(page)
    code_shows(page, "out.shape       # (1, 4)  last h only")
    page.get_by_test_id("stSidebarUserContent").get_by_text("return_state", exact=True).click()
    settle(page)
    code_shows(page, "tuple of 2")
    code_shows(page, "out[1].shape    # (1, 4)")
    page.wait_for_function("() => location.search.includes('return_sequences=false')"      # the URL follows
                           " && location.search.includes('return_state=true')")
    page.locator('[data-testid="stSidebarNav"] a', has_text="Unrolled hidden states").click()
    settle(page)
    diagram = wait_until(lambda: (page.locator(".js-plotly-plot").count() and
                                  "last h only" in page.locator(".js-plotly-plot").first.inner_text() and
                                  page.locator(".js-plotly-plot").first.inner_text()), message="the unrolled diagram")
    assert "not returned" in diagram
    no_exception_box(page)
    assert not console.errors, console.errors
    context.close()


def test_time_slider_moves_the_step(browser, server):
    context, page, console = open_app(browser, server, "/hidden-states")
    assert page.locator('[data-testid="stHeading"]', has_text="Step t = 0").count() == 1   # the subheader
    thumb = page.locator('[data-testid="stSlider"]', has_text="step t").locator("input").first
    thumb.focus()
    for _ in range(3):
        thumb.press("ArrowRight")
    settle(page)
    page.wait_for_function("() => document.body.innerText.includes('Step t = 3')")
    assert "t=3" in page.url
    heat = plot_titled(page, "h_t of sequence 0 (NumPy)")
    assert len(heat["z"]) == 4 and len(heat["z"][0]) == 12
    assert not console.errors, console.errors
    context.close()


def choose_upload(page) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_text("upload a file", exact=True).click()
    settle(page)


def upload(page, name: str, data: bytes) -> None:
    # the sequence uploader
    page.locator('[data-testid="stFileUploaderDropzoneInput"][accept*=".csv"]').set_input_files(
        {"name": name, "mimeType": "application/octet-stream", "buffer": data})
    settle(page)


def test_real_uploads_redraw_and_a_broken_file_keeps_the_plots(browser, server):
    context, page, console = open_app(browser, server, "/hidden-states")
    choose_upload(page)
    csv = b"x,y\n" + b"\n".join(f"{i % 7},{(i * 3) % 5}".encode() for i in range(25))
    upload(page, "series.csv", csv)
    page.wait_for_function("() => document.body.innerText.includes('series.csv (csv, 25 steps x 2 features)')")
    assert len(wait_for_plot(page, "h_t of sequence 0 (NumPy)", (4, 25))["z"][0]) == 25
    upload(page, "greeting.txt", "hello 안녕 😀".encode())
    page.wait_for_function("() => document.body.innerText.includes('greeting.txt (txt')")
    before = wait_for_plot(page, "h_t of sequence 0 (NumPy)", (4, len("hello 안녕 😀")))
    assert len(before["z"][0]) == len("hello 안녕 😀")
    upload(page, "broken.json", b"[[1, 2], [3]")
    page.wait_for_function("() => document.body.innerText.includes('broken.json was not loaded')")
    assert "not valid JSON" in page.locator('[data-testid="stAlert"]', has_text="broken.json").first.inner_text()
    wait_until(lambda: plot_titled(page, "h_t of sequence 0 (NumPy)")["z"] == before["z"],
               message="the previous heatmap to stay")                         # the old plots stay
    page.get_by_test_id("stMain").evaluate("el => el.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "upload_error.png"), full_page=True)
    no_exception_box(page)
    assert not console.errors, console.errors
    context.close()


def test_url_with_flags_opens_that_configuration(browser):
    """A shared link opened first thing after the server starts: the legacy pages/ router must not get in the way."""
    cold = AppServer(ARTIFACTS / "streamlit-cold.log")
    try:
        _check_deep_link(browser, cold)
    finally:
        cold.stop()


def _check_deep_link(browser, server) -> None:
    query = "?units=6&activation=relu&return_sequences=false&return_state=true&go_backwards=true&steps=15"
    context, page, console = open_app(browser, server, "/output-shapes" + query)
    assert page.locator('[role="dialog"]').count() == 0, page.locator('[role="dialog"]').first.inner_text()
    assert title(page) == "Output shapes"
    units = page.locator('[data-testid="stSidebar"] input[aria-label="units (H)"]')
    page.wait_for_function("() => (document.querySelector('[data-testid=\"stCode\"]') || {innerText: ''})"
                           ".innerText.includes('SimpleRNN(6,')")       # drawn from the link's values
    code = page.locator('[data-testid="stCode"]').first.inner_text()
    assert "SimpleRNN(6, return_sequences=False," in code and "return_state=True)(x)" in code and "(1, 6)" in code
    assert units.input_value() == "6"
    no_exception_box(page)
    assert not console.errors, console.errors
    context.close()


def test_two_users_see_only_their_own_state(browser, server):
    ctx_a, a, console_a = open_app(browser, server, "/hidden-states?units=3")
    ctx_b, b, console_b = open_app(browser, server, "/hidden-states?units=5")
    choose_upload(a)
    upload(a, "mine.csv", b"\n".join(str(i).encode() for i in range(40)))
    a.wait_for_function("() => document.body.innerText.includes('mine.csv')")
    # b reruns after a's upload (a toggle), and must still see only its own settings and input.
    b.get_by_test_id("stSidebarUserContent").get_by_text("go_backwards", exact=True).click()
    settle(b)
    b.wait_for_function("() => document.body.innerText.includes('go_backwards: processing step')")
    heat_a = wait_for_plot(a, "h_t of sequence 0 (NumPy)", (3, 40))
    heat_b = wait_for_plot(b, "h_t of sequence 0 (NumPy)", (5, 12))
    assert (len(heat_a["z"]), len(heat_a["z"][0])) == (3, 40)
    assert (len(heat_b["z"]), len(heat_b["z"][0])) == (5, 12)
    assert "mine.csv" not in b.locator("body").inner_text()
    assert not console_a.errors and not console_b.errors
    ctx_a.close()
    ctx_b.close()


def test_downloads_are_built_when_clicked(browser, server):
    import io

    import numpy as np

    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(ACTION_TIMEOUT)
    page = context.new_page()
    watch_runs(page)
    page.goto(server.url + "/hidden-states?keras=false&units=3")
    settle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="inputs, weights and outputs (NPZ)").click()
    data = np.load(io.BytesIO(Path(download.value.path()).read_bytes()), allow_pickle=False)
    assert data["states"].shape == (1, 12, 3) and data["kernel"].shape == (1, 3)
    with page.expect_download() as download:
        page.get_by_role("button", name="hidden states h_t (CSV)").click()
    assert Path(download.value.path()).read_text().startswith("step,unit_0,unit_1,unit_2\n")
    context.close()
