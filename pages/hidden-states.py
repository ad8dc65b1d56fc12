"""Unrolled hidden states: what does the network compute at each step?"""

import numpy as np
import pandas as pd
import streamlit as st

from explorer import cache, charts, export, figures, i18n, runs, url_params
from explorer.controls import stateful_controls
from explorer.i18n import N_, _, ngettext
from explorer.widgets import (
    engine_header,
    keras_enabled,
    keras_spinner,
    max_difference,
    page_setup,
    parity_badge,
    show_normalization,
    show_views,
    tolerance_for,
    working,
)

cfg, seq = page_setup("hidden-states")   # under Streamlit's legacy pages/ router this runs app.py instead
x = seq.inputs
B, T, D = x.shape
H = cfg.units

st.title(_("Unrolled hidden states"))
st.caption(_("What does the network compute at each step? x has shape {shape} (batch, time, features). "
             "Input: {description}").format(shape=x.shape, description=seq.description))
show_normalization(seq, cfg)
with working(_("Running the {cell} layer over {steps:,} steps…").format(cell=cfg.cell, steps=T)):
    init = stateful_controls(cfg, lambda states: cache.numpy_forward(cfg, x, states, seq.mask).final_states)
    run = cache.numpy_forward(cfg, x, init, seq.mask)
cell = runs.cell_of(cfg)
LABELS = {"h": N_("hidden state h_t"), "c": N_("cell state c_t"), **cell.gate_labels}   # translated when shown


def clamp(key: str, top: int) -> None:
    if st.session_state.get(key, 0) > top:
        st.session_state[key] = top


if B > 1:
    clamp("b", B - 1)
    b = st.columns([1, 3])[0].number_input(_("sequence in the batch"), 0, B - 1, 0, key="b", bind="query-params")
else:
    b = 0
weights = cache.weights(cfg, D)

charts.show(figures.unrolled_diagram(T, D, H, cfg.return_sequences, cfg.return_state, cfg.go_backwards,
                                     cell_name=cfg.cell, state_names=cell.state_names,
                                     gate_names=tuple(cell.gate_symbols.get(g, g) for g in cell.gate_names)),
            toggle_key="unrolled_table", config={"displayModeBar": False})

lo, hi = 0, T - 1
if T > figures.MAX_COLUMNS:
    lo, hi = st.slider(_("step range to draw (zoom in to see raw steps)"), 0, T - 1, (0, T - 1), key="zoom",
                       help=_("Charts show at most {columns:,} columns; wider ranges are aggregated.")
                       .format(columns=figures.MAX_COLUMNS))
view = slice(lo, hi + 1)
axis = dict(time_values=None if seq.time_values is None else seq.time_values[view], time_label=seq.time_label)
units = list(range(min(H, 4)))
col_np, col_k = st.columns(2, gap="medium")
with col_np:
    engine_header("NumPy", f"rnn_core.{cfg.cell}, {run.seconds * 1e3:.1f} ms")
    st.badge(_("the reference for the comparison"), icon=":material/functions:", color="blue")
    charts.show(figures.states_heatmap(run.states[b, view], _("h_t of sequence {b} (NumPy)").format(b=b),
                                       step_offset=lo, **axis), "np_heat")
keras_run = None
with col_k:
    if keras_enabled(T):
        engine_header("Keras", _("{layer}, same weights").format(layer=f"keras.layers.{cfg.cell}"))
        with keras_spinner():
            keras_run = cache.keras_forward(cfg, x, init, seq.mask)
        # h_t at every step and every final state (c_T too for an LSTM), against the same NumPy numbers.
        pairs = [(run.states, keras_run.states)] + list(zip(run.final_states, keras_run.final_states, strict=True))
        diff = max(max_difference(a, b) for a, b in pairs)
        parity_badge(diff, max(tolerance_for(theirs) for _ours, theirs in pairs),
                     ngettext("h_t and final state: max |NumPy − Keras|", "h_t and final states: max |NumPy − Keras|",
                              len(pairs) - 1))
        charts.show(figures.states_heatmap(keras_run.states[b, view], _("h_t of sequence {b} (Keras)").format(b=b),
                                           step_offset=lo, **axis), "k_heat")
    elif not st.session_state.get("keras", True):
        st.info(_("Keras is off (see the sidebar). The NumPy core alone needs no TensorFlow."))


@st.fragment
def inside_the_cell(inside: list[str]) -> None:
    """One quantity of the cell over time, picked here: the picker reruns only this section and draws one chart."""
    about = _("Each quantity the cell computes, over time, one at a time (NumPy; Keras returns only h_t and the final "
              "states).")
    if cell.gate_names:                        # SimpleRNN has no gates: its pre-activation z_t is shown
        about += " " + _("Values that cannot be negative (the gates) are drawn from 0 (white) to their maximum: "
                         "a gate near 0 closes, near 1 opens.")
    st.caption(about)

    def label(name: str) -> str:
        return i18n.text(LABELS[name], markdown=False) if name in LABELS else name

    name = inside[0]
    if len(inside) > 1:
        name = url_params.choice(st.segmented_control, _("quantity"), inside, key="cell_quantity",
                                 default=inside[0], format_func=label)
    values = run.sequences[name][b, view]
    signed = bool(np.nanmin(values, initial=0.0) < 0)
    unit_range = not signed and np.nanmax(values, initial=0.0) <= 1.0
    charts.show(figures.states_heatmap(values, _("{label} (sequence {b})").format(label=label(name), b=b),
                                       quantity=name, step_offset=lo, signed=signed,
                                       zmax=1.0 if unit_range else None, **axis), f"inside_{name}")


def unit_lines() -> None:
    lines = {"NumPy": run.states[b, view]}
    if keras_run is not None:
        lines["Keras"] = keras_run.states[b, view]
    lines_title = (_("units {units} over time: NumPy (solid) and Keras (dashed, x)") if keras_run is not None
                   else _("units {units} over time")).format(units=units)
    charts.show(figures.unit_lines(lines, units, lines_title, step_offset=lo, **axis), "lines")


def dense_head() -> None:
    probs = run.probs[b]
    if probs.ndim == 2:
        st.caption(_("many-to-many: `TimeDistributed(Dense softmax)` gives a class distribution at every step."))
        charts.show(figures.states_heatmap(probs, _("class probabilities p_t (NumPy)"), quantity="p",
                                           rows=_("class"), signed=False), "probs")
    else:
        st.caption(_("many-to-one: `Dense` softmax reads only the last h; one distribution per sequence."))
        st.bar_chart(pd.DataFrame({"p": probs}))


# One view at a time below the runs: a flag redraws only the charts shown (each costs the browser ~0.1 s).
inside = [name for name in run.sequences if name != "h"]
views = [(_("Units over time"), unit_lines)]
if inside:
    views.append((_("Inside the cell"), lambda: inside_the_cell(inside)))
if run.probs is not None:
    views.append((_("The Dense head on top"), dense_head))
show_views(views, "states_view")


@st.fragment
def one_step() -> None:
    """Step t's equations and every quantity of that step, from the weights in float64, beside the runs' h_t.
    Moving the slider reruns only this section and redraws no chart."""
    heading = st.empty()
    if T > 1:
        clamp("t", T - 1)
        t = st.slider(_("step t (processing order)"), 0, T - 1, 0, key="t", bind="query-params",
                      help=_("The step whose arithmetic is shown below, with the actual numbers."))
    else:
        t = 0
    heading.subheader(_("Step t = {t}, with the actual numbers").format(t=t))
    src = T - 1 - t if cfg.go_backwards else t
    x_t = x[b, src]
    names = cell.state_names
    prev = tuple((init[k][b] if init is not None else np.zeros(H, np.float32)) if t == 0 else run.sequences[n][b, t - 1]
                 for k, n in enumerate(names))
    st.latex(r" \\ ".join(cell.step_latex).join([r"\begin{aligned}", r"\end{aligned}"]).replace("x_t", f"x_{{{src}}}"))
    if cfg.go_backwards:
        st.caption(_("go_backwards: processing step {t} reads input step {src} = T-1-t.").format(t=t, src=src))
    parts = cell.explain_step(x_t, prev, weights)
    shown = min(H, 8)
    table = pd.DataFrame({name: value[:shown] for name, value in parts.items()},
                         index=pd.Index(range(shown), name=_("unit")))
    table[_("h_t (NumPy run)")] = run.states[b, t, :shown]
    if keras_run is not None:
        table[_("h_t (Keras run)")] = keras_run.states[b, t, :shown]
    st.dataframe(table.style.format("{:+.5f}"), width="stretch")
    st.caption(f"x_{src} = {np.array2string(x_t[:8], precision=4)}{' …' if D > 8 else ''} (D = {D}); "
               + (_("showing {shown} of {H} units, computed here in `float64` from the weights: the h column equals "
                    "the run's h_t.") if shown < H else
                  _("all {H} units, computed here in `float64` from the weights: the h column equals the run's h_t."))
               .format(shown=shown, H=H))


one_step()

with st.expander(_("Weights of this layer")):
    kernels = _("kernel W {kernel}, recurrent_kernel U {recurrent} (scaled by {scale})").format(
        kernel=weights[0].shape, recurrent=weights[1].shape, scale=cfg.recurrent_scale)
    if cell.n_blocks > 1:
        kernels += " " + _("({n} gate blocks side by side: {gates})").format(n=cell.n_blocks,
                                                                          gates=", ".join(cell.gate_names))
    bias = (_("bias {shape}").format(shape=weights[2].shape) if cfg.use_bias else _("no bias"))
    st.write(f"{kernels}, {bias}")
    st.dataframe(pd.DataFrame(weights[1][:8, :8]).style.format("{:+.3f}"), width="content")


st.subheader(_("Export"))
arrays = export.forward_arrays(cfg, x, weights, init, run.output, run.states)
# Files are built only when a button is clicked (a callable), not on every rerun (long sequences make them
# slow); a download changes nothing, so it triggers no rerun either.
c1, c2, c3 = st.columns(3)
c1.download_button(_("hidden states h_t (CSV)"), lambda: export.to_csv(run.states if B > 1 else run.states[0]),
                   "hidden_states.csv", "text/csv", icon=":material/download:", on_click="ignore")
c2.download_button(_("inputs, weights and outputs (NPZ)"), lambda: export.to_npz(arrays, cfg), "rnn_explorer.npz",
                   "application/octet-stream", icon=":material/download:", on_click="ignore")
c3.download_button(_("Keras script that reproduces this (`.py`)"), export.reproduce_script(cfg), "reproduce_keras.py",
                   "text/x-python", icon=":material/code:", on_click="ignore")
st.caption(_("Put `reproduce_keras.py` next to `rnn_explorer.npz` and run it: it rebuilds `{layer}` with "
             "these flags and weights and prints the difference to the numbers exported here.")
           .format(layer=f"keras.layers.{cfg.cell}"))
