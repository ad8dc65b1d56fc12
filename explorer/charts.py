"""Every chart is drawn here: the plotly figure, its text alternative under it, and its numbers on demand.

``show(fig, key, where)`` draws every chart of every page (issues #24, #25):

1. the chart, under the key the page gives (the browser tests find charts by it), in a plot that stays across
   reruns (explorer/plotly_view.py: a changed figure is drawn once, an unchanged one not at all), its margins wide
   enough for what it holds (explorer/chart_room.py: plotly.js then lays it out once; the cached builders'
   figures already are, and are only read);
2. a caption with the chart's summary (explorer/chart_text.py: what it shows and its key numbers). It is visible
   text, so a screen reader reads it where the chart is; it is shown inert (explorer/inert.py), since names in it
   can come from a visitor (columns, layers, tokens);
3. a toggle *Show as table* (key: the chart's key + ``_table``) and, only while it is on, the numbers behind the
   chart in ``st.dataframe``. The table is built only then; the summary costs one pass over the figure's data.
   The toggle adds no rerun of its own (a widget's change reruns the page, or its fragment, as any other).
"""

from __future__ import annotations

import streamlit as st

from .chart_room import make_room
from .chart_text import describe
from .i18n import _
from .inert import inert
from .plotly_view import plotly_view

SUMMARY_CHARS = 4000     # the summary is built from names already cut to a few dozen characters each
TABLE_SUFFIX = "_table"


def table_key(key: str) -> str:
    """The key of a chart's *Show as table* toggle."""
    return f"{key}{TABLE_SUFFIX}"


def show(fig, key: str | None = None, where=st, *, toggle_key: str | None = None, config: dict | None = None) -> None:
    """Draw ``fig`` in ``where`` (``st``, a column or a container), then its summary and its *Show as table*
    toggle. A chart drawn without a key names its toggle's key (``toggle_key``); the plot is then keyed by it.
    ``config``: plotly.js options (``{"displayModeBar": False}``)."""
    if key is None and toggle_key is None:
        raise ValueError("a chart without a key needs a toggle_key for its table toggle")
    make_room(fig)
    plotly_view(fig, key if key is not None else f"{toggle_key}_plot", where, config=config)
    text = describe(fig)
    where.caption(inert(text.summary, SUMMARY_CHARS))
    if where.toggle(_("Show as table"), key=toggle_key or table_key(key)):
        where.dataframe(text.table(), width="stretch")
