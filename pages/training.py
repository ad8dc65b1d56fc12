"""Training: what does training do to the network? Watch it learn, in NumPy and in Keras, step for step."""

import streamlit as st

from explorer import figures, training_figures
from explorer.training_view import (
    CELL_KINDS,
    LEARNING_RATES,
    MAX_UNITS,
    OPTIMIZERS,
    TASK_LABELS,
    TASKS,
    BudgetError,
    CompareRun,
    CompareSettings,
    TrainingRun,
    TrainingSettings,
    VALIDATION_SEQUENCES,
    layer_flags,
    load_upload,
)
from explorer.widgets import keras_spinner, page_setup
from rnn_core.targets import TargetError
from rnn_core.training_budget import MAX_SECONDS

URL = "query-params"
RUN, COMPARE = "training_run", "compare_run"       # session-state keys of the runs (never in the URL)
TICK_SECONDS = 0.3     # the fragment reruns this often while a run is going
CHUNK_SECONDS = 0.35   # and trains for at most this long per tick, then draws and yields

cfg, _ = page_setup("training", sidebar_input=False)   # training checks its own budget (training_view)
keras_on = bool(st.session_state.get("keras", True))

st.title("Training")
st.caption("What does training do to the network? Train the tutorial model (the recurrent layer chosen in the "
           "sidebar + a Dense head) a few steps at a time and watch its loss, its gradients and its hidden "
           "states change. The page stays responsive: Pause acts within a moment.")
view = st.segmented_control("view", ["train", "compare"], default="train", key="train_view", bind=URL,
                            format_func={"train": "Train one model", "compare": "SimpleRNN vs LSTM vs GRU"}.get)


def offer(label: str, key: str, value) -> None:
    """A one-click button that sets a control to the nearest setting within the budget."""
    st.button(label, key=f"fit_{key}", on_click=st.session_state.__setitem__, args=(key, value),
              icon=":material/auto_fix_high:")


def controls(run_key: str, make_run, can_start: bool) -> None:
    """Train / Pause / Continue / Reset for the run stored under ``run_key``."""
    run = st.session_state.get(run_key)
    c = st.columns([1, 1, 1, 5])
    c[0].button("Train", type="primary", key=f"{run_key}_train", disabled=not can_start, icon=":material/play_arrow:",
                on_click=lambda: st.session_state.__setitem__(run_key, make_run()),
                help="Start from freshly initialised weights with the settings above.")
    if run is not None and run.status == "running":
        c[1].button("Pause", key=f"{run_key}_pause", icon=":material/pause:",
                    on_click=lambda: setattr(run, "status", "paused"))
    else:
        c[1].button("Continue", key=f"{run_key}_continue", icon=":material/resume:",
                    disabled=run is None or run.status != "paused",
                    on_click=lambda: setattr(run, "status", "running"))
    c[2].button("Reset", key=f"{run_key}_reset", icon=":material/restart_alt:", disabled=run is None,
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
    st.subheader("Why gates: SimpleRNN vs LSTM vs GRU on the same delayed-recall task")
    c1, c2, c3, c4 = st.columns(4)
    cmp = CompareSettings(
        lag=int(c1.number_input("lag k", 0, 200, CompareSettings.lag, key="cmp_lag", bind=URL,
                                help="Distractor steps between the symbol and the cue.")),
        units=int(c2.number_input("units", 1, 64, CompareSettings.units, key="cmp_units", bind=URL)),
        epochs=int(c3.number_input("epochs", 1, 500, CompareSettings.epochs, key="cmp_epochs", bind=URL)),
        learning_rate=float(c4.selectbox("Adam learning rate", LEARNING_RATES, index=LEARNING_RATES.index("0.01"),
                                         key="cmp_lr", bind=URL)))
    task = cmp.make_task()
    st.caption(f"Task: {task.description}. {len(task.x)} sequences, batches of {cmp.batch_size}, Adam, seed "
               f"{cmp.seed}; the three models take turns, one epoch each.")
    try:
        estimate = cmp.check_budget(task)
        st.caption(f"Estimated compute: about {estimate:.0f} s for the three (budget {MAX_SECONDS:.0f} s per run).")
    except BudgetError as err:
        estimate = None
        st.warning(str(err), icon=":material/hourglass:")
        if cmp.fitting_epochs(task) >= 1:
            offer(f"Use {cmp.fitting_epochs(task)} epochs", "cmp_epochs", cmp.fitting_epochs(task))
    controls(COMPARE, lambda: CompareRun(cmp, task), estimate is not None)
    compare_running = getattr(st.session_state.get(COMPARE), "status", None) == "running"

    @st.fragment(run_every=TICK_SECONDS if compare_running else None)
    def live_compare() -> None:
        run = st.session_state.get(COMPARE)
        if run is None:
            st.info("Press **Train** to train the three cells side by side.", icon=":material/info:")
            return
        s = run.settings
        st.progress(min(1.0, run.epochs_done / s.epochs), text=f"epoch {run.epochs_done} of {s.epochs} ({run.status})")
        chance = 1 / run.task.num_outputs
        c1, c2 = st.columns(2)
        c1.plotly_chart(training_figures.compare_curves(run.curves("held-out accuracy"), "held-out accuracy", s.lag,
                                                        chance), key="cmp_heldout")
        c2.plotly_chart(training_figures.compare_curves(run.curves("accuracy"), "training accuracy", s.lag, chance),
                        key="cmp_accuracy")
        tick(run)

    live_compare()
    st.markdown("The network must keep the first symbol through k distractors, and the gradient that teaches it "
                "must travel back k + 1 steps. A SimpleRNN multiplies that gradient by its recurrent Jacobian at "
                "every step, so past a small k it barely arrives; an LSTM's forget gate and a GRU's update gate "
                "can learn to stay open, so the state (and the gradient) passes through. *Held-out accuracy* is "
                f"measured on {VALIDATION_SEQUENCES} sequences never trained on: a model can raise its *training* "
                "accuracy by memorising the distractors of its training set without remembering the first symbol, "
                "which only held-out accuracy exposes. Measured here at k = 40 with 16 units: LSTM ≈ 0.95 held out after "
                "40 epochs, SimpleRNN at chance (its training accuracy ≈ 0.4 is memorisation). At k = 5 all three "
                "learn; with more units and steps SimpleRNN reaches further, and fails again further out (k = 80).")
    st.stop()

# -- Train one model --------------------------------------------------------------------------
c1, c2, c3, c4 = st.columns(4)
task_name = c1.selectbox("task", TASKS, key="train_task", bind=URL, format_func=TASK_LABELS.get)
n = c2.number_input("sequences", 8, 2048, 256, key="train_n", bind=URL, disabled=task_name == "upload")
if task_name == "upload":
    steps, lag = 50, 5
    c3.caption("The file brings its own sequences and their length.")
elif task_name == "delayed_recall":
    lag = c3.number_input("lag k", 0, 200, 5, key="train_lag", bind=URL,
                          help="Distractor steps between the symbol to remember and the cue.")
    steps = 50
else:
    steps = c3.number_input("sequence length T", 2, 500, 50, key="train_steps", bind=URL)
    lag = 5
units = c4.number_input("units", 1, MAX_UNITS, 32, key="train_units", bind=URL)
c1, c2, c3, c4, c5 = st.columns(5)
optimizer = c1.selectbox("optimizer", OPTIMIZERS, key="train_optimizer", bind=URL)
lr = c2.selectbox("learning rate", LEARNING_RATES, index=LEARNING_RATES.index("0.01"), key="train_lr", bind=URL)
epochs = c3.number_input("epochs", 1, 1000, 30, key="train_epochs", bind=URL)
batch = c4.number_input("batch size", 1, 512, 32, key="train_batch", bind=URL)
clip = c5.number_input("clipnorm (0 = off)", 0.0, 100.0, 0.0, 0.5, key="train_clip", bind=URL,
                       help="Keras' clipnorm: each weight's gradient is scaled down to at most this norm.")
text = TrainingSettings.text
if task_name == "next_character":
    text = st.text_area("text to learn", TrainingSettings.text, max_chars=20_000, key="train_text")

settings = TrainingSettings(task=task_name, cell=CELL_KINDS[cfg.cell], units=int(units), optimizer=optimizer,
                            learning_rate=float(lr), clipnorm=float(clip) or None, epochs=int(epochs),
                            batch_size=int(batch), n=int(n), steps=int(steps), lag=int(lag), seed=cfg.seed,
                            text=text, keras=keras_on, layer_flags=layer_flags(cfg.rnn_config()))
try:
    if task_name == "upload":
        upload = st.file_uploader("an .npz holding x (N, T, D) and y: integer labels (N, T) or (N,) for classes, "
                                  "floats for regression", type=["npz"], key="train_upload")
        if upload is None:
            st.info("Upload an .npz file (numpy.savez(file, x=..., y=...)); it is read without unpickling.",
                    icon=":material/upload:")
            st.stop()
        task = load_upload(upload.getvalue())
    else:
        task = settings.make_task()
except (TargetError, ValueError) as err:
    st.error(str(err), icon=":material/error:")
    st.stop()
st.caption(f"**{cfg.cell}({settings.units})** with the sidebar's flags (activation, initializers, seed, "
           f"go_backwards, the cell's own) + a Dense head: "
           f"{'one prediction per step (many-to-many)' if task.many_to_many else 'one prediction per sequence'}. "
           f"Task: {task.description}. Data: {task.x.shape[0]} x {task.x.shape[1]} steps x {task.x.shape[2]} "
           f"features, loss {task.loss}, seed {cfg.seed}.")
try:
    estimate = settings.check_budget(task)
    st.caption(f"{settings.total_steps(task):,} steps; estimated NumPy compute about {estimate:.1f} s (budget "
               f"{MAX_SECONDS:.0f} s per run{'; Keras trains alongside' if keras_on else ''}).")
except BudgetError as err:
    estimate = None
    st.warning(str(err), icon=":material/hourglass:")
    fits = settings.fitting_epochs(task)
    if fits >= 1:
        offer(f"Use {fits} epochs (fits the budget)", "train_epochs", fits)
    else:
        offer(f"Use {settings.fitting_units(task)} units and 1 epoch", "train_units", settings.fitting_units(task))
controls(RUN, lambda: TrainingRun(settings, task), estimate is not None)
run = st.session_state.get(RUN)
if run is not None and run.settings != settings:
    st.caption(f"Showing the run started with: {run.settings.describe()}, {run.settings.epochs} epochs. "
               "Press **Train** to start over with the settings above.")


@st.fragment(run_every=TICK_SECONDS if getattr(run, "status", None) == "running" else None)
def live_training() -> None:
    run = st.session_state.get(RUN)
    if run is None:
        st.info("Press **Train**: the curves below fill in as it learns.", icon=":material/info:")
        return
    h = run.trainer.history
    loss_text = f", loss {h.batch_loss[-1]:.4g}" if h.batch_loss else ""
    st.progress(min(1.0, run.steps_done / run.total_steps),
                text=f"step {run.steps_done:,} of {run.total_steps:,} · epoch {run.trainer.epoch} of "
                     f"{run.settings.epochs}{loss_text} · {run.status}")
    parity = run.parity()
    if parity is not None:
        diff, compared = parity
        ok = diff <= 1e-3
        st.badge(f"NumPy vs Keras train_on_batch: max relative loss difference {diff:.1e} over {compared} steps",
                 icon=":material/check:" if ok else ":material/info:", color="green" if ok else "orange")
    elif run.settings.keras:
        st.caption("Keras' curve starts once its twin is compiled.")
    c1, c2 = st.columns(2)
    c1.plotly_chart(training_figures.loss_curve(h.batch_loss, run.keras_loss if run.settings.keras else None,
                                                run.task.loss, run.task.chance_loss),
                    key="train_loss")
    if run.task.loss == "sparse_categorical_crossentropy":
        c2.plotly_chart(training_figures.accuracy_curve(h.batch_accuracy), key="train_accuracy")
    else:
        c2.plotly_chart(training_figures.grad_norm_curve(h.grad_norm, h.clipped_grad_norm, run.settings.clipnorm),
                        key="train_grad")
    c1, c2 = st.columns(2)
    if run.task.loss == "sparse_categorical_crossentropy":
        c1.plotly_chart(training_figures.grad_norm_curve(h.grad_norm, h.clipped_grad_norm, run.settings.clipnorm),
                        key="train_grad")
    epochs_probed = [p.epoch for p in run.probes]
    (c2 if run.task.loss == "sparse_categorical_crossentropy" else c1).plotly_chart(
        training_figures.reach_heatmap(epochs_probed, [p.hidden_grad_norm for p in run.probes]), key="train_reach")
    chosen = run.probes[-1]                  # while it runs: the latest; then any probed epoch
    if run.status != "running" and len(run.probes) > 1:
        epoch = st.select_slider("hidden states after epoch", epochs_probed, value=epochs_probed[-1],
                                 key=f"train_probe_epoch_{len(epochs_probed)}")
        chosen = run.probes[epochs_probed.index(epoch)]
    hidden = figures.states_heatmap(chosen.hidden, f"h_t of the first training sequence after epoch {chosen.epoch} "
                                                   f"(loss on 8 sequences {chosen.loss:.4g})", step_offset=1)
    st.plotly_chart(hidden.update_xaxes(dtick=1) if len(chosen.hidden) <= 30 else hidden, key="train_hidden")
    if run.status != "running" and run.steps_done:
        finished(run)
    tick(run)


def finished(run: TrainingRun) -> None:
    """Use the trained layer on every page, and the exports."""
    used = st.session_state.get("custom_layer", {}).get("label")
    c = st.columns([1.3, 1, 1, 1, 1])
    c[0].button("Use these weights", type="primary", icon=":material/publish:", key="use_weights",
                on_click=lambda: st.session_state.__setitem__("custom_layer", run.custom_layer()),
                help="Every page then shows this trained layer (for this session; not in the URL).")
    c[1].button("Stop using", key="stop_using", disabled=used is None,
                on_click=lambda: st.session_state.pop("custom_layer", None))
    name = f"{run.settings.cell}_{run.settings.task}_{run.steps_done}steps"
    c[2].download_button(".keras model", run.keras_bytes, f"{name}.keras", "application/octet-stream",
                         on_click="ignore", icon=":material/download:", key="dl_keras",
                         help="keras.saving.load_model opens it (built by Keras when you click: TensorFlow loads).")
    c[3].download_button("weights (NPZ)", run.weights_npz, f"{name}.npz", "application/octet-stream",
                         on_click="ignore", icon=":material/download:", key="dl_npz")
    c[4].download_button("training log (CSV)", run.log_csv, f"{name}_log.csv", "text/csv", on_click="ignore",
                         icon=":material/download:", key="dl_csv")
    if used:
        st.caption(f"Every page now shows: **{used}**.")


live_training()
