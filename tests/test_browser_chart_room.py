"""Every chart is drawn once: plotly.js keeps each figure's own margins (explorer/chart_room.py).

When a colour bar, a legend or an axis (Streamlit's theme turns on automargin) needs more room than a figure's
margins, plotly.js draws the chart, grows the margins and draws it again. The margins it ended with are in
``_fullLayout._size``; equal to the figure's own, the first draw was the only one. Checked on the pages whose flags
redraw the most charts, for the default configuration (Keras off: the shared server imports no TensorFlow here).
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from browser_support import ACTION_TIMEOUT, open_view, settle, wait_until, watch_runs

pytestmark = pytest.mark.browser


@contextmanager
def opened(browser, server, path: str, height: int = 1000, color_scheme: str = "light"):
    """A new browser context on ``path`` (Keras off), its first run finished; closed afterwards."""
    context = browser.new_context(viewport={"width": 1400, "height": height}, color_scheme=color_scheme)
    try:
        page = context.new_page()
        watch_runs(page)
        page.goto(f"{server.url}/{path}?keras=false")
        settle(page)
        yield page
    finally:
        context.close()


# Every chart of the page once drawn: [key, the figure's margins, the margins plotly.js drew with]; null while one
# is not drawn yet (plotly.js still loading; it is scrolled into view, which a lazily drawn chart would need).
_MARGINS = r"""() => {
    const rows = [];
    for (const chart of document.querySelectorAll('[data-testid="rnnChart"]')) {
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
    with opened(browser, server, path) as page:
        if view is not None:                     # a view of the page drawn only while open (a lazy tab)
            open_view(page, view)
        rows = page.wait_for_function(_MARGINS, timeout=ACTION_TIMEOUT, polling=100).json_value()
        assert len(rows) >= 2, rows
        pushed = [(key, given, drawn) for key, given, drawn in rows if given != drawn]
        assert not pushed, f"plotly.js widened these charts' margins (a second draw): {pushed}"


# Each chart's plot element and how many times plotly.js finished drawing it (plotly_afterplot), counted from the
# moment the hook is set; a chart is marked when its plot element is first seen.
_HOOK = r"""() => {
    window.__draws = window.__draws || {};
    const rows = [];
    for (const chart of document.querySelectorAll('[data-testid="rnnChart"]')) {
        const gd = chart.querySelector('.js-plotly-plot');
        if (!gd || !gd._fullLayout || !gd.on) return null;
        const box = chart.closest('[class*="st-key-"]');
        const key = [...box.classList].find(c => c.startsWith('st-key-')).slice(7);
        if (!gd.__drawsHooked) {
            gd.__drawsHooked = true;
            gd.__plotId = key + ':' + Math.random();
            gd.on('plotly_afterplot', () => { window.__draws[gd.__plotId] = (window.__draws[gd.__plotId] || 0) + 1; });
        }
        const layout = JSON.stringify(gd.layout, (k, v) => (k === 'template' || k === 'autosize' ? undefined : v));
        rows.push([key, gd.__plotId, JSON.stringify(gd.data.map(t => [t.name, t.x, t.y, t.z])) + layout]);
    }
    return rows.length ? rows : null;
}"""


def test_a_flag_redraws_each_changed_chart_once_in_the_plot_it_had(browser, server):
    """explorer/plotly_view.py: a changed figure goes to Plotly.react in the chart's own plot element (no new
    element, one draw), an unchanged one is not drawn again. Unrolled hidden states, go_backwards: the states
    change, the unrolled diagram changes, a chart of the open view changes."""
    with opened(browser, server, "hidden-states", height=3000) as page:
        before = {key: (plot, data) for key, plot, data in
                  page.wait_for_function(_HOOK, timeout=ACTION_TIMEOUT, polling=100).json_value()}
        page.evaluate("window.__draws = {}")
        page.get_by_text("go_backwards", exact=True).click()
        settle(page)

        def changed(rows):
            now = {key: (plot, data) for key, plot, data in rows or []}
            if set(now) != set(before):
                return None
            moved = [key for key in now if now[key][1] != before[key][1]]
            draws = page.evaluate("window.__draws")
            return moved if moved and all(draws.get(now[k][0], 0) >= 1 for k in moved) else None

        moved = wait_until(lambda: changed(page.evaluate(_HOOK)), message="the charts drawn with the new flag")
        rows = {key: (plot, data) for key, plot, data in page.evaluate(_HOOK)}
        assert len(moved) >= 2, moved
        assert all(rows[key][0] == before[key][0] for key in rows), "a chart was drawn in a new plot element"
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")
        draws = page.evaluate("window.__draws")
        assert {key: draws.get(rows[key][0], 0) for key in moved} == {key: 1 for key in moved}, draws
        unchanged = [key for key in rows if key not in moved]
        assert all(draws.get(rows[key][0], 0) == 0 for key in unchanged), (unchanged, draws)


# Each drawn chart's background and text colour, and the app's background, as #rrggbb.
_COLOURS = r"""() => {
    const hex = c => {
        const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(c);
        return m ? '#' + m.slice(1, 4).map(n => (+n).toString(16).padStart(2, '0')).join('') : c.toLowerCase();
    };
    const app = document.querySelector('[data-testid="stApp"]');
    const rows = [...document.querySelectorAll('[data-testid="rnnChart"] .js-plotly-plot')]
        .map(gd => gd._fullLayout ? [hex(gd._fullLayout.paper_bgcolor), hex(gd._fullLayout.font.color)] : null);
    return rows.length && rows.every(Boolean) ? {app: hex(getComputedStyle(app).backgroundColor), charts: rows} : null;
}"""


def test_the_charts_follow_the_theme_when_it_changes(browser, server):
    """explorer/plotly_view.js applies Streamlit's plotly theme (its greys for chart text) and draws the charts
    again when the theme changes without new data (here the system's setting, which the app follows)."""
    with opened(browser, server, "hidden-states", height=1600) as page:
        light = page.wait_for_function(_COLOURS, timeout=ACTION_TIMEOUT, polling=100).json_value()
        assert light["app"] == "#ffffff"
        assert {tuple(row) for row in light["charts"]} == {("#ffffff", "#808495")}, light
        page.emulate_media(color_scheme="dark")

        def dark():
            now = page.evaluate(_COLOURS)
            drawn = now and now["app"] != "#ffffff" and all(row[0] == now["app"] for row in now["charts"])
            return now if drawn else None

        now = wait_until(dark, message="the charts drawn in the dark theme")
        assert {row[1] for row in now["charts"]} == {"#e6eaf1"}, now      # Streamlit's grey for chart text on dark


def test_a_chart_says_so_when_plotly_js_does_not_load(browser, server):
    """No plotly.js (its request refused here): each chart says, as text, what failed and what to do."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.route("**/plotly-cartesian.min.js", lambda route: route.abort())
        watch_runs(page)
        page.goto(f"{server.url}/hidden-states?keras=false")
        settle(page)
        said = wait_until(lambda: page.evaluate(
            """() => [...document.querySelectorAll('[data-testid="rnnChart"]')].map(c => c.innerText)
                       .filter(t => t.includes('could not be drawn'))"""), message="the charts' message")
        assert "plotly-cartesian.min.js" in said[0] and "enableStaticServing" in said[0], said
        assert page.locator('[data-testid="rnnChart"] a, [data-testid="rnnChart"] b').count() == 0
    finally:
        context.close()
