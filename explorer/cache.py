"""Cached entry points for the pages: results are keyed by the configuration and the input's bytes.

A toggle reruns the page script; only what the changed setting touches is recomputed. Every result
lives in one cache shared by all visitors and bounded by bytes (explorer/memo.py): CACHE_BYTES in all,
results over a quarter of that are returned but not kept, and each key is computed once however many
visitors ask for it at the same time. At most RUN_SLOTS computations run at once.

Cached results are the same for every language: the prose they carry (a loss described in words, how the
Jacobians were measured, an error) is a ``rnn_core.messages.Message``, translated by the page when shown
(``explorer.i18n.text``), never before it is cached.
"""

from __future__ import annotations

import numpy as np

from rnn_core.budget import CACHE_BYTES, RUN_SLOTS
from rnn_core.inputs.examples import Example, make_example
from rnn_core.inputs.loading import normalize
from rnn_core.layers.dense import Dense, time_distributed

from . import runs
from .keras_turn import KERAS_TURN
from .memo import ByteCache, nbytes
from .parity import max_difference, tolerance_for
from .settings import AppConfig

RESULTS = ByteCache(CACHE_BYTES, slots=RUN_SLOTS)
KERAS_MODEL_BYTES = 8 * 2**20   # what a built Keras layer/model costs TensorFlow beyond its weights (measured
                                # from resident memory over 20 builds: ~5-8 MiB each at H <= 256)


@RESULTS.memoize
def example(cfg: AppConfig) -> Example:
    return make_example(cfg.example, cfg.steps, cfg.batch, cfg.seed, cfg.num_classes)


@RESULTS.memoize
def normalized(x: np.ndarray, method: str) -> tuple[np.ndarray, dict]:
    return normalize(x, method)


@RESULTS.memoize
def weights(cfg: AppConfig, input_dim: int) -> list[np.ndarray]:
    return runs.make_weights(cfg, input_dim)


@RESULTS.memoize
def numpy_forward(cfg: AppConfig, x: np.ndarray, initial_states: tuple | None,
                  mask: np.ndarray | None = None) -> runs.ForwardRun:
    """``mask`` (B, T): the real steps of a padded batch (long-format uploads), or None."""
    return runs.numpy_forward(cfg, weights(cfg, x.shape[-1]), x, initial_states, mask=mask)


def _twins_bytes(twins: runs.KerasTwins) -> int:
    models = [m for m in (twins.layer, twins.full, twins.model) if m is not None]
    return sum(KERAS_MODEL_BYTES + sum(nbytes(np.asarray(w)) for w in m.get_weights()) for m in models)




@RESULTS.memoize(sizeof=_twins_bytes)
def keras_twins(cfg: AppConfig, input_dim: int) -> runs.KerasTwins:
    """The Keras layers and model of a configuration, built once and shared (they hold no per-user state:
    stateful runs pass the carried state explicitly). Weights follow from (cfg, input_dim)."""
    w = weights(cfg, input_dim)
    with KERAS_TURN:
        return runs.build_keras(cfg, w, (1, 2, input_dim))


@RESULTS.memoize
def keras_forward(cfg: AppConfig, x: np.ndarray, initial_states: tuple | None,
                  mask: np.ndarray | None = None) -> runs.ForwardRun:
    twins = keras_twins(cfg, x.shape[-1])
    with KERAS_TURN:
        return runs.keras_forward(cfg, twins, x, initial_states, mask=mask)


@RESULTS.memoize
def numpy_gradients(cfg: AppConfig, x: np.ndarray, labels: np.ndarray, loss_on: str, truncate: int | None,
                    clip: tuple[tuple[str, float], ...], mask: np.ndarray | None = None) -> runs.GradientRun:
    return runs.numpy_gradients(cfg, weights(cfg, x.shape[-1]), x, labels, loss_on, truncate, dict(clip), mask=mask)


@RESULTS.memoize
def check_inputs(cfg: AppConfig, x: np.ndarray, labels: np.ndarray, loss_on: str,
                 mask: np.ndarray | None = None) -> tuple[object, np.ndarray]:
    return runs.check_inputs(cfg, weights(cfg, x.shape[-1]), x, labels, loss_on, mask)


@RESULTS.memoize
def keras_gradients(cfg: AppConfig, x: np.ndarray, labels: np.ndarray, loss_on: str,
                    mask: np.ndarray | None = None) -> runs.GradientRun:
    twins = keras_twins(cfg, x.shape[-1])
    with KERAS_TURN:
        return runs.keras_gradients(cfg, twins, x, labels, loss_on, mask=mask)


@RESULTS.memoize
def flow_analysis(cfg: AppConfig, x: np.ndarray, labels: np.ndarray, loss_on: str, truncate: int | None,
                  clip: tuple[tuple[str, float], ...], mask: np.ndarray | None = None) -> runs.FlowAnalysis:
    run = numpy_gradients(cfg, x, labels, loss_on, truncate, clip, mask)   # cached: the page shows it too
    return runs.analyse_flow(cfg, run, runs.forward_layer(cfg, weights(cfg, x.shape[-1]), x, mask))


@RESULTS.memoize
def dense_heads(cfg: AppConfig, states: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """The output-shapes page's Dense softmax head on h (B, T, H): its [kernel, bias], the many-to-many output
    (B, T, C), the many-to-one output (B, C), and TimeDistributed's loop over time (B, T, C)."""
    head = Dense(cfg.num_classes, activation="softmax", seed=cfg.seed + 1)
    many_to_many, many_to_one = head(states), head(states[:, -1])
    return [head.kernel, head.bias], many_to_many, many_to_one, time_distributed(head, states)


@RESULTS.memoize
def keras_timedistributed_vs_dense(h: np.ndarray, kernel: np.ndarray,
                                   bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from rnn_core import keras_bridge as kb

    with KERAS_TURN:
        return kb.timedistributed_vs_dense(h, kernel, bias)


@RESULTS.memoize
def bidirectional_structures(cfg: AppConfig, x: np.ndarray) -> dict:
    """(merge_mode, return_state) -> the structure the NumPy Bidirectional returned, as text."""
    return runs.bidirectional_structures(cfg, x)


@RESULTS.memoize
def keras_bidirectional_check(cfg: AppConfig, x: np.ndarray) -> dict:
    """keras.layers.Bidirectional on the same weights: how many structures agree, and the largest difference."""
    with KERAS_TURN:
        return runs.keras_bidirectional_check(cfg, x, max_difference, tolerance_for)


@RESULTS.memoize
def stacking(cfg: AppConfig, x: np.ndarray) -> dict[str, str]:
    return runs.stacking(cfg, x)


@RESULTS.memoize
def keras_stacking_error(cfg: AppConfig, input_shape: tuple[int, int, int]) -> str | None:
    with KERAS_TURN:
        return runs.keras_stacking_error(cfg, input_shape)


@RESULTS.memoize
def compare_cells(cfg: AppConfig, x: np.ndarray, carry_bias: float) -> list:
    return runs.compare_cells(cfg, x, carry_bias)
