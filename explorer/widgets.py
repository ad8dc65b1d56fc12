"""Small Streamlit pieces the pages share: the current configuration, the input, parity badges."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from . import cache
from .figures import ENGINE_COLORS
from .settings import DEFAULT, AppConfig

F32_TOL = 1e-5   # float32 parity: max |NumPy - Keras| <= F32_TOL * max(1, scale)


@dataclass(frozen=True)
class Sequence:
    inputs: np.ndarray      # (B, T, D) float32
    labels: np.ndarray      # (B, T) ints
    description: str


def current_config() -> AppConfig:
    """The configuration app.py read from the sidebar for this run."""
    return st.session_state.get("app_config", DEFAULT)


def keras_enabled() -> bool:
    return bool(st.session_state.get("keras", True))


def current_sequence(cfg: AppConfig) -> Sequence:
    ex = cache.example(cfg)
    return Sequence(ex.inputs, ex.labels % cfg.num_classes, ex.description)


def engine_header(name: str, detail: str = "") -> None:
    """The coloured column title (NumPy blue, Keras orange) with one line of detail under it."""
    color = ENGINE_COLORS[name]
    st.markdown(f"<h4 style='margin:0;color:{color}'>{name}</h4>"
                f"<span style='color:gray;font-size:0.85em'>{detail or '&nbsp;'}</span>",
                unsafe_allow_html=True)


def max_difference(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    both_finite = np.isfinite(a) & np.isfinite(b)
    if not np.array_equal(np.isfinite(a), np.isfinite(b)):
        return float("inf")
    return float(np.abs(a[both_finite] - b[both_finite]).max(initial=0.0))


def tolerance_for(reference) -> float:
    ref = np.asarray(reference, np.float64)
    finite = np.abs(ref[np.isfinite(ref)])
    return F32_TOL * max(1.0, float(finite.max(initial=0.0)))


def parity_badge(diff: float, tol: float, what: str = "max |NumPy − Keras|") -> None:
    ok = diff <= tol
    st.badge(f"{what} = {diff:.2g} {'≤' if ok else '>'} tolerance {tol:.0e}", icon=":material/check:" if ok else
             ":material/error:", color="green" if ok else "red")


def keras_spinner():
    first = "tensorflow" not in __import__("sys").modules
    return st.spinner("Loading TensorFlow and building the Keras model (first time: 5–15 s)…" if first
                      else "Running Keras…")
