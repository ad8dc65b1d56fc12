"""The Attention page in headless Chromium: train the reverse task from a link, then read the alignment heatmap's
data from the page: a trained model attends along the anti-diagonal.

Waits on Streamlit's own signals and on the charts' data, never on time (bounds: UPPER_BOUND_S). Screenshots go
to test-artifacts/ (not committed).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from browser_support import ACTION_TIMEOUT, IDLE, ROOT, plot_titled, settle, wait_until, watch_runs

pytestmark = [pytest.mark.browser, pytest.mark.keras]   # the Keras twin trains alongside
ARTIFACTS = ROOT / "test-artifacts"
# Reverse 3-6 digits, LSTM 32 units, dot attention and the model without it alongside: > 90 % held out after
# 160 steps (1 s of NumPy here; the runs are seeded: the same steps on any machine); 300 steps are ample.
LINK = "/attention?att_lengths=3&att_lengths=6&att_steps=300&att_units=32&att_kind=dot"


def progress_text(page) -> str:
    bar = page.locator('[data-testid="stProgress"]')
    return bar.first.inner_text() if bar.count() else ""


def test_train_reverse_and_see_the_anti_diagonal(server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 4200})
    context.set_default_timeout(ACTION_TIMEOUT)         # upper bound: a browser starved of CPU
    page = context.new_page()
    watch_runs(page)                                    # settle() counts Streamlit's script runs
    try:
        page.goto(server.url + LINK)
        page.wait_for_selector(IDLE)
        settle(page)
        assert "Attention" in page.locator("h1").first.inner_text()
        page.get_by_role("button", name="Train", exact=True).click()
        page.mouse.move(0, 0)                            # its tooltip would cover the page in the screenshot
        wait_until(lambda: "done" in progress_text(page), message="the run to finish")
        settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        accuracy = int(re.search(r"held-out accuracy (\d+)%", progress_text(page)).group(1))
        assert accuracy >= 90, progress_text(page)

        heat = plot_titled(page, "Attention weights of the model")
        z = np.array(heat["z"], dtype=float)             # decoder steps (outputs, then </s>) x encoder steps
        assert z.shape[1] == 6                           # the default example: one of the longest (no padding)
        np.testing.assert_allclose(z.sum(axis=1), 1.0, atol=1e-3)
        L = min(z.shape[0] - 1, 6)
        on_anti_diagonal = z[:L].argmax(axis=1) == np.arange(z.shape[1] - 1, z.shape[1] - 1 - L, -1)
        assert on_anti_diagonal.mean() >= 0.8, z.round(2)

        assert plot_titled(page, "Accuracy by input length")["n"] == 2          # with and without attention
        assert plot_titled(page, "The gradient's path")["n"] == 4               # both, now and before training
        page.get_by_text("NumPy vs Keras train_on_batch").first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "attention-trained.png"), full_page=True)
    finally:
        context.close()
