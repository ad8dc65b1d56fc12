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
from rnn_core.examples import make_example

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
    B, T, D, _ = input_shape(cfg)
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
        limits.append(f"memory {budget.fmt_bytes(est.bytes)} > {budget.fmt_bytes(est.budget_bytes)}")
    if "time" in est.over:
        limits.append(f"time {budget.fmt_seconds(est.seconds)} > {budget.fmt_seconds(est.budget_seconds)}")
    what = f"batch {B} × {T:,} steps × {cfg.units} units × {D} features" + (", Keras on" if est.keras_runs else "")
    message = (f"**This view is too large for this server.** {what} would need {est.text()}, "
               f"past the budget of {budget.fmt_bytes(est.budget_bytes)} and {est.budget_seconds:g} s per view "
               f"({'; '.join(limits)}). Nothing has been computed.")
    if est.keras_runs:
        no_keras = estimate_for(page, cfg, keras=False)
        if no_keras.fits:
            message += (f"  \nMost of it is the Keras column (it steps through time in eager TensorFlow): "
                        f"with *Keras side by side* off this view needs {no_keras.text()}.")
    st.error(message, icon=":material/memory:")
    if suggestion is None:
        st.info("Even the smallest sequence does not fit with these settings: lower *units* in the sidebar.")
        st.stop()
    reduce = ", ".join(suggestion.changes)
    where = "the sidebar" if user_key is None else "the sidebar (for your file: its first steps / sequences)"
    st.markdown(f"Reduce {reduce} in {where}, or apply the nearest configuration that fits "
                f"({suggestion.estimate.text()}):")
    st.button(f"Use {reduce}", key="apply_budget", type="primary", icon=":material/tune:",
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
    kept = f"the first {suggestion.steps:,} steps" + (f" of the first {suggestion.batch} sequences" if x.ndim == 3 else "")
    loaded["info"] = replace(loaded["info"], notes=[*loaded["info"].notes, f"Using {kept}, to fit the server's budget."])
    st.session_state[user_key] = loaded
