"""Keras vs NumPy: is the NumPy core really the same as Keras?"""

import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from explorer import cache, charts, figures, runs
from explorer.check_yourself import check_yourself_panel
from explorer.i18n import N_, _
from explorer.widgets import keras_enabled, keras_spinner, max_difference, page_setup, tolerance_for, working
from rnn_core.keras_bridge import tutorial_model_source, versions

cfg, seq = page_setup("keras-vs-numpy")   # under Streamlit's legacy pages/ router this runs app.py instead
x, labels = seq.inputs, seq.labels

KERAS_TOGGLE_LABEL = "Keras side by side"   # the sidebar's toggle, named by its label
                                            # (translated by the sidebar's catalog)
# The comparison table: what each row is (translated when shown); tensor names that are code stay as they are.
KINDS = {"weight": N_("weight (copied in)"), "output": N_("output"), "loss": N_("loss"), "gradient": N_("gradient")}

st.title("Keras vs NumPy")
st.caption(_("Is the NumPy core really the same as Keras? Same weights in, every number compared."))

st.markdown(_("**The tutorial's Keras model** (what the Keras column runs, with the head chosen in the sidebar)"))
st.code(tutorial_model_source(cfg.kind), language="python")
cell = runs.cell_of(cfg)
ROOT = Path(__file__).resolve().parents[1]
source_file = Path(inspect.getsourcefile(type(cell))).resolve().relative_to(ROOT).as_posix()
st.markdown(_("**The NumPy {cell} step, forward and backward** (`{source_file}`; the one loop over time for "
              "every cell is `rnn_core/layers/recurrence.py`)").format(cell=cfg.cell, source_file=source_file))
# Forward, then what the backward step reads (computed for a window of steps), then the backward step itself.
st.code("\n".join(inspect.getsource(getattr(type(cell), name))
                  for name in ("step_forward", "backward_cache", "step_backward")), language="python")

LOSS_ON = "every" if cfg.head != "many-to-one" else "last"


def check_it_yourself() -> None:
    """Any gradient entry against its finite difference: the NumPy core checked without Keras."""
    with st.container(border=True):
        layer, d_output = cache.check_inputs(cfg, x, seq.labels, LOSS_ON, seq.mask)
        check_yourself_panel(layer, x, d_output, mask=seq.mask, key_prefix="parity_")


if not keras_enabled(x.shape[1], "gradients"):
    if not st.session_state.get("keras", True):
        st.info(_("Turn on *{toggle}* in the sidebar to run the comparison.").format(toggle=_(KERAS_TOGGLE_LABEL)))
    check_it_yourself()
    st.stop()

with keras_spinner():
    k_fwd = cache.keras_forward(cfg, x, None, seq.mask)
    k_grad = cache.keras_gradients(cfg, x, labels, LOSS_ON, seq.mask)
with working(_("Running NumPy's forward and backward pass…")):
    np_fwd = cache.numpy_forward(cfg, x, None, seq.mask)
    np_grad = cache.numpy_gradients(cfg, x, labels, LOSS_ON, None, (), seq.mask)

rows: list[tuple[str, str, object, object]] = []
weights = cache.weights(cfg, x.shape[-1])
for name, w in zip(("kernel", "recurrent_kernel", "bias"), weights, strict=False):
    rows.append(("weight", name, w, w))
mine = np_fwd.output if isinstance(np_fwd.output, tuple) else (np_fwd.output,)
theirs = k_fwd.output if isinstance(k_fwd.output, tuple) else (k_fwd.output,)
labels = [_("output")] + [_("final state {name}_T").format(name=name) for name in cfg.state_names]
for label, a, b in zip(labels, mine, theirs, strict=False):
    rows.append(("output", label, a, b))
rows.append(("output", _("h_t, every step"), np_fwd.states, k_fwd.states))
if np_fwd.probs is not None:
    rows.append(("output", _("head probabilities"), np_fwd.probs, k_fwd.probs))
rows.append(("loss", "L", [np_grad.loss], [k_grad.loss]))
for name in np_grad.weights:
    rows.append(("gradient", f"dL/d{name}", np_grad.weights[name], k_grad.weights[name]))
rows.append(("gradient", _("dL/dh_t (total, BPTT)"), np_grad.hidden, k_grad.hidden))
if np_grad.cell is not None:
    rows.append(("gradient", _("dL/dc_t (total, BPTT)"), np_grad.cell, k_grad.cell))

KIND, TENSOR, SHAPE = _("kind"), _("tensor"), _("shape")
DIFF, TOL, AGREE = "max |NumPy − Keras|", _("tolerance"), _("agree")   # the first is math: the same in every language
YES, NO = "✓", _("✗ NO")
table, bars = [], []
for kind, name, a, b in rows:
    diff, tol = max_difference(a, b), tolerance_for(b)
    table.append({KIND: _(KINDS[kind]), TENSOR: name, SHAPE: str(tuple(pd.Series(a).shape) if isinstance(a, list) else
                                                                   getattr(a, "shape", ())),
                  DIFF: diff, TOL: tol, AGREE: YES if diff <= tol else NO})
    bars.append((name, diff, tol))
agree = sum(r[AGREE] == YES for r in table)
(st.success if agree == len(table) else st.error)(
    _("{agree} of {total} tensors agree within `float32` tolerance (1e-5 × max(1, scale)).").format(
        agree=agree, total=len(table)))
st.dataframe(pd.DataFrame(table).style.format({DIFF: "{:.2e}", TOL: "{:.0e}"}),
             hide_index=True, width="stretch", height=36 * (len(table) + 1) + 4)
charts.show(figures.parity_bars(bars), "parity")
v = versions()
st.caption(_("Keras {keras} on TensorFlow {tensorflow}, NumPy core on NumPy {numpy}. Keras run: {keras_forward:.0f} ms "
             "forward, {keras_gradients:.0f} ms gradients. NumPy: {numpy_forward:.1f} ms forward, "
             "{numpy_gradients:.1f} ms gradients (first runs include building the models).").format(
    keras=v["keras"], tensorflow=v["tensorflow"], numpy=np.__version__, keras_forward=k_fwd.seconds * 1e3,
    keras_gradients=k_grad.seconds * 1e3, numpy_forward=np_fwd.seconds * 1e3, numpy_gradients=np_grad.seconds * 1e3))
check_it_yourself()
