"""Every chart's text alternative: what it shows, in a few sentences a screen reader reads, and its numbers as a table.

:func:`describe` reads a plotly figure itself (no Streamlit here, tested without it) and returns a
:class:`ChartText`:

* ``summary``: one paragraph of plain text. What the chart is (its kind, title and axis titles), then its key
  numbers. A figure builder that knows a better key number than the data alone (the fitted decay rate per step,
  the largest parity difference, the final accuracy, the accuracy at the longest input) puts it into
  ``fig.layout.meta`` with :func:`add_meta`, and describe() phrases it first (PHRASES below). Then, from the data:
  for a heatmap its size, the largest and the smallest value and where (the axes' labels: steps, units, tokens);
  for each line its number of points, its largest value and where, and its last value; for bars the largest ones
  and where; for markers their number.
* ``table``: a function that builds the numbers behind the chart as a pandas DataFrame: one column per trace for
  lines and bars (joined on x), the z grid with its x and y labels for a heatmap, one row per point for a scatter
  of points, one row per character for the text view. It is built only when asked for (``Show as table``).

The summary costs one pass over each trace's numbers; nothing is cached, and the figure is not changed.

Names in a figure may come from a visitor (a column, a layer, a token) and Plotly's texts are HTML: the summary
turns them back into the text they show (tags dropped, character references read) and cuts each name to
NAME_CHARS. It is plain text, *not* Markdown: show it with ``explorer.inert.inert`` (explorer/charts.py does).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .i18n import N_, _, ngettext
from .inert import clean

__all__ = ["ChartText", "describe", "add_meta", "plain", "PHRASES"]

MAX_SERIES = 6          # lines or groups of points described one by one; the rest are in the table
MAX_BARS = 3            # the largest bars named
NAME_CHARS = 60         # a trace's, a tick's or a token's name is cut at this length in the summary
TITLE_CHARS = 160


@dataclass(frozen=True)
class ChartText:
    """A chart's text alternative: ``summary`` (plain text, to be shown inert) and ``table()``, its numbers."""

    summary: str
    table: Callable[[], pd.DataFrame]


# -- key numbers from the figure builders ----------------------------------------------------------------------

def _jsonable(value: Any) -> Any:
    """Plain JSON values (the meta goes to the browser with the figure): numbers as float/int, NaN and inf as None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value if value is None else str(value)


def add_meta(fig, **facts):
    """Put named key numbers into ``fig.layout.meta`` (kept with those already there) for describe() to phrase.
    Each name is a key of PHRASES; returns the figure."""
    meta = dict(fig.layout.meta) if isinstance(fig.layout.meta, dict) else {}
    meta.update({name: _jsonable(value) for name, value in facts.items()})
    fig.update_layout(meta=meta)
    return fig


# -- text -------------------------------------------------------------------------------------------------------

_BREAK = re.compile(r"(?i)<br\s*/?>")
_SUB = re.compile(r"(?i)<sub>")
_SUP = re.compile(r"(?i)<sup>")
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")


def plain(text: Any, limit: int = NAME_CHARS) -> str:
    """The text a Plotly text shows: line breaks as spaces, ``h<sub>t</sub>`` as ``h_t``, other tags dropped,
    character references read (``&lt;`` is ``<``), invisible characters removed, at most ``limit`` characters."""
    if text is None:
        return ""
    s = _TAG.sub("", _SUP.sub("^", _SUB.sub("_", _BREAK.sub(" ", str(text)))))
    return clean(_SPACES.sub(" ", html.unescape(s)).strip(), limit)


def num(value: Any) -> str:
    """A number as the summary writes it: whole numbers as they are, others to 4 significant digits."""
    if value is None:
        return "nan"
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.4g}"


def _value_text(v: Any) -> str:
    if isinstance(v, (np.datetime64, pd.Timestamp)):
        return str(pd.Timestamp(v))
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
        return num(v)
    return plain(v)


def _at(title: str, label: str) -> str:
    return f"{title} = {label}" if title else label


class _Axis:
    """An axis' title and how it names a position (its tick text where the figure sets one, e.g. tokens)."""

    def __init__(self, axis) -> None:
        self.title = plain(getattr(getattr(axis, "title", None), "text", None), TITLE_CHARS) if axis is not None \
            else ""
        self.ticks: dict = {}
        if axis is not None and getattr(axis, "tickvals", None) is not None and axis.ticktext is not None:
            self.ticks = {_key(v): plain(t) for v, t in zip(axis.tickvals, axis.ticktext)}

    def label(self, v: Any) -> str:
        text = _value_text(v)
        tick = self.ticks.get(_key(v))
        return text if tick is None or tick == text else f"{tick} ({text})"

    def where(self, v: Any) -> str:
        return _at(self.title, self.label(v))


def _key(v: Any) -> Any:
    try:
        f = float(v)
        return int(f) if f == int(f) else f
    except (TypeError, ValueError, OverflowError):
        return str(v)


class _View:
    """The figure as describe() reads it: its layout, and each trace's axes read once (Plotly's property access
    costs tens of microseconds a time; a chart has a few dozen traces on one or two pairs of axes)."""

    def __init__(self, fig) -> None:
        self.layout = fig.layout
        self._axes: dict[tuple, tuple[_Axis, _Axis]] = {}

    def axes(self, trace) -> tuple[_Axis, _Axis]:
        three = trace.type == "scatter3d"
        key = ("scene",) if three else (getattr(trace, "xaxis", None) or "x", getattr(trace, "yaxis", None) or "y")
        if key not in self._axes:
            if three:
                scene = self.layout.scene
                self._axes[key] = _Axis(scene.xaxis), _Axis(scene.yaxis)
            else:
                x, y = key
                self._axes[key] = (_Axis(_layout_axis(self.layout, f"xaxis{x[1:]}")),
                                   _Axis(_layout_axis(self.layout, f"yaxis{y[1:]}")))
        return self._axes[key]


def _layout_axis(layout, name: str):
    try:
        return layout[name]
    except (KeyError, ValueError):
        return None


# -- the traces -------------------------------------------------------------------------------------------------

def _kind(trace) -> str:
    """heatmap, bar, line, points, text (the characters of the text view) or skip (bands, paths, guides)."""
    if trace.type == "heatmap":
        return "heatmap"
    if trace.type == "bar":
        return "bar"
    if trace.type in ("scatter", "scattergl", "scatter3d"):
        if trace.hoverinfo == "skip":
            return "skip"
        mode = trace.mode
        if mode is None:                       # Plotly's default
            mode = "lines+markers" if trace.y is not None and len(trace.y) < 20 else "lines"
        if mode == "text":
            return "text"
        if "lines" in mode:
            return "line"
        if "markers" in mode:
            return "points"
    return "skip"


def _floats(values: Any) -> np.ndarray:
    if values is None:
        return np.zeros(0)
    try:
        return np.asarray(values, np.float64)
    except (TypeError, ValueError):
        return np.array([np.nan if v is None else float(v) for v in values], np.float64)


def _positions(values: Any, n: int) -> np.ndarray:
    return np.arange(n) if values is None else np.asarray(values)


def _name(trace, fallback: str = "") -> str:
    return plain(trace.name) if trace.name else fallback


def _horizontal(trace) -> bool:
    return trace.type == "bar" and trace.orientation == "h"


def _series(trace, horizontal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(positions, values) of a line, bar or points trace; in a chart of horizontal bars (``horizontal``) the
    positions run up and the values across."""
    if _horizontal(trace) or (horizontal and trace.type != "bar"):
        values = _floats(trace.x)
        return _positions(trace.y, len(values)), values
    values = _floats(trace.y)
    return _positions(trace.x, len(values)), values


def _finite_extremes(values: np.ndarray) -> tuple[int, int] | None:
    finite = np.isfinite(values)
    if not finite.any():
        return None
    return int(np.argmax(np.where(finite, values, -np.inf))), int(np.argmin(np.where(finite, values, np.inf)))


def _line_sentence(trace, x_axis: _Axis) -> str:
    x, y = _series(trace)
    n = len(y)
    name = _name(trace)
    prefix = f"{name}: " if name else ""
    extremes = _finite_extremes(y)
    if extremes is None:
        return prefix + ngettext("{n} point, none of them finite.", "{n} points, none of them finite.", n).format(n=n)
    top = extremes[0]
    last = y[np.flatnonzero(np.isfinite(y))[-1]]
    return prefix + ngettext("{n} point, largest {top} at {where}, last {last}.",
                             "{n} points, largest {top} at {where}, last {last}.", n).format(
        n=n, top=num(y[top]), where=x_axis.where(x[top]), last=num(last))


def _points_sentence(trace, axes: tuple[_Axis, _Axis]) -> str:
    name = _name(trace)
    prefix = f"{name}: " if name else ""
    x = trace.x if trace.x is not None else []
    n = len(x)
    if n == 1:
        y = trace.y[0] if trace.y is not None else None
        return prefix + _("at {x}, {y}.").format(x=axes[0].where(x[0]), y=axes[1].where(y))
    return prefix + ngettext("{n} point.", "{n} points.", n).format(n=n)


def _bars_sentence(bars: list, view) -> str:
    positions, values, axes = [], [], []
    for trace in bars:
        x, v = _series(trace)
        x_axis, y_axis = view.axes(trace)
        positions.append(x)
        values.append(v)
        axes += [y_axis if _horizontal(trace) else x_axis] * len(v)
    pos = np.concatenate(positions) if positions else np.zeros(0)
    val = np.concatenate(values) if values else np.zeros(0)
    n = len(val)
    finite = np.flatnonzero(np.isfinite(val))
    order = finite[np.argsort(-np.abs(val[finite]), kind="stable")][:MAX_BARS]
    largest = "; ".join(_("{value} at {where}").format(value=num(val[i]), where=axes[i].where(pos[i])) for i in order)
    if not largest:
        return ngettext("{n} bar, none of them finite.", "{n} bars, none of them finite.", n).format(n=n)
    return ngettext("{n} bar; the largest: {bars}.", "{n} bars; the largest: {bars}.", n).format(n=n, bars=largest)


def _heatmap_sentence(trace, view) -> str:
    z = _floats(trace.z)
    if z.ndim != 2 or not z.size:
        return ""
    x_axis, y_axis = view.axes(trace)
    rows, columns = z.shape
    x = _positions(trace.x, columns)
    y = _positions(trace.y, rows)
    extremes = _finite_extremes(z.ravel())
    size = _("{rows} × {columns} values").format(rows=rows, columns=columns)
    if extremes is None:
        return _("{size}, none of them finite.").format(size=size)
    (tr, tc), (lr, lc) = (divmod(i, columns) for i in extremes)
    return _("{size}; largest {top} at {top_at}, smallest {low} at {low_at}.").format(
        size=size, top=num(z[tr, tc]), top_at=f"{x_axis.where(x[tc])}, {y_axis.where(y[tr])}",
        low=num(z[lr, lc]), low_at=f"{x_axis.where(x[lc])}, {y_axis.where(y[lr])}")


# -- phrases of the builders' key numbers -----------------------------------------------------------------------
# name -> function(value) -> (sentence, [(label, value), ...]); the pairs are the table of a chart without data.

def _fit(m: dict) -> tuple[str, list]:
    text = (_("Fitted rate: ×{factor:.3g} per step back, halving every {steps:.3g} steps (R² = {r2:.2f}).")
            if m["factor"] < 1 else
            _("Fitted rate: ×{factor:.3g} per step back, doubling every {steps:.3g} steps (R² = {r2:.2f})."))
    return text.format(factor=m["factor"], steps=m["half_life"] or float("nan"), r2=m["r2"] or float("nan")), []


def _aggregated(m: dict) -> tuple[str, list]:
    return _("Aggregated: each value is the mean of {size} steps ({steps:,} in all).").format(
        size=m["size"], steps=m["steps"]), []


def _shapes(m: dict) -> tuple[str, list]:
    text = _("{steps:,} steps: the input x {input} is read one step at a time; the layer returns {output}.").format(
        steps=m["steps"], input=m["input"], output=m["output"])
    states = m.get("states") or []
    if states:
        text += " " + ngettext("It also returns its final state {states}: {shape}.",
                               "It also returns its final states {states}: {shape} each.", len(states)).format(
            states=", ".join(states), shape=m["state"])
    facts = [(_("input x"), m["input"]), (_("output"), m["output"])] + [(s, m["state"]) for s in states]
    return text, facts


def _stretch(m: dict) -> tuple[str, list]:
    text = ngettext("{above} of {steps} steps stretches the gradient (largest singular value above 1).",
                    "{above} of {steps} steps stretch the gradient (largest singular value above 1).",
                    m["above"]).format(above=m["above"], steps=m["steps"])
    if m.get("bound") is not None:
        text += " " + _("Bound γ·σ_max(U) = {bound:.3g}.").format(bound=m["bound"])
    return text, []


def _carry(m: dict) -> tuple[str, list]:
    return _("After {distance} steps back the gate's product is {mean:.3g} on average and {max:.3g} in the "
             "largest unit.").format(distance=m["distance"], mean=m["mean"] or 0.0, max=m["max"] or 0.0), []


def _parity(m: dict) -> tuple[str, list]:
    text = _("Largest difference: {name}, {difference:.3g} (tolerance {tolerance:.3g}).").format(
        name=clean(m["name"], NAME_CHARS), difference=m["difference"] or 0.0, tolerance=m["tolerance"] or 0.0)
    text += " " + ngettext("{over} of {tensors} tensors is over its tolerance.",
                           "{over} of {tensors} tensors are over their tolerance.", m["over"]).format(
        over=m["over"], tensors=m["tensors"])
    return text, []


def _number(template: str) -> Callable[[Any], tuple[str, list]]:
    return lambda value: (_(template).format(value=value), []) if value is not None else ("", [])


def _longest(m: dict) -> tuple[str, list]:
    values = "; ".join(f"{clean(name, NAME_CHARS)} {num(v) if v is None else format(v, '.0%')}"
                       for name, v in m["accuracy"].items())
    return _("At the longest input ({length} tokens): {values}.").format(length=m["length"], values=values), []


def _target(m: dict) -> tuple[str, list]:
    return _("The correct token {token}: p = {p:.3f}.").format(token=clean(m["token"], NAME_CHARS),
                                                               p=m["p"] or 0.0), []


def _selection(m: dict) -> tuple[str, list]:
    text = _("Threshold {threshold:g}; the selection is steps {start} to {stop}.").format(
        threshold=m["threshold"], start=m["start"], stop=m["stop"])
    return text + " " + ngettext("{n} match is marked.", "{n} matches are marked.", m["matches"]).format(
        n=m["matches"]), []


def _fixed_points(m: dict) -> tuple[str, list]:
    return _("{stable} stable and {unstable} unstable fixed points.").format(**m), []


def _moduli(m: dict) -> tuple[str, list]:
    if not m:
        return "", []
    values = "; ".join(f"{clean(label, NAME_CHARS)} {num(v)}" for label, v in m.items())
    return _("Largest |λ| at each fixed point: {values}.").format(values=values), []


def _saturation(m: dict) -> tuple[str, list]:
    values = "; ".join(f"{clean(label, NAME_CHARS)} {num(left)}, {num(right)}" for label, (left, right) in m.items())
    return _("Mean fraction of steps saturated (closed, open): {values}.").format(values=values), []


def _text_view(m: dict) -> tuple[str, list]:
    text = ngettext("{n} character.", "{n} characters.", m["characters"]).format(n=m["characters"])
    if m.get("peak"):
        p, low = m["peak"], m["low"]
        text += " " + _("Largest {top} at character {top_t} («{top_char}»), smallest {low} at character {low_t} "
                        "(«{low_char}»).").format(top=num(p["value"]), top_t=p["t"], top_char=clean(p["char"], 8),
                                                  low=num(low["value"]), low_t=low["t"],
                                                  low_char=clean(low["char"], 8))
    return text, []


PHRASES: dict[str, Callable[[Any], tuple[str, list]]] = {
    "shapes": _shapes,
    "text_view": _text_view,
    "fit": _fit,
    "stretch": _stretch,
    "carry": _carry,
    "parity": _parity,
    "final_accuracy": lambda v: (_("Final accuracy: {value:.1%}.").format(value=v), []) if v is not None else ("", []),
    "longest": _longest,
    "target": _target,
    "best_guess": _number(N_("Constant best guess: {value:.4g}.")),
    "chance": _number(N_("Chance: {value:.3g}.")),
    "clipnorm": _number(N_("Clipping threshold: norm {value:g} per weight.")),
    "selection": _selection,
    "fixed_points": _fixed_points,
    "moduli": _moduli,
    "saturation": _saturation,
    "aggregated": _aggregated,
}


# -- describe ---------------------------------------------------------------------------------------------------

def _meta(fig) -> dict:
    meta = fig.layout.meta
    return meta if isinstance(meta, dict) else {}


def describe(fig) -> ChartText:
    """The text alternative of a plotly figure: its summary now, its table when ``table()`` is called."""
    meta = _meta(fig)
    traces = [(trace, _kind(trace)) for trace in fig.data]
    kinds = {kind for _trace, kind in traces}
    if "text_view" in meta:
        what = _("Coloured text")
    elif "heatmap" in kinds:
        what = _("Heatmap")
    elif "bar" in kinds:
        what = _("Bar chart")
    elif "line" in kinds:
        what = _("Line chart")
    elif "points" in kinds:
        what = _("Scatter plot")
    else:
        what = _("Diagram")
    title = plain(fig.layout.title.text, TITLE_CHARS)
    parts = [f"{what}: {title}." if title else f"{what}."]
    view = _View(fig)
    parts.append(_axes_sentence(view, [t for t, k in traces if k not in ("skip", "text")]))
    facts: list = []
    for name, phrase in PHRASES.items():
        if name in meta and meta[name] is not None:
            sentence, more = phrase(meta[name])
            parts.append(sentence)
            facts += more
    if "text_view" not in meta:
        parts += _data_sentences(view, traces)
    summary = " ".join(p for p in parts if p)
    return ChartText(summary, lambda: _table(view, traces, meta, facts))


def _axes_sentence(view, traces: list) -> str:
    if not traces:
        return ""
    if any(t.type == "scatter3d" for t in traces):
        scene = view.layout.scene
        names = [plain(a.title.text, TITLE_CHARS) for a in (scene.xaxis, scene.yaxis, scene.zaxis)]
        names = [n for n in names if n]
        return _("Axes: {axes}.").format(axes="; ".join(names)) if names else ""
    x_titles, y_titles = [], []
    for trace in traces:
        x_axis, y_axis = view.axes(trace)               # as drawn (a horizontal bar's value runs across)
        for titles, axis in ((x_titles, x_axis), (y_titles, y_axis)):
            if axis.title and axis.title not in titles:
                titles.append(axis.title)
    x, y = "; ".join(x_titles), "; ".join(y_titles)
    if x and y:
        return _("Across: {x}; up: {y}.").format(x=x, y=y)
    if x:
        return _("Across: {x}.").format(x=x)
    return _("Up: {y}.").format(y=y) if y else ""


def _data_sentences(view, traces: list) -> list[str]:
    parts: list[str] = []
    heatmaps = [t for t, k in traces if k == "heatmap"]
    for trace in heatmaps:
        parts.append(_heatmap_sentence(trace, view))
    bars = [t for t, k in traces if k == "bar"]
    if bars:
        parts.append(_bars_sentence(bars, view))
    series = [(t, k) for t, k in traces if k in ("line", "points")]
    for trace, kind in series[:MAX_SERIES]:
        axes = view.axes(trace)
        parts.append(_line_sentence(trace, axes[0]) if kind == "line" else _points_sentence(trace, axes))
    if len(series) > MAX_SERIES:
        rest = len(series) - MAX_SERIES
        parts.append(ngettext("{n} more series in the table.", "{n} more series in the table.", rest).format(n=rest))
    return parts


# -- the table --------------------------------------------------------------------------------------------------

def _value_title(view, trace) -> str:
    """The title of the axis a trace's values run along (an unnamed bar's column is named by it)."""
    x_axis, y_axis = view.axes(trace)
    return x_axis.title if _horizontal(trace) else y_axis.title


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name} ({count + 1})")
    return out


def _table(view, traces: list, meta: dict, facts: list) -> pd.DataFrame:
    if "text_view" in meta:
        text = next((t for t, k in traces if k == "text" and t.customdata is not None), None)
        if text is not None:
            data = np.asarray(text.customdata, np.float64)
            return pd.DataFrame({"t": data[:, 0].astype(int), _("character"): [plain(c, 8) for c in text.text],
                                 clean(meta["text_view"]["quantity"], NAME_CHARS): data[:, 1]})
    heat = next((t for t, k in traces if k == "heatmap"), None)
    if heat is not None:
        z = _floats(heat.z)
        x_axis, y_axis = view.axes(heat)
        rows, columns = z.shape
        x = [x_axis.label(v) for v in _positions(heat.x, columns)]
        y = [y_axis.label(v) for v in _positions(heat.y, rows)]
        return pd.DataFrame(z, index=pd.Index(_unique(y), name=y_axis.title or None),
                            columns=pd.Index(_unique(x), name=x_axis.title or None))
    data = [(t, k) for t, k in traces if k in ("line", "bar", "points")]
    if not data:
        return pd.DataFrame(facts, columns=[_("quantity"), _("value")])
    horizontal = any(_horizontal(t) for t, _k in data)
    names = _unique([_name(t, _value_title(view, t) or _("series {n}").format(n=i + 1))
                     for i, (t, _k) in enumerate(data)])
    columns = []
    for (trace, kind), name in zip(data, names):
        x_axis, y_axis = view.axes(trace)
        if horizontal:
            x_axis = y_axis
        x, y = _series(trace, horizontal)
        labels = [x_axis.label(v) for v in x] if x_axis.ticks else list(x)
        columns.append((kind, name, labels, y, x_axis.title, bool(x_axis.ticks)))
    # One column per trace, joined on the position, when every position is one row: lines and bars, and markers at
    # their positions (the tolerance ticks beside the parity bars, the overflowed steps on a line).
    shared = {_key(v) for kind, _n, labels, _y, _t, _s in columns if kind != "points" for v in labels}
    joined = shared and all(len(set(map(_key, labels))) == len(labels)
                            and (kind != "points" or set(map(_key, labels)) <= shared)
                            for kind, _n, labels, _y, _t, _s in columns)
    if joined:
        frame = pd.concat([pd.Series(y, index=pd.Index(labels), name=name)
                           for _k, name, labels, y, _t, _s in columns], axis=1, sort=False)
        if not any(c[5] for c in columns) and not horizontal:
            frame = frame.sort_index()                # numbers (steps, units): in order; tokens stay as drawn
        frame.index.name = columns[0][4] or None
        return frame
    x_title = next((c[4] for c in columns if c[4]), "x")
    y_title = next((a.title for t, _k in data for a in view.axes(t)[1:] if a.title), "y")
    rows = []
    for (trace, _kd), (_k, name, labels, y, _t, _s) in zip(data, columns):
        z = _floats(trace.z) if trace.type == "scatter3d" else None
        for i, (xv, yv) in enumerate(zip(labels, y)):
            row = {_("series"): name, x_title: xv, y_title: yv}
            if z is not None:
                row["z"] = z[i]
            rows.append(row)
    return pd.DataFrame(rows)
