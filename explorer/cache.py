"""Cached entry points for the pages: results are keyed by the configuration and the input's bytes.

A toggle reruns the page script; only what the changed setting touches is recomputed.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from rnn_core.data import normalize
from rnn_core.examples import Example, make_example

from . import runs
from .settings import AppConfig


@st.cache_data(max_entries=32, show_spinner=False)
def example(cfg: AppConfig) -> Example:
    return make_example(cfg.example, cfg.steps, cfg.batch, cfg.seed, cfg.num_classes)


@st.cache_data(max_entries=16, show_spinner=False)
def normalized(x: np.ndarray, method: str) -> tuple[np.ndarray, dict]:
    return normalize(x, method)


@st.cache_data(max_entries=32, show_spinner=False)
def weights(cfg: AppConfig, input_dim: int) -> list[np.ndarray]:
    return runs.make_weights(cfg, input_dim)


@st.cache_data(max_entries=32, show_spinner=False)
def numpy_forward(cfg: AppConfig, x: np.ndarray, initial_states: tuple | None) -> runs.ForwardRun:
    return runs.numpy_forward(cfg, weights(cfg, x.shape[-1]), x, initial_states)


@st.cache_resource(max_entries=8, show_spinner=False)
def keras_twins(cfg: AppConfig, input_dim: int) -> runs.KerasTwins:
    """The Keras layers and model of a configuration, built once and shared (they hold no per-user state:
    stateful runs pass the carried state explicitly). Weights follow from (cfg, input_dim)."""
    return runs.build_keras(cfg, weights(cfg, input_dim), (1, 2, input_dim))


@st.cache_data(max_entries=16, show_spinner=False)
def keras_forward(cfg: AppConfig, x: np.ndarray, initial_states: tuple | None) -> runs.ForwardRun:
    return runs.keras_forward(cfg, keras_twins(cfg, x.shape[-1]), x, initial_states)


@st.cache_data(max_entries=32, show_spinner=False)
def numpy_gradients(cfg: AppConfig, x: np.ndarray, labels: np.ndarray, loss_on: str, truncate: int | None,
                    clip: tuple[tuple[str, float], ...]) -> runs.GradientRun:
    return runs.numpy_gradients(cfg, weights(cfg, x.shape[-1]), x, labels, loss_on, truncate, dict(clip))


@st.cache_data(max_entries=16, show_spinner=False)
def keras_gradients(cfg: AppConfig, x: np.ndarray, labels: np.ndarray, loss_on: str) -> runs.GradientRun:
    return runs.keras_gradients(cfg, keras_twins(cfg, x.shape[-1]), x, labels, loss_on)


@st.cache_data(max_entries=32, show_spinner=False)
def flow_analysis(cfg: AppConfig, x: np.ndarray, labels: np.ndarray, loss_on: str, truncate: int | None,
                  clip: tuple[tuple[str, float], ...]) -> runs.FlowAnalysis:
    grads = runs.numpy_gradients_and_layer(cfg, weights(cfg, x.shape[-1]), x, labels, loss_on, truncate, dict(clip))
    return runs.analyse_flow(cfg, grads)


@st.cache_data(max_entries=16, show_spinner=False)
def keras_timedistributed_vs_dense(h: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from rnn_core import keras_bridge as kb

    return kb.timedistributed_vs_dense(h, kernel, bias)


@st.cache_data(max_entries=16, show_spinner=False)
def bidirectional_structures(cfg: AppConfig, x: np.ndarray) -> dict:
    """(merge_mode, return_state) -> the structure the NumPy Bidirectional returned, as text."""
    return {key: runs.structure_of(out) for key, out in runs.bidirectional_outputs(cfg, x).items()}


@st.cache_data(max_entries=16, show_spinner=False)
def keras_bidirectional_check(cfg: AppConfig, x: np.ndarray) -> dict:
    """keras.layers.Bidirectional on the same weights: how many structures agree, and the largest difference."""
    from .widgets import max_difference, tolerance_for

    mine, theirs = runs.bidirectional_outputs(cfg, x), runs.keras_bidirectional_outputs(cfg, x)
    equal, diff, tol = 0, 0.0, 0.0
    for key, ours in mine.items():
        a = ours if isinstance(ours, tuple) else (ours,)
        b = theirs[key] if isinstance(theirs[key], tuple) else (theirs[key],)
        if runs.structure_of(ours) == runs.structure_of(theirs[key]):
            equal += 1
            diff = max([diff] + [max_difference(u, v) for u, v in zip(a, b, strict=True)])
            tol = max([tol] + [tolerance_for(v) for v in b])
        else:
            diff = float("inf")
    return {"structures_equal": equal, "diff": diff, "tolerance": tol or 1e-5}


@st.cache_data(max_entries=16, show_spinner=False)
def stacking(cfg: AppConfig, x: np.ndarray) -> dict[str, str]:
    return runs.stacking(cfg, x)


@st.cache_data(max_entries=16, show_spinner=False)
def keras_stacking_error(cfg: AppConfig, input_shape: tuple[int, int, int]) -> str | None:
    return runs.keras_stacking_error(cfg, input_shape)


@st.cache_data(max_entries=16, show_spinner=False)
def compare_cells(cfg: AppConfig, x: np.ndarray, carry_bias: float) -> list:
    return runs.compare_cells(cfg, x, carry_bias)
