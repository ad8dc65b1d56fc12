"""Training: what does training do to the network? Watch it learn, in NumPy and in Keras, step for step."""

import plotly.graph_objects as go
import streamlit as st

from explorer import charts, figures, i18n, training_figures, url_params
from explorer.i18n import N_, _, ngettext
from explorer.training_view import (
    CELL_KINDS,
    LEARNING_RATES,
    MAX_UNITS,
    OPTIMIZERS,
    PROBE_SEQUENCES,
    TASK_LABELS,
    TASKS,
    VALIDATION_SEQUENCES,
    BudgetError,
    CompareRun,
    CompareSettings,
    TrainingRun,
    TrainingSettings,
    default_text,
    layer_flags,
    load_upload,
)
from explorer.widgets import keras_spinner, page_setup
from rnn_core.training.targets import TargetError
from rnn_core.training_budget import MAX_SECONDS

URL = "query-params"      # numbers and code names (optimizer, learning rate); choices use url_params.choice
RUN, COMPARE = "training_run", "compare_run"       # session-state keys of the runs (never in the URL)
TICK_SECONDS = 0.3     # the fragment reruns this often while a run is going
CHUNK_SECONDS = 0.35   # and trains for at most this long per tick, then draws and yields

VIEW_LABELS = {"train": N_("Train one model"), "compare": N_("SimpleRNN vs LSTM vs GRU")}
STATUS_LABELS = {"running": N_("running"), "paused": N_("paused"), "done": N_("done")}


def accept_old_links(key: str, labels: dict[str, str]) -> None:
    """Links made before the labels were translated hold the English label (Streamlit's binding wrote the
    label into the URL: ``train_task=adding+problem``); turn it into the option (``train_task=adding_problem``)."""
    raw = st.query_params.get(key)
    old = {english: option for option, english in labels.items()}
    if raw not in labels and raw in old:
        st.query_params[key] = old[raw]


cfg, _input = page_setup("training", sidebar_input=False)   # training checks its own budget (training_view)
keras_on = bool(st.session_state.get("keras", True))

st.title(_("Training"))
st.caption(_("What does training do to the network? Train the tutorial model (the recurrent layer chosen in the "
             "sidebar + a Dense head) a few steps at a time and watch its loss, its gradients and its hidden "
             "states change. The page stays responsive: Pause acts within a moment."))
accept_old_links("train_view", VIEW_LABELS)
view = url_params.choice(st.segmented_control, _("view"), list(VIEW_LABELS), key="train_view", default="train",
                         format_func=lambda v: _(VIEW_LABELS[v]))


def offer(label: str, key: str, value) -> None:
    """A one-click button that sets a control to the nearest setting within the budget."""
    st.button(label, key=f"fit_{key}", on_click=st.session_state.__setitem__, args=(key, value),
              icon=":material/auto_fix_high:")


def controls(run_key: str, make_run, can_start: bool) -> None:
    """Train / Pause / Continue / Reset for the run stored under ``run_key``."""
    run = st.session_state.get(run_key)
    c = st.columns([1, 1, 1, 5])
    c[0].button(_("Train"), type="primary", key=f"{run_key}_train", disabled=not can_start,
                icon=":material/play_arrow:", on_click=lambda: st.session_state.__setitem__(run_key, make_run()),
                help=_("Start from freshly initialised weights with the settings above."))
    if run is not None and run.status == "running":
        c[1].button(_("Pause"), key=f"{run_key}_pause", icon=":material/pause:",
                    on_click=lambda: setattr(run, "status", "paused"))
    else:
        c[1].button(_("Continue"), key=f"{run_key}_continue", icon=":material/resume:",
                    disabled=run is None or run.status != "paused",
                    on_click=lambda: setattr(run, "status", "running"))
    c[2].button(_("Reset"), key=f"{run_key}_reset", icon=":material/restart_alt:", disabled=run is None,
                on_click=lambda: st.session_state.pop(run_key, None))


def tick(run) -> None:
    """One bounded chunk of training; when the run ends, rerun the page so the ticks stop.

    Called at the end of a fragment run, after everything is drawn: while it trains, no element of the
    page waits for its update (Streamlit would fade it as stale), and the next tick draws the result."""
    if run.status != "running":
        return
    if getattr(run, "needs_keras", False):
        with keras_spinner():
            run.advance(CHUNK_SECONDS)
    else:
        run.advance(CHUNK_SECONDS)
    if run.status == "done":
        st.rerun()


# -- SimpleRNN vs LSTM vs GRU -----------------------------------------------------------------
if view == "compare":
    st.subheader(_("Why gates: SimpleRNN vs LSTM vs GRU on the same delayed-recall task"))
    c1, c2, c3, c4 = st.columns(4)
    cmp = CompareSettings(
        lag=int(c1.number_input(_("lag k"), 0, 200, CompareSettings.lag, key="cmp_lag", bind=URL,
                                help=_("Distractor steps between the symbol and the cue."))),
        units=int(c2.number_input(_("units"), 1, 64, CompareSettings.units, key="cmp_units", bind=URL)),
        epochs=int(c3.number_input(_("epochs"), 1, 500, CompareSettings.epochs, key="cmp_epochs", bind=URL)),
        learning_rate=float(c4.selectbox(_("Adam learning rate"), LEARNING_RATES, index=LEARNING_RATES.index("0.01"),
                                         key="cmp_lr", bind=URL)))
    task = cmp.make_task()
    st.caption(_("Task: {task}. {n} sequences, batches of {batch}, Adam, seed {seed}; the three models take turns, "
                 "one epoch each.").format(task=i18n.text(task.description), n=len(task.x), batch=cmp.batch_size,
                                           seed=cmp.seed))
    try:
        estimate = cmp.check_budget(task)
        st.caption(_("Estimated compute: about {seconds:.0f} s for the three (budget {budget:.0f} s per run).").format(
            seconds=estimate, budget=MAX_SECONDS))
    except BudgetError as err:
        estimate = None
        st.warning(i18n.text(err), icon=":material/hourglass:")
        fits = cmp.fitting_epochs(task)
        if fits >= 1:
            offer(ngettext("Use {n} epoch", "Use {n} epochs", fits).format(n=fits), "cmp_epochs", fits)
    controls(COMPARE, lambda: CompareRun(cmp, task), estimate is not None)
    compare_running = getattr(st.session_state.get(COMPARE), "status", None) == "running"

    @st.fragment(run_every=TICK_SECONDS if compare_running else None)
    def live_compare() -> None:
        run = st.session_state.get(COMPARE)
        if run is None:
            st.info(_("Press **Train** to train the three cells side by side."), icon=":material/info:")
            return
        s = run.settings
        st.progress(min(1.0, run.epochs_done / s.epochs),
                    text=_("epoch {done} of {total} ({status})").format(done=run.epochs_done, total=s.epochs,
                                                                        status=_(STATUS_LABELS[run.status])))
        chance = 1 / run.task.num_outputs
        c1, c2 = st.columns(2)
        charts.show(training_figures.compare_curves(run.curves("held-out accuracy"), "held-out accuracy", s.lag,
                                                    chance), "cmp_heldout", c1)
        charts.show(training_figures.compare_curves(run.curves("accuracy"), "training accuracy", s.lag, chance),
                    "cmp_accuracy", c2)
        tick(run)

    live_compare()
    st.markdown(_("The network must keep the first symbol through k distractors, and the gradient that teaches it "
                  "must travel back k + 1 steps. A SimpleRNN multiplies that gradient by its recurrent Jacobian at "
                  "every step, so past a small k it barely arrives; an LSTM's forget gate and a GRU's update gate "
                  "can learn to stay open, so the state (and the gradient) passes through. *Held-out accuracy* is "
                  "measured on {n} sequences never trained on: a model can raise its *training* accuracy by "
                  "memorising the distractors of its training set without remembering the first symbol, which only "
                  "held-out accuracy exposes. Measured here at k = 40 with 16 units: LSTM ≈ 0.95 held out after "
                  "40 epochs, SimpleRNN at chance (its training accuracy ≈ 0.4 is memorisation). At k = 5 all three "
                  "learn; with more units and steps SimpleRNN reaches further, and fails again further out "
                  "(k = 80).").format(n=VALIDATION_SEQUENCES))
    st.stop()

# -- Train one model --------------------------------------------------------------------------
c1, c2, c3, c4 = st.columns(4)
accept_old_links("train_task", TASK_LABELS)
task_name = url_params.choice(c1.selectbox, _("task"), TASKS, key="train_task", default=TASKS[0],
                              format_func=lambda t: _(TASK_LABELS[t]))
n = c2.number_input(_("sequences"), 8, 2048, 256, key="train_n", bind=URL, disabled=task_name == "upload")
if task_name == "upload":
    steps, lag = 50, 5
    c3.caption(_("The file brings its own sequences and their length."))
elif task_name == "delayed_recall":
    lag = c3.number_input(_("lag k"), 0, 200, 5, key="train_lag", bind=URL,
                          help=_("Distractor steps between the symbol to remember and the cue."))
    steps = 50
else:
    steps = c3.number_input(_("sequence length T"), 2, 500, 50, key="train_steps", bind=URL)
    lag = 5
units = c4.number_input(_("units"), 1, MAX_UNITS, 32, key="train_units", bind=URL)
c1, c2, c3, c4, c5 = st.columns(5)
optimizer = c1.selectbox(_("optimizer"), OPTIMIZERS, key="train_optimizer", bind=URL)    # code names: not translated
lr = c2.selectbox(_("learning rate"), LEARNING_RATES, index=LEARNING_RATES.index("0.01"), key="train_lr", bind=URL)
epochs = c3.number_input(_("epochs"), 1, 1000, 30, key="train_epochs", bind=URL)
batch = c4.number_input(_("batch size"), 1, 512, 32, key="train_batch", bind=URL)
clip = c5.number_input(_("`clipnorm` (0 = off)"), 0.0, 100.0, 0.0, 0.5, key="train_clip", bind=URL,
                       help=_("Keras' `clipnorm`: each weight's gradient is scaled down to at most this norm."))
text = TrainingSettings.text
if task_name == "next_character":
    # The starting text in the visitor's language, set once: switching the language later keeps what is typed.
    st.session_state.setdefault("train_text", default_text(i18n.current_language()))
    text = st.text_area(_("text to learn"), max_chars=20_000, key="train_text")

settings = TrainingSettings(task=task_name, cell=CELL_KINDS[cfg.cell], units=int(units), optimizer=optimizer,
                            learning_rate=float(lr), clipnorm=float(clip) or None, epochs=int(epochs),
                            batch_size=int(batch), n=int(n), steps=int(steps), lag=int(lag), seed=cfg.seed,
                            text=text, keras=keras_on, layer_flags=layer_flags(cfg.rnn_config()))
try:
    if task_name == "upload":
        upload = st.file_uploader(_("an .npz holding x (N, T, D) and y: integer labels (N, T) or (N,) for classes, "
                                    "floats for regression"), type=["npz"], key="train_upload")
        if upload is None:
            st.info(_("Upload an .npz file (`numpy.savez(file, x=..., y=...)`); it is read without unpickling."),
                    icon=":material/upload:")
            st.stop()
        task = load_upload(upload.getvalue())
    else:
        task = settings.make_task()
except (TargetError, ValueError) as err:
    st.error(i18n.text(err), icon=":material/error:")
    st.stop()
st.caption(_("**{layer}** with the sidebar's flags (activation, initializers, seed, `go_backwards`, the cell's own) "
             "+ a Dense head: {head}. Task: {task}. Data: {n} x {steps} steps x {features} features, loss `{loss}`, "
             "seed {seed}.").format(
    layer=f"{cfg.cell}({settings.units})", task=i18n.text(task.description), n=task.x.shape[0],
    steps=task.x.shape[1], features=task.x.shape[2], loss=task.loss, seed=cfg.seed,
    head=_("one prediction per step (many-to-many)") if task.many_to_many else _("one prediction per sequence")))
try:
    estimate = settings.check_budget(task)
    budget_text = (_("{steps:,} steps; estimated NumPy compute about {seconds:.1f} s (budget {budget:.0f} s per run; "
                     "Keras trains alongside).") if keras_on else
                   _("{steps:,} steps; estimated NumPy compute about {seconds:.1f} s (budget {budget:.0f} s per run)."))
    st.caption(budget_text.format(steps=settings.total_steps(task), seconds=estimate, budget=MAX_SECONDS))
except BudgetError as err:
    estimate = None
    st.warning(i18n.text(err), icon=":material/hourglass:")
    fits = settings.fitting_epochs(task)
    if fits >= 1:
        offer(ngettext("Use {n} epoch (fits the budget)", "Use {n} epochs (fits the budget)", fits).format(n=fits),
              "train_epochs", fits)
    else:
        fit_units = settings.fitting_units(task)
        offer(ngettext("Use {n} unit and 1 epoch", "Use {n} units and 1 epoch", fit_units).format(n=fit_units),
              "train_units", fit_units)
controls(RUN, lambda: TrainingRun(settings, task), estimate is not None)
run = st.session_state.get(RUN)
if run is not None and run.settings != settings:
    st.caption(ngettext("Showing the run started with: {run}, {epochs} epoch. Press **Train** to start over with "
                        "the settings above.",
                        "Showing the run started with: {run}, {epochs} epochs. Press **Train** to start over with "
                        "the settings above.", run.settings.epochs).format(run=i18n.text(run.settings.describe()),
                                                                           epochs=run.settings.epochs))


def hidden_states_figure(chosen) -> go.Figure:
    """The probed epoch's h_t (figures.states_heatmap, shared and cached: drawn on a copy with this page's texts)."""
    fig = go.Figure(figures.states_heatmap(
        chosen.hidden, _("h_t of the first training sequence after epoch {epoch} (loss on {n} sequences "
                         "{loss:.4g})").format(epoch=chosen.epoch, n=PROBE_SEQUENCES, loss=chosen.loss),
        rows=_("unit")))                 # steps from 0, as on every page
    fig.update_xaxes(title_text=_("time step t"))
    return fig.update_xaxes(dtick=1) if len(chosen.hidden) <= 30 else fig


@st.fragment(run_every=TICK_SECONDS if getattr(run, "status", None) == "running" else None)
def live_training() -> None:
    run = st.session_state.get(RUN)
    if run is None:
        st.info(_("Press **Train**: the curves below fill in as it learns."), icon=":material/info:")
        return
    h = run.trainer.history
    status = _(STATUS_LABELS[run.status])
    progress = (_("step {done:,} of {total:,} · epoch {epoch} of {epochs}, loss {loss:.4g} · {status}") if h.batch_loss
                else _("step {done:,} of {total:,} · epoch {epoch} of {epochs} · {status}"))
    st.progress(min(1.0, run.steps_done / run.total_steps),
                text=progress.format(done=run.steps_done, total=run.total_steps, epoch=run.trainer.epoch,
                                     epochs=run.settings.epochs, loss=h.batch_loss[-1] if h.batch_loss else 0.0,
                                     status=status))
    parity = run.parity()
    if parity is not None:
        diff, compared = parity
        ok = diff <= 1e-3
        st.badge(ngettext("NumPy vs Keras train_on_batch: max relative loss difference {diff:.1e} over {n} step",
                          "NumPy vs Keras train_on_batch: max relative loss difference {diff:.1e} over {n} steps",
                          compared).format(diff=diff, n=compared),
                 icon=":material/check:" if ok else ":material/info:", color="green" if ok else "orange")
    elif run.settings.keras:
        st.caption(_("Keras' curve starts once its twin is compiled."))
    c1, c2 = st.columns(2)
    charts.show(training_figures.loss_curve(h.batch_loss, run.keras_loss if run.settings.keras else None,
                                            run.task.loss, run.task.chance_loss), "train_loss", c1)
    if run.task.loss == "sparse_categorical_crossentropy":
        charts.show(training_figures.accuracy_curve(h.batch_accuracy), "train_accuracy", c2)
    else:
        charts.show(training_figures.grad_norm_curve(h.grad_norm, h.clipped_grad_norm, run.settings.clipnorm),
                    "train_grad", c2)
    c1, c2 = st.columns(2)
    if run.task.loss == "sparse_categorical_crossentropy":
        charts.show(training_figures.grad_norm_curve(h.grad_norm, h.clipped_grad_norm, run.settings.clipnorm),
                    "train_grad", c1)
    epochs_probed = [p.epoch for p in run.probes]
    charts.show(training_figures.reach_heatmap(epochs_probed, [p.hidden_grad_norm for p in run.probes]), "train_reach",
                c2 if run.task.loss == "sparse_categorical_crossentropy" else c1)
    chosen = run.probes[-1]                  # while it runs: the latest; then any probed epoch
    if run.status != "running" and len(run.probes) > 1:
        epoch = st.select_slider(_("hidden states after epoch"), epochs_probed, value=epochs_probed[-1],
                                 key=f"train_probe_epoch_{len(epochs_probed)}")
        chosen = run.probes[epochs_probed.index(epoch)]
    charts.show(hidden_states_figure(chosen), "train_hidden")
    if run.status != "running" and run.steps_done:
        finished(run)
    tick(run)


def finished(run: TrainingRun) -> None:
    """Use the trained layer on every page, and the exports."""
    used = st.session_state.get("custom_layer", {}).get("label")
    c = st.columns([1.3, 1, 1, 1, 1])
    c[0].button(_("Use these weights"), type="primary", icon=":material/publish:", key="use_weights",
                on_click=lambda: st.session_state.__setitem__("custom_layer", run.custom_layer()),
                help=_("Every page then shows this trained layer (for this session; not in the URL)."))
    c[1].button(_("Stop using"), key="stop_using", disabled=used is None,
                on_click=lambda: st.session_state.pop("custom_layer", None))
    name = f"{run.settings.cell}_{run.settings.task}_{run.steps_done}steps"      # file names: not translated
    c[2].download_button(_(".keras model"), run.keras_bytes, f"{name}.keras", "application/octet-stream",
                         on_click="ignore", icon=":material/download:", key="dl_keras",
                         help=_("`keras.saving.load_model` opens it (built by Keras when you click: TensorFlow "
                                "loads)."))
    c[3].download_button(_("weights (NPZ)"), run.weights_npz, f"{name}.npz", "application/octet-stream",
                         on_click="ignore", icon=":material/download:", key="dl_npz")
    c[4].download_button(_("training log (CSV)"), run.log_csv, f"{name}_log.csv", "text/csv", on_click="ignore",
                         icon=":material/download:", key="dl_csv")
    if used:
        st.caption(_("Every page now shows: **{layer}**.").format(layer=i18n.text(used)))


live_training()
