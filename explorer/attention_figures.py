"""Figures of the Attention page: plain functions returning plotly figures (tested without Streamlit).

Colours are colour-blind safe (Okabe-Ito, explorer/palette.py): the model *with* attention is blue (solid), the one
*without* is vermillion (dashed), in every chart; attention weights use a sequential map from white
(0) to dark blue (1). Tokens come from generated tasks, yet they are data: every token shown goes through
explorer.inert.plotly_inert (``</s>`` would otherwise be read as an HTML tag). Every text is translated when
the figure is built (``_()``: the visitor's language, or ``i18n.use_language``'s); nothing here is cached.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from . import palette as P
from .chart_text import add_meta
from .figures import _layout
from .i18n import _
from .inert import plotly_inert
from .training_figures import LEGEND_BELOW

Array = np.ndarray
WITH_COLOR, WITHOUT_COLOR = P.WITH_ATTENTION, P.WITHOUT_ATTENTION      # Okabe-Ito blue and vermillion
OTHER_BAR, TARGET_BAR = P.OTHER_BAR, P.TARGET_BAR
WEIGHTS_SCALE = P.SEQUENTIAL
VARIANTS = ("with", "without")
MAX_CELL_TEXT = 16            # the weights are written in the cells up to this many columns and rows
SHOWN_WEIGHT = 0.05           # and only from this weight up (the rest would bury the alignment in zeros)


def variant_style(variant: str) -> dict:
    """The line of a variant: "with" attention blue and solid, "without" vermillion and dashed."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}; got {variant!r}.")
    return dict(color=WITH_COLOR, width=2.5) if variant == "with" else dict(color=WITHOUT_COLOR, width=2.5,
                                                                            dash="dash")


def variant_names(kind_label: str) -> dict[str, str]:
    """Legend names: "with attention (dot (Luong))", "without attention"; ``kind_label`` already translated."""
    return {"with": _("with attention: {kind}").format(kind=kind_label), "without": _("without attention")}


def _tokens(tokens: Sequence[str]) -> list[str]:
    return [plotly_inert(t, 20) for t in tokens]


def alignment_heatmap(weights: Array, source: Sequence[str], output: Sequence[str], title: str) -> go.Figure:
    """The attention weights of one greedy decoding: decoder step i (rows, output tokens) x encoder step j
    (columns, input tokens). Each row sums to 1; for reversal a trained model shows the anti-diagonal."""
    w = np.asarray(weights, np.float64)
    Tq, Tv = w.shape
    if len(source) != Tv or len(output) != Tq:
        raise ValueError(f"weights {w.shape} need {Tv} source and {Tq} output tokens; got {len(source)} and "
                         f"{len(output)}.")
    src, out = _tokens(source), _tokens(output)
    custom = np.array([[[out[i], src[j]] for j in range(Tv)] for i in range(Tq)], dtype=object)
    small = Tq <= MAX_CELL_TEXT and Tv <= MAX_CELL_TEXT
    fig = go.Figure(go.Heatmap(
        z=w, x=np.arange(Tv), y=np.arange(Tq), zmin=0.0, zmax=1.0, colorscale=WEIGHTS_SCALE, customdata=custom,
        colorbar=dict(title=dict(text=_("weight"))), xgap=1, ygap=1,
        text=[[f"{v:.2f}" if v >= SHOWN_WEIGHT else "" for v in row] for row in w] if small else None,
        texttemplate="%{text}" if small else None, textfont=dict(size=11),
        hovertemplate=_("decoder step %{y} (output %{customdata[0]})<br>encoder step %{x} (input "
                        "%{customdata[1]})<br>weight %{z:.3f}") + "<extra></extra>"))
    fig.update_xaxes(tickmode="array", tickvals=list(range(Tv)), ticktext=src, title_text=_("input token (encoder "
                                                                                              "step j)"),
                     showgrid=False)
    fig.update_yaxes(tickmode="array", tickvals=list(range(Tq)), ticktext=out, autorange="reversed",
                     title_text=_("output token (decoder step i)"), showgrid=False)
    return _layout(fig, title, height=max(320, 110 + 26 * Tq))


def held_out_curve(curves: dict[str, tuple[Sequence[int], Sequence[float]]], kind_label: str,
                   total_steps: int | None = None) -> go.Figure:
    """Held-out sequence accuracy per training step, one line per variant ("with" / "without" attention)."""
    fig = go.Figure()
    names = variant_names(kind_label)
    for variant in VARIANTS:
        if variant not in curves:
            continue
        steps, acc = curves[variant]
        fig.add_trace(go.Scatter(x=np.asarray(steps), y=np.asarray(acc, np.float64), mode="lines+markers",
                                 name=names[variant], line=variant_style(variant), marker=dict(size=5)))
    _layout(fig, _("Held-out sequence accuracy while training"), height=330, xaxis_title=_("training step"),
            yaxis_title=_("sequences entirely right"))
    fig.update_layout(**LEGEND_BELOW)
    fig.update_yaxes(range=[-0.02, 1.02])
    if total_steps:
        fig.update_xaxes(range=[0, total_steps])
    return fig


def length_curve(lengths: Sequence[int], curves: dict[str, Sequence[float]], kind_label: str,
                 step: int | None = None) -> go.Figure:
    """Sequence accuracy on fresh pairs of each source length, with and without attention: a fixed-size state
    (no attention) loses the long inputs first."""
    fig = go.Figure()
    names = variant_names(kind_label)
    for variant in VARIANTS:
        if variant in curves:
            fig.add_trace(go.Scatter(x=np.asarray(lengths), y=np.asarray(curves[variant], np.float64),
                                     mode="lines+markers", name=names[variant], line=variant_style(variant),
                                     marker=dict(size=7)))
    if len(lengths):
        longest = int(np.argmax(lengths))
        add_meta(fig, longest={"length": lengths[longest],
                               "accuracy": {names[v]: curves[v][longest] for v in VARIANTS if v in curves}})
    title = (_("Accuracy by input length (after {step} steps)").format(step=step) if step is not None
             else _("Accuracy by input length"))
    _layout(fig, title, height=330, xaxis_title=_("input length (tokens)"), yaxis_title=_("sequences entirely right"))
    fig.update_layout(**LEGEND_BELOW)
    fig.update_yaxes(range=[-0.02, 1.02])
    fig.update_xaxes(dtick=1)
    return fig


def gradient_path(norms: dict[str, Array], kind_label: str, output_step: int,
                  initial: dict[str, Array] | None = None) -> go.Figure:
    """||dL/dx_t|| of one output (decoder step ``output_step``) for each encoder input x_t, on a log axis, as the
    Gradient flow page draws ||dL/dh_t||: with attention every input is one step from the output. ``initial``:
    the same at the initial weights, drawn thin and dotted."""
    fig = go.Figure()
    names = variant_names(kind_label)
    for curves, before in ((norms, False), (initial or {}, True)):
        for variant in VARIANTS:
            if variant not in curves:
                continue
            values = np.asarray(curves[variant], np.float64)
            shown = np.where(np.isfinite(values) & (values > 0), values, np.nan)
            line = variant_style(variant) | (dict(width=1.5, dash="dot") if before else {})
            name = _("{name}, before training").format(name=names[variant]) if before else names[variant]
            fig.add_trace(go.Scatter(x=np.arange(len(values)), y=shown, mode="lines+markers", name=name, line=line,
                                     opacity=0.6 if before else 1.0,
                                     marker=dict(size=4 if before else 6,
                                                 symbol="circle" if variant == "with" else "square"),
                                     hovertemplate=name + "<br>t=%{x}<br>||dL/dx_t|| = %{y:.3g}<extra></extra>"))
    steps = len(next(iter(norms.values()), []))
    fig.update_yaxes(type="log", title_text=_("||dL/dx_t|| (log)"), exponentformat="power", dtick=1)   # decades
    fig.update_xaxes(title_text=_("encoder input step t"), dtick=1 if steps <= 30 else None)
    _layout(fig, _("The gradient's path: ||dL/dx_t|| of output {i} for each input").format(i=output_step),
            height=360)
    fig.update_layout(**LEGEND_BELOW)
    return fig


def step_weights(source: Sequence[str], scores: Array, weights: Array, title: str) -> go.Figure:
    """One decoder step: the attention weight on each encoder step (bars), its score in the hover and text."""
    src = _tokens(source)
    w = np.asarray(weights, np.float64)
    fig = go.Figure(go.Bar(
        x=np.arange(len(w)), y=w, marker_color=WITH_COLOR, customdata=np.stack([np.asarray(scores, np.float64)], -1),
        text=[f"{v:.2f}" for v in w], textposition="outside", cliponaxis=False,
        hovertemplate=_("encoder step %{x}<br>score s = %{customdata[0]:.3f}<br>weight a = %{y:.3f}")
                      + "<extra></extra>"))
    fig.update_xaxes(tickmode="array", tickvals=list(range(len(w))), ticktext=src,
                     title_text=_("input token (encoder step j)"))
    fig.update_yaxes(range=[0, 1.12], title_text=_("attention weight a_j"))
    return _layout(fig, title, height=300)


def probabilities(tokens: Sequence[str], probs: Array, target: int | None, title: str) -> go.Figure:
    """The output distribution of one decoder step over the target vocabulary; the correct token in blue."""
    p = np.asarray(probs, np.float64)
    colors = [TARGET_BAR if k == target else OTHER_BAR for k in range(len(p))]
    fig = go.Figure(go.Bar(x=np.arange(len(p)), y=p, marker_color=colors, customdata=_tokens(tokens),
                           hovertemplate="%{customdata}: p = %{y:.4f}<extra></extra>"))
    fig.update_xaxes(tickmode="array", tickvals=list(range(len(p))), ticktext=_tokens(tokens),
                     title_text=_("output token (blue: the correct one)"))
    fig.update_yaxes(range=[0, 1.02], title_text="p")
    if target is not None and 0 <= target < len(p):
        add_meta(fig, target={"token": tokens[target], "p": p[target]})
    return _layout(fig, title, height=300)
