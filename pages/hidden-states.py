"""Unrolled hidden states: what does the network compute at each step?"""

import numpy as np
import pandas as pd
import streamlit as st

from explorer import cache, export, figures
from explorer.controls import stateful_controls
from explorer.widgets import (
    engine_header,
    keras_enabled,
    keras_spinner,
    max_difference,
    page_setup,
    parity_badge,
    show_normalization,
    tolerance_for,
)
from rnn_core import activations

cfg, seq = page_setup("hidden-states")   # under Streamlit's legacy pages/ router this runs app.py instead
x = seq.inputs
B, T, D = x.shape
H = cfg.units

st.title("Unrolled hidden states")
st.caption(f"What does the network compute at each step? x has shape {x.shape} (batch, time, features). "
           f"Input: {seq.description}")
show_normalization(seq, cfg)
h0 = stateful_controls(cfg, lambda h: cache.numpy_forward(cfg, x, h).final_state)
run = cache.numpy_forward(cfg, x, h0)


def clamp(key: str, top: int) -> None:
    if st.session_state.get(key, 0) > top:
        st.session_state[key] = top


c1, c2 = st.columns([3, 1])
if T > 1:
    clamp("t", T - 1)
    t = c1.slider("step t (processing order)", 0, T - 1, 0, key="t", bind="query-params",
                  help="Highlights one step in every chart and shows its arithmetic below.")
else:
    t = 0
if B > 1:
    clamp("b", B - 1)
    b = c2.number_input("sequence in the batch", 0, B - 1, 0, key="b", bind="query-params")
else:
    b = 0

st.plotly_chart(figures.unrolled_diagram(T, D, H, cfg.return_sequences, cfg.return_state, cfg.go_backwards, t),
                config={"displayModeBar": False})

lo, hi = 0, T - 1
if T > figures.MAX_COLUMNS:
    lo, hi = st.slider("step range to draw (zoom in to see raw steps)", 0, T - 1, (0, T - 1), key="zoom",
                       help=f"Charts show at most {figures.MAX_COLUMNS:,} columns; wider ranges are aggregated.")
view = slice(lo, hi + 1)
units = list(range(min(H, 4)))
col_np, col_k = st.columns(2, gap="medium")
with col_np:
    engine_header("NumPy", f"rnn_core.SimpleRNN, {run.seconds * 1e3:.1f} ms")
    st.badge("the reference for the comparison", icon=":material/functions:", color="blue")
    st.plotly_chart(figures.states_heatmap(run.states[b, view], f"h_t of sequence {b} (NumPy)", highlight=t,
                                           step_offset=lo), key="np_heat")
keras_run = None
with col_k:
    if keras_enabled(T):
        engine_header("Keras", "keras.layers.SimpleRNN, same weights")
        with keras_spinner():
            keras_run = cache.keras_forward(cfg, x, h0)
        diff = max_difference(run.states, keras_run.states)
        parity_badge(diff, tolerance_for(keras_run.states))
        st.plotly_chart(figures.states_heatmap(keras_run.states[b, view], f"h_t of sequence {b} (Keras)",
                                               highlight=t, step_offset=lo), key="k_heat")
    elif not st.session_state.get("keras", True):
        st.info("Keras is off (sidebar: *Keras side by side*). The NumPy core alone needs no TensorFlow.")
lines = {"NumPy": run.states[b, view]}
if keras_run is not None:
    lines["Keras"] = keras_run.states[b, view]
st.plotly_chart(figures.unit_lines(lines, units, f"units {units} over time"
                                   + (": NumPy (solid) and Keras (dashed, x)" if keras_run is not None else ""),
                                   highlight=t, step_offset=lo), key="lines")

# -- one step's arithmetic -----------------------------------------------------------------
st.subheader(f"Step t = {t}, with the actual numbers")
weights = cache.weights(cfg, D)
kernel, recurrent = weights[0], weights[1]
bias = weights[2] if cfg.use_bias else np.zeros(H, np.float32)
src = T - 1 - t if cfg.go_backwards else t
x_t = x[b, src]
h_prev = (h0[b] if h0 is not None else np.zeros(H, np.float32)) if t == 0 else run.states[b, t - 1]
act = activations.get(cfg.activation)
xw, hu = x_t @ kernel, h_prev @ recurrent
z = xw + hu + bias
st.latex(r"z_t = x_{%d}\,W + h_{t-1}\,U + b, \qquad h_t = f(z_t),\quad %s" % (src, act.formula.replace("f(z) =", "f(z)=")))
if cfg.go_backwards:
    st.caption(f"go_backwards: processing step {t} reads input step {src} = T-1-t.")
shown = min(H, 8)
table = pd.DataFrame({
    "x_t W": xw[:shown], "h_{t-1} U": hu[:shown], "b": bias[:shown], "z_t": z[:shown],
    f"h_t = {cfg.activation}(z_t)": act.forward(z[:shown].astype(np.float64)),
    "h_t (NumPy run)": run.states[b, t, :shown],
}, index=pd.Index(range(shown), name="unit"))
if keras_run is not None:
    table["h_t (Keras run)"] = keras_run.states[b, t, :shown]
st.dataframe(table.style.format("{:+.5f}"), width="stretch")
st.caption(f"x_{src} = {np.array2string(x_t[:8], precision=4)}{' …' if D > 8 else ''} (D = {D}); "
           f"showing {shown} of {H} units. The column computed here from the weights equals the run's h_t.")
with st.expander("Weights of this layer"):
    st.write(f"kernel W {kernel.shape}, recurrent_kernel U {recurrent.shape} (scaled by {cfg.recurrent_scale}), "
             f"bias {bias.shape if cfg.use_bias else 'none'}")
    st.dataframe(pd.DataFrame(recurrent[:8, :8]).style.format("{:+.3f}"), width="content")

if run.probs is not None:
    st.subheader("The Dense head on top")
    probs = run.probs[b]
    if probs.ndim == 2:
        st.caption("many-to-many: TimeDistributed(Dense softmax) gives a class distribution at every step.")
        st.plotly_chart(figures.states_heatmap(probs, "class probabilities p_t (NumPy)", quantity="p", highlight=t,
                                               rows="class", signed=False), key="probs")
    else:
        st.caption("many-to-one: Dense softmax reads only the last h; one distribution per sequence.")
        st.bar_chart(pd.DataFrame({"p": probs}))

st.subheader("Export")
arrays = export.forward_arrays(cfg, x, weights, h0, run.output, run.states)
# Files are built only when a button is clicked (a callable), not on every rerun (long sequences make them
# slow); a download changes nothing, so it triggers no rerun either.
c1, c2, c3 = st.columns(3)
c1.download_button("hidden states h_t (CSV)", lambda: export.to_csv(run.states if B > 1 else run.states[0]),
                   "hidden_states.csv", "text/csv", icon=":material/download:", on_click="ignore")
c2.download_button("inputs, weights and outputs (NPZ)", lambda: export.to_npz(arrays, cfg), "rnn_explorer.npz",
                   "application/octet-stream", icon=":material/download:", on_click="ignore")
c3.download_button("Keras script that reproduces this (.py)", export.reproduce_script(cfg), "reproduce_keras.py",
                   "text/x-python", icon=":material/code:", on_click="ignore")
st.caption("Put reproduce_keras.py next to rnn_explorer.npz and run it: it rebuilds keras.layers.SimpleRNN with "
           "these flags and weights and prints the difference to the numbers exported here.")
