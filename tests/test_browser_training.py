"""The Training page in headless Chromium: a deep link, Train, live curves, Pause, Use these weights.

Waits on Streamlit's own signals and on the chart's data (the number of points
plotly.js holds), never on time. Screenshots go to test-artifacts/ (not committed).
"""

from __future__ import annotations

import re

import pytest
from browser_support import (
    ACTION_TIMEOUT,
    IDLE,
    ROOT,
    settle,
    wait_until,
    watch_runs,
)

pytestmark = [pytest.mark.browser, pytest.mark.keras]   # the Keras curve trains alongside
ARTIFACTS = ROOT / "test-artifacts"
# A run long enough to be paused midway: 300 epochs x 4 batches of 16, drawn in ~30 ticks.
SETTINGS = {"lag k": 2, "sequences": 64, "units": 16, "epochs": 300, "batch size": 16}


# The `server` and `browser` fixtures (one of each for every browser test file) are in conftest.py.


_LOSS_POINTS = """() => {
    for (const el of document.querySelectorAll('[data-testid="rnnChart"] .js-plotly-plot')) {
        const title = ((el.layout || {}).title || {}).text || '';
        if (title.replace(/<[^>]+>/g, '').startsWith('Loss per step') && el._fullData && el._fullData[0])
            return {numpy: el._fullData[0].x.length, keras: el._fullData[1] ? el._fullData[1].x.length : 0};
    }
    return null; }"""


def loss_points(page) -> dict | None:
    return page.evaluate(_LOSS_POINTS)


def progress_text(page) -> str:
    bar = page.locator('[data-testid="stProgress"]')
    return bar.first.inner_text() if bar.count() else ""


def steps_in_progress(page) -> int | None:
    m = re.search(r"step ([\d,]+) of", progress_text(page))
    return int(m.group(1).replace(",", "")) if m else None


def test_train_watch_pause_and_use_the_weights(server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 2300})
    context.set_default_timeout(ACTION_TIMEOUT)         # upper bound: a browser starved of CPU
    page = context.new_page()
    watch_runs(page)                               # settle() counts Streamlit's script runs
    try:
        page.goto(server.url + "/training")
        page.wait_for_selector(IDLE)
        settle(page)
        assert "Training" in page.locator("h1").first.inner_text()
        for name, value in SETTINGS.items():
            box = page.get_by_role("spinbutton", name=name, exact=True)
            box.fill(str(value))
            box.press("Enter")
            settle(page)
        assert "train_epochs=300" in page.url and "train_lag=2" in page.url     # stable values in the URL
        assert page.locator('[data-testid="stException"]').count() == 0

        page.get_by_role("button", name="Train").click()
        first = wait_until(lambda: (loss_points(page) or {}).get("numpy", 0) > 0 and loss_points(page),
                           message="the first loss points")
        grown = wait_until(lambda: (lambda p: p and p["numpy"] > first["numpy"] + 40 and p["keras"] > 0 and p)(
            loss_points(page)), message="the loss curve to grow, with Keras' curve")
        assert grown["numpy"] < 1200, "the run should still be going"
        page.screenshot(path=str(ARTIFACTS / "training-running.png"), full_page=True)

        page.get_by_role("button", name="Pause").click()
        wait_until(lambda: "paused" in progress_text(page), message="the run to pause")
        settle(page)
        paused = loss_points(page)["numpy"]
        assert paused == steps_in_progress(page) < 1200
        page.get_by_role("button", name="Continue").wait_for()
        assert loss_points(page)["numpy"] == paused            # it stopped growing
        page.get_by_text("NumPy vs Keras train_on_batch").first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "training-paused.png"), full_page=True)

        page.get_by_role("button", name="Use these weights").click()
        page.get_by_text("Every page now shows").wait_for()
        settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(ARTIFACTS / "training-used.png"), full_page=True)
        # Every other page now shows the trained layer, on the sequences it learned from.
        page.locator('[data-testid="stSidebarNav"] a', has_text="Unrolled hidden states").first.click()
        settle(page)
        page.wait_for_function("() => document.body.innerText.includes('Showing trained')")
        page.get_by_text("training sequences", exact=False).first.wait_for()
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(ARTIFACTS / "training-weights-on-hidden-states.png"), full_page=True)
    finally:
        context.close()


def test_compare_cells_view(server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    context.set_default_timeout(ACTION_TIMEOUT)         # upper bound: a browser starved of CPU
    page = context.new_page()
    watch_runs(page)                               # settle() counts Streamlit's script runs
    try:
        page.goto(server.url + "/training")
        page.wait_for_selector(IDLE)
        settle(page)
        page.get_by_text("SimpleRNN vs LSTM vs GRU", exact=True).click()
        settle(page)
        for name, value in {"lag k": 5, "units": 8, "epochs": 6}.items():
            box = page.get_by_role("spinbutton", name=name, exact=True)
            box.fill(str(value))
            box.press("Enter")
            settle(page)
        page.get_by_role("button", name="Train").click()
        wait_until(lambda: "epoch 6 of 6" in progress_text(page), message="the three runs to finish")
        settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(ARTIFACTS / "training-compare.png"), full_page=True)
    finally:
        context.close()
