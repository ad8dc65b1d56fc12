"""One step of a simple (Elman) RNN, forward and backward, side by side.

Notation (Keras' weight layout, so weights copy without transposes):
    x_t  (B, D)  input at step t          W = kernel            (D, H)
    h_t  (B, H)  state after step t       U = recurrent_kernel  (H, H)
    z_t  (B, H)  pre-activation           b = bias              (H,)

    z_t = x_t W + b + h_{t-1} U ;   h_t = f(z_t)

The input projection ``x_t W + b`` does not depend on the state, so the loop
(``recurrence.py``) computes it for every step in one matmul and the step only
adds ``h_{t-1} U``. Likewise the weight gradients are sums over steps, done
after the loop in one matmul each; the step only moves the gradient one step
back in time.
"""

from __future__ import annotations

import numpy as np

from ..messages import N_, Message
from .activations import Activation
from .cell_base import Cell, split_weights
from .jacobian import StepJacobian, diagonal_times_matrix

Array = np.ndarray


class SimpleRNNCell(Cell):
    """h_t = f(x_t W + h_{t-1} U + b), as keras.layers.SimpleRNNCell."""

    name = "simple_rnn"
    state_names = ("h",)
    gate_names = ("z",)
    n_blocks = 1
    gate_labels = {"z": Message(N_("pre-activation z_t"))}

    def __init__(self, units: int, activation: Activation, use_bias: bool = True) -> None:
        super().__init__(units, use_bias)
        self.activation = activation
        self.step_latex = [
            r"z_t = x_t W + h_{t-1} U" + (" + b" if use_bias else ""),
            rf"h_t = \mathrm{{{activation.name}}}(z_t)",
        ]

    def step_forward(self, t: int, tr, h_in: Array, U: Array, bias: Array | None) -> None:
        """z_t = (x_t W + b) + h_{t-1} U ;  h_t = f(z_t).

        tr.pre[t] holds x_t W + b on entry and z_t on exit; h_t goes to tr.h[t + 1].
        h_in is h_{t-1} (times the recurrent dropout mask in training).
        """
        z = np.add(tr.pre[t], h_in @ U, out=tr.pre[t])      # z_t = (x_t W + b) + h_{t-1} U
        self.activation.apply(z, out=tr.h[t + 1])            # h_t = f(z_t)

    def backward_cache(self, tr, lo: int, hi: int) -> dict[str, Array]:
        """f'(z_t) for steps lo..hi-1 at once."""
        return {"lo": lo, "fprime": self.activation.derivative(tr.pre[lo:hi], tr.h[lo + 1:hi + 1])}

    def step_backward(self, t: int, tr, cache: dict, d: list[Array], U_t: Array, rec_mask: Array | None,
                      out: tuple[Array, Array] | None = None):
        """dz_t = dL/dh_t * f'(z_t) ;  dL/dh_{t-1} (through this step) = dz_t U^T.

        d = [dL/dh_t] (total, (..., B, H)); U_t = U^T (transposed once by the loop).
        Returns (dL/d(x_t W + b), dL/d(h_{t-1} U), [dL/dh_{t-1}]): here both are dz_t.
        """
        dz = np.multiply(d[0], cache["fprime"][t - cache["lo"]], out=None if out is None else out[0])  # through f
        dh_prev = dz @ U_t                                                                # backprop into h_{t-1}
        if rec_mask is not None:
            dh_prev *= rec_mask                              # recurrent dropout: h_{t-1} * mask entered U
        return dz, dz, [dh_prev]

    def gate_sequences(self, tr) -> dict[str, Array]:
        return {"z": tr.pre}

    def step_jacobian(self, tr, recurrent_kernel: Array, b: int = 0) -> StepJacobian:
        """J_t = dh_t/dh_{t-1} = diag(f'(z_t)) U^T for every step of sequence b (float64, inference step)."""
        fprime = self.activation.derivative(tr.pre[:, b], tr.h[1:, b])      # f'(z_t), (T, H)
        return diagonal_times_matrix(fprime, recurrent_kernel)

    def explain_step(self, x_t: Array, states_prev: tuple[Array, ...], weights: list[Array]) -> dict[str, Array]:
        """Every intermediate of one step for one sequence, float64: x W, h U, (b), z, h."""
        W, U, b = split_weights(weights, self.use_bias)
        h_prev = np.asarray(states_prev[0], np.float64)
        out = {"x W": np.asarray(x_t, np.float64) @ W, "h U": h_prev @ U}
        z = out["x W"] + out["h U"]
        if b is not None:
            out["b"] = b
            z = z + b
        out["z"] = z
        out["h"] = self.activation(z)
        return out


# The step as plain functions (the app shows their source): the same code as the methods above.
step_forward = SimpleRNNCell.step_forward
step_backward = SimpleRNNCell.step_backward
