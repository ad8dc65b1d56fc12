"""Gradient flow (BPTT): how far back does the gradient reach, and why?"""

import numpy as np
import pandas as pd
import streamlit as st

from explorer import cache, charts, export, figures, i18n, runs, url_params
from explorer.check_yourself import check_yourself_panel
from explorer.i18n import N_, _, ngettext
from explorer.widgets import (
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

cfg, seq = page_setup("gradient-flow")   # under Streamlit's legacy pages/ router this runs app.py instead
x, labels = seq.inputs, seq.labels
B, T, D = x.shape

# The sidebar controls this page names, by their labels (translated in the sidebar's catalog, so the names match).
RECURRENT_SCALE_LABEL = "recurrent weight scale"
# The URL keeps these options as they are (flow_view=compare+cells, loss_on=every, clip=clipnorm): only the
# labels are translated (explorer/url_params.py).
VIEWS = {"this layer": N_("this layer"), "compare cells": N_("compare cells")}
LOSS_ON = {"last": N_("last step"), "every": N_("every step")}
CLIPS = ["none", "clipnorm", "global_clipnorm", "clipvalue"]     # Keras optimizer arguments, and no clipping

st.title(_("Gradient flow (BPTT)"))
st.caption(_("How far back does the gradient reach, and why? Move the *{control}* in the sidebar from 0.5 "
             "(vanishing) to 1.5 (exploding) and watch the slopes below.").format(control=_(RECURRENT_SCALE_LABEL)))
show_normalization(seq, cfg)
view = url_params.choice(st.segmented_control, _("view"), list(VIEWS), key="flow_view", default="this layer",
                         format_func=lambda v: _(VIEWS[v]),
                         help=_("Compare cells: the same input through SimpleRNN, LSTM and GRU, loss on the last "
                                "step."))
if view == "compare cells":
    st.subheader(_("Why gates: SimpleRNN vs LSTM vs GRU on the same input"))
    carry_bias = st.slider(_("bias of the carry gates (LSTM's forget gate f, GRU's update gate z)"), -2.0, 6.0, 1.0,
                           0.5, key="carry_bias", bind="query-params",
                           help=_("1 is Keras' `unit_forget_bias`. A gate's value is `sigmoid(bias + ...)`: raise the "
                                  "bias and the gate stays near 1, so the cell passes its state, and the gradient, "
                                  "on."))
    with working(_("Back-propagating through {steps:,} steps in each cell…").format(steps=T)):
        flows = cache.compare_cells(cfg, x, float(carry_bias))
    charts.show(figures.gradient_norms({f.cell: f.hidden_norms for f in flows},
                                       _("||dL/dh_t|| for a loss on the last step only, {units} units each")
                                       .format(units=cfg.units),
                                       rates={f.cell: f.fit for f in flows}), "compare")
    cell_col, factor_col, half_col = _("cell"), _("per-step factor"), _("halves every (steps)")
    rows = [{cell_col: f.cell, factor_col: f.fit.factor if f.fit else float("nan"),
             half_col: f.fit.half_life if f.fit and f.fit.factor < 1 else float("nan"),
             "||dL/dh_0|| / ||dL/dh_T||": float(f.hidden_norms[0] / f.hidden_norms[-1])} for f in flows]
    st.dataframe(pd.DataFrame(rows).set_index(cell_col).style.format("{:.4g}"), width="stretch")
    st.caption(_("Input: {description} (sequence 0, {steps:,} steps). Each cell has Keras' default initializers "
                 "(seed {seed}), {units} units, and receives the same unit gradient on h_T; nothing is trained.")
               .format(description=seq.description, steps=T, seed=cfg.seed, units=cfg.units))
    st.markdown(
        _("A SimpleRNN multiplies the gradient by `diag(f'(z_t)) Uᵀ` at every step back: the rate is fixed by its "
          "weights and inputs. An LSTM's cell state is *added to* rather than multiplied by a matrix "
          "(`c_t = f_t ⊙ c_(t−1) + i_t ⊙ g_t`), so the gradient on `c` crosses a step multiplied by the forget gate "
          "`f_t` alone; a GRU's update gate does the same for `h` (`h_t = z_t ⊙ h_(t−1) + (1 − z_t) ⊙ hh_t`, "
          "`hh_t` the candidate).")
        + " " +
        _("**Untrained, every cell forgets**: at bias 1 the forget gate is about `sigmoid(1) ≈ 0.73`, and "
          "`0.73²⁰ ≈ 0.002`. What the gates add is a knob: move the slider to 4 (`f ≈ 0.98`) and the LSTM and GRU "
          "lines flatten while the SimpleRNN has no such knob. Training sets that knob where a task needs memory."))
    st.stop()

c1, c2, c3, c4 = st.columns([1.3, 1, 1.2, 1])
if cfg.head == "none":
    loss_on = url_params.choice(c1.radio, _("loss on"), list(LOSS_ON), key="loss_on", default="last",
                                horizontal=True, format_func=lambda v: _(LOSS_ON[v]),
                                help=_("Last step: the cleanest view of decay, one gradient injected at h_T. "
                                       "Every step: what a many-to-many loss sees."))
else:
    loss_on = "every" if cfg.head == "many-to-many" else "last"
    c1.markdown(_("**loss on** every step (set by the many-to-many head)") if loss_on == "every" else
                _("**loss on** the last step (set by the many-to-one head)"))
truncate = c2.number_input(_("truncate BPTT at k steps (0 = off)"), 0, max(T, 1), 0, key="truncate",
                           bind="query-params")
clip_kind = url_params.choice(c3.selectbox, _("gradient clipping"), CLIPS, key="clip", default="none",
                              format_func=lambda c: _("none") if c == "none" else c,
                              help=_("As the Keras optimizer argument of the same name."))
clip_value = c4.number_input(_("clip at"), 1e-6, 1e6, 1.0, key="clip_at", bind="query-params", format="%g",
                             disabled=clip_kind == "none")
clip = () if clip_kind == "none" else ((clip_kind, float(clip_value)),)
trunc = int(truncate) or None

with working(_("Back-propagating through {steps:,} steps and measuring each step's Jacobian…").format(steps=T)):
    run = cache.numpy_gradients(cfg, x, labels, loss_on, trunc, clip, seq.mask)
    flow = cache.flow_analysis(cfg, x, labels, loss_on, trunc, clip, seq.mask)
state = "h" if cfg.state_names == ("h",) else "s"
st.caption(_("Loss: {loss_text}. L = {loss:.6g}.").format(loss_text=i18n.text(run.loss_text), loss=run.loss) + " "
           + (ngettext("Truncated BPTT: each gradient travels at most {k} step back.",
                       "Truncated BPTT: each gradient travels at most {k} steps back.", trunc).format(k=trunc)
              if trunc else _("Full BPTT.")))
if not np.all(np.isfinite(run.hidden)):
    st.error(_("The gradient overflowed (inf or nan) at some steps: they are marked with a red x. "
               "Lower the *{control}*, or clip.").format(control=_(RECURRENT_SCALE_LABEL)),
             icon=":material/warning:")

keras_run = None
if trunc is None and keras_enabled(T, "gradients"):
    with keras_spinner():
        keras_run = cache.keras_gradients(cfg, x, labels, loss_on, seq.mask)

norms = {"NumPy": flow.hidden_norms}
if keras_run is not None:
    norms["Keras"] = np.linalg.norm(keras_run.hidden[0].astype(np.float64), axis=-1)
col_l, col_r = st.columns(2, gap="medium")
with col_l:
    charts.show(figures.gradient_norms(norms, _("||dL/dh_t||: the gradient reaching each state"),
                                       decay=flow.decay if loss_on == "last" else None), "norms")
    if loss_on == "last" and flow.decay is not None:
        f = flow.decay
        st.caption((_("Going back one step multiplies the gradient by about **{factor:.3g}**: it halves every "
                      "{half_life:.3g} steps.") if f.factor < 1 else
                    _("Going back one step multiplies the gradient by about **{factor:.3g}**: it doubles every "
                      "{half_life:.3g} steps.")).format(factor=f.factor, half_life=f.half_life))
with col_r:
    charts.show(figures.states_heatmap(run.hidden[0], _("dL/dh_t (sequence 0)"), quantity="dL/dh"), "hidden")
    if run.cell is not None:
        charts.show(figures.states_heatmap(run.cell[0], _("dL/dc_t: the gradient on the cell state (sequence 0)"),
                                           quantity="dL/dc"), "cell_grad")
    if keras_run is not None:
        pairs = [(run.hidden, keras_run.hidden)] + ([(run.cell, keras_run.cell)] if run.cell is not None else [])
        diff = max(max_difference(a, b) for a, b in pairs)
        parity_badge(diff, max(tolerance_for(b) for _a, b in pairs),
                     "dL/dh_t, dL/dc_t: max |NumPy − Keras|" if run.cell is not None    # short: the badge is one line
                     else "dL/dh_t: max |NumPy − Keras|")
    elif trunc is not None and st.session_state.get("keras", True):
        st.caption(_("Keras column hidden: truncated BPTT is a NumPy-core feature (Keras' tape always does full "
                     "BPTT)."))

with st.container(border=True):
    layer, d_output = cache.check_inputs(cfg, x, labels, loss_on, seq.mask)
    check_yourself_panel(layer, x, d_output, mask=seq.mask, key_prefix="flow_")
    if trunc is not None:
        st.caption(_("The check differentiates the whole loss (full BPTT); the charts above are truncated."))

st.subheader(_("Why: the Jacobians of the recurrence"))
rep, sf = flow.pascanu, flow.flow
if rep is not None:
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(_("spectral radius ρ(U)"), f"{rep.spectral_radius:.4f}", help=_("Largest |eigenvalue| of U."))
    c2.metric("σ_max(U)", f"{rep.sigma_max:.4f}",
              help=_("Largest singular value of U: the most U can stretch a vector."))
    c3.metric(_("γ = sup |f'| ({activation})").format(activation=cfg.activation), f"{rep.gamma:.4f}",
              help=_("The steepest slope of the activation function."))
    c4.metric(_("bound γ·σ_max(U)"), f"{rep.bound:.4f}",
              help=_("No step can stretch the gradient by more than this."))
    st.markdown(_(
        r"Each step multiplies the gradient by $J_t^\top$ with $J_t = \partial h_t/\partial h_{t-1} = "
        r"\mathrm{diag}(f'(z_t))\,U^\top$, so $\|\partial h_t/\partial h_k\| \le (\gamma\,\sigma_{\max}(U))^{t-k}$. "
        r"Pascanu, Mikolov & Bengio (2013): $\gamma\,\sigma_{\max}(U) < 1$ is **sufficient** for vanishing "
        r"gradients; $\sigma_{\max}(U) > 1/\gamma$ is **necessary** for exploding ones."))
    st.info(i18n.text(rep.verdict), icon=":material/lightbulb:")
    sigma_title = _("Per-step stretch: largest singular value of J_t = diag(f'(z_t)) Uᵀ")
    carry_chart = None
else:
    cell = runs.cell_of(cfg)
    carry = sf.carry
    gate_label = i18n.text(cell.gate_labels.get(carry.gate, carry.gate))
    carried = "c" if carry.gate == "f" else "h"
    st.markdown(_(
        "The {cell}'s state is `s_t = ({states})`: the gradient crosses each step through the Jacobian "
        "`J_t = ∂s_t/∂s_(t−1)` ({size} × {size}, from the gates' values at that step). Besides the path through "
        "`Uᵀ` that a SimpleRNN has, there is a **direct path**: the {gate_label} multiplies the carried state "
        "elementwise, so `∂{carried}_t/∂{carried}_(t−1)` contains `diag({gate}_t)`. Where the gate stays near 1, "
        "the gradient travels back almost untouched: no product of matrices with a norm below 1.").format(
            cell=cfg.cell, states=", ".join(n + "_t" for n in sf.state_names), size=sf.size, gate_label=gate_label,
            carried=carried, gate=carry.gate))
    mean_at = {d: float(10 ** carry.log10_mean[d]) for d in (1, 10, 50) if d < len(carry.log10_mean)}
    cols = st.columns(len(mean_at) + 1)
    gate_values = cache.numpy_forward(cfg, x, None, seq.mask).sequences[carry.gate][0]
    cols[0].metric(_("mean {gate}_t (sequence 0)").format(gate=carry.gate), f"{float(np.mean(gate_values)):.3f}",
                   help=_("The {gate_label} averaged over every step and unit.").format(gate_label=gate_label))
    for col, (d, value) in zip(cols[1:], mean_at.items(), strict=True):
        col.metric(ngettext("mean product over {d} step", "mean product over {d} steps", d).format(d=d),
                   f"{value:.3g}")

    def carry_chart() -> None:
        charts.show(figures.carry_products(carry.distance, carry.log10_mean, carry.log10_max, gate_label), "carry")

    sigma_title = _("Per-step stretch: σ_max of J_t = ∂s_t/∂s_(t−1), s = ({states})").format(
        states=", ".join(sf.state_names))


def per_step_stretch() -> None:
    if carry_chart is not None:                   # a gated cell: its carry gate's products first
        carry_chart()
    charts.show(figures.step_sigmas(sf.sigma, None if rep is None else rep.bound, i18n.text(flow.sigma_method),
                                    sf.sigma_steps, title=sigma_title, state=flow.state), "sigmas")


def how_far_back() -> None:
    m = sf.map
    charts.show(figures.jacobian_map(m.steps, m.log10_norm, i18n.text(m.method), state=flow.state), "jmap")


def what_the_weights_receive() -> None:
    col_l, col_r = st.columns(2, gap="medium")
    with col_l:
        charts.show(figures.contributions(run.contributions), "contrib")
    with col_r:
        rows = []
        grad_col, before_col, after_col = _("gradient"), _("norm before clip"), _("norm after clip")
        for name in list(run.weights) + ["global"]:
            rows.append({grad_col: f"dL/d{name}" if name != "global" else _("all (global norm)"),
                         before_col: flow.norms_before[name], after_col: flow.norms_after[name]})
        table = pd.DataFrame(rows).set_index(grad_col)
        if keras_run is not None:
            table[_("norm (Keras)")] = [float(np.linalg.norm(keras_run.weights[n])) for n in run.weights] + [
                float(np.sqrt(sum(np.sum(np.square(g, dtype=np.float64)) for g in keras_run.weights.values())))]
        st.dataframe(table.style.format("{:.5g}"), width="stretch")
        if clip:
            said = {"clipnorm": _("`clipnorm`: each gradient rescaled to norm ≤ c, direction kept."),
                    "global_clipnorm": _("`global_clipnorm`: all rescaled together so the global norm ≤ c."),
                    "clipvalue": _("`clipvalue`: each element clipped to [−c, c]; the direction changes.")}
            st.caption(said[clip_kind])
        if keras_run is not None:
            diffs = [max_difference(run.weights[n], keras_run.weights[n]) for n in run.weights]
            tol = max(tolerance_for(keras_run.weights[n]) for n in run.weights)
            parity_badge(max(diffs), tol, _("weight gradients: max |NumPy − Keras|"))


# One view at a time: a flag redraws only the charts shown (each costs the browser ~0.1 s).
VIEWS = [(_("Per-step stretch"), per_step_stretch), (_("How far back each state moves"), how_far_back),
         (_("What the weights receive"), what_the_weights_receive)]
show_views(VIEWS, "flow_jacobians")

st.subheader(_("Export"))
# Files are built only when a button is clicked (a callable), not on every rerun (long sequences make them
# slow); a download changes nothing, so it triggers no rerun either.
c1, c2 = st.columns(2)
c1.download_button("dL/dh_t (CSV)", lambda: export.to_csv(run.hidden if B > 1 else run.hidden[0]),
                   "hidden_gradients.csv", "text/csv", icon=":material/download:", on_click="ignore")
grads = {f"d_{k}": v for k, v in run.weights.items()} | {f"d_{k}_clipped": v for k, v in run.clipped.items()}
c2.download_button(_("every gradient (NPZ)"), lambda: export.to_npz({"hidden": run.hidden, **grads,
                                                                   "inputs": x, "labels": labels}, cfg),
                   "rnn_explorer_gradients.npz", "application/octet-stream", icon=":material/download:",
                   on_click="ignore")
