"""The room a chart's margins need, given to plotly up front so that it draws the chart once.

Streamlit's plotly theme turns on ``automargin`` for both axes, and a colour bar or a legend outside the plot pushes
the margins too. When what is pushed is wider than the figure's margins, plotly.js draws the whole chart, sees the
margins grow, and draws it again (``Plots.doAutoMargin``), on every redraw. Streamlit mounts a new plot for every
changed figure, so every chart of a page paid that second draw on every click: in headless Chromium, 0.57 s of
busy main thread for the six charts of *Unrolled hidden states* at the tutorial preset, 0.34 s with margins wide
enough (bench/README in docs/performance.md, "Feels instant").

``make_room(fig)`` raises a figure's margins to what its axis titles, colour bars and legends take, estimated from
their text (in the theme's 12-14 px fonts, as measured in Chromium for every chart of every page). It never lowers a
margin, so a figure that sets a wider one keeps it; when an estimate falls short (a phone's narrow chart wraps a
legend into more rows), plotly still makes the room, as before, at the cost of the second draw.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata

import plotly.graph_objects as go

CHAR_PX = 7.0              # a character of the theme's 12 px tick and legend font (text_width counts Hangul as 2)
AXIS_LEFT = 84             # y tick labels (up to 4 characters), the title's standoff and the title
AXIS_BOTTOM = 76           # x tick labels, the standoff and the title
COLORBAR_RIGHT = 116       # the bar, its padding and tick labels (up to 5 characters: "-0.25", "1e-05")
COLORBAR_TITLE = 22        # padding beside a colour bar's title (drawn on top, so a long title widens the bar)
LEGEND_RIGHT = 52          # a vertical legend's symbol, padding and the gap to the plot
LEGEND_ROW = 21            # one row of a horizontal legend
LEGEND_BELOW = 20          # a horizontal legend's padding below the plot
LEGEND_ITEM = 46           # a horizontal legend item's symbol and gap
PLOT_WIDTH = 440           # the width a legend below a chart wraps in (a half-width column of a wide screen)
CATEGORY_LEFT = 28         # beside category names on the y axis (a bar per tensor): the tick and its padding
COLORBAR_TRACES = frozenset({"heatmap", "contour", "histogram2d", "histogram2dcontour"})
_TAG = re.compile(r"<[^>]*>")


def text_width(text: str) -> int:
    """The width of a Plotly text in characters: tags left out, ``&lt;`` one character, a wide (CJK, Hangul) two."""
    shown = html.unescape(_TAG.sub("", text))
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in shown)


def _has_title(axis) -> bool:
    return bool(axis.title and axis.title.text)


def _colorbar_titles(fig: go.Figure) -> list[str]:
    """The title of every colour bar the figure shows ("" for one without a title)."""
    titles = []
    for trace in fig.data:
        if trace.type in COLORBAR_TRACES and trace.showscale is not False:
            bar = trace.colorbar
        elif trace.type == "scatter" and trace.marker and trace.marker.showscale:
            bar = trace.marker.colorbar
        else:
            continue
        titles.append(bar.title.text or "" if bar and bar.title else "")
    return titles


def _legend_names(fig: go.Figure) -> list[str]:
    """The names the legend lists (plotly shows a legend for two or more such traces, or when asked)."""
    names = [trace.name or "" for trace in fig.data
             if trace.type not in COLORBAR_TRACES and trace.showlegend is not False and trace.visible is not False]
    shown = fig.layout.showlegend
    if shown is False or (shown is None and len(names) < 2):
        return []
    return names


def _category_chars(fig: go.Figure) -> int:
    """The longest name on a category y axis (0: a numeric one)."""
    names = [v for trace in fig.data if trace.y is not None and len(trace.y) and isinstance(trace.y[0], str)
             for v in trace.y]
    return max((text_width(v) for v in names), default=0)


def needed_margins(fig: go.Figure) -> dict[str, int]:
    """The left, right and bottom margins the figure's axis titles, colour bars and legends take."""
    need = {"l": AXIS_LEFT if _has_title(fig.layout.yaxis) else 0,
            "b": AXIS_BOTTOM if _has_title(fig.layout.xaxis) else 0, "r": 0}
    category = _category_chars(fig)
    if category:
        need["l"] = max(need["l"], CATEGORY_LEFT + math.ceil(CHAR_PX * category))
    right_axis = getattr(fig.layout, "yaxis2", None)      # only a figure with a second y axis has one
    if right_axis and right_axis.side == "right" and _has_title(right_axis):
        need["r"] = AXIS_LEFT
    bars = _colorbar_titles(fig)
    if bars:
        need["r"] = max(COLORBAR_RIGHT, *(COLORBAR_TITLE + math.ceil(CHAR_PX * text_width(t)) for t in bars))
    names = _legend_names(fig)
    if names:
        legend = fig.layout.legend
        if legend.orientation == "h" and legend.y is not None and legend.y < 0:
            # Below the plot, at legend.y (a fraction of the plot's height, itself height - t - b): solve for b.
            widths = [LEGEND_ITEM + CHAR_PX * text_width(n) for n in names]
            rows = max(1, math.ceil(sum(widths) / PLOT_WIDTH))
            height = fig.layout.height or 450
            top = fig.layout.margin.t or 0
            below = LEGEND_BELOW + LEGEND_ROW * rows
            need["b"] = max(need["b"], math.ceil((-legend.y * (height - top) + below) / (1 - legend.y)))
        elif legend.orientation != "h":
            need["r"] = max(need["r"], LEGEND_RIGHT + math.ceil(CHAR_PX * max(text_width(n) for n in names)))
    return need


def make_room(fig: go.Figure) -> go.Figure:
    """``fig`` with each margin at least what its content takes (needed_margins); returns ``fig``. A figure that
    already has the room is not touched (a cached figure shared by many visitors is only read)."""
    margin = fig.layout.margin
    raise_to = {side: px for side, px in needed_margins(fig).items() if px > (getattr(margin, side) or 0)}
    if raise_to:
        fig.update_layout(margin=raise_to)
    return fig
