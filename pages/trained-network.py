"""Inside a trained network: what has the layer learned? Units that follow a signal, select and match, the
state space with its fixed points, and gate saturation."""

from collections import Counter

import numpy as np
import pandas as pd
import streamlit as st

from explorer import cache, charts, custom_layer, i18n, runs, url_params
from explorer import inside_figures as figs
from explorer import inside_view as view
from explorer.i18n import N_, _, ngettext
from explorer.inert import clean, inert
from explorer.widgets import page_setup, show_views, working
from rnn_core import budget
from rnn_core.messages import UserError

cfg, seq = page_setup("trained-network", sidebar_input=False)   # this page estimates its own view (below)
custom = st.session_state.get(custom_layer.KEY)
LABELS = {"h": N_("hidden state h_t"), "c": N_("cell state c_t"), **runs.cell_of(cfg).gate_labels}
DIMS = {2: N_("2-D"), 3: N_("3-D")}

st.title(_("Inside a trained network"))
st.caption(_("What has the layer learned? Which units follow the nesting depth of a text, which spans make the "
             "same units fire (LSTMVis' select and match), where its states go and where they would stay (fixed "
             "points), and how often its gates close or open fully."))
if not cfg.layer_id:
    st.info(_("This is the sidebar's layer with random, untrained weights: it has none of this structure, so no "
              "unit follows the depth and the fixed points are those of random weights. Train one on the "
              "**Training** page (task *nested brackets (next character)*, `LSTM`, 48 units: about 10 s) and press "
              "*Use these weights*, or show a layer of your own `.keras` model (sidebar)."), icon=":material/info:")


def sidebar_vocabulary() -> tuple[str, ...] | None:
    """The characters of the sidebar's input when it is text: an uploaded .txt or the characters example."""
    if cfg.source == "upload":
        loaded = st.session_state.get("user_sequence")
        vocabulary = getattr(loaded["info"], "vocabulary", None) if loaded else None
        return tuple(vocabulary) if vocabulary else None
    if cfg.source == "example" and cfg.example == "characters":
        return tuple(cache.example(cfg).vocabulary) or None
    return None


def keep_in(key: str, options, default) -> None:
    """A widget's stored value back to ``default`` when it is no longer one of ``options`` (a list or a range)."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


# -- what the layer reads --------------------------------------------------------------------------------------
task = view.trained_text(custom, st.session_state.get("training_run"))
if st.session_state.get("inside_steps_for") != (cfg.layer_id, task is not None):   # another layer: its own length
    st.session_state["inside_steps_for"] = (cfg.layer_id, task is not None)
    st.session_state.pop("inside_steps", None)
features = custom["input_dim"] if custom else seq.inputs.shape[-1]
vocabulary = sidebar_vocabulary()
text = None
c1, c2, c3 = st.columns(3)
if task is not None:
    typed = st.text_area(_("text the layer reads (only the characters it was trained on)"), task.default_text,
                         max_chars=view.MAX_CHARS, height=110, key=f"inside_text_{cfg.layer_id[:12]}")
    vocabulary = task.vocabulary
    keep_in("inside_steps", range(2, view.MAX_CHARS + 1), min(view.DEFAULT_CHARS, max(2, len(typed))))
    steps = c1.number_input(_("characters to read"), 2, view.MAX_CHARS, key="inside_steps")
    text = typed[:steps]
    try:
        x = view.encode(text, vocabulary)
    except UserError as err:
        st.error(i18n.text(err), icon=":material/error:")
        st.stop()
    origin = (_("a new text of the task it was trained on (nested brackets)") if task.task == "brackets"
              else _("the text it was trained on"))
else:
    x = seq.inputs
    origin = seq.description
    if x.shape[-1] != features and custom and custom.get("example"):
        x, origin = np.asarray(custom["example"]["x"], np.float32), i18n.text(custom["example"]["description"])
    if x.shape[-1] != features:
        st.error(custom_layer.input_mismatch(custom, seq.inputs.shape[-1]), icon=":material/error:")
        st.stop()
    B_all, T_all = x.shape[:2]
    if T_all < 2:
        st.error(ngettext("The input has {steps} step: a layer has no states over time to show. Choose an input with "
                          "at least 2 steps (sidebar).",
                          "The input has {steps} steps: a layer has no states over time to show. Choose an input "
                          "with at least 2 steps (sidebar).", T_all).format(steps=T_all), icon=":material/error:")
        st.stop()
    top = min(T_all, view.MAX_CHARS if vocabulary else view.MAX_STEPS)
    keep_in("inside_steps", range(2, top + 1), min(top, view.DEFAULT_CHARS if vocabulary else view.DEFAULT_STEPS))
    steps = c1.number_input(_("characters to read") if vocabulary else _("steps to read"), 2, top, key="inside_steps")
    batch = 1
    if B_all > 1 and not vocabulary:
        keep_in("inside_batch", range(1, min(B_all, view.MAX_BATCH) + 1), min(B_all, view.MAX_BATCH))
        batch = c2.number_input(_("sequences"), 1, min(B_all, view.MAX_BATCH), key="inside_batch")
    x = np.ascontiguousarray(x[:batch, :steps])
    if vocabulary and len(vocabulary) == x.shape[-1]:
        text = view.decode(x[0], vocabulary)
keep_in("inside_starts", list(view.STARTS), view.DEFAULT_STARTS)
starts = c3.select_slider(_("fixed-point search: starts"), sorted(view.STARTS), key="inside_starts",
                          help=_("How many visited states the search for fixed points starts from."))
B, T, D = x.shape
H = cfg.units

# -- the budget: estimated before anything runs --------------------------------------------------------------
est = view.estimate(cfg.kind, B, T, H, D, cfg.num_classes, starts)
if not est.fits:
    st.error(_("**This view is too large for this server.** {B} x {T:,} steps x {H} units with {starts} fixed-point "
               "starts would need {need}, past the budget of {budget_bytes} and {budget_seconds:g} s per view. "
               "Nothing has been computed.").format(B=B, T=T, H=H, starts=starts, need=i18n.text(est.text()),
                                                    budget_bytes=budget.fmt_bytes(est.budget_bytes),
                                                    budget_seconds=est.budget_seconds), icon=":material/memory:")
    fit = view.nearest_fitting(cfg.kind, B, T, H, D, cfg.num_classes, starts)
    if fit is None:
        st.info(_("Even 2 steps do not fit with this layer: use a layer with fewer units."))
        st.stop()
    changes = ", ".join(i18n.text(change) for change in fit.changes)

    def apply_fit() -> None:
        st.session_state.update(inside_steps=fit.steps, inside_batch=fit.batch, inside_starts=fit.starts)

    st.button(_("Use {changes} ({estimate})").format(changes=changes, estimate=i18n.text(fit.estimate.text())),
              key="inside_fit", type="primary", icon=":material/tune:", on_click=apply_fit)
    st.stop()
described = (ngettext("The layer reads {n:,} character: {origin}.", "The layer reads {n:,} characters: {origin}.", T)
             if text is not None else
             ngettext("The layer reads {n:,} step of {B} sequence(s): {origin}.",
                      "The layer reads {n:,} steps of {B} sequence(s): {origin}.", T))
st.caption(described.format(n=T, B=B, origin=origin) + " " + _("Estimated for this view: {need}.").format(
    need=i18n.text(est.text())) + (" " + _("`go_backwards`: step t of every chart is the state after reading input "
                                           "step t.") if cfg.go_backwards else ""))

with working(_("Running the layer over {steps:,} steps…").format(steps=B * T)):
    values = view.quantities(cfg, x)
if not all(np.isfinite(v).all() for v in values.values()):
    st.error(_("The layer's states overflow (inf or NaN) on this input: there are no states to analyse. Lower the "
               "recurrent weight scale or use a bounded activation."), icon=":material/error:")
    st.stop()

# -- what every view looks at: a quantity of the layer and a signal -------------------------------------------
signals = view.text_signals(text) if text is not None else view.step_signals(x)
signal_labels = view.TEXT_SIGNALS if text is not None else view.STEP_SIGNALS
c1, c2 = st.columns(2)
quantity = url_params.choice(c1.selectbox, _("what to look at"), list(values), key="inside_quantity", default="h",
                             format_func=lambda q: i18n.text(LABELS[q], markdown=False) if q in LABELS else q)
varying = [name for name in signal_labels if np.ptp(signals[name]) > 0]      # a constant signal has no r
signal_name = url_params.choice(c2.selectbox, _("signal"), list(signal_labels), key="inside_signal",
                                default=(varying or list(signal_labels))[0],
                                format_func=lambda s: _(signal_labels[s]))
signal = signals[signal_name]
signal = signal[None] if signal.ndim == 1 else signal
signal_label = _(signal_labels[signal_name])
corr = view.unit_correlations(cfg, x, quantity, signal)
best, r_best = int(corr.units[0]), float(corr.r[0])
seq_no = 0                          # the sequence shown: chosen in select and match, marked in the state space
if B > 1:
    keep_in("inside_seq", range(B), 0)
    seq_no = int(st.session_state["inside_seq"])


def units_and_signal() -> None:
    """The units whose value follows the signal: every unit's r, and the best one beside the signal."""
    if text is not None:
        st.caption(_("The nesting depth after a character counts the brackets {brackets} and the quotes {quote} still "
                     "open; the position in the word counts the letters since the last other character.").format(
            brackets="( [ {", quote='"'))
    if signal_name not in varying:
        st.info(_("The {signal} is the same at every step of this input, so no unit can follow it: choose another "
                  "signal.").format(signal=signal_label), icon=":material/info:")
    else:
        st.markdown(_("**Unit {unit}** follows the {signal} most closely: Pearson r = {r:+.2f} over {n:,} steps (then "
                      "unit {second}, r = {r2:+.2f}).").format(unit=best, signal=signal_label, r=r_best, n=B * T,
                                                              second=int(corr.units[min(1, H - 1)]),
                                                              r2=float(corr.r[min(1, H - 1)])))
        c1, c2 = st.columns(2)
        charts.show(figs.correlation_bars(corr.all_r, signal_label), "inside_corr", c1)
        charts.show(figs.unit_and_signal(values[quantity][0, :, best], signal[0], best, quantity, signal_label,
                                         r_best, text=text), "inside_unit_signal", c2)


def select_and_match() -> None:
    """LSTMVis' select and match: a span and a threshold select units, the matches are other spans where they are on
    together; with a text, the text coloured by one unit, the span and its matches outlined."""
    text_box = None
    if text is not None:
        st.subheader(_("The text, coloured by one unit"))
        order = [int(u) for u in corr.units]
        if st.session_state.get("inside_unit_for") != (cfg.layer_id, quantity, signal_name):
            st.session_state["inside_unit_for"] = (cfg.layer_id, quantity, signal_name)
            st.session_state.pop("inside_unit", None)                   # a new layer or signal: its best unit first
        unit = url_params.choice(st.selectbox, _("unit (most correlated with the signal first)"), order,
                                 key="inside_unit", default=order[0],
                                 format_func=lambda u: _("unit {unit} (r = {r:+.2f})").format(unit=u,
                                                                                            r=float(corr.all_r[u])))
        text_box = st.container()

    st.caption(_("Choose a span and a threshold: the units whose value stays at or above the threshold over the whole "
                 "span are *selected*; the matches are the other spans where those units are on together, best first "
                 "(few other units on, a similar length; Strobelt et al.'s LSTMVis)."))
    c1, c2, c3 = st.columns([1, 3, 2])
    seq_no = 0
    if B > 1:
        seq_no = c1.number_input(_("sequence"), 0, B - 1, key="inside_seq")
    q_values = values[quantity]
    low, high = float(np.floor(q_values.min() * 10) / 10), float(np.ceil(q_values.max() * 10) / 10)
    high = max(high, low + 0.1)
    if st.session_state.get("inside_selection_for") != (cfg.layer_id, quantity, B, T):   # new layer, quantity, input
        st.session_state["inside_selection_for"] = (cfg.layer_id, quantity, B, T)
        first_start, first_stop, first_threshold = view.default_selection(q_values[seq_no])
        st.session_state["inside_span"] = (first_start, first_stop - 1)
        st.session_state["inside_threshold"] = first_threshold
    span_now, threshold_now = st.session_state.get("inside_span"), st.session_state.get("inside_threshold")
    if not (isinstance(span_now, tuple) and 0 <= span_now[0] <= span_now[1] <= T - 1):
        st.session_state["inside_span"] = (0, min(T - 1, 2))
    if not isinstance(threshold_now, (int, float)) or not low <= threshold_now <= high:       # another text's values
        st.session_state["inside_threshold"] = float(min(high, max(low, threshold_now or 0.0)))
    first, last = c2.slider(_("span (characters)") if text is not None else _("span (steps)"), 0, T - 1,
                            key="inside_span")
    threshold = c3.slider(_("threshold"), low, high, step=0.05, key="inside_threshold")
    start, stop = int(first), int(last) + 1
    selection, problem = None, None
    try:
        selection = view.select_and_match(cfg, x, quantity, int(seq_no), start, stop, float(threshold))
    except UserError as err:                 # a span outside the sequence, a threshold no unit reaches over it
        problem = i18n.text(err)
        st.error(problem, icon=":material/error:")
    same_seq = [(m.start, m.stop) for m in (selection.matches if selection else []) if m.seq == seq_no]
    if text_box is not None:
        with text_box:
            charts.show(figs.text_heat(text, values[quantity][0, :, unit],
                                       _("{quantity} of unit {unit} at each character (r = {r:+.2f} with the "
                                         "{signal})").format(quantity=quantity, unit=unit, signal=signal_label,
                                                             r=float(corr.all_r[unit])),
                                       quantity=quantity, signed=bool(q_values.min() < 0),
                                       span=(start, stop) if seq_no == 0 else None,
                                       matches=same_seq if seq_no == 0 else []), "inside_text")
            st.caption(_("Black outline: the selected span; dotted: its matches. A space is drawn as ·."))
    if selection is not None and problem is None:
        units = [int(u) for u in selection.units]
        st.markdown(ngettext("**{n} unit selected** (on over the whole span): {units}.",
                             "**{n} units selected** (on over the whole span): {units}.", len(units)).format(
            n=len(units), units=", ".join(map(str, units[:40])) + (" …" if len(units) > 40 else "")))
        c1, c2 = st.columns([2, 3])
        with c1:
            table = pd.DataFrame({_("unit"): selection.top_units.astype(int),
                                  _("mean over the span"): selection.top_means,
                                  _("selected"): np.isin(selection.top_units, selection.units)})
            st.caption(_("The units with the highest mean {quantity} over the span:").format(quantity=quantity))
            st.dataframe(table, hide_index=True, width="stretch")
        with c2:
            charts.show(figs.selection_lines(q_values[seq_no], units, (start, stop), float(threshold), quantity,
                                             same_seq, text=text if seq_no == 0 else None), "inside_lines")
        st.markdown(ngettext("**{n} match**, best first (a click makes it the selection):",
                             "**{n} matches**, best first (a click makes it the selection):", len(selection.matches))
                    .format(n=len(selection.matches)))
        if not selection.matches:
            st.info(_("No other span has these units on together for a similar length: lower the threshold or select "
                      "a shorter span."), icon=":material/search_off:")
        for k, m in enumerate(selection.matches):
            c1, c2 = st.columns([5, 1], vertical_alignment="center")
            c1.markdown(context(m.seq, m.start, m.stop) + "  \n"
                        + _("score {score:.2f} · {others:.1f} other units on per step").format(score=m.score,
                                                                                            others=m.others_on))
            c2.button(_("Select"), key=f"inside_match_{k}", icon=":material/ads_click:", on_click=select_span,
                      args=(m.seq, m.start, m.stop))


def select_span(seq: int, span_start: int, span_stop: int) -> None:
    st.session_state["inside_seq"] = seq
    st.session_state["inside_span"] = (span_start, span_stop - 1)


def context(seq: int, span_start: int, span_stop: int) -> str:
    """Markdown for one match: its characters highlighted among those around it, or its step numbers."""
    if text is None:
        return _("sequence {seq}, steps {start}–{last}").format(seq=seq, start=span_start, last=span_stop - 1)

    def shown(part: str) -> str:
        return inert(part.replace(" ", figs.SPACE).replace("\n", "↵"))

    before, after = text[max(0, span_start - 15):span_start], text[span_stop:span_stop + 15]
    inside = text[span_start:span_stop]
    return f"`t = {span_start}` …{shown(before)}:blue-background[{shown(inside)}]{shown(after)}…"


@st.fragment
def state_space() -> None:
    """The trajectories in the principal components and the fixed points: their pickers (the step's diamond, the
    components, the input held fixed) rerun only this section."""
    if H < 2:
        st.warning(_("The principal components of h_t need at least 2 units; this layer has {H}.").format(H=H))
        return
    c1, c2, c3 = st.columns([1, 3, 2])
    dims = url_params.choice(c1.segmented_control, _("components"), [d for d in DIMS if d <= min(H, B * T)],
                             key="inside_dims", default=2, format_func=lambda d: _(DIMS[d]))
    keep_in("inside_t", range(T), 0)
    t = c2.slider(_("step t (a diamond on the trajectory)"), 0, T - 1, key="inside_t")
    held_options = ([f"char:{ch}" for ch in vocabulary] if text is not None else []) + [view.HELD_MEAN,
                                                                                         view.HELD_ZEROS]
    letters = [ch for ch in text if ch.isalpha()] or list(text) if text is not None else []
    held_default = f"char:{Counter(letters).most_common(1)[0][0]}" if letters else view.HELD_MEAN

    def held_name(option: str) -> str:
        if option.startswith("char:"):
            return _("the character «{char}»").format(char=clean(figs.SHOWN_CHARS.get(option[5:], option[5:])))
        return _("the mean input") if option == view.HELD_MEAN else _("zeros")

    held = url_params.choice(c3.selectbox, _("input held fixed"), held_options, key="inside_held",
                             default=held_default, format_func=held_name)
    pca = view.state_space(cfg, x, int(dims))
    with working(_("Searching for fixed points from {starts} starts…").format(starts=int(starts))):
        points = view.fixed_point_search(cfg, x, view.held_input(held, x, vocabulary or ()), int(starts))
    projected = view.project(pca, points.points[:, :H]) if len(points) else None
    c1, c2 = st.columns([3, 2])
    charts.show(figs.trajectories(pca.projections, pca.explained_variance_ratio, projected, points.stable,
                                  marker=(int(seq_no), int(t)),
                                  color_by=signal if signal_name in varying else None, color_label=signal_label,
                                  text=text), "inside_pca", c1)
    if len(points):
        labels = [_("point {k} (stable)").format(k=k) if s else _("point {k} (unstable)").format(k=k)
                  for k, s in enumerate(points.stable)]
        charts.show(figs.eigenvalues(points.eigenvalues, points.stable, labels), "inside_eigen", c2)
    n_stable = int(points.stable.sum())
    st.caption(ngettext("{n} fixed point found from {starts} starts with the input held at {held}: {stable} stable "
                        "(filled: every eigenvalue inside the unit circle), {unstable} unstable (hollow).",
                        "{n} fixed points found from {starts} starts with the input held at {held}: {stable} stable "
                        "(filled: every eigenvalue inside the unit circle), {unstable} unstable (hollow).",
                        len(points)).format(n=len(points), starts=points.n_starts, held=inert(held_name(held)),
                                            stable=n_stable, unstable=len(points) - n_stable)
               + " " + (_("The states are coloured by the {signal}; the first {k} components hold {share:.0f} % of "
                          "h_t's variance.") if signal_name in varying else
                        _("The first {k} components hold {share:.0f} % of h_t's variance.")).format(
                   signal=signal_label, k=int(dims), share=100 * float(pca.explained_variance_ratio.sum()))
               + (" " + _("An LSTM's state is [h, c]: its fixed points are drawn by their h.")
                  if cfg.kind == "lstm" else ""))


def gate_saturation() -> None:
    """How often each gate unit is nearly closed or nearly open over the steps read."""
    fractions = view.saturation(cfg, x)
    if fractions:
        gate_names = {g: i18n.text(LABELS[g], markdown=False) if g in LABELS else g for g in fractions}
        c1, c2 = st.columns([3, 2])
        charts.show(figs.gate_saturation(fractions, gate_names), "inside_saturation", c1)
        c2.caption(_("Each point is one unit of one gate: the fraction of the steps read where it is nearly closed "
                     "(< 0.1, across) and nearly open (> 0.9, up). Karpathy, Johnson & Fei-Fei (2015) found trained "
                     "LSTMs' forget gates often right-saturated: units that keep their memory for long spans. Points "
                     "near the corner (0, 0) are gates that are never decided; an untrained layer's gates sit there."))
    elif cfg.kind == "simple_rnn":
        st.info(_("A SimpleRNN has no gates: its state is `tanh` of the new input and the old state at every step, "
                  "with nothing that could close or open, so there is no saturation to show. Choose LSTM or GRU."),
                icon=":material/info:")
    else:
        st.info(_("The gates use `{activation}` as their recurrent activation, which does not saturate at 0 and 1 "
                  "the way `sigmoid` does: there is no saturation to count.").format(
            activation=cfg.recurrent_activation), icon=":material/info:")


# -- one view at a time: a flag redraws only the charts shown (each costs the browser ~0.1 s) ------------------
VIEWS = [(_("Units that follow a signal"), units_and_signal), (_("Select and match"), select_and_match),
         (_("State space and fixed points"), state_space), (_("Gate saturation"), gate_saturation)]
show_views(VIEWS, "inside_view")
