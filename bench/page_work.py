"""What each page computes for one configuration, as plain function calls (no Streamlit).

The same calls, in the same order, as pages/*.py make through explorer/cache.py, including the
figures each page builds. bench/bench_budget.py measures these to derive rnn_core/budget.py, and
tests/test_budget.py checks the estimate against tracemalloc on a few sizes.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from explorer import figures, runs
from explorer.settings import AppConfig
from rnn_core.budget import KERAS_MAX_STEPS
from rnn_core.inputs.examples import make_example
from rnn_core.layers.dense import Dense, time_distributed

PAGES = ("hidden-states", "output-shapes", "gradient-flow", "keras-vs-numpy")


def config(batch: int, steps: int, units: int, features: int = 1, head: str = "many-to-many") -> AppConfig:
    """A configuration of that size: 'sine' has one feature, 'random normal' three; more features use
    'random normal' and are widened by the caller (see inputs())."""
    return AppConfig(units=units, batch=batch, steps=steps, head=head,
                     example="sine" if features == 1 else "random normal")


def inputs(cfg: AppConfig, features: int = 1) -> tuple[np.ndarray, np.ndarray]:
    ex = make_example(cfg.example, cfg.steps, cfg.batch, cfg.seed, cfg.num_classes)
    x = ex.inputs
    if x.shape[-1] != features:
        x = np.resize(x, (cfg.batch, cfg.steps, features)).astype(np.float32)
    return x, ex.labels % cfg.num_classes


def run_page(page: str, cfg: AppConfig, x: np.ndarray, labels: np.ndarray, keras: bool) -> None:
    """One visit of ``page`` with this configuration: core runs and figures (Keras when on and within its limits)."""
    B, T, D = x.shape
    weights = runs.make_weights(cfg, D)
    if page == "hidden-states":
        run = runs.numpy_forward(cfg, weights, x)
        figures.states_heatmap(run.states[0], "h (NumPy)")
        lines = {"NumPy": run.states[0]}
        if keras and KERAS_MAX_STEPS["forward"] >= T:
            twins = runs.build_keras(cfg, weights, (1, 2, D))
            k = runs.keras_forward(cfg, twins, x)
            figures.states_heatmap(k.states[0], "h (Keras)")
            lines["Keras"] = k.states[0]
        figures.unit_lines(lines, list(range(min(cfg.units, 4))), "lines")
        if run.probs is not None and run.probs.ndim == 3:
            figures.states_heatmap(run.probs[0], "p", quantity="p", rows="class", signed=False)
    elif page == "output-shapes":
        outs = {(rs, st): runs.numpy_forward(replace(cfg, return_sequences=rs, return_state=st), weights, x).output
                for rs in (False, True) for st in (False, True)}
        states = outs[(True, True)][0]
        head = Dense(cfg.num_classes, activation="softmax", seed=cfg.seed + 1)
        head(states), head(states[:, -1]), time_distributed(head, states)
        runs.bidirectional_structures(cfg, x)          # 10 Bidirectional calls (two layers each)
        runs.stacking(cfg, x)                          # three more layers
        if keras and KERAS_MAX_STEPS["forward"] >= T:
            from rnn_core import keras_bridge as kb

            twins = runs.build_keras(cfg, weights, (1, 2, D))
            runs.keras_forward(cfg, twins, x)
            kb.timedistributed_vs_dense(states, head.kernel, head.bias)
            runs.keras_bidirectional_check(cfg, x, lambda a, b: 0.0, lambda b: 0.0)
            runs.keras_stacking_error(cfg, x.shape)
    elif page == "gradient-flow":
        loss_on = "every" if cfg.head != "many-to-one" else "last"
        run = runs.numpy_gradients(cfg, weights, x, labels, loss_on)
        flow = runs.analyse_flow(cfg, run, runs.forward_layer(cfg, weights, x))
        norms = {"NumPy": flow.hidden_norms}
        if keras and KERAS_MAX_STEPS["gradients"] >= T:
            twins = runs.build_keras(cfg, weights, (1, 2, D))
            k = runs.keras_gradients(cfg, twins, x, labels, loss_on)
            norms["Keras"] = np.linalg.norm(k.hidden[0], axis=-1)
        figures.gradient_norms(norms, "norms")
        figures.states_heatmap(run.hidden[0], "dL/dh", quantity="dL/dh")
        sf = flow.flow
        figures.step_sigmas(sf.sigma, None if flow.pascanu is None else flow.pascanu.bound, flow.sigma_method,
                            sf.sigma_steps)
        figures.jacobian_map(sf.map.steps, sf.map.log10_norm, sf.map.method)
        if sf.carry is not None:
            figures.carry_products(sf.carry.distance, sf.carry.log10_mean, sf.carry.log10_max, sf.carry.gate)
        figures.contributions(run.contributions)
    elif page == "keras-vs-numpy":
        if not keras or KERAS_MAX_STEPS["gradients"] < T:
            return                          # the page shows the code and stops
        twins = runs.build_keras(cfg, weights, (1, 2, D))
        runs.keras_forward(cfg, twins, x)
        runs.keras_gradients(cfg, twins, x, labels)
        runs.numpy_forward(cfg, weights, x)
        runs.numpy_gradients(cfg, weights, x, labels)
    else:
        raise ValueError(f"unknown page {page!r}; expected one of {PAGES}")
