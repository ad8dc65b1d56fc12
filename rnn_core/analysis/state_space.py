"""The state space of a trained layer: principal components, saturated gates, units that track a signal.

* :func:`pca_trajectories`: the trajectories h_t projected on their first principal components (centred PCA,
  the SVD of the centred states), the usual way to look at an RNN's dynamics in 2-D or 3-D (e.g. Sussillo &
  Barak 2013; Maheswaranathan et al. 2019, "Reverse engineering recurrent networks for sentiment
  classification").
* :func:`gate_saturation`: per gate and unit, how often a sigmoid gate is left-saturated (< 0.1) or
  right-saturated (> 0.9) (Karpathy, Johnson & Fei-Fei 2015, "Visualizing and Understanding Recurrent Networks",
  their Figure 3).
* :func:`correlated_units`: the units whose value follows a per-step signal (Pearson's r), the quick test for
  "interpretable cells" such as Karpathy et al.'s quote and line-length cells.

States are (N, T, H) (N sequences, T steps, H units) or one sequence (T, H); every step of every sequence is a
sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..messages import N_, UserError
from .selection import as_sequences

Array = np.ndarray


# -- principal components -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatePCA:
    """The first k principal components of the states and the trajectories projected on them."""

    projections: Array               # (N, T, k) or (T, k), as the states were given: (h_t - mean) V_k
    components: Array                # (k, H) rows: the principal directions, unit length, orthogonal
    mean: Array                      # (H,) the mean state that was subtracted
    explained_variance: Array        # (k,) variance along each component (sample variance, divisor M - 1)
    explained_variance_ratio: Array  # (k,) that variance over the total variance of the states


def pca_trajectories(states, k: int = 3) -> StatePCA:
    """Centred PCA of the states: Xc = X - mean = U S V^T, projections Xc V_k = U_k S_k.

    X is (M, H) with M = N T rows (every step of every sequence). V and S come from the H x H Gram matrix,
    Xc^T Xc = V S^2 V^T (its eigendecomposition is the SVD of Xc without the (M, H) factor U: the same leading
    components to rounding, and 20-40 times faster on long sequences, 100,000 x 256 in 0.3 s instead of 7 s).
    The variance along component i is s_i^2 / (M - 1), and its ratio is s_i^2 / sum_j s_j^2 (0 when every
    state is the same). Each component's sign is fixed so that its largest entry (in absolute value) is
    positive, so the figure does not flip between runs. k must be at most min(M, H).

    Example:
        >>> pca = pca_trajectories(np.random.default_rng(0).normal(size=(2, 50, 8)), k=2)
        >>> pca.projections.shape, pca.components.shape
        ((2, 50, 2), (2, 8))
    """
    x = as_sequences(states)
    lead = np.shape(states)[:-1]
    X = np.asarray(x, np.float64).reshape(-1, x.shape[-1])          # (M, H)
    M, H = X.shape
    most = min(M, H)
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 1 <= k <= most:
        raise UserError(N_("The number of components must be a whole number from 1 to {most} (the smaller of the "
                           "number of units and of steps); got {k}."), most=most, k=repr(k))
    mean = X.mean(axis=0)
    Xc = X - mean
    power, V = np.linalg.eigh(Xc.T @ Xc)                             # s^2 and V, ascending
    power, vt = np.maximum(power[::-1], 0.0), V[:, ::-1].T           # largest first; rounding can leave -1e-13
    vt = vt[:k]
    sign = np.sign(vt[np.arange(k), np.abs(vt).argmax(axis=1)])      # largest entry of each component positive
    vt = vt * np.where(sign == 0, 1.0, sign)[:, None]
    total = power.sum()
    constant = not (X.max(axis=0) > X.min(axis=0)).any()               # then s is rounding noise: no variance
    ratio = power[:k] / total if total > 0 and not constant else np.zeros(k)
    variance = np.zeros(k) if constant else power[:k] / max(M - 1, 1)
    return StatePCA((Xc @ vt.T).reshape(*lead, k), vt, mean, variance, ratio)


# -- gate saturation ------------------------------------------------------------------------------------

#: The gates of each cell that go through recurrent_activation (a sigmoid by default): LSTM's input, forget and
#: output gates, GRU's update and reset gates. The candidates (LSTM g, GRU hh) use the activation and are left out.
SIGMOID_GATES: dict[str, tuple[str, ...]] = {"lstm": ("i", "f", "o"), "gru": ("z", "r")}
#: recurrent_activation values whose output is in [0, 1], so that 0.1 and 0.9 mean "nearly closed / open".
SATURATING: tuple[str, ...] = ("sigmoid", "hard_sigmoid")


@dataclass(frozen=True)
class GateSaturation:
    """How often each unit of one gate is saturated (Karpathy, Johnson & Fei-Fei 2015)."""

    gate: str
    left: Array        # (H,) fraction of steps with g < low   (the gate nearly closed)
    right: Array       # (H,) fraction of steps with g > high  (the gate nearly open)
    steps: int         # how many (sequence, step) pairs were counted (masked steps are not)


def saturation_fractions(values, low: float = 0.1, high: float = 0.9, mask=None) -> tuple[Array, Array, int]:
    """Per unit, the fraction of samples below ``low`` and above ``high``.

    values: (..., H) gate values; mask: the leading shape of values, True where the step counts (None = all).
    Returns (left (H,), right (H,), number of samples counted); fractions are 0 when nothing is counted.
    """
    if not (0.0 <= low < high <= 1.0):
        raise UserError(N_("The saturation limits must satisfy 0 <= `low` < `high` <= 1; got `low` = {low}, "
                           "`high` = {high}."),
                        low=repr(low), high=repr(high))
    g = np.asarray(values)
    g = g.reshape(-1, g.shape[-1])                                   # (samples, H)
    if mask is not None:
        g = g[np.asarray(mask, bool).reshape(-1)]
    n = g.shape[0]
    if n == 0:
        return np.zeros(g.shape[-1]), np.zeros(g.shape[-1]), 0
    return np.count_nonzero(g < low, axis=0) / n, np.count_nonzero(g > high, axis=0) / n, n


def gate_saturation(layer, low: float = 0.1, high: float = 0.9) -> dict[str, GateSaturation]:
    """Left- and right-saturation of every sigmoid gate of the layer's last call, per unit.

        left_j  = #{ (b, t) : g_{b,t,j} < low  } / #steps        right_j = #{ (b, t) : g_{b,t,j} > high } / #steps

    over every sequence b and step t of the last call (steps a mask skipped are not counted). Only the gates
    that go through recurrent_activation are included (:data:`SIGMOID_GATES`), and only when that is a sigmoid
    (:data:`SATURATING`): a SimpleRNN, or gates with another activation, give an empty dict.
    Karpathy, Johnson & Fei-Fei 2015 found LSTM forget gates right-saturated a large fraction of the time: units
    that remember over long spans.
    """
    if layer.last_trace is None:
        raise UserError(N_("The layer '{name}' has not been called yet: run it on a sequence first, then its gates "
                           "can be read."), name=getattr(layer, "name", "?"))
    cell = layer.cell
    rec = getattr(cell, "recurrent_activation", None)
    if rec is None or rec.name not in SATURATING:
        return {}
    sequences = layer.last_sequences()                                   # name -> (B, T, H)
    mask = layer.last_trace.mask                                         # (T, B, 1) or None
    mask = None if mask is None else np.asarray(mask[..., 0], bool).T   # (B, T)
    out = {}
    for gate in SIGMOID_GATES.get(cell.name, ()):
        left, right, n = saturation_fractions(sequences[gate], low, high, mask)
        out[gate] = GateSaturation(gate, left, right, n)
    return out


# -- units that track a signal --------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitCorrelations:
    """Pearson's r of every unit with a per-step signal, and the units with the largest |r|."""

    units: Array     # (K,) unit indices, largest |r| first (ties: lower index first)
    r: Array         # (K,) their r
    all_r: Array     # (H,) r of every unit (0 for a unit, or a signal, that never changes)


def correlated_units(states, signal, top_k: int = 10) -> UnitCorrelations:
    """The units whose per-step value follows ``signal`` most closely, by Pearson's correlation.

        r_j = sum_t (h_tj - mean_j)(y_t - mean_y) / sqrt( sum_t (h_tj - mean_j)^2  sum_t (y_t - mean_y)^2 )

    over every step of every sequence. states: (N, T, H) or (T, H); signal: one value per step, (N, T) or (T,)
    (the states' leading shape). A unit that is constant (or a constant signal) has no correlation: r = 0, not
    NaN. Returns the ``top_k`` units with the largest |r| (all H when top_k >= H).
    """
    x = as_sequences(states)
    lead = np.shape(states)[:-1]
    y = np.asarray(signal, np.float64)
    if y.shape != lead:
        raise UserError(N_("The signal has shape {got}; it needs one value per step of the states, shape "
                           "{expected}."), got=tuple(y.shape), expected=tuple(lead))
    if not np.isfinite(y).all():
        raise UserError(N_("The signal must be finite: it holds NaN or infinite values."))
    if isinstance(top_k, (bool, np.bool_)) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise UserError(N_("`top_k` must be a positive whole number; got {top_k}."), top_k=repr(top_k))
    X = np.asarray(x, np.float64).reshape(-1, x.shape[-1])              # (M, H)
    y = y.reshape(-1)                                                    # (M,)
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    cov = yc @ Xc                                                        # (H,) sum_t (h - mean)(y - mean)
    scale = np.sqrt((Xc * Xc).sum(axis=0) * (yc @ yc))                  # (H,)
    # A constant unit or signal has no r; test it exactly (its mean, subtracted, can leave rounding noise).
    varies = (X.max(axis=0) > X.min(axis=0)) & (y.max() > y.min()) & (scale > 0)
    r = np.divide(cov, scale, out=np.zeros_like(cov), where=varies)
    r = np.clip(r, -1.0, 1.0)                                            # rounding can leave |r| a hair above 1
    order = np.lexsort((np.arange(r.size), -np.abs(r)))[:top_k]
    return UnitCorrelations(order, r[order], r)
