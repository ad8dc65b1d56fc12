"""Attention: an encoder-decoder learns where to look. Train it, watch its alignment, and compare without."""

import numpy as np
import pandas as pd
import streamlit as st

from explorer import attention_figures as af
from explorer import charts, i18n, training_figures, url_params
from explorer.attention_view import (
    ATTENTION_KINDS,
    ATTENTION_LABELS,
    CELL_KINDS,
    LEARNING_RATES,
    LENGTH_TASKS,
    LOSS_TOLERANCE,
    MAX_LENGTH,
    MAX_UNITS,
    TASK_LABELS,
    TASKS,
    AttentionRun,
    AttentionSettings,
    BudgetError,
)
from explorer.i18n import N_, _, ngettext
from explorer.inert import inert_code
from explorer.widgets import keras_spinner, max_difference, page_setup, parity_badge, tolerance_for
from rnn_core.messages import UserError
from rnn_core.training_budget import MAX_SECONDS

URL = "query-params"      # numbers and code names; choices with translated labels use url_params.choice
RUN = "attention_run"     # session-state key of the run (never in the URL)
TICK_SECONDS = 0.3        # the fragment reruns this often while a run is going
CHUNK_SECONDS = 0.35      # and trains for at most this long per tick, then draws and yields
STATUS_LABELS = {"running": N_("running"), "paused": N_("paused"), "done": N_("done")}
PICKS = ("att_example", "att_step", "att_grad_step")     # the live view's own widgets, reset by a new run

cfg, _input = page_setup("attention", sidebar_input=False)   # its own data and budget (explorer/attention_view.py)
keras_on = bool(st.session_state.get("keras", True))

st.title(_("Attention"))
st.caption(_("An encoder reads the input; a decoder writes the output one token at a time. Without attention the "
             "decoder sees the input only through the encoder's last state, a vector of fixed size; with attention "
             "it looks back at every encoder step and takes a weighted average. Train both on the same task and "
             "see where the decoder looks, what it costs long inputs to go without, and how far the gradient has "
             "to travel. The sidebar's layer settings are for the other pages: this model has its own, here."))

c1, c2, c3, c4 = st.columns([1.4, 1, 1, 1.8])
task_name = url_params.choice(c1.selectbox, _("task"), TASKS, key="att_task", default="reverse",
                              format_func=lambda t: _(TASK_LABELS[t]))
cell = c2.selectbox(_("cell"), list(CELL_KINDS), index=1, key="att_cell", bind=URL,
                    help=_("The encoder's and the decoder's recurrent layer (code names: Keras' classes)."))
units = c3.number_input(_("units"), 1, MAX_UNITS, 32, key="att_units", bind=URL,
                        help=_("The encoder's units H; the decoder has as many (2H after a bidirectional encoder)."))
kind = url_params.choice(c4.segmented_control, _("attention"), ATTENTION_KINDS, key="att_kind", default="dot",
                         format_func=lambda k: _(ATTENTION_LABELS[k]))
if kind == "additive":
    st.caption(_("Keras' `AdditiveAttention` scores with one learned vector w: s_j = Σ_d w_d tanh(q_d + k_jd) "
                 "(Bahdanau's original also multiplies q and k by learned matrices first). Measured here it learns "
                 "reversal more slowly than dot attention: give it more training steps."))
c1, c2, c3, c4, c5 = st.columns([1.6, 0.8, 1, 1, 1])
if task_name in LENGTH_TASKS:
    lengths = c1.slider(_("input length (symbols)"), 1, MAX_LENGTH, (3, 10), key="att_lengths", bind=URL,
                        help=_("The shortest and the longest source the task generates."))
else:
    lengths = (3, 10)
    c1.caption(_("This task sets its own input lengths."))
seed = c2.number_input(_("seed"), 0, 2**31 - 1, 0, key="att_seed", bind=URL)
lr = c3.selectbox(_("Adam learning rate"), LEARNING_RATES, index=LEARNING_RATES.index("0.01"), key="att_lr",
                  bind=URL)
steps = c4.number_input(_("training steps"), 10, 5000, 600, 10, key="att_steps", bind=URL,
                        help=_("Batches to train on (each one `train_on_batch`)."))
batch = c5.number_input(_("batch size"), 1, 256, 32, key="att_batch", bind=URL)
c1, c2 = st.columns(2)
bidirectional = c1.toggle(_("bidirectional encoder"), False, key="att_bidir", bind=URL,
                          help=_("`Bidirectional` encoder: each e_j also knows what comes after it."))
compare = c2.toggle(_("train without attention alongside") if kind != "none" else
                    _("train with dot attention alongside"), True, key="att_compare", bind=URL,
                    help=_("The other variant trains on the same batches, for the comparisons below."))

settings = AttentionSettings(task=task_name, cell=CELL_KINDS[cell], units=int(units), attention=kind,
                             bidirectional=bool(bidirectional), min_len=int(lengths[0]), max_len=int(lengths[1]),
                             seed=int(seed), learning_rate=float(lr), steps=int(steps), batch_size=int(batch),
                             compare=bool(compare), keras=keras_on)
try:
    task = settings.make_task()
except UserError as err:
    st.error(i18n.text(err), icon=":material/error:")
    st.stop()
Ts, Tt, Vi, Vo = settings.shape(task)
st.caption(_("Task: {task}. {n:,} training pairs and {held:,} held-out pairs (never trained on); {Ts} source "
             "steps (padded on the left) and {Tt} target steps; vocabularies of {Vi} and {Vo} tokens (with "
             "`<pad>`, `<s>`, `</s>`).").format(task=i18n.text(task.description), n=len(task.source),
                                               held=len(task.held_out_source), Ts=Ts, Tt=Tt, Vi=Vi, Vo=Vo))


def offer(label: str, key: str, value) -> None:
    """A one-click button that sets a control to the nearest setting within the budget."""
    st.button(label, key=f"fit_{key}", on_click=st.session_state.__setitem__, args=(key, value),
              icon=":material/auto_fix_high:")


try:
    estimate = settings.check_budget(task)
    budget_text = (_("Estimated NumPy compute about {seconds:.1f} s (budget {budget:.0f} s per run; Keras trains "
                     "alongside).") if keras_on else
                   _("Estimated NumPy compute about {seconds:.1f} s (budget {budget:.0f} s per run)."))
    st.caption(budget_text.format(seconds=estimate, budget=MAX_SECONDS))
except BudgetError as err:
    estimate = None
    st.warning(i18n.text(err), icon=":material/hourglass:")
    fits = settings.fitting_steps(task)
    if fits >= 10:
        offer(_("Use {n:,} training steps (fits the budget)").format(n=fits // 10 * 10), "att_steps", fits // 10 * 10)
    else:
        fit_units = settings.fitting_units(task)
        offer(ngettext("Use {n} unit", "Use {n} units", fit_units).format(n=fit_units), "att_units", fit_units)


def start() -> None:
    for key in PICKS:
        st.session_state.pop(key, None)
    st.session_state[RUN] = AttentionRun(settings, task)


run = st.session_state.get(RUN)
c = st.columns([1, 1, 1, 5])
c[0].button(_("Train"), type="primary", key="att_train", disabled=estimate is None, icon=":material/play_arrow:",
            on_click=start, help=_("Start from freshly initialised weights with the settings above."))
if run is not None and run.status == "running":
    c[1].button(_("Pause"), key="att_pause", icon=":material/pause:", on_click=lambda: setattr(run, "status", "paused"))
else:
    c[1].button(_("Continue"), key="att_continue", icon=":material/resume:",
                disabled=run is None or run.status != "paused", on_click=lambda: setattr(run, "status", "running"))
c[2].button(_("Reset"), key="att_reset", icon=":material/restart_alt:", disabled=run is None,
            on_click=lambda: st.session_state.pop(RUN, None))
if run is not None and run.settings != settings:
    st.caption(_("Showing the run started with: {run}, {steps:,} steps. Press **Train** to start over with the "
                 "settings above.").format(run=i18n.text(run.settings.describe()), steps=run.settings.steps))


def variants(run: AttentionRun) -> dict[str, str]:
    """"with" / "without" attention -> "model" (the run's own) or "other" (the one trained alongside)."""
    own = "with" if run.settings.attention != "none" else "without"
    out = {own: "model"}
    if run.other is not None:
        out["without" if own == "with" else "with"] = "other"
    return out


def kind_label(run: AttentionRun) -> str:
    kind = run.settings.attention if run.settings.attention != "none" else run.settings.other_attention
    return _(ATTENTION_LABELS[kind])


def tick(run: AttentionRun) -> None:
    """One bounded chunk of training, after everything is drawn; when the run ends, rerun the page."""
    if run.status != "running":
        return
    if run.needs_keras:
        with keras_spinner():
            run.advance(CHUNK_SECONDS)
    else:
        run.advance(CHUNK_SECONDS)
    if run.status == "done":
        st.rerun()


def progress(run: AttentionRun) -> None:
    s = run.settings
    text = (_("step {done:,} of {total:,} · held-out accuracy {accuracy:.0%} · {status}") if run.steps_done else
            _("step {done:,} of {total:,} · {status}"))
    st.progress(min(1.0, run.steps_done / s.steps),
                text=text.format(done=run.steps_done, total=s.steps, accuracy=run.held_out_accuracy,
                                 status=_(STATUS_LABELS[run.status])))


def curves(run: AttentionRun) -> None:
    roles = variants(run)
    c1, c2 = st.columns(2)
    charts.show(training_figures.loss_curve(run.loss, run.keras_loss if run.settings.keras else None,
                                            "sparse_categorical_crossentropy", total_steps=run.settings.steps),
                "att_loss", c1)
    steps_axis = [e[0] for e in run.evaluations]
    series = {v: (steps_axis, [e[1] if role == "model" else e[2] for e in run.evaluations])
              for v, role in roles.items()}
    charts.show(af.held_out_curve(series, kind_label(run), run.settings.steps), "att_accuracy", c2)
    parity = run.loss_parity()
    if parity is not None:
        diff, compared = parity
        ok = diff <= LOSS_TOLERANCE
        st.badge(ngettext("NumPy vs Keras train_on_batch: max relative loss difference {diff:.1e} over the first {n} "
                          "step", "NumPy vs Keras train_on_batch: max relative loss difference {diff:.1e} over the "
                          "first {n} steps", compared).format(diff=diff, n=compared),
                 icon=":material/check:" if ok else ":material/info:", color="green" if ok else "orange")
        st.caption(_("Both sides start from the same weights and train on the same batches. Later the two curves "
                     "drift apart a little: NumPy and TensorFlow round float32 sums in different orders, and "
                     "training amplifies such differences, most where the model suddenly learns the task."))
        keras_check(run)
    elif run.settings.keras:
        st.caption(_("Keras' curve starts once its twin is compiled."))


def alignment(run: AttentionRun) -> int:
    """The heatmap of one held-out example; returns the example's index."""
    st.subheader(_("Where the decoder looks: the alignment"))
    roles = variants(run)
    role = roles.get("with")
    if role is None:
        st.info(_("This model has no attention: its decoder sees the input only through the encoder's last state. "
                  "Choose *dot* or *additive*, or train with attention alongside, to see the alignment."),
                icon=":material/info:")
    held = len(run.held)
    st.session_state.setdefault("att_example", run.default_example())
    c1, c2 = st.columns([1, 4], vertical_alignment="bottom")
    index = int(c1.number_input(_("held-out example"), 0, held - 1, key="att_example",
                                help=_("One of the {n} held-out pairs (never trained on).").format(n=held)))
    ex = run.example(index, role or "model")
    verdict = _("right") if ex.correct else _("wrong")
    c2.markdown(_("Input {source} → target {target}; the model writes {output} ({verdict}).").format(
        source=inert_code(" ".join(ex.source)), target=inert_code(" ".join(ex.target)),
        output=inert_code(" ".join(ex.output)), verdict=verdict))
    if role is not None and ex.attention is not None:
        title = (_("Attention weights of the model, as it writes its answer") if role == "model" else
                 _("Attention weights of the model trained alongside (dot attention)"))
        charts.show(af.alignment_heatmap(ex.attention, ex.columns, ex.output, title), "att_heatmap")
        st.caption(_("Each row is one decoder step i and sums to 1: how much of each encoder state e_j its context "
                     "vector takes. Reversing a sequence, the first output needs the last input: a trained model "
                     "shows the anti-diagonal (repeated symbols can share the weight)."))
    return index


def arithmetic(run: AttentionRun, index: int) -> None:
    """One decoder step of the chosen example with the actual numbers (Seq2Seq.explain_step)."""
    st.subheader(_("One decoder step, with the actual numbers"))
    inputs = run.decoder_inputs(index)
    last = len(inputs) - 1
    if st.session_state.get("att_step", 0) > last:
        st.session_state["att_step"] = last
    st.session_state.setdefault("att_step", 0)
    step = st.slider(_("decoder step i"), 0, last, key="att_step",
                     help=_("Under teacher forcing the decoder reads the true previous token.")) if last else 0
    d = run.explain(index, step)
    target_id = int(run.held.y_out[index, step])
    tv = run.task.target_vocabulary
    kind = run.settings.attention
    st.caption(_("At step {i} the decoder reads {read} and should write {write}. q = d_i is its output ({Hd} "
                 "numbers); k_j = v_j = e_j are the encoder's outputs.").format(
        i=step, read=inert_code(inputs[step]), write=inert_code(tv.tokens[target_id]), Hd=len(d.query)))
    if kind == "dot":
        st.latex(r"s_j = q \cdot k_j = \sum_d q_d\,k_{jd} \qquad a_j = \frac{e^{s_j}}{\sum_k e^{s_k}} \qquad "
                 r"c = \sum_j a_j\,v_j \qquad p = \mathrm{softmax}\big(W\,[q;\,c] + b\big)")
    elif kind == "additive":
        st.latex(r"s_j = \sum_d w_d \tanh(q_d + k_{jd}) \qquad a_j = \frac{e^{s_j}}{\sum_k e^{s_k}} \qquad "
                 r"c = \sum_j a_j\,v_j \qquad p = \mathrm{softmax}\big(W\,[q;\,c] + b\big)")
    else:
        st.latex(r"p = \mathrm{softmax}(W\,q + b)")
        st.caption(_("Without attention the output reads d_i alone: the input reaches it only through the "
                     "decoder's initial state, the encoder's last state."))
    if d.weights is not None:
        source, _offset = run.source_tokens(index)     # every encoder step: <pad> first (left padding)
        scores, weights = d.scores.astype(np.float64), d.weights.astype(np.float64)
        c1, c2 = st.columns([1, 1.3])
        top = int(np.argmax(weights))
        table = pd.DataFrame({_("input token"): list(source), "s_j": scores, "a_j": weights},
                             index=pd.Index(range(len(source)), name="j"))
        c1.dataframe(table.style.format({"s_j": "{:+.4f}", "a_j": "{:.4f}"}), width="stretch",
                     height=min(420, 38 + 35 * len(source)))
        charts.show(af.step_weights(source, scores, weights,
                                    _("Attention weights a_j at decoder step {i}").format(i=step)),
                "att_step_weights", c2)
        keys = d.keys.astype(np.float64)
        q = d.query.astype(np.float64)
        if kind == "dot":
            check = float(q @ keys[top])
            how = _("q · k_{j} = Σ_d q_d k_{j}d = {value:+.4f} (the sum of all {n} products)")
        else:
            check = float((np.tanh(q + keys[top]) * d.scale.astype(np.float64)).sum())
            how = _("Σ_d w_d tanh(q_d + k_{j}d) = {value:+.4f} (the sum of all {n} terms)")
        shifted = np.exp(scores - scores.max())
        st.caption(_("The largest weight is on j = {j}: {how}; a_{j} = exp(s_{j} − max s) / Σ_k exp(s_k − max s) = "
                     "{e:.4f} / {total:.4f} = {a:.4f}. The weights sum to {sum:.4f}.").format(
            j=top, how=how.format(j=top, value=check, n=len(q)), e=shifted[top], total=shifted.sum(),
            a=weights[top], sum=weights.sum()))
        shown = min(len(q), 8)
        columns = {"q_d": q[:shown], f"k_{top}d": keys[top, :shown]}
        if kind == "additive":
            columns["w_d"] = d.scale[:shown]
            columns[f"tanh(q_d + k_{top}d)"] = np.tanh(q[:shown] + keys[top, :shown])
        columns["c_d"] = d.context[:shown]
        vectors = pd.DataFrame(columns, index=pd.Index(range(shown), name="d"))
        c1, c2 = st.columns([1, 1.3])
        c1.dataframe(vectors.style.format("{:+.4f}"), width="stretch")
        c1.caption((_("The first {shown} of {n} numbers of each vector; c = Σ_j a_j v_j.") if shown < len(q) else
                    _("All {n} numbers of each vector; c = Σ_j a_j v_j.")).format(shown=shown, n=len(q)))
    else:
        c2 = st
    charts.show(af.probabilities(tv.tokens, d.probs, target_id,
                                 _("Output probabilities p at decoder step {i}").format(i=step)), "att_probs", c2)


def comparison(run: AttentionRun) -> None:
    st.subheader(_("With and without attention"))
    if run.other is None:
        st.info(_("Switch on *train without attention alongside* (or *with dot attention*) and train again to "
                  "compare the two."), icon=":material/info:")
        return
    roles = variants(run)
    c1, c2 = st.columns(2)
    latest = run.latest_length_curve()
    if latest is None:
        c1.info(_("Accuracy by input length is measured after a quarter of the steps, and at the end."),
                icon=":material/hourglass:")
    else:
        at_step, by_length = latest
        charts.show(af.length_curve(by_length["lengths"], {v: by_length[r] for v, r in roles.items()},
                                    kind_label(run), at_step), "att_lengths_chart", c1)
    outputs = run.gradient_output_steps
    st.session_state.setdefault("att_grad_step", outputs - 1)
    with c2:
        about = _("The loss of this one output, −log p(y_i), differentiated with respect to every one-hot input x_t "
                  "(mean over {n} inputs of the longest length).").format(n=run.gradient_batch.x.shape[0])
        output_step = 0 if outputs == 1 else st.slider(_("output step for the gradient"), 0, outputs - 1,
                                                       key="att_grad_step", help=about)
        paths, before = run.gradient_paths(int(output_step)), run.gradient_paths(int(output_step), initial=True)
        now = {v: paths[r] for v, r in roles.items()}
        initial = {v: before[r] for v, r in roles.items()}
        charts.show(af.gradient_path(now, kind_label(run), int(output_step), initial), "att_gradient")
        ratio = initial["with"][0] / max(initial["without"][0], 1e-30)
        st.caption(_("Before training, the first input x_0 (the farthest from the decoder) receives {ratio:.1f} times "
                     "the gradient with attention ({with_before:.2g}) as without ({without_before:.2g}). Now each "
                     "curve peaks where its model takes what this output needs from: with attention at x_{t_with}, "
                     "without at x_{t_without}. A model that has learnt the task has a small loss, and so small "
                     "gradients: compare the shapes, not the heights.").format(
            ratio=ratio, with_before=initial["with"][0], without_before=initial["without"][0],
            t_with=int(np.argmax(now["with"])), t_without=int(np.argmax(now["without"]))))
    st.markdown(_("Without attention everything the decoder knows about the input passes through one vector of "
                  "{H} numbers, the encoder's last state, so long inputs are the first to go wrong. The gradient "
                  "shows the same bottleneck from the other side: without attention the loss of output i reaches "
                  "an input x_t only through every decoder step before i and every encoder step after t, and it "
                  "shrinks at each of them; with attention it also reaches e_t directly, one step from x_t, so far "
                  "inputs get a short path (same log axis as the *Gradient flow* page).").format(
        H=run.model.config.decoder_units))


def keras_check(run: AttentionRun) -> None:
    """Parity of the probabilities: Keras' twin holding NumPy's weights, on the held-out pairs (when paused)."""
    if run.status == "running":
        return
    with keras_spinner():
        mine, theirs = run.probability_parity()
    parity_badge(max_difference(mine, theirs), tolerance_for(theirs),
                 _("held-out p, Keras with NumPy's weights: max |NumPy − Keras|"))


def exports(run: AttentionRun) -> None:
    s = run.settings
    name = f"seq2seq_{s.cell}_{s.attention}_{s.task}_{run.steps_done}steps"       # file names: not translated
    c1, c2, _c3 = st.columns([1, 1.3, 3])
    c1.download_button(_(".keras model"), run.keras_bytes, f"{name}.keras", "application/octet-stream",
                       on_click="ignore", icon=":material/download:", key="att_dl_keras",
                       help=_("`keras.saving.load_model` opens it (built by Keras when you click: TensorFlow "
                              "loads)."))
    c2.download_button(_("attention weights (NPZ)"), run.attention_npz, f"{name}_attention.npz",
                       "application/octet-stream", on_click="ignore", icon=":material/download:", key="att_dl_npz",
                       help=_("The greedy decodings of the first held-out pairs: weights (pairs, output steps, "
                              "input steps), token ids and both vocabularies."))


@st.fragment(run_every=TICK_SECONDS if getattr(run, "status", None) == "running" else None)
def live() -> None:
    run = st.session_state.get(RUN)
    if run is None:
        st.info(_("Press **Train**: the curves and the alignment below fill in as it learns."),
                icon=":material/info:")
        return
    progress(run)
    curves(run)
    index = alignment(run)
    if run.status == "running":          # a tick draws only what changes as it learns: the page stays responsive
        st.info(_("One decoder step's arithmetic and the comparison with and without attention are drawn when "
                  "the run pauses or ends."), icon=":material/pause_circle:")
    else:
        arithmetic(run, index)
        comparison(run)
        if run.steps_done:
            st.subheader(_("Export"))
            exports(run)
    tick(run)


live()
