"""In headless Chromium: switch the cell (SimpleRNN / LSTM / GRU) on each page; the page redraws for that cell.

Waits on Streamlit's own signals (script runs, the chart's data). Screenshots of every page for every cell go
to test-artifacts/ (not committed).
"""

from __future__ import annotations

import pytest
from browser_support import ARTIFACTS, open_view, plot_titled, settle
from test_browser_e2e import no_exception_box, open_app

pytestmark = [pytest.mark.browser, pytest.mark.keras]

# What each page shows for each cell, read from the page itself (a chart title, or text).
EXPECTED = {
    "hidden-states": {"LSTM": ("chart", "cell state c_t"), "GRU": ("chart", "update gate z_t"),
                      "SimpleRNN": ("chart", "pre-activation z_t")},
    "output-shapes": {"LSTM": ("text", "(output, state_h, state_c)"), "GRU": ("text", "GRU(4, return_sequences"),
                      "SimpleRNN": ("text", "SimpleRNN(4, return_sequences")},
    "gradient-flow": {"LSTM": ("chart", "dL/dc_t"), "GRU": ("chart", "Products of the update gate"),
                      "SimpleRNN": ("chart", "Per-step stretch: largest singular value of J_t = diag")},
    "keras-vs-numpy": {"LSTM": ("text", "rnn_core/layers/lstm_cell.py"), "GRU": ("text", "rnn_core/layers/gru_cell.py"),
                       "SimpleRNN": ("text", "rnn_core/layers/simple_rnn_cell.py")},
}


def choose_cell(page, cell: str) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_role("radio", name=cell, exact=True).click()
    settle(page)


def shows(page, kind: str, what: str) -> None:
    if kind == "chart":
        plot_titled(page, what)                   # polls until that chart is drawn with its data
    else:
        page.wait_for_function("t => document.body.innerText.includes(t)", arg=what)


@pytest.mark.parametrize("path", list(EXPECTED))
def test_switching_the_cell_redraws_the_page(browser, server, path):
    query = "?return_state=true" if path == "output-shapes" else ""
    context, page, console = open_app(browser, server, f"/{path}{query}", height=1800)
    if path == "hidden-states":                   # the cell's quantities are one of the views below the runs
        open_view(page, "Inside the cell")
    for cell in ("LSTM", "GRU", "SimpleRNN"):
        choose_cell(page, cell)
        assert f"cell={cell}" in page.url or (cell == "SimpleRNN" and "cell=" not in page.url)   # the URL follows
        shows(page, *EXPECTED[path][cell])
        no_exception_box(page)
        page.get_by_test_id("stMain").evaluate("el => el.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / f"cell_{path}_{cell}.png"), full_page=True)
    assert not console.errors, console.errors
    context.close()
