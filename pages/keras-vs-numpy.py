"""Keras vs NumPy: is the NumPy core really the same as Keras?"""

import inspect

import numpy as np
import pandas as pd
import streamlit as st

from explorer import cache, figures, runs
from explorer.widgets import keras_enabled, keras_spinner, max_difference, page_setup, tolerance_for
from rnn_core.keras_bridge import tutorial_model_source, versions

cfg, seq = page_setup("keras-vs-numpy")   # under Streamlit's legacy pages/ router this runs app.py instead
x, labels = seq.inputs, seq.labels

st.title("Keras vs NumPy")
st.caption("Is the NumPy core really the same as Keras? Same weights in, every number compared.")

st.markdown("**The tutorial's Keras model** (what the Keras column runs, with the head chosen in the sidebar)")
st.code(tutorial_model_source(cfg.kind), language="python")
cell = runs.cell_of(cfg)
source_file = "rnn_core/" + inspect.getsourcefile(type(cell)).rsplit("/", 1)[-1]
st.markdown(f"**The NumPy {cfg.cell} step, forward and backward** (`{source_file}`; the one loop over time for "
            "every cell is `rnn_core/recurrence.py`)")
st.code(inspect.getsource(type(cell).step_forward) + "\n" + inspect.getsource(type(cell).step_backward),
        language="python")

if not keras_enabled(x.shape[1], "gradients"):
    if not st.session_state.get("keras", True):
        st.info("Turn on *Keras side by side* in the sidebar to run the comparison.")
    st.stop()

with keras_spinner():
    k_fwd = cache.keras_forward(cfg, x, None, seq.mask)
    k_grad = cache.keras_gradients(cfg, x, labels, "every" if cfg.head != "many-to-one" else "last", seq.mask)
np_fwd = cache.numpy_forward(cfg, x, None, seq.mask)
np_grad = cache.numpy_gradients(cfg, x, labels, "every" if cfg.head != "many-to-one" else "last", None, (), seq.mask)

rows: list[tuple[str, str, object, object]] = []
weights = cache.weights(cfg, x.shape[-1])
for name, w in zip(("kernel", "recurrent_kernel", "bias"), weights, strict=False):
    rows.append(("weight (copied in)", name, w, w))
mine = np_fwd.output if isinstance(np_fwd.output, tuple) else (np_fwd.output,)
theirs = k_fwd.output if isinstance(k_fwd.output, tuple) else (k_fwd.output,)
labels = ["output"] + [f"final state {name}_T" for name in cfg.state_names]
for label, a, b in zip(labels, mine, theirs, strict=False):
    rows.append(("output", label, a, b))
rows.append(("output", "h_t, every step", np_fwd.states, k_fwd.states))
if np_fwd.probs is not None:
    rows.append(("output", "head probabilities", np_fwd.probs, k_fwd.probs))
rows.append(("loss", "L", [np_grad.loss], [k_grad.loss]))
for name in np_grad.weights:
    rows.append(("gradient", f"dL/d{name}", np_grad.weights[name], k_grad.weights[name]))
rows.append(("gradient", "dL/dh_t (total, BPTT)", np_grad.hidden, k_grad.hidden))
if np_grad.cell is not None:
    rows.append(("gradient", "dL/dc_t (total, BPTT)", np_grad.cell, k_grad.cell))

table, bars = [], []
for kind, name, a, b in rows:
    diff, tol = max_difference(a, b), tolerance_for(b)
    table.append({"kind": kind, "tensor": name, "shape": str(tuple(pd.Series(a).shape) if isinstance(a, list) else
                                                             getattr(a, "shape", ())),
                  "max |NumPy − Keras|": diff, "tolerance": tol, "agree": "✓" if diff <= tol else "✗ NO"})
    bars.append((name, diff, tol))
ok = all(r["agree"] == "✓" for r in table)
(st.success if ok else st.error)(
    f"{sum(r['agree'] == '✓' for r in table)} of {len(table)} tensors agree within float32 tolerance "
    "(1e-5 × max(1, scale)).")
st.dataframe(pd.DataFrame(table).style.format({"max |NumPy − Keras|": "{:.2e}", "tolerance": "{:.0e}"}),
             hide_index=True, width="stretch", height=36 * (len(table) + 1) + 4)
st.plotly_chart(figures.parity_bars(bars), key="parity")
v = versions()
st.caption(f"Keras {v['keras']} on TensorFlow {v['tensorflow']}, NumPy core on NumPy {np.__version__}. "
           f"Keras run: {k_fwd.seconds * 1e3:.0f} ms forward, {k_grad.seconds * 1e3:.0f} ms gradients. "
           f"NumPy: {np_fwd.seconds * 1e3:.1f} ms forward, {np_grad.seconds * 1e3:.1f} ms gradients "
           "(first runs include building the models).")
