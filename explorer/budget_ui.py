"""The budget in the app: every page checks its configuration before computing anything.

``check_budget(page, cfg)`` maps the configuration (widgets and URL, or the loaded upload / typed
sequence) to rnn_core.budget's estimate. Past the budget it says what the view would cost, what
the budget is and what to reduce, offers the nearest configuration that fits as one button (which
sets the widgets, so the URL follows), and stops the page. Nothing is clamped silently.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np
import streamlit as st

from rnn_core import budget
from rnn_core.inputs.examples import make_example
from rnn_core.messages import Message

from . import i18n
from .i18n import N_, _
from .settings import AppConfig

USER_KEYS = {"upload": "user_sequence", "typed": "typed_sequence"}


@lru_cache(maxsize=32)
def example_features(name: str) -> int:
    """D of a built-in example (it does not depend on the length): from a 2-step instance."""
    return int(make_example(name, 2, 1, 0, 5).inputs.shape[-1])


def input_shape(cfg: AppConfig) -> tuple[int, int, int, str | None]:
    """(B, T, D, user key) of this run's input, without building it: the loaded user sequence, or the example's."""
    key = USER_KEYS.get(cfg.source)
    loaded = st.session_state.get(key) if key else None
    if loaded is not None:
        x = loaded["x"]
        B, T, D = x.shape if x.ndim == 3 else (1, *x.shape)
        return int(B), int(T), int(D), key
    return cfg.batch, cfg.steps, example_features(cfg.example), None


def estimate_for(page: str, cfg: AppConfig, keras: bool) -> budget.Estimate:
    B, T, D, _key = input_shape(cfg)
    return budget.estimate(page, B, T, cfg.units, D, keras, cfg.kind, cfg.num_classes)


def check_budget(page: str, cfg: AppConfig) -> None:
    """Stop the page (st.stop) when this view would pass the budget, offering the nearest one that fits."""
    keras = bool(st.session_state.get("keras", True))
    est = estimate_for(page, cfg, keras)
    if est.fits:
        return
    B, T, D, user_key = input_shape(cfg)
    cell = cfg.kind
    suggestion = budget.nearest_fitting(page, B, T, cfg.units, D, keras, cell, cfg.num_classes)
    limits = []
    if "memory" in est.over:
        limits.append(_("memory {need} > {budget}").format(need=budget.fmt_bytes(est.bytes),
                                                          budget=budget.fmt_bytes(est.budget_bytes)))
    if "time" in est.over:
        limits.append(_("time {need} > {budget}").format(need=budget.fmt_seconds(est.seconds),
                                                        budget=budget.fmt_seconds(est.budget_seconds)))
    what = _("batch {B} × {T:,} steps × {H} units × {D} features").format(B=B, T=T, H=cfg.units, D=D)
    if est.keras_runs:
        what = _("{shape}, Keras on").format(shape=what)
    message = _("**This view is too large for this server.** {what} would need {need}, past the budget of "
                "{budget_bytes} and {budget_seconds:g} s per view ({limits}). Nothing has been computed.").format(
        what=what, need=i18n.text(est.text()), budget_bytes=budget.fmt_bytes(est.budget_bytes),
        budget_seconds=est.budget_seconds, limits="; ".join(limits))
    if est.keras_runs:
        no_keras = estimate_for(page, cfg, keras=False)
        if no_keras.fits:
            message += "  \n" + _("Most of it is the Keras column (it steps through time in eager TensorFlow): "
                                  "with *Keras side by side* off this view needs {need}.").format(
                need=i18n.text(no_keras.text()))
    st.error(message, icon=":material/memory:")
    if suggestion is None:
        st.info(_("Even the smallest sequence does not fit with these settings: lower *units* in the sidebar."))
        st.stop()
    reduce = ", ".join(i18n.text(change) for change in suggestion.changes)
    fits = i18n.text(suggestion.estimate.text())
    if user_key is None:
        st.markdown(_("Reduce {changes} in the sidebar, or apply the nearest configuration that fits ({estimate}):")
                    .format(changes=reduce, estimate=fits))
    else:
        st.markdown(_("Reduce {changes} in the sidebar (for your file: its first steps / sequences), or apply the "
                      "nearest configuration that fits ({estimate}):").format(changes=reduce, estimate=fits))
    st.button(_("Use {changes}").format(changes=reduce), key="apply_budget", type="primary", icon=":material/tune:",
              on_click=apply_suggestion, args=(suggestion, user_key))
    st.stop()


def apply_suggestion(suggestion: budget.Suggestion, user_key: str | None) -> None:
    """Button callback (runs before the rerun): set the widgets, or shorten the loaded user sequence."""
    st.session_state["units"] = suggestion.units
    if user_key is None:
        st.session_state["batch"] = suggestion.batch
        st.session_state["steps"] = suggestion.steps
        return
    loaded = dict(st.session_state[user_key])
    x = loaded["x"]
    x = x[: suggestion.batch, : suggestion.steps] if x.ndim == 3 else x[: suggestion.steps]
    loaded["x"] = np.ascontiguousarray(x)
    # A Message, like rnn_core's notes: shown in the visitor's language of the moment (explorer.widgets).
    if x.ndim == 3:
        note = Message(N_("Using the first {steps:,} steps of the first {count} sequences, to fit the server's "
                          "budget."), {"steps": suggestion.steps, "count": suggestion.batch})
    else:
        note = Message(N_("Using the first {steps:,} steps, to fit the server's budget."), {"steps": suggestion.steps})
    loaded["info"] = replace(loaded["info"], notes=[*loaded["info"].notes, note])
    st.session_state[user_key] = loaded
