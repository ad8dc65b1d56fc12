"""Every chart is drawn once: plotly.js keeps each figure's own margins (explorer/chart_room.py).

When a colour bar, a legend or an axis (Streamlit's theme turns on automargin) needs more room than a figure's
margins, plotly.js draws the chart, grows the margins and draws it again. The margins it ended with are in
``_fullLayout._size``; equal to the figure's own, the first draw was the only one. Checked on the pages whose flags
redraw the most charts, for the default configuration (Keras off: the shared server imports no TensorFlow here).
"""

from __future__ import annotations

import pytest
from browser_support import ACTION_TIMEOUT, open_view, settle, watch_runs

pytestmark = pytest.mark.browser

# Every chart of the page once drawn: [key, the figure's margins, the margins plotly.js drew with]; null while one
# is not drawn yet (scrolled into view, as Streamlit draws a chart when it is about to be seen).
_MARGINS = r"""() => {
    const rows = [];
    for (const chart of document.querySelectorAll('[data-testid="stPlotlyChart"]')) {
        const gd = chart.querySelector('.js-plotly-plot');
        if (!gd || !gd._fullLayout || !gd._fullLayout._size) { chart.scrollIntoView({block: 'center'}); return null; }
        const box = chart.closest('[class*="st-key-"]');
        const key = box ? [...box.classList].find(c => c.startsWith('st-key-')).slice(7) : '(no key)';
        const m = gd.layout.margin || {}, s = gd._fullLayout._size;
        rows.push([key, ['l', 'r', 't', 'b'].map(k => m[k]), ['l', 'r', 't', 'b'].map(k => Math.round(s[k]))]);
    }
    return rows.length ? rows : null;
}"""


@pytest.mark.parametrize("path, view", [("hidden-states", None), ("gradient-flow", None), ("trained-network", None),
                                        ("trained-network", "State space and fixed points")])
def test_every_chart_is_drawn_with_the_margins_it_was_given(browser, server, path, view):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        watch_runs(page)
        page.goto(f"{server.url}/{path}?keras=false")
        settle(page)
        if view is not None:                     # a view of the page drawn only while open (a lazy tab)
            open_view(page, view)
        rows = page.wait_for_function(_MARGINS, timeout=ACTION_TIMEOUT, polling=100).json_value()
        assert len(rows) >= 2, rows
        pushed = [(key, given, drawn) for key, given, drawn in rows if given != drawn]
        assert not pushed, f"plotly.js widened these charts' margins (a second draw): {pushed}"
    finally:
        context.close()
