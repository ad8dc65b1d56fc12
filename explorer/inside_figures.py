"""Figure builders of the "Inside a trained network" page: plain functions from arrays to plotly Figures.

No Streamlit here (tests/test_inside_figures.py checks their data). Conventions, as in explorer/figures.py:
signed unit values on a diverging scale centred on 0 (``RdBu_r``, ColorBrewer's colour-blind-safe diverging
map), values in [0, 1] (gates) on a sequential one from 0; categories in the Okabe-Ito palette, which stays
distinct for the common colour-vision deficiencies; every axis says what it shows. Text the visitor brought
(the characters of a text) goes through ``plotly_inert``: Plotly renders a subset of HTML in every text.
Titles passed in are the caller's, already translated.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import get_colorscale, sample_colorscale

from . import i18n, palette
from .chart_text import add_meta
from .figures import DIVERGING, FIGURES, SEQUENTIAL, figure_bytes, label_box, roomy, symmetric_range, title_layout
from .i18n import _
from .inert import plotly_inert

Array = np.ndarray

# Okabe & Ito (2008), "Color Universal Design": orange, sky blue, bluish green, yellow, blue, vermillion,
# reddish purple, black (explorer/palette.py).
OKABE_ITO = palette.OKABE_ITO
MARKER_COLORS = tuple(c for c in OKABE_ITO if c != palette.YELLOW)   # for markers on white: without the yellow
VIRIDIS_ON_WHITE = [[float(v / 0.85), c] for v, c in zip(np.linspace(0, 0.85, 8),
                                                  sample_colorscale("Viridis", list(np.linspace(0, 0.85, 8))),
                                                  strict=True)]
GATE_COLORS = palette.GATE_COLORS       # the gates of one cell shown together stay apart (i f o; z r)
SELECTION_COLOR = palette.SELECTION_FILL     # the selected span
MATCH_COLOR = palette.MATCH_FILL             # the spans that match it
MARKER_COLOR = palette.STEP_MARKER           # step t on the trajectory
POINT_COLOR = palette.FIXED_POINT            # fixed points: filled when stable, hollow when not
GREY = palette.REFERENCE_LINE
LINE_CHARS = 60                    # characters per line of the text view
SPACE = "·"                        # how a space is drawn (a blank cell would hide what the unit does there)
SHOWN_CHARS = {" ": SPACE, "\n": "↵", "\t": "→"}
MAX_EIGEN_POINTS = 6               # eigenvalue spectra of at most this many fixed points
MAX_TRAJECTORY_POINTS = 20_000     # points drawn in the state-space figure (evenly thinned beyond)


def _layout(fig: go.Figure, title: str, height: int = 360, margin: dict | None = None, **kwargs) -> go.Figure:
    # The title as on every page (explorer/figures.py: title_layout): top left, wrapped, the figure taller by its lines.
    margin = dict(l=60, r=20, t=50, b=50) | (margin or {})
    title_dict, extra = title_layout(title)
    margin["t"] += extra
    fig.update_layout(title=title_dict, height=height + extra, margin=margin, **kwargs)
    return fig


def _on_white(fig: go.Figure, legend_y: float) -> go.Figure:
    """A 2-D figure that paints its own white plot area: light grid and zero lines, a white legend with dark text,
    the same in both themes (the theme's own grid and legend colours are the dark theme's on a white plot)."""
    fig.update_xaxes(gridcolor=palette.GRID_ON_WHITE, zerolinecolor=palette.ZERO_LINE_ON_WHITE)
    fig.update_yaxes(gridcolor=palette.GRID_ON_WHITE, zerolinecolor=palette.ZERO_LINE_ON_WHITE)
    return fig.update_layout(plot_bgcolor=palette.WHITE,
                             legend=dict(orientation="h", y=legend_y, bgcolor=palette.WHITE,
                                         font=dict(color=palette.INK_ON_LIGHT_FILL)))


# -- colours and contrast ----------------------------------------------------------------------------------


def _luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG 2 relative luminance of an sRGB colour with channels in [0, 255]."""
    c = np.asarray(rgb, np.float64) / 255.0
    lin = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2])


def contrast_ratio(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """WCAG 2 contrast ratio (L_lighter + 0.05) / (L_darker + 0.05), from 1 to 21."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _rgb(color: str) -> tuple[float, float, float]:
    if color.startswith("#"):
        return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
    return tuple(float(v) for v in color[color.index("(") + 1:color.index(")")].split(",")[:3])


def cell_colors(values: Array, colorscale: str, zmin: float, zmax: float) -> list[str]:
    """The colour plotly gives each value on ``colorscale`` from zmin to zmax (NaN: white)."""
    span = zmax - zmin if zmax > zmin else 1.0
    where = np.clip((np.nan_to_num(np.asarray(values, np.float64), nan=zmin) - zmin) / span, 0.0, 1.0)
    colors = sample_colorscale(get_colorscale(colorscale), list(where))
    return [c if np.isfinite(v) else "rgb(255, 255, 255)" for c, v in zip(colors, np.asarray(values), strict=True)]


def text_color_on(background: str) -> str:
    """Black or white, whichever contrasts more with ``background`` (always >= 4.58:1: WCAG AA for text)."""
    bg = _rgb(background)
    return palette.BLACK if contrast_ratio(bg, (0, 0, 0)) >= contrast_ratio(bg, (255, 255, 255)) else palette.WHITE


def shown_char(ch: str) -> str:
    """A character as the text view draws it: spaces and line breaks visible, the rest as Plotly's literal text."""
    return SHOWN_CHARS.get(ch, plotly_inert(ch) or "?")


def _scale(values: Array, signed: bool) -> dict:
    if signed:
        zmax = symmetric_range(values)
        return dict(colorscale=DIVERGING, zmin=-zmax, zmax=zmax, zmid=0)
    top = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
    return dict(colorscale=SEQUENTIAL, zmin=0.0, zmax=max(top, 1.0))        # gates: 0 to 1


# -- the text view -----------------------------------------------------------------------------------------


def text_heat(text: str, values: Array, title: str, quantity: str = "h", signed: bool = True,
              span: tuple[int, int] | None = None, matches: list[tuple[int, int]] = (),
              line_chars: int = LINE_CHARS) -> go.Figure:
    """Each character of ``text`` on a cell coloured by ``values`` (len(text),), wrapped into lines.

    A heatmap of the values (rows: lines of ``line_chars`` characters) with the characters written on it as a
    text trace, each in black or white, whichever contrasts more with its cell. ``span`` [start, stop) is
    outlined in black, ``matches`` dashed.
    """
    values = np.asarray(values, np.float64)
    T = len(text)
    if values.shape != (T,):
        raise ValueError(f"values has shape {values.shape}; expected ({T},), one per character.")
    rows = max(1, -(-T // line_chars))
    grid = np.full(rows * line_chars, np.nan)
    grid[:T] = values
    scale = _scale(values, signed)
    steps = np.arange(T)
    col, row = steps % line_chars, steps // line_chars
    fig = go.Figure(go.Heatmap(z=grid.reshape(rows, line_chars), x=np.arange(line_chars), y=np.arange(rows),
                               **scale, hoverinfo="skip", xgap=1, ygap=1,
                               colorbar=dict(title=dict(text=quantity), thickness=12)))
    colors = [text_color_on(c) for c in cell_colors(values, scale["colorscale"], scale["zmin"], scale["zmax"])]
    chars = [shown_char(ch) for ch in text]
    fig.add_trace(go.Scatter(
        x=col, y=row, mode="text", text=chars, textfont=dict(color=colors, size=13, family="monospace"),
        customdata=np.stack([steps, values], axis=1), showlegend=False, name="",
        hovertemplate="t=%{customdata[0]}  «%{text}»<br>" + f"{quantity}=" + "%{customdata[1]:.4f}<extra></extra>"))
    outlines = [] if span is None else [(span[0], span[1], "solid", 2.5)]
    outlines += [(start, stop, "dot", 1.5) for start, stop in matches]
    for start, stop, dash, width in outlines:
        for line in range(start // line_chars, (stop - 1) // line_chars + 1):     # a span may wrap onto lines
            first, last = max(start, line * line_chars), min(stop, (line + 1) * line_chars) - 1
            fig.add_shape(type="rect", x0=first % line_chars - 0.5, x1=last % line_chars + 0.5, y0=line - 0.5,
                          y1=line + 0.5, line=dict(color=palette.HIGHLIGHT_OUTLINE, width=width, dash=dash))
    fig.update_xaxes(visible=False, range=[-0.5, line_chars - 0.5])
    fig.update_yaxes(visible=False, autorange="reversed")
    finite = np.isfinite(values)
    if finite.any():                           # the key numbers: where the unit is highest and lowest in the text
        top, low = (int(np.argmax(np.where(finite, values, -np.inf))), int(np.argmin(np.where(finite, values, np.inf))))
        add_meta(fig, text_view={"quantity": quantity, "characters": T,
                                 "peak": {"t": top, "char": text[top], "value": values[top]},
                                 "low": {"t": low, "char": text[low], "value": values[low]}})
    else:
        add_meta(fig, text_view={"quantity": quantity, "characters": T})
    return _layout(fig, title, height=max(220, 90 + 24 * rows), plot_bgcolor=palette.WHITE)


def unit_and_signal(values: Array, signal: Array, unit: int, quantity: str, signal_label: str, r: float,
                    text: str | None = None, limit: int = 200) -> go.Figure:
    """One unit's value over the first ``limit`` steps with the signal it follows, on two y axes (a signal of
    whole numbers, such as the depth, with a tick at each)."""
    values, signal = np.asarray(values, np.float64)[:limit], np.asarray(signal, np.float64)[:limit]
    steps = np.arange(len(values))
    hover_chars = None if text is None else [shown_char(ch) for ch in text[:limit]]
    where = "t=%{x}" + ("  «%{text}»" if text is not None else "")
    fig = go.Figure()
    # Drawn on the theme's background: two of the line colours with 3:1 on both themes (orange has 2:1 on white).
    fig.add_trace(go.Scatter(x=steps, y=signal, name=signal_label, yaxis="y2", line=dict(color=palette.VERMILLION,
                             width=2, shape="hv"), text=hover_chars,
                             hovertemplate=where + "<br>" + plotly_inert(signal_label) + "=%{y:.3g}<extra></extra>"))
    fig.add_trace(go.Scatter(x=steps, y=values, name=_("unit {unit}").format(unit=unit),
                             line=dict(color=palette.BLUE, width=1.6), text=hover_chars,
                             hovertemplate=where + f"<br>{quantity}=" + "%{y:.4f}<extra></extra>"))
    whole = bool(signal.size) and np.all(signal == np.round(signal)) and np.ptp(signal) <= 12
    ticks = dict(dtick=1, range=[signal.min() - 0.5, signal.max() + 0.5]) if whole else {}
    fig.update_layout(yaxis=dict(title=dict(text=f"{quantity} ({_('unit {unit}').format(unit=unit)})")),
                      yaxis2=dict(title=dict(text=signal_label), overlaying="y", side="right", showgrid=False,
                                  **ticks),
                      legend=dict(orientation="h", y=-0.22))
    fig.update_xaxes(title_text=_("character") if text is not None else _("time step t"))
    title = _("Unit {unit} and the {signal}: Pearson r = {r:+.2f}").format(unit=unit, signal=signal_label, r=r)
    return _layout(fig, title, height=340, margin=dict(l=60, r=60, t=50, b=50))


def correlation_bars(all_r: Array, signal_label: str, top: int = 3) -> go.Figure:
    """Pearson r of every unit with the signal; the ``top`` units with the largest |r| in vermillion."""
    r = np.asarray(all_r, np.float64)
    units = np.arange(len(r))
    best = np.lexsort((units, -np.abs(r)))[:top]
    rest = np.setdiff1d(units, best)
    fig = go.Figure()
    hover = _("unit") + " %{x}: r=%{y:+.3f}<extra></extra>"
    fig.add_trace(go.Bar(x=rest, y=r[rest], name=_("other units"), marker_color=OKABE_ITO[1], hovertemplate=hover))
    fig.add_trace(go.Bar(x=best, y=r[best], name=_("the {n} most correlated").format(n=len(best)),
                         marker_color=OKABE_ITO[5], hovertemplate=hover))
    fig.update_xaxes(title_text=_("unit"))
    fig.update_yaxes(title_text="r", range=[-1.05, 1.05], zeroline=True)
    fig.update_layout(barmode="overlay", bargap=0.15, legend=dict(orientation="h", y=-0.25))
    return _layout(fig, _("Pearson r of each unit with the {signal}").format(signal=signal_label), height=320)


# -- select and match --------------------------------------------------------------------------------------


def selection_lines(values: Array, units: list[int], span: tuple[int, int], threshold: float, quantity: str,
                    matches: list[tuple[int, int]] = (), text: str | None = None, window: int = 60) -> go.Figure:
    """The selected units of one sequence (values (T, H)) from ``window`` steps before the selection to ``window``
    after it, the threshold, the selection (orange band) and the matches there (sky-blue bands)."""
    values = np.asarray(values, np.float64)
    lo, hi = max(0, span[0] - window), min(values.shape[0], span[1] + window)
    steps = np.arange(lo, hi)
    values = values[lo:hi]
    matches = [(a, b) for a, b in matches if b > lo and a < hi]
    chars = None if text is None else [shown_char(ch) for ch in text[lo:hi]]
    where = "t=%{x}" + ("  «%{text}»" if text is not None else "")
    fig = go.Figure()
    for k, u in enumerate(units[:len(MARKER_COLORS)]):
        fig.add_trace(go.Scatter(x=steps, y=values[:, u], name=_("unit {unit}").format(unit=u), text=chars,
                                 mode="lines+markers", marker=dict(size=4),
                                 line=dict(color=palette.UNIT_COLORS[k % len(palette.UNIT_COLORS)], width=1.5,
                                           dash=palette.UNIT_DASHES[k // len(palette.UNIT_COLORS)
                                                                    % len(palette.UNIT_DASHES)]),
                                 hovertemplate=where + f"<br>{quantity}=" + "%{y:.4f}<extra></extra>"))
    note = label_box() | dict(text=_("threshold {value:g}").format(value=threshold))
    # Mid-grey, not black: this figure is drawn on the theme's own background, light or dark.
    fig.add_hline(y=threshold, line=dict(color=palette.THRESHOLD_LINE, dash="dash", width=1), annotation=note,
                  annotation_position="top left")
    add_meta(fig, selection={"threshold": threshold, "start": span[0], "stop": span[1] - 1, "matches": len(matches)})
    fig.add_vrect(x0=span[0] - 0.5, x1=span[1] - 0.5, fillcolor=SELECTION_COLOR, opacity=0.35, line_width=0,
                  layer="below")
    for start, stop in matches:
        fig.add_vrect(x0=start - 0.5, x1=stop - 0.5, fillcolor=MATCH_COLOR, opacity=0.35, line_width=0,
                      layer="below")
    fig.update_xaxes(title_text=_("character") if text is not None else _("time step t"))
    fig.update_yaxes(title_text=quantity)
    fig.update_layout(legend=dict(orientation="h", y=-0.25))
    title = _("The selected units around the selection (orange); matches in blue")
    return _layout(fig, title, height=340)


# -- state space -------------------------------------------------------------------------------------------


def _thin(n: int, limit: int) -> Array:
    return np.arange(n) if n <= limit else np.linspace(0, n - 1, limit).astype(int)


def trajectories(projections: Array, ratio: Array, fixed: Array | None = None, stable: Array | None = None,
                 marker: tuple[int, int] | None = None, color_by: Array | None = None, color_label: str = "",
                 text: str | None = None) -> go.Figure:
    """h_t of every sequence in the first 2 or 3 principal components (projections (B, T, k), k = 2 or 3).

    ``ratio`` (k,): each component's share of the variance, in the axis titles. ``fixed`` (K, k): fixed points
    projected into the same components, ``stable`` (K,) bool: filled when stable, hollow when not. ``marker``
    (sequence, step): where the state is at step t. ``color_by`` (B, T): colours the states on Viridis (ordered
    and colour-blind safe, its palest yellow left out on white); a signal with at most 8 whole values (the depth)
    gets one legend entry per value.
    """
    P = np.asarray(projections, np.float64)
    B, T, k = P.shape
    if k not in (2, 3):
        raise ValueError(f"2 or 3 components, got {k}.")
    three = k == 3
    Scatter = go.Scatter3d if three else go.Scatter
    names = [_("PC{i} ({share:.1f} % of the variance)").format(i=i + 1, share=100 * ratio[i]) for i in range(k)]

    def xyz(a: Array) -> dict:
        return dict(zip("xyz", (a[..., i] for i in range(k)), strict=False))

    fig = go.Figure()
    for b in range(B):                                              # the path: a thin grey line per sequence
        idx = _thin(T, MAX_TRAJECTORY_POINTS // B)
        fig.add_trace(Scatter(**xyz(P[b, idx]), mode="lines", line=dict(color=palette.TRAJECTORY, width=0.8),
                              hoverinfo="skip", showlegend=b == 0, name=_("trajectory")))
    flat = P.reshape(-1, k)
    idx = _thin(len(flat), MAX_TRAJECTORY_POINTS)
    steps = np.tile(np.arange(T), B)[idx]
    chars = None if text is None or B != 1 else [shown_char(text[t]) for t in steps]
    where = "t=%{customdata}" + ("  «%{text}»" if chars is not None else "")
    size = 3 if three else 5
    if color_by is not None:
        c = np.asarray(color_by, np.float64).reshape(-1)[idx]
        levels = np.unique(c)
        if len(levels) <= 8 and np.all(levels == np.round(levels)):
            shades = sample_colorscale("Viridis", list(np.linspace(0.0, 0.85, len(levels))))
            for j, level in enumerate(levels):
                sel = c == level
                fig.add_trace(Scatter(**xyz(flat[idx][sel]), mode="markers", customdata=steps[sel],
                                      text=None if chars is None else [chars[i] for i in np.flatnonzero(sel)],
                                      marker=dict(color=shades[j], size=size),
                                      name=f"{color_label} {level:g}", hovertemplate=where + "<extra></extra>"))
        else:
            fig.add_trace(Scatter(**xyz(flat[idx]), mode="markers", customdata=steps, text=chars,
                                  marker=dict(color=c, colorscale=VIRIDIS_ON_WHITE, size=size, showscale=True,
                                              colorbar=dict(title=dict(text=color_label), thickness=12)),
                                  name=color_label, hovertemplate=where + "<extra></extra>"))
    else:
        fig.add_trace(Scatter(**xyz(flat[idx]), mode="markers", customdata=steps, text=chars,
                              marker=dict(color=OKABE_ITO[4], size=size), name=_("states h_t"),
                              hovertemplate=where + "<extra></extra>"))
    if fixed is not None and len(fixed):
        F = np.asarray(fixed, np.float64)
        st = np.asarray(stable, bool)
        for sel, name, symbol in ((st, _("stable fixed point"), "circle"),
                                  (~st, _("unstable fixed point"), "circle-open")):
            if sel.any():
                fig.add_trace(Scatter(**xyz(F[sel]), mode="markers", name=name,
                                      marker=dict(color=POINT_COLOR, size=7 if three else 13, symbol=symbol,
                                                  line=dict(color=POINT_COLOR, width=2.5)),
                                      hovertemplate=name + "<extra></extra>"))
    if marker is not None:
        b, t = marker
        fig.add_trace(Scatter(**xyz(P[b, t:t + 1]), mode="markers", name=_("step t = {t}").format(t=t),
                              marker=dict(color=MARKER_COLOR, size=9 if three else 18, symbol="diamond",
                                          line=dict(color=palette.HIGHLIGHT_OUTLINE, width=1.5)),
                              hovertemplate=_("step t = {t}").format(t=t) + "<extra></extra>"))
    title = _("h_t in its first {k} principal components ({share:.0f} % of the variance)").format(
        k=k, share=100 * float(np.sum(ratio[:k])))
    if three:
        fig.update_layout(scene=dict(xaxis_title=names[0], yaxis_title=names[1], zaxis_title=names[2]))
    else:
        fig.update_xaxes(title_text=names[0])
        fig.update_yaxes(title_text=names[1], scaleanchor="x", scaleratio=1)
    if three:
        fig.update_layout(legend=dict(orientation="h", y=-0.15))
    else:
        _on_white(fig, legend_y=-0.2)
    if fixed is not None:
        st = np.asarray(stable, bool)
        add_meta(fig, fixed_points={"stable": int(st.sum()), "unstable": int((~st).sum())})
    return _layout(fig, title, height=520)


def eigenvalues(values: Array, stable: Array, labels: list[str] | None = None) -> go.Figure:
    """The eigenvalues of J = dF/ds at each fixed point (values (K, S) complex) against the unit circle.

    A fixed point is stable when all of its eigenvalues are inside the circle. At most MAX_EIGEN_POINTS points,
    one Okabe-Ito colour each: filled markers for a stable point, hollow for an unstable one.
    """
    lam = np.asarray(values)
    st = np.asarray(stable, bool)
    angle = np.linspace(0, 2 * np.pi, 361)
    fig = go.Figure(go.Scatter(x=np.cos(angle), y=np.sin(angle), mode="lines", name=_("unit circle |λ| = 1"),
                               line=dict(color=GREY, dash="dash", width=1), hoverinfo="skip"))
    for k in range(min(len(lam), MAX_EIGEN_POINTS)):
        label = labels[k] if labels else _("point {k}").format(k=k)
        fig.add_trace(go.Scatter(x=lam[k].real, y=lam[k].imag, mode="markers", name=label,
                                 marker=dict(color=MARKER_COLORS[k % len(MARKER_COLORS)], size=8,
                                             symbol="circle" if st[k] else "circle-open",
                                             line=dict(color=MARKER_COLORS[k % len(MARKER_COLORS)], width=2)),
                                 hovertemplate=label + "<br>λ = %{x:.3f} %{y:+.3f}i<extra></extra>"))
    reach = max(1.1, float(np.abs(lam).max(initial=0.0)) * 1.05) if lam.size else 1.1
    fig.update_xaxes(title_text=_("real part"), range=[-reach, reach], zeroline=True)
    fig.update_yaxes(title_text=_("imaginary part"), range=[-reach, reach], scaleanchor="x", scaleratio=1,
                     zeroline=True)
    _on_white(fig, legend_y=-0.2)
    shown = min(len(lam), MAX_EIGEN_POINTS)
    add_meta(fig, moduli={(labels[k] if labels else _("point {k}").format(k=k)): float(np.abs(lam[k]).max(initial=0.0))
                          for k in range(shown)})
    return _layout(fig, _("Eigenvalues of the Jacobian at the fixed points"), height=460)


def gate_saturation(fractions: dict[str, tuple[Array, Array]], labels: dict[str, str]) -> go.Figure:
    """Per gate unit: the fraction of steps it is left-saturated (< 0.1) against right-saturated (> 0.9).

    ``fractions``: gate -> (left (H,), right (H,)); ``labels``: gate -> its name (translated). One Okabe-Ito
    colour per gate. Points on the diagonal x + y = 1 are always saturated; near (0, 0) never.
    """
    fig = go.Figure(go.Scatter(x=[0, 1], y=[1, 0], mode="lines", line=dict(color=GREY, dash="dot", width=1),
                               hoverinfo="skip", showlegend=False))
    for k, (gate, (left, right)) in enumerate(fractions.items()):
        name = labels.get(gate, gate)
        units = np.arange(len(left))
        fig.add_trace(go.Scatter(x=left, y=right, mode="markers", name=name, customdata=units,
                                 marker=dict(color=GATE_COLORS.get(gate, MARKER_COLORS[k % len(MARKER_COLORS)]), size=8,
                                             opacity=0.85, line=dict(color=palette.WHITE, width=0.5),
                                             symbol=palette.GATE_MARKERS.get(gate, "circle")),
                                 hovertemplate=name + "<br>" + _("unit") + " %{customdata}: "
                                 + _("left {left}, right {right}").format(left="%{x:.2f}", right="%{y:.2f}")
                                 + "<extra></extra>"))
    fig.update_xaxes(title_text=_("fraction of steps left-saturated (gate < 0.1)"), range=[-0.03, 1.03])
    fig.update_yaxes(title_text=_("fraction of steps right-saturated (gate > 0.9)"), range=[-0.03, 1.03],
                     scaleanchor="x", scaleratio=1)
    _on_white(fig, legend_y=-0.2)
    add_meta(fig, saturation={labels.get(g, g): [float(np.mean(left)) if len(left) else float("nan"),
                                                 float(np.mean(right)) if len(right) else float("nan")]
                              for g, (left, right) in fractions.items()})
    return _layout(fig, _("Gate saturation per unit"), height=460)


# -- each figure built once for every visitor (as explorer/figures.py) -------------------------------------


def _memoize(fn):
    return FIGURES.memoize(roomy(fn), sizeof=figure_bytes, context=i18n.current_language)


text_heat = _memoize(text_heat)
unit_and_signal = _memoize(unit_and_signal)
correlation_bars = _memoize(correlation_bars)
selection_lines = _memoize(selection_lines)
trajectories = _memoize(trajectories)
eigenvalues = _memoize(eigenvalues)
gate_saturation = _memoize(gate_saturation)
