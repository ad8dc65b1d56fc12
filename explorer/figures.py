"""Figure builders: plain functions from arrays to plotly Figures (tested without Streamlit).

Conventions across pages: NumPy is blue, Keras is orange; signed values use a
diverging scale centred on zero; time runs left to right; every axis says
what it shows.

Every text a builder writes (titles, axes, legends, hover, notes) is in the visitor's language
(``explorer.i18n``; ``use_language("ko")`` outside Streamlit); titles and labels passed in are the
caller's, already translated. The figures are cached per language (FIGURES, below).
"""

from __future__ import annotations

import functools
import re

import numpy as np
import plotly.graph_objects as go

from rnn_core.budget import FIGURE_CACHE_BYTES

from . import chart_room, i18n
from . import palette as P
from .chart_room import text_width
from .chart_text import add_meta
from .i18n import _, ngettext
from .inert import plotly_inert
from .memo import ByteCache

Array = np.ndarray

# Colours come from the one colour-blind-safe palette (explorer/palette.py: Okabe-Ito, lines also told apart by dash).
NUMPY_COLOR = P.NUMPY
KERAS_COLOR = P.KERAS
ENGINE_COLORS = P.ENGINE_COLORS
CELL_COLORS = P.CELL_COLORS    # the "compare cells" lines: vermillion, blue, bluish green (was red against green)
DIVERGING = P.DIVERGING        # blue negative, white zero, red positive
SEQUENTIAL = P.SEQUENTIAL      # for values that cannot be negative (probabilities)
UNIT_COLORS = P.UNIT_COLORS
MAX_COLUMNS = 2000             # beyond this many steps, heatmaps and lines show per-bucket aggregates
UNIT_MARKER_STEPS = 30         # unit lines mark each step up to this many (8 traces of markers redraw slowly)


_with_alpha = P.with_alpha


def label_box() -> dict:
    """A reference line's label on a translucent white box, so a data line running through it stays readable; its
    text dark in both themes (the theme's own text colour would be white on white in the dark theme).

    A new dict each call: plotly's add_hline writes the label's position into the dict it is given.
    """
    return dict(bgcolor=P.LABEL_BOX, font=dict(color=P.INK_ON_LIGHT_FILL))


# Plotly wraps no title: a long one is cut at the figure's edge, on a 390 px phone after 52-57 characters (15 px,
# bold). wrap() breaks it at spaces into lines of at most TITLE_LINE_CHARS, and the figure grows by TITLE_LINE_PX
# per extra line, so the plot keeps its height. The first line keeps the title's first words (tests find a chart by
# the start of its title), and chart_text reads a line break as a space.
TITLE_LINE_CHARS = 48
TITLE_LINE_PX = 20
LABEL_LINE_CHARS = 40          # a label inside the plot (11 px), narrower than the figure by its margins
ORPHAN_CHARS = 5               # a last line this short joins the line before (a phone still shows ~52 characters)
_TAG = re.compile(r"<[^>]*>")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_OPERATORS = frozenset("=≈<>≤≥+−-×·:")    # stays at the end of its line (a line never starts with "= ...")


def wrap(text: str, width: int = TITLE_LINE_CHARS) -> str:
    """``text`` with a ``<br>`` at the last space before each line would pass ``width`` characters (text_width).

    Breaks only at spaces outside tags (``<span style="a b">`` stays whole), keeps the breaks already there, never
    splits a word (a word longer than ``width`` gets a line of its own), never starts a line with an operator
    such as ``=`` and leaves no last line of ORPHAN_CHARS or fewer: both stay on the line before, a few characters
    over ``width``.
    """
    lines: list[str] = []
    for line in _BREAK.split(text):
        guarded = _TAG.sub(lambda tag: tag.group(0).replace(" ", "\0"), line)   # spaces inside tags are no breaks
        current, paragraph = "", len(lines)          # paragraph: where the lines of this part of the text start
        for word in guarded.split(" "):
            joined = f"{current} {word}" if current else word
            if current and word not in _OPERATORS and text_width(joined.replace("\0", " ")) > width:
                lines.append(current)
                current = word
            else:
                current = joined
        if len(lines) > paragraph and text_width(current.replace("\0", " ")) <= ORPHAN_CHARS:   # no "k=3)" alone
            current = f"{lines.pop()} {current}"
        lines.append(current)
    return "<br>".join(lines).replace("\0", " ")


def title_layout(title: str) -> tuple[dict, int]:
    """The title at the figure's top left, wrapped (wrap), and how many pixels its extra lines add (to the top
    margin and to the figure's height)."""
    text = wrap(title or "")
    lines = text.count("<br>")
    # plotly.js centres a title's lines on its anchor, yanchor "top" or not: each extra line lifts the first by half a
    # line, which the padding gives back (else a two-line title rose under a phone's mode bar, 2 rem above the chart).
    return dict(text=text, x=0, xanchor="left", yref="container", y=1, yanchor="top",
                pad=dict(t=10 + TITLE_LINE_PX // 2 * lines), font=dict(size=15)), TITLE_LINE_PX * lines


def _layout(fig: go.Figure, title: str, height: int = 320, margin: dict | None = None, **kwargs) -> go.Figure:
    # The title at the top of the figure; a two-line aggregation note (below) gets room between it and the plot.
    noted = any(a.name == AGGREGATION_NOTE for a in fig.layout.annotations)
    margin = dict(l=60, r=20, t=74 if noted else 50, b=50) | (margin or {})
    title_dict, extra = title_layout(title)
    margin["t"] += extra
    fig.update_layout(title=title_dict, height=height + (24 if noted else 0) + extra, margin=margin, **kwargs)
    return fig


def aggregate(values: Array, max_columns: int = MAX_COLUMNS) -> tuple[Array, Array, Array | None, Array | None, int]:
    """Bucket a (T, ...) series along time into at most ``max_columns`` columns.

    Returns (step of each column, mean, min, max, bucket size); min/max are None
    when no aggregation was needed (bucket size 1).
    """
    T = values.shape[0]
    if max_columns >= T:
        return np.arange(T), values, None, None, 1
    size = -(-T // max_columns)
    pad = size * (-(-T // size)) - T
    padded = np.concatenate([values, np.full((pad,) + values.shape[1:], np.nan)]) if pad else values
    buckets = padded.reshape(-1, size, *values.shape[1:])
    with np.errstate(all="ignore"):
        return (np.arange(buckets.shape[0]) * size, np.nanmean(buckets, axis=1), np.nanmin(buckets, axis=1),
                np.nanmax(buckets, axis=1), size)


AGGREGATION_NOTE = "aggregation"     # the name of the note's annotation


def _aggregation_note(fig: go.Figure, size: int, T: int, lines: bool = False) -> None:
    """Two short lines above the plot (a half-width chart has room for about 50 characters a line)."""
    if size > 1:
        add_meta(fig, aggregated={"size": size, "steps": T})
        note = (_("aggregated: lines show the mean, bands the min-max<br>of {size} steps ({T:,} in all); "
                  "zoom to see raw steps") if lines else
                _("aggregated: each column is the mean of {size} steps<br>({T:,} in all); zoom to see raw steps"))
        fig.add_annotation(text=note.format(size=size, T=T), name=AGGREGATION_NOTE, align="left", xanchor="left",
                           xref="paper", yref="paper", x=0, y=1.0, yanchor="bottom", showarrow=False,
                           font=P.ANNOTATION_FONT)


def _time_axis(n: int, time_values) -> Array | None:
    """The x positions of ``n`` steps when time values (dates or numbers) are given, else None (step numbers)."""
    if time_values is None:
        return None
    values = np.asarray(time_values)
    if len(values) != n:
        raise ValueError(f"time_values has {len(values)} entries for {n} steps.")
    return values


def _highlight_span(times: Array, i: int) -> tuple:
    """(x0, x1) around column i, halfway to its neighbours (time values need not be evenly spaced)."""
    x = times.astype("datetime64[ns]") if times.dtype.kind == "M" else times.astype(np.float64)
    if len(x) == 1:
        before = after = np.timedelta64(12, "h") if x.dtype.kind == "M" else 0.5
    else:
        before = (x[i] - x[i - 1] if i > 0 else x[1] - x[0]) / 2
        after = (x[i + 1] - x[i] if i < len(x) - 1 else x[i] - x[i - 1]) / 2
    left, right = x[i] - before, x[i] + after
    return (str(left), str(right)) if x.dtype.kind == "M" else (float(left), float(right))


def symmetric_range(values: Array) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size and finite.max() > 0 else 1.0


def states_heatmap(states: Array, title: str, quantity: str = "h", highlight: int | None = None,
                   step_offset: int = 0, zmax: float | None = None, rows: str | None = None,
                   signed: bool = True, time_values=None, time_label: str | None = None) -> go.Figure:
    """Heatmap of a (T, H) array: time on x, unit on y.

    Signed values get a diverging scale centred on zero; ``signed=False``
    (probabilities) a sequential one from zero. ``time_values`` (T,), dates or
    numbers of each row of ``states``, label the x axis instead of the step
    numbers (``time_label``, the visitor's column name, names them: written inert for Plotly's HTML and hover
    templates); ``highlight`` stays a step number. ``rows`` names the y axis (default: unit, translated).
    """
    rows = rows if rows is not None else _("unit")
    time_name = plotly_inert(time_label) if time_label else _("time")
    T, H = states.shape
    times = _time_axis(T, time_values)
    steps, mean, _lo, _hi, size = aggregate(states)
    zmax = zmax if zmax is not None else symmetric_range(mean)
    scale = dict(colorscale=DIVERGING, zmid=0, zmin=-zmax, zmax=zmax) if signed else \
        dict(colorscale=SEQUENTIAL, zmin=0, zmax=zmax)
    x = steps + step_offset if times is None else times[steps]
    where = "t=%{x}" if times is None else f"{time_name}=%{{x}}"
    fig = go.Figure(go.Heatmap(
        z=mean.T, x=x, y=np.arange(H), **scale,
        colorbar=dict(title=dict(text=quantity)),
        hovertemplate=f"{where}<br>{rows}=%{{y}}<br>{quantity}=%{{z:.5g}}<extra></extra>",
    ))
    if highlight is not None and times is None:
        fig.add_vrect(x0=highlight - 0.5, x1=highlight + 0.5, line=dict(color=P.HIGHLIGHT_OUTLINE, width=2))
    elif highlight is not None and 0 <= highlight - step_offset < T:
        x0, x1 = _highlight_span(times, highlight - step_offset)
        fig.add_vrect(x0=x0, x1=x1, line=dict(color=P.HIGHLIGHT_OUTLINE, width=2))
    _aggregation_note(fig, size, T)
    fig.update_xaxes(title_text=_("time step t") if times is None else time_name)
    fig.update_yaxes(title_text=rows, autorange="reversed")
    return _layout(fig, title, height=int(np.clip(220 + 3 * H, 300, 640)))   # taller for many units


def unit_lines(runs: dict[str, Array], units: list[int], title: str, highlight: int | None = None,
               quantity: str = "h_t", step_offset: int = 0, time_values=None,
               time_label: str | None = None) -> go.Figure:
    """Lines of chosen units over time: one colour per unit, NumPy solid and Keras dashed on top.

    ``time_values`` (T,) put dates or numbers on the x axis instead of step numbers, as in states_heatmap.
    """
    fig = go.Figure()
    time_name = plotly_inert(time_label) if time_label else _("time")     # the visitor's column name
    for engine, states in runs.items():
        times = _time_axis(states.shape[0], time_values)
        steps, mean, lo, hi, size = aggregate(states)
        x = steps + step_offset if times is None else times[steps]
        keras = engine == "Keras"
        where = "t=%{x}" if times is None else f"{time_name}=%{{x}}"
        for i, u in enumerate(units):
            if lo is not None and not keras:
                # Aggregated: the min-max range of each bucket as a band behind the mean line.
                color = UNIT_COLORS[i % len(UNIT_COLORS)]
                fig.add_trace(go.Scatter(x=x, y=hi[:, u], mode="lines", line=dict(width=0),
                                         showlegend=False, hoverinfo="skip", legendgroup=f"unit {u}"))
                fig.add_trace(go.Scatter(x=x, y=lo[:, u], mode="lines", line=dict(width=0),
                                         fill="tonexty", fillcolor=_with_alpha(color, 0.2),
                                         name=_("unit {u} min-max").format(u=u),
                                         hoverinfo="skip", legendgroup=f"unit {u}", showlegend=False))
            fig.add_trace(go.Scatter(
                x=x, y=mean[:, u], mode="lines+markers" if len(steps) <= UNIT_MARKER_STEPS else "lines",
                name=_("unit {u} ({engine})").format(u=u, engine=engine), legendgroup=f"unit {u}",
                line=dict(color=UNIT_COLORS[i % len(UNIT_COLORS)], dash="dash" if keras else "solid",
                          width=1.5 if keras else 2.5),
                marker=dict(symbol="x-thin-open" if keras else "circle", size=8 if keras else 6),
                hovertemplate=_("{engine} unit {u}").format(engine=engine, u=u)
                + f"<br>{where}<br>{quantity}=%{{y:.5g}}<extra></extra>",
            ))
    _aggregation_note(fig, size, states.shape[0], lines=True)   # every engine has the same T
    if highlight is not None and time_values is None:
        fig.add_vline(x=highlight, line=dict(color=P.REFERENCE_LINE, dash="dot"))
    elif highlight is not None and 0 <= highlight - step_offset < len(time_values):
        at = np.asarray(time_values)[highlight - step_offset]
        fig.add_vline(x=str(at) if np.asarray(time_values).dtype.kind == "M" else float(at),
                      line=dict(color=P.REFERENCE_LINE, dash="dot"))
    fig.update_xaxes(title_text=_("time step t") if time_values is None else time_name)
    fig.update_yaxes(title_text=quantity)
    return _layout(fig, title)


def unrolled_diagram(T: int, D: int, H: int, return_sequences: bool, return_state: bool, go_backwards: bool,
                     highlight: int | None = None, max_cells: int = 6, cell_name: str = "cell",
                     state_names: tuple[str, ...] = ("h",), gate_names: tuple[str, ...] = ()) -> go.Figure:
    """The network unrolled in time: x_t -> [cell] -> h_t, with shapes on the arrows.

    Cells are drawn in processing order; with go_backwards the input feeding
    cell i is x_{T-1-i}. Outputs that the layer does not return are greyed out.
    Every carried state gets its own lane between the cells (an LSTM carries h
    and c), and each cell lists its gates. Annotations and shapes are
    collected as plain dicts and set once: plotly's add_annotation copies
    every earlier annotation, which made this figure slow.

    Drawn to fit a 390 px phone as well as a wide screen (Plotly scales the geometry, not the text): at most
    ``max_cells`` columns, the cell's name once in the line above (not in every box), each shape on a line of its
    own under its name, the final states' label under their arrows.
    """
    shown = list(range(T)) if max_cells >= T else list(range(max_cells - 2)) + [None, T - 1]
    ink, faded = P.DIAGRAM_INK, P.DIAGRAM_FADED          # mid-grey: readable on light and dark themes
    lane_color = {"h": ink, "c": P.CELL_STATE_LANE}      # the LSTM's cell state c_t in its own colour
    lanes = {name: 1.0 + 0.18 * (len(state_names) - 1) * (0.5 - k) * 2 for k, name in enumerate(state_names)}
    pitch, box = 1.6, 1.2                                # a column's width, a cell's (the rest is the lane's arrow)
    mid = box / 2
    notes: list[dict] = []
    shapes: list[dict] = []

    def arrow(x, y, ax, ay, color=ink):
        notes.append(dict(x=x, y=y, ax=ax, ay=ay, xref="x", yref="y", axref="x", ayref="y", text="",
                          showarrow=True, arrowhead=2, arrowcolor=color))

    def label(x, y, text, color=None, size=11, **placement):
        font = dict(size=size) | ({} if color is None else {"color": color})     # no colour: the theme's text
        notes.append(dict(x=x, y=y, text=text, showarrow=False, font=font, **placement))

    gates = " ".join(gate_names)
    for col, i in enumerate(shown):
        x0 = col * pitch
        if i is None:
            notes.append(dict(x=x0 + mid, y=1.0, text="...", showarrow=False, font=dict(size=20)))
            continue
        lit = highlight == i
        shapes.append(dict(type="rect", x0=x0, x1=x0 + box, y0=0.62, y1=1.38,
                           line=dict(color=ink, width=3 if lit else 1),
                           fillcolor=P.DIAGRAM_HIGHLIGHT if lit else P.DIAGRAM_FILL))
        label(x0 + mid, 1.0, _("step {i}").format(i=i) + (f"<br><i>{gates}</i>" if gates else ""),
              color=P.INK_ON_LIGHT_FILL)
        src = T - 1 - i if go_backwards else i
        arrow(x0 + mid, 0.62, x0 + mid, 0.05)
        label(x0 + mid, 0.0, f"x<sub>{src}</sub><br>(B, {D})", yanchor="top")
        returned = return_sequences or i == T - 1
        arrow(x0 + mid, 1.95, x0 + mid, 1.38, ink if returned else faded)
        # An output the layer does not return: its name only, over a faded arrow; the line above says which.
        label(x0 + mid, 2.0, f"h<sub>{i}</sub><br>(B, {H})" if returned else f"h<sub>{i}</sub>", yanchor="bottom")
        if col + 1 < len(shown):
            for k, (name, y) in enumerate(lanes.items()):
                arrow(x0 + pitch, y, x0 + box, y, lane_color.get(name, ink))
                if len(lanes) > 1 and col == 0:          # the upper lane's name above it, the lower one's below
                    label(x0 + (box + pitch) / 2, y + (0.1 if k == 0 else -0.1), f"{name}<sub>t</sub>",
                          color=lane_color.get(name, ink), yanchor="bottom" if k == 0 else "top")
    last_x = (len(shown) - 1) * pitch
    if return_state:
        for _name, y in lanes.items():
            arrow(last_x + box + 1.0, y, last_x + box, y, KERAS_COLOR)
        states_word = ngettext("state", "states", len(state_names))
        what = "<br>".join(f"{n}<sub>T</sub> (B, {H})" for n in state_names)
        notes.append(dict(x=last_x + box + 0.15, y=min(lanes.values()) - 0.12, text=f"{states_word}<br>{what}",
                          showarrow=False, xanchor="left", yanchor="top", align="left",
                          font=dict(size=11)))      # the arrows are vermillion; text in the theme's colour
    out = (_("output {shape}: every {h}").format(shape=f"(B, {T}, {H})", h="h<sub>t</sub>") if return_sequences
           else _("output {shape}: last h only").format(shape=f"(B, {H})"))
    dropped = [i for i in shown if i is not None and not (return_sequences or i == T - 1)]
    if dropped:                                          # "h_0 … h_10 not returned" (or the one step's name)
        names = f"h<sub>{dropped[0]}</sub>" + (f" … h<sub>{T - 2}</sub>" if T > 2 else "")
        out += "<br>" + _("{h} not returned").format(h=names)
    notes.append(dict(x=0, y=2.6, text=f"{cell_name} · {out}", showarrow=False, xanchor="left", yanchor="bottom",
                      align="left", font=dict(size=12)))
    fig = go.Figure(layout=dict(annotations=notes, shapes=shapes))
    add_meta(fig, shapes={"steps": T, "input": f"(B, {T}, {D})",
                          "output": f"(B, {T}, {H})" if return_sequences else f"(B, {H})",
                          "states": [f"{n}_T" for n in state_names] if return_state else [], "state": f"(B, {H})",
                          "backwards": go_backwards})
    fig.update_xaxes(visible=False, range=[-0.3, last_x + (box + 2.2 if return_state else box + 0.3)])
    fig.update_yaxes(visible=False, range=[-0.7, 3.35 if dropped else 3.05])
    title = _("Unrolled in time (go_backwards: cell 0 reads the last input)") if go_backwards else _("Unrolled in time")
    return _layout(fig, title, height=280 if dropped else 260, margin=dict(l=10, r=10, b=10),
                   plot_bgcolor="rgba(0,0,0,0)")


def gradient_norms(norms: dict[str, Array], title: str, decay=None, step_offset: int = 0,
                   rates: dict | None = None) -> go.Figure:
    """||dL/dh_t|| over t on a log axis, one line per engine (or per cell); non-finite values marked as such.

    ``rates`` (name -> DecayFit or None) puts each line's measured per-step factor in its legend entry.
    """
    fig = go.Figure()
    colors = ENGINE_COLORS | CELL_COLORS
    for engine, values in norms.items():
        values = np.asarray(values, np.float64)
        steps, mean, _lo, _hi, size = aggregate(values)
        shown = np.where(np.isfinite(mean) & (mean > 0), mean, np.nan)
        fit = (rates or {}).get(engine)
        name = engine if fit is None else _("{engine}: x{factor:.3g} per step back").format(engine=engine,
                                                                                            factor=fit.factor)
        fig.add_trace(go.Scatter(x=steps + step_offset, y=shown, mode="lines+markers" if len(steps) <= 80 else "lines",
                                 name=name, line=dict(color=colors.get(engine),
                                                        dash=P.ENGINE_DASHES.get(engine) or P.CELL_DASHES.get(engine)),
                                 marker=dict(symbol=P.CELL_MARKERS.get(engine, "circle")),
                                 hovertemplate=f"{engine}<br>t=%{{x}}<br>||dL/dh_t||=%{{y:.4g}}<extra></extra>"))
        bad = ~np.isfinite(values)
        if bad.any():
            fig.add_trace(go.Scatter(x=np.flatnonzero(bad) + step_offset, y=np.ones(int(bad.sum())), mode="markers",
                                     marker=dict(symbol="x", color=P.OVERFLOW_MARKER, size=9),
                                     name=f"{engine}: inf/nan",
                                     hovertemplate="t=%{x}: " + _("overflow (inf or nan)") + "<extra></extra>"))
        _aggregation_note(fig, size, len(values))
    if decay is not None:
        fit = (_("fit: x{factor:.3g} per step back (halves every {steps:.3g} steps, R²={r2:.2f})")
               if decay.factor < 1 else
               _("fit: x{factor:.3g} per step back (doubles every {steps:.3g} steps, R²={r2:.2f})"))
        add_meta(fig, fit={"factor": decay.factor, "half_life": decay.half_life, "r2": decay.r2})
        fig.add_annotation(text=fit.format(factor=decay.factor, steps=decay.half_life, r2=decay.r2),
                           xref="paper", yref="paper", x=1, y=1.0, xanchor="right", yanchor="bottom", showarrow=False,
                           font=dict(size=11))
    fig.update_yaxes(type="log", title_text=_("||dL/dh_t|| (log)"), exponentformat="power")
    fig.update_xaxes(title_text=_("time step t"))
    return _layout(fig, title, legend=dict(orientation="h", y=-0.25))


def jacobian_map(steps: Array, log10_norm: Array, method: str, state: str = "h") -> go.Figure:
    """log10 ||ds_t/ds_k|| for k <= t (s = h, or the LSTM's whole state (h, c)): blue where influence vanishes,
    red where it explodes."""
    finite = log10_norm[np.isfinite(log10_norm)]
    zmax = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    fig = go.Figure(go.Heatmap(
        z=log10_norm, x=steps, y=steps, colorscale=DIVERGING, zmid=0, zmin=-zmax, zmax=zmax,
        colorbar=dict(title=dict(text=f"log10 ||d{state}_t/d{state}_k||")),
        hovertemplate=_("from {s}_k, k={k}<br>to {s}_t, t={t}").format(s=state, k="%{x}", t="%{y}")
                      + f"<br>log10 ||d{state}_t/d{state}_k|| = %{{z:.3g}}<extra></extra>",
    ))
    fig.update_xaxes(title_text=_("earlier state k"))
    fig.update_yaxes(title_text=_("later state t"), autorange="reversed")
    fig.add_annotation(text=i18n.text(method, markdown=False), xref="paper", yref="paper", x=0, y=1.0, yanchor="bottom",
                       showarrow=False, font=P.ANNOTATION_FONT)
    return _layout(fig, _("How much {s}_k still moves {s}_t: ||d{s}_t/d{s}_k||").format(s=state), height=380)


def step_sigmas(sigma: Array, bound: float | None, method: str, steps: Array | None = None,
                title: str | None = None, state: str = "h") -> go.Figure:
    """Largest singular value of each step Jacobian, with Pascanu's bound gamma * sigma_max(U) (SimpleRNN; None
    for gated cells, which have no such bound) and the line 1. ``title``: the caller's, or the SimpleRNN's."""
    title = title if title is not None else _("Per-step stretch: largest singular value of J_t = diag(f'(z_t)) Uᵀ")
    neither = _("1: neither shrinks nor grows")
    sigma = np.asarray(sigma, np.float64)
    steps = np.arange(len(sigma)) if steps is None else np.asarray(steps)
    fig = go.Figure(go.Scatter(x=steps, y=sigma, mode="lines+markers" if len(steps) <= 80 else "lines",
                               name="sigma_max(J_t)", line=dict(color=NUMPY_COLOR),
                               hovertemplate="t=%{x}<br>sigma_max(J_t)=%{y:.4g}<extra></extra>"))
    if bound is None:                      # gated cells: sigma hugs 1 from below, so the label goes above the line
        fig.add_hline(y=1.0, line=dict(color=P.REFERENCE_LINE, dash="dot"), annotation_text=neither,
                      annotation_position="top right", annotation=label_box())
        top = max(1.0, float(np.nanmax(sigma))) if np.isfinite(sigma).any() else 1.0
        fig.update_yaxes(range=[0, 1.2 * top])                       # room for the label inside the plot
    elif abs(bound - 1.0) < 0.05:                # a long label: two lines (a phone shows ~50 characters), room above
        fig.add_hline(y=bound, line=dict(color=P.BOUND_LINE, dash="dash"),
                      annotation_text=wrap(_("bound gamma·sigma_max(U) = {bound:.3g} ≈ 1 (neither shrinks nor grows)")
                                           .format(bound=bound), LABEL_LINE_CHARS),
                      annotation_position="top left", annotation=label_box())
        top = max(bound, float(np.nanmax(sigma))) if np.isfinite(sigma).any() else bound
        fig.update_yaxes(range=[0, 1.3 * top])
    else:
        fig.add_hline(y=bound, line=dict(color=P.BOUND_LINE, dash="dash"),
                      annotation_text=_("bound gamma·sigma_max(U) = {bound:.3g}").format(bound=bound),
                      annotation_position="top left", annotation=label_box())
        fig.add_hline(y=1.0, line=dict(color=P.REFERENCE_LINE, dash="dot"), annotation_text=neither,
                      annotation_position="bottom left", annotation=label_box())
    fig.add_annotation(text=i18n.text(method, markdown=False), xref="paper", yref="paper", x=1, y=1.0, xanchor="right",
                       yanchor="bottom", showarrow=False, font=P.ANNOTATION_FONT)
    add_meta(fig, stretch={"above": int(np.sum(sigma > 1.0)), "steps": len(sigma), "bound": bound})
    fig.update_xaxes(title_text=_("time step t"))
    fig.update_yaxes(title_text=f"sigma_max(d{state}_t/d{state}_{{t-1}})", rangemode="tozero")
    return _layout(fig, title)


def carry_products(distance: Array, log10_mean: Array, log10_max: Array, gate_label: str) -> go.Figure:
    """The product of a gated cell's carry gate along the path back from the last step (log10, mean and max
    over units): the part of the gradient the cell passes on untouched (LSTM: the constant error carousel).
    ``gate_label`` is the cell's label of the gate (rnn_core's gate_labels, English or already translated)."""
    d = np.arange(len(log10_mean))
    fig = go.Figure()
    hover = _("distance {d}<br>log10 product = {p}").format(d="%{x}", p="%{y:.3g}")
    for values, name, dash in ((log10_max, _("largest unit"), "dot"), (log10_mean, _("mean over units"), "solid")):
        shown = np.where(np.isfinite(values), values, np.nan)
        fig.add_trace(go.Scatter(x=d, y=shown, mode="lines", name=name, line=dict(color=CELL_COLORS["LSTM"], dash=dash),
                                 hovertemplate=f"{name}<br>{hover}<extra></extra>"))
    fig.add_hline(y=0.0, line=dict(color=P.REFERENCE_LINE, dash="dot"), annotation_text=_("1: passed on in full"),
                  annotation_position="bottom right", annotation=label_box())   # the products start at 1, bottom left
    if len(d) > 1 and np.isfinite(log10_mean[-1]) and np.isfinite(log10_max[-1]):
        add_meta(fig, carry={"distance": int(d[-1]), "mean": 10.0 ** float(log10_mean[-1]),
                             "max": 10.0 ** float(log10_max[-1])})
    fig.update_xaxes(title_text=_("steps back from the last step (t − k)"))
    fig.update_yaxes(title_text=_("log10 prod of the gate"))
    title = _("Products of the {label} along the path back").format(label=i18n.text(gate_label, markdown=False))
    return _layout(fig, title, legend=dict(orientation="h", y=-0.25))


def contributions(values: Array) -> go.Figure:
    """||h_{t-1}^T dz_t||_F: how much each step adds to dL/d(recurrent_kernel)."""
    steps, mean, _lo, _hi, size = aggregate(np.asarray(values, np.float64))
    fig = go.Figure(go.Bar(x=steps, y=mean, marker_color=NUMPY_COLOR,
                           hovertemplate="t=%{x}<br>||h_{t-1}ᵀ dz_t||=%{y:.4g}<extra></extra>"))
    _aggregation_note(fig, size, len(values))
    fig.update_xaxes(title_text=_("time step t"))
    fig.update_yaxes(title_text=_("Frobenius norm"))
    return _layout(fig, _("Each step's share of dL/d(recurrent_kernel)"), height=280)


def parity_bars(rows: list[tuple[str, float, float]]) -> go.Figure:
    """Max |NumPy - Keras| per tensor against its tolerance (log scale): green under, red over."""
    names = [r[0] for r in rows]
    diffs = [max(r[1], 1e-12) for r in rows]
    tols = [r[2] for r in rows]
    over = [d > t for d, t in zip(diffs, tols, strict=True)]
    # Over the tolerance: vermillion and hatched, so a bar reads without its colour.
    fig = go.Figure(go.Bar(x=diffs, y=names, orientation="h", marker_color=[P.OVER if o else P.WITHIN for o in over],
                           marker_pattern_shape=[P.OVER_PATTERN if o else "" for o in over],
                           name=_("max |difference|"), hovertemplate="%{y}: %{x:.3g}<extra></extra>"))
    fig.add_trace(go.Scatter(x=tols, y=names, mode="markers",
                             marker=dict(symbol="line-ns-open", size=16, color=P.TOLERANCE_MARKER),
                             name=_("tolerance")))
    if rows:
        worst = int(np.argmax([r[1] for r in rows]))
        add_meta(fig, parity={"name": names[worst], "difference": rows[worst][1], "tolerance": tols[worst],
                              "over": sum(over), "tensors": len(rows)})
    fig.update_xaxes(type="log", title_text=_("max |NumPy - Keras| (log)"), exponentformat="power")
    return _layout(fig, _("Agreement of every tensor"), height=120 + 26 * len(rows),
                   legend=dict(orientation="h", y=-0.2))


# -- each figure built once for every visitor ----------------------------------------------------------
# The builders are pure functions of their arguments, and building a figure (plotly validates every
# property) costs 30-100 ms on every rerun of every visitor. The server builds each once and shares it
# (st.plotly_chart serialises its own copy per visitor), in a cache bounded by bytes (explorer/memo.py).
# A figure's texts are in the visitor's language: the language is part of every key (context=).
FIGURES = ByteCache(FIGURE_CACHE_BYTES)


def figure_bytes(fig: go.Figure) -> int:
    """What a kept figure costs: its arrays twice (plotly's copy and the JSON a visitor gets), from its JSON."""
    import plotly.io

    return 2 * len(plotly.io.to_json(fig, validate=False))


def roomy(fn):
    """``fn`` returning its figure with the room its margins need (explorer/chart_room.py: one draw, not two)."""
    @functools.wraps(fn)
    def build(*args, **kwargs):
        return chart_room.make_room(fn(*args, **kwargs))
    return build


def _memoize(fn):
    return FIGURES.memoize(roomy(fn), sizeof=figure_bytes, context=i18n.current_language)


states_heatmap = _memoize(states_heatmap)
unit_lines = _memoize(unit_lines)
unrolled_diagram = _memoize(unrolled_diagram)
gradient_norms = _memoize(gradient_norms)
jacobian_map = _memoize(jacobian_map)
step_sigmas = _memoize(step_sigmas)
contributions = _memoize(contributions)
parity_bars = _memoize(parity_bars)
