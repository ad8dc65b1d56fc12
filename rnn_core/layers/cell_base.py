"""What every cell shares: its declaration, and the per-gate matmuls under dropout.

A cell is a small object that declares its states (``("h",)`` or
``("h", "c")``), its gates and their number of weight blocks, and does one
step forward and one step backward. The loop over time (``recurrence.py``)
knows nothing else about it.

Weight layout (Keras'): the kernel W is (D, G*H), the recurrent kernel U is
(H, G*H), the G gate blocks side by side in the cell's gate order.

Dropout masks, as Keras 3 draws them:
    input mask      None, (B, D) shared by all gates, or (G, B, D) one per gate
    recurrent mask  None, (B, H) shared by all gates, or (G, B, H) one per gate
Keras' LSTM and GRU use one mask per gate exactly when recurrent_dropout > 0
(their ``implementation=1``); SimpleRNN always shares one mask.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def per_gate(operand: Array, mask: Array | None, n_blocks: int) -> list[Array] | Array:
    """The operand each gate block multiplies: ``operand * mask`` per gate, or one shared array."""
    if mask is None:
        return operand
    if mask.ndim == 2:                            # one mask shared by every gate, broadcast over time
        return operand * mask
    return [operand * mask[k] for k in range(n_blocks)]


def block_matmul(operand: Array | list[Array], weight: Array, k0: int, k1: int, units: int) -> Array:
    """operand_k @ weight[:, block k] for blocks k0..k1-1, side by side -> (..., (k1-k0)*H).

    One matmul when the operand is shared; one per block under per-gate dropout.
    """
    if not isinstance(operand, list):
        return operand @ weight[:, k0 * units:k1 * units]
    return np.concatenate([operand[k] @ weight[:, k * units:(k + 1) * units] for k in range(k0, k1)], axis=-1)


def block_matmul_t(d: Array, weight_t: Array, mask: Array | None, k0: int, k1: int, units: int) -> Array:
    """Backprop of :func:`block_matmul` into the unmasked operand: sum_k (d_k @ W_k^T) * mask_k."""
    rows = weight_t[k0 * units:k1 * units]
    if mask is None:
        return d @ rows
    if mask.ndim == 2:
        return (d @ rows) * mask
    out = 0
    for k in range(k0, k1):
        j = k - k0
        out = out + (d[..., j * units:(j + 1) * units] @ weight_t[k * units:(k + 1) * units]) * mask[k]
    return out


def block_outer(operand: Array | list[Array], d: Array, units: int) -> Array:
    """sum over steps and batch of operand^T d, per block -> (rows, G*H): a weight gradient in one matmul."""
    if not isinstance(operand, list):
        return operand.reshape(-1, operand.shape[-1]).T @ d.reshape(-1, d.shape[-1])
    d2 = d.reshape(-1, d.shape[-1])
    return np.concatenate([op.reshape(-1, op.shape[-1]).T @ d2[:, k * units:(k + 1) * units]
                           for k, op in enumerate(operand)], axis=1)


class Cell:
    """Base of the three cells: the declarations the loop reads, and defaults most cells keep."""

    name: str = ""
    state_names: tuple[str, ...] = ("h",)
    gate_names: tuple[str, ...] = ()
    n_blocks: int = 1
    gate_labels: dict[str, str] = {}
    gate_symbols: dict[str, str] = {}     # a gate's symbol when it differs from its name (GRU's candidate hh: h̃)
    step_latex: list[str] = []
    # True when dL/d(h_{t-1} U) differs from dL/d(x_t W) for some block (GRU): the loop then keeps both.
    separate_recurrent_gradient: bool = False

    def __init__(self, units: int, use_bias: bool = True) -> None:
        self.units = units
        self.use_bias = use_bias

    # -- weights ---------------------------------------------------------------

    def bias_shape(self) -> tuple[int, ...]:
        return (self.n_blocks * self.units,)

    def input_bias(self, bias: Array | None) -> Array | None:
        """The part of the bias added to x_t W (all of it, except GRU with reset_after)."""
        return bias

    def bias_gradient(self, d_input: Array, d_recurrent: Array) -> Array:
        """dL/db from the summed gradients of x_t W + b and of the recurrent term."""
        return d_input

    def recurrent_operand(self, h_prev: Array, rec_mask: Array | None, trace) -> Array | list[Array]:
        """What each block of U multiplied at every step, (T, B, H) (or one per block): h_{t-1} (* mask)."""
        return per_gate(h_prev, rec_mask, self.n_blocks)

    # -- the step (each cell defines these) ---------------------------------------

    def new_buffers(self, T: int, B: int, dtype) -> dict[str, Array]:
        """Arrays the forward step fills besides pre-activations and states (activations, ...)."""
        return {}

    def step_forward(self, t: int, tr, h_in, U: Array, bias: Array | None) -> None:
        """Step t: tr.pre[t] holds x_t W + b on entry; write the gates and the states after step t
        (tr.states[name][t + 1]). h_in is h_{t-1}, times the recurrent dropout mask(s) in training."""
        raise NotImplementedError

    def backward_cache(self, tr, lo: int, hi: int) -> dict[str, Array]:
        """Derivatives that do not depend on the incoming gradient, for steps lo..hi-1 at once.

        Returns a dict with ``"lo"`` and arrays indexed by ``t - lo``. The loop asks for windows of steps that
        stay in the CPU's cache (see recurrence.CACHE_WINDOW_BYTES) as it walks back.
        """
        raise NotImplementedError

    def step_backward(self, t: int, tr, cache: dict, d: list[Array], U_t: Array, rec_mask,
                      out: tuple[Array, Array] | None = None):
        """d: per state, the gradient arriving at the carried state s_t (from the loss and from step t+1),
        (..., B, H) (a leading axis of streams under truncation); a path from one state to another inside
        step t (LSTM: c_t -> h_t) is the step's own to add.

        Returns (dL/d(x_t W + b), dL/d(recurrent term), [dL/ds_{t-1} through this step per state]),
        writing the first two into ``out`` when given.
        """
        raise NotImplementedError

    def total_state_gradients(self, tr, hidden: dict[str, Array]) -> dict[str, Array]:
        """Total dL/ds_t per state, (T, B, H) each, from ``hidden``: what arrived at each carried state s_t.

        A state that feeds nothing else inside its own step has no more paths: ``hidden`` as it is (the default,
        SimpleRNN's and GRU's h). A cell whose step computes one state from another (LSTM: h_t = o_t act(c_t))
        adds that path here, for all steps at once after the backward loop.
        """
        return hidden

    def gate_sequences(self, tr) -> dict[str, Array]:
        """Each gate's values over time, (T, B, H) per name (time-major, processing order)."""
        H = self.units
        return {name: tr.act[:, :, k * H:(k + 1) * H] for k, name in enumerate(self.gate_names)}

    def explain_step(self, x_t: Array, states_prev: tuple[Array, ...], weights: list[Array]) -> dict[str, Array]:
        raise NotImplementedError


def split_weights(weights: list[Array], use_bias: bool) -> tuple[Array, Array, Array | None]:
    """[kernel, recurrent_kernel, (bias)] as float64 arrays (bias None without use_bias)."""
    kernel, recurrent = (np.asarray(w, np.float64) for w in weights[:2])
    bias = np.asarray(weights[2], np.float64) if use_bias and len(weights) > 2 else None
    return kernel, recurrent, bias
