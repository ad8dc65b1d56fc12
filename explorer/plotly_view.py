"""A plotly chart that stays on the page: one plot per chart, redrawn only when its figure changed.

``st.plotly_chart`` mounts a new plot for every changed figure and then draws it twice (its theme is applied
again after mounting, and plotly.js redraws a new figure object in full), and it brings the whole of plotly.js,
4.7 MB of JavaScript evaluated before the first chart of a visit. Here a Custom Component (v2: in the page, no
iframe, explorer/plotly_view.js) keeps each chart's plot element across reruns and hands a changed figure to
``Plotly.react`` once; plotly.js is its cartesian bundle (every trace type the app draws: scatter, bar, heatmap;
1.5 MB, ``static/plotly-cartesian.min.js``, served by Streamlit's static file serving, .streamlit/config.toml).
The look is Streamlit's own theme for plotly, in both the light and the dark theme. docs/performance.md has the
measurements.

The figure goes to the browser as plotly's JSON (numbers as typed arrays, as st.plotly_chart sends them).
"""

from __future__ import annotations

from pathlib import Path

import plotly.io as pio
import streamlit as st

from .i18n import _

NAME = "rnn_explorer_chart"
BUNDLE = "plotly-cartesian.min.js"            # in static/ beside app.py; its licence in static/LICENSE-plotly.js
TRACE_TYPES = frozenset({"scatter", "bar", "heatmap"})   # what the bundle must draw (tests/test_plotly_view.py)

_JS = (Path(__file__).with_name("plotly_view.js")).read_text(encoding="utf-8")
_component = None


def _mount():
    global _component
    if _component is None:
        _component = st.components.v2.component(NAME, js=_JS, isolate_styles=False)
    return _component


def bundle_url(base: str | None = None) -> str:
    """Where the browser loads plotly.js from: Streamlit's static files, under the server's base path (``base``,
    by default ``server.baseUrlPath``)."""
    if base is None:
        base = st.get_option("server.baseUrlPath")
    base = (base or "").strip("/")
    return f"/{base}/app/static/{BUNDLE}" if base else f"/app/static/{BUNDLE}"


def spec(fig) -> str:
    """The figure as the JSON the browser draws (plotly's own encoder; the figure was validated when built)."""
    return pio.to_json(fig, validate=False)


def plotly_view(fig, key: str, where=st, *, config: dict | None = None) -> None:
    """Draw ``fig`` in ``where`` (``st``, a column or a container) under ``key`` (the element's ``st-key-`` class;
    the same key keeps the same plot across reruns). ``config``: plotly.js options over the view's own."""
    component = _mount()
    payload = {"spec": spec(fig), "src": bundle_url(), "config": dict(config or {}),
               "failed": _("This chart could not be drawn: the browser did not load plotly.js from {src}. "
                           "Reload the page; if it stays, the server does not serve its static files "
                           "(.streamlit/config.toml: enableStaticServing).").format(src=bundle_url())}
    if where is st:
        component(data=payload, key=key)
    else:
        with where:
            component(data=payload, key=key)
