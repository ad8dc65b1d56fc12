"""Figures of the Training page: plain functions returning plotly figures (tested without Streamlit).

Live curves are thinned to at most MAX_POINTS per trace (every k-th step and
the last), so a tick sends a bounded amount of data to the browser however
long the run is. Every text is translated when the figure is built (``_()``: the visitor's language, or
``i18n.use_language``'s); nothing here is cached.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from . import palette as P
from .chart_text import add_meta
from .figures import CELL_COLORS, ENGINE_COLORS, _layout
from .i18n import N_, _

Array = np.ndarray
MAX_POINTS = 1000
BEFORE_CLIP, AFTER_CLIP = P.BEFORE_CLIP, P.AFTER_CLIP
LEGEND_BELOW = dict(legend=dict(orientation="h", x=0, y=-0.3, xanchor="left", yanchor="top"),
                    margin=dict(l=60, r=20, t=50, b=90))   # half-width charts: a legend on the right hides data
# compare_curves' quantities: (title, axis title), translated when drawn.
COMPARE_TEXTS = {"accuracy": (N_("Accuracy per epoch"), N_("accuracy")),
                 "training accuracy": (N_("Training accuracy per epoch"), N_("training accuracy")),
                 "held-out accuracy": (N_("Held-out accuracy per epoch"), N_("held-out accuracy")),
                 "loss": (N_("Loss per epoch"), N_("loss"))}


def thin(values: Sequence[float], max_points: int = MAX_POINTS) -> tuple[Array, Array]:
    """(steps, values) with steps counted from 1, every k-th point and always the last one."""
    y = np.asarray(values, np.float64)
    steps = np.arange(1, len(y) + 1)
    if len(y) <= max_points:
        return steps, y
    keep = np.unique(np.r_[np.arange(0, len(y), -(-len(y) // max_points)), len(y) - 1])
    return steps[keep], y[keep]


def loss_curve(numpy_loss: Sequence[float], keras_loss: Sequence[float] | None = None, loss_name: str = "loss",
               chance: float | None = None, total_steps: int | None = None) -> go.Figure:
    """The batch loss per step (before each update), NumPy solid, Keras dashed on top of it."""
    fig = go.Figure()
    x, y = thin(numpy_loss)
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name="NumPy", line=dict(color=ENGINE_COLORS["NumPy"], width=2)))
    if keras_loss is not None and len(keras_loss):
        x, y = thin(keras_loss)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name="Keras train_on_batch",
                                 line=dict(color=ENGINE_COLORS["Keras"], width=2, dash="dash")))
    if chance is not None:
        fig.add_hline(y=chance, line=dict(color=P.REFERENCE_LINE, dash="dot"), annotation_text=_("constant best guess"),
                      annotation_position="top right")
        add_meta(fig, best_guess=chance)
    _layout(fig, _("Loss per step ({loss})").format(loss=loss_name), height=330, xaxis_title=_("training step"),
            yaxis_title=_("batch loss"))
    fig.update_layout(**LEGEND_BELOW)
    if total_steps:
        fig.update_xaxes(range=[0, total_steps])
    return fig


def accuracy_curve(batch_accuracy: Sequence[float | None], total_steps: int | None = None) -> go.Figure:
    """Accuracy of each training batch (before its update); chance is 1 / classes."""
    values = [np.nan if a is None else a for a in batch_accuracy]
    x, y = thin(values)
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines", name=_("accuracy"), line=dict(color=P.ACCURACY, width=2)))
    seen = [a for a in values if np.isfinite(a)]
    if seen:
        add_meta(fig, final_accuracy=seen[-1])
    _layout(fig, _("Accuracy per step"), height=300, xaxis_title=_("training step"), yaxis_title=_("batch accuracy"))
    fig.update_yaxes(range=[0, 1.02])
    if total_steps:
        fig.update_xaxes(range=[0, total_steps])
    return fig


def grad_norm_curve(before: Sequence[float], after: Sequence[float], clip: float | None = None) -> go.Figure:
    """The global norm of all weight gradients per step, before and after the optimizer's clipping."""
    fig = go.Figure()
    x, y = thin(before)
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=_("before clipping"), line=dict(color=BEFORE_CLIP, width=2)))
    x, y = thin(after)
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=_("after clipping (used)"),
                             line=dict(color=AFTER_CLIP, width=1.5, dash="dash")))
    if clip is not None:
        add_meta(fig, clipnorm=clip)
        fig.add_hline(y=clip, line=dict(color=P.CLIP_LINE, dash="dot"),
                      annotation_text=_("clipnorm {clip:g} (per weight)").format(clip=clip))
    _layout(fig, _("Gradient global norm per step"), height=330, xaxis_title=_("training step"),
            yaxis_title=_("||dL/dW|| (all weights)"))
    fig.update_layout(**LEGEND_BELOW)
    fig.update_yaxes(type="log", dtick="D2")          # 1, 2, 5 per decade: a short range stays readable
    return fig


def reach_heatmap(epochs: Sequence[int], norms: Sequence[Array]) -> go.Figure:
    """log10 ||dL/dh_t|| over t (columns) at each probed epoch (rows): how far back the gradient reaches."""
    z = np.log10(np.maximum(np.asarray(norms, np.float64), 1e-30))
    T = z.shape[1]
    fig = go.Figure(go.Heatmap(z=z, x=np.arange(T), y=[str(e) for e in epochs], colorscale=P.SEQUENTIAL_WIDE,
                               colorbar=dict(title="log10"),
                               hovertemplate=_("epoch %{y}, t=%{x}: log10 ||dL/dh_t|| = %{z:.2f}") + "<extra></extra>"))
    _layout(fig, _("||dL/dh_t|| by epoch (log10): how far back the gradient reaches"), height=330,
            xaxis_title=_("time step t"), yaxis_title=_("after epoch"))
    fig.update_yaxes(type="category")
    if T <= 30:
        fig.update_xaxes(dtick=1)
    return fig


def reach_lines(norms: dict[str, Array]) -> go.Figure:
    """||dL/dh_t|| over t for a few epochs, on a log axis (the rows of the heatmap, side by side)."""
    fig = go.Figure()
    n = len(norms)
    for i, (name, values) in enumerate(norms.items()):
        shade = 0.25 + 0.75 * (i / max(1, n - 1))
        fig.add_trace(go.Scatter(x=np.arange(1, len(values) + 1), y=np.asarray(values, np.float64), mode="lines",
                                 name=name, line=dict(color=P.with_alpha(P.BLUE, round(shade, 2)), width=2)))
    _layout(fig, _("||dL/dh_t|| over t at chosen epochs"), height=320, xaxis_title=_("time step t"),
            yaxis_title="||dL/dh_t||")
    fig.update_yaxes(type="log")
    return fig


def compare_curves(curves: dict[str, Sequence[float]], what: str = "accuracy", lag: int | None = None,
                   chance: float | None = None) -> go.Figure:
    """One line per cell (palette.CELL_COLORS: SimpleRNN vermillion, LSTM blue, GRU bluish green, each with its own
    dash and marker): loss or accuracy per epoch.

    ``what`` is a key of COMPARE_TEXTS ("accuracy", "training accuracy", "held-out accuracy", "loss").
    """
    fig = go.Figure()
    for name, values in curves.items():
        fig.add_trace(go.Scatter(x=np.arange(1, len(values) + 1), y=np.asarray(values, np.float64),
                                 mode="lines+markers" if len(values) < 40 else "lines", name=name,
                                 line=dict(color=CELL_COLORS.get(name), width=2.5, dash=P.CELL_DASHES.get(name)),
                                 marker=dict(symbol=P.CELL_MARKERS.get(name, "circle"))))
    if chance is not None:
        fig.add_hline(y=chance, line=dict(color=P.REFERENCE_LINE, dash="dot"), annotation_text=_("chance"))
        add_meta(fig, chance=chance)
    title, axis = (_(t) for t in COMPARE_TEXTS[what])
    if lag is not None:
        title = _("{title} (delayed recall, lag k={lag})").format(title=title, lag=lag)
    _layout(fig, title, height=360, xaxis_title=_("epoch"), yaxis_title=axis)
    fig.update_layout(**LEGEND_BELOW)
    if "accuracy" in what:
        fig.update_yaxes(range=[0, 1.02])
    return fig
