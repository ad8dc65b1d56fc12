"""Small Streamlit pieces the pages share: the current configuration, the input, parity badges."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st

from rnn_core.budget import KERAS_MAX_STEPS  # where the Keras column stops (defined with the budget)

from . import cache, i18n
from .figures import ENGINE_COLORS
from .i18n import N_, _
from .inert import Inert, inert
from .parity import F32_TOL, max_difference, tolerance_for  # noqa: F401 - the pages take them from here
from .settings import DEFAULT, AppConfig

KERAS_LIMIT_KINDS = {"forward": N_("the forward pass"), "gradients": N_("gradients")}   # budget.KERAS_MAX_STEPS


@dataclass(frozen=True)
class Sequence:
    inputs: np.ndarray      # (B, T, D) float32, normalised as chosen
    labels: np.ndarray      # (B, T) ints in [0, num_classes)
    description: str        # in the visitor's language, Markdown with the file's names escaped (never cached)
    stats: dict             # the normalisation statistics used ({} for none)
    mask: np.ndarray | None = None          # (B, T) bool, True where a step is real (padded long-format uploads)
    time_values: np.ndarray | None = None   # (T,) dates or numbers of each step, for the charts' time axes
    time_label: str | None = None           # the name of the time column


def page_setup(page: str, sidebar_input: bool = True) -> tuple[AppConfig, Sequence]:
    """First call of every page: route through app.py if needed, check the budget, then the configuration and input.

    ``page`` is the page's name in rnn_core.budget.PAGES; a page that brings its own data and budget
    (Training) passes ``sidebar_input=False``. Past the budget the page stops here, before
    anything is computed, with what it would cost and a button to the nearest configuration that fits.
    """
    from . import custom_layer
    from .budget_ui import check_budget
    from .routing import run_through_app

    run_through_app()
    cfg = current_config()
    if sidebar_input:                # the page runs the layer on the sidebar's input (not Training: its own data)
        check_budget(page, cfg)      # st.stop() past the budget
    seq = current_sequence(cfg)
    custom = st.session_state.get(custom_layer.KEY)
    if sidebar_input and custom_layer.input_mismatch(custom, seq.inputs.shape[-1]) and custom.get("example"):
        seq = _layer_example(custom, cfg)          # a trained layer brings the data it learned from
    if sidebar_input and (problem := custom_layer.input_mismatch(custom, seq.inputs.shape[-1])):
        st.error(problem, icon=":material/error:")
        st.stop()
    custom_layer.badge()
    return cfg, seq


def current_config() -> AppConfig:
    """The configuration app.py read from the sidebar for this run."""
    return st.session_state.get("app_config", DEFAULT)


def keras_enabled(steps: int | None = None, kind: str = "forward") -> bool:
    """Whether to run the Keras column; says why not when the sequence is too long for it."""
    if not st.session_state.get("keras", True):
        return False
    if steps is not None and steps > KERAS_MAX_STEPS[kind]:
        st.info(_("The Keras column is limited to {limit:,} steps for {kind} here (this sequence has {steps:,}); "
                  "the NumPy core runs the whole sequence.").format(
                    limit=KERAS_MAX_STEPS[kind], kind=_(KERAS_LIMIT_KINDS[kind]) if kind in KERAS_LIMIT_KINDS else kind,
                    steps=steps),
                icon=":material/hourglass:")
        return False
    return True


def _layer_example(custom: dict, cfg: AppConfig) -> Sequence:
    """The sequences a trained layer learned from, for the pages when the sidebar's input does not fit it."""
    ex = custom["example"]
    x = ex["x"]
    labels = ex["labels"]
    if labels is not None and np.ndim(labels) == 1:            # one class per sequence: the last step's target
        labels = np.repeat(np.asarray(labels)[:, None], x.shape[1], axis=1)
    if labels is None or np.shape(labels) != x.shape[:2]:
        labels = np.random.default_rng(cfg.seed).integers(0, cfg.num_classes, size=x.shape[:2])
    note = _("{description} (the sidebar's sequence has another number of features than this layer's {features})"
             ).format(description=i18n.text(ex["description"]), features=x.shape[-1])
    return Sequence(x, np.asarray(labels) % cfg.num_classes, note, {})


def current_sequence(cfg: AppConfig) -> Sequence:
    """The input for this run: the chosen example, or the last valid upload / typed sequence."""
    user = {"upload": "user_sequence", "typed": "typed_sequence"}.get(cfg.source)
    loaded = st.session_state.get(user) if user else None
    if loaded is None:
        ex = cache.example(cfg)
        x, labels, description = ex.inputs, ex.labels % cfg.num_classes, i18n.text(ex.description)
        if cfg.source == "upload":
            description = _("no file uploaded yet: showing the built-in example ({description})").format(
                description=description)
        elif user:
            description = _("no valid typed sequence yet: showing the built-in example ({description})").format(
                description=description)
    else:
        info = loaded["info"]
        x = loaded["x"] if loaded["x"].ndim == 3 else loaded["x"][None]
        labels = user_labels(loaded["x"], info, cfg)
        notes = " ".join(i18n.text(note) for note in info.notes)
        if x.shape[0] > 1:
            shape = _("{count} sequences x {steps:,} steps x {features} features").format(
                count=x.shape[0], steps=x.shape[1], features=x.shape[2])
        else:
            shape = _("{steps:,} steps x {features} features").format(steps=x.shape[1], features=x.shape[2])
        # The file's name and its column names are the visitor's: written inert (shown as their literal text).
        if cfg.source == "typed":        # its columns have no names of their own ("column 1", ...)
            description = _("the typed numbers ({shape})").format(shape=shape)
        else:
            description = f"{inert(loaded['name'])} ({inert(info.format)}, {shape})"
        if cfg.source != "typed" and info.features and len(info.features) <= 8:
            description += ": " + ", ".join(inert(feature) for feature in info.features)
        if info.label_column and len(info.class_names) > cfg.num_classes:
            description += _("; labels from {column!r} ({n} classes, taken modulo C = {C}: raise 'classes (C)')"
                             ).format(column=Inert(info.label_column), n=len(info.class_names), C=cfg.num_classes)
        elif info.label_column:
            description += _("; labels from {column!r} ({n} classes)").format(column=Inert(info.label_column),
                                                                               n=len(info.class_names))
        description += f". {notes}" if notes else ""
        largest = float(np.abs(x).max(initial=0.0))
        if cfg.normalization == "none" and largest > 10:
            description += " " + _("Values reach {largest:.3g}, which saturates the units: choose 'normalise each "
                                   "feature' in the sidebar.").format(largest=largest)
        x, stats = cache.normalized(x, cfg.normalization)
        return Sequence(x, labels, description, stats, info.mask, info.time_values, info.time_column)
    x, stats = cache.normalized(x, cfg.normalization)
    return Sequence(x, labels, description, stats)


def user_labels(x: np.ndarray, info, cfg: AppConfig) -> np.ndarray:
    """Frame labels (B, T) for user data: the label column when one is chosen, the next character for text,
    seeded random classes otherwise."""
    if getattr(info, "labels", None) is not None:
        labels = info.labels if info.labels.ndim == 2 else info.labels[None]
        return labels % cfg.num_classes
    if info.vocabulary:
        ids = np.argmax(x, axis=-1)
        return (np.roll(ids, -1) % cfg.num_classes)[None]
    B, T = (x.shape[0], x.shape[1]) if x.ndim == 3 else (1, x.shape[0])
    return np.random.default_rng(cfg.seed).integers(0, cfg.num_classes, size=(B, T))


def show_input_error(cfg: AppConfig) -> None:
    """A rejected upload or typed sequence: say why, and that the previous input is still in use."""
    from .controls import input_error

    message = input_error(cfg)
    if message:
        st.error(message + "  \n" + _("The charts below still show the previous valid sequence; your settings are "
                                      "kept."), icon=":material/error:")


def show_normalization(seq: Sequence, cfg: AppConfig) -> None:
    if cfg.normalization == "none":
        return
    parts = [f"{name} = {np.array2string(np.asarray(v), precision=3, max_line_width=200, threshold=8)}"
             for name, v in seq.stats.items()]
    st.caption(_("Normalised per feature ({method}) with {statistics}.").format(method=cfg.normalization,
                                                                                 statistics="; ".join(parts)))


def engine_header(name: str, detail: str = "") -> None:
    """The coloured column title (NumPy blue, Keras orange) with one line of detail under it."""
    color = ENGINE_COLORS[name]
    st.markdown(f"<h4 style='margin:0;color:{color}'>{name}</h4>"
                f"<span class='rnn-muted' style='font-size:0.85em'>{detail or '&nbsp;'}</span>",
                unsafe_allow_html=True)


def parity_badge(diff: float, tol: float, what: str | None = None) -> None:
    """Green when max |NumPy − Keras| is within the tolerance, red otherwise; ``what`` (translated) names it."""
    ok = diff <= tol
    what = _("max |NumPy − Keras|") if what is None else what
    text = (_("{what} = {diff:.2g} ≤ tolerance {tol:.0e}") if ok else _("{what} = {diff:.2g} > tolerance {tol:.0e}"))
    st.badge(text.format(what=what, diff=diff, tol=tol), icon=":material/check:" if ok else ":material/error:",
             color="green" if ok else "red")


def working(message: str):
    """A spinner with the time elapsed, for NumPy work that can take seconds (a long sequence, a search).

    Streamlit shows a spinner only once its block has run for half a second, so a quick or cached run shows
    nothing; a wait over a second says what it is doing and for how long.
    """
    return st.spinner(message, show_time=True)


def view_tabs(labels: list[str], key: str) -> list:
    """Tabs of which only the open one runs (Streamlit's lazy tabs): a page's views side by side, drawn when opened.

    A flag redraws only the charts a visitor sees (each plotly chart costs ~0.1 s of the browser's time on every
    change). Opening a tab reruns the page; everything else is cached, so the rerun draws that tab alone. Use each
    tab as ``with tab: if tab.open: ...``. The open tab is remembered by its position, so it stays open when the
    labels change language; with fewer tabs (a view that went away) the last one opens.
    """
    index_key = f"{key}_open"
    stored = st.session_state.get(key)
    if stored in labels:
        st.session_state[index_key] = labels.index(stored)
    else:                                            # first visit, another language, or the open view went away
        st.session_state[key] = labels[min(st.session_state.get(index_key, 0), len(labels) - 1)]
    return st.tabs(labels, key=key, on_change="rerun")


def show_views(views: list[tuple[str, Callable[[], None]]], key: str) -> None:
    """Each (label, draw) view of a page in its tab (view_tabs): only the open tab's ``draw()`` runs."""
    for tab, (_label, draw) in zip(view_tabs([label for label, _draw in views], key), views, strict=True):
        with tab:
            if tab.open:
                draw()


def keras_spinner():
    first = "tensorflow" not in __import__("sys").modules
    return st.spinner(_("Loading TensorFlow and building the Keras model (first time: 5–15 s)…") if first
                      else _("Running Keras…"))
