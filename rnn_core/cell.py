"""One step of a simple (Elman) RNN, forward and backward, side by side.

Notation (Keras' weight layout, so weights copy without transposes):
    x_t  (B, D)  input at step t          W = kernel            (D, H)
    h_t  (B, H)  state after step t       U = recurrent_kernel  (H, H)
    z_t  (B, H)  pre-activation           b = bias              (H,)

The input projection ``x_t W + b`` does not depend on the state, so the loop
(``recurrence.py``) computes it for every step in one matmul and hands the
step only ``xw_t``. Likewise the weight gradients are sums over steps, done
after the loop in one matmul each; the step only moves the gradient one step
back in time.
"""

from __future__ import annotations

import numpy as np

from .activations import Activation

Array = np.ndarray


def step_forward(
    xw_t: Array,
    h_prev: Array,
    recurrent_kernel: Array,
    activation: Activation,
    z_out: Array | None = None,
    h_out: Array | None = None,
) -> tuple[Array, Array]:
    """z_t = x_t W + b + h_{t-1} U ;  h_t = f(z_t).

    xw_t (B, H), h_prev (B, H), recurrent_kernel (H, H) -> z_t (B, H), h_t (B, H).
    ``z_out``/``h_out`` are optional preallocated buffers (the loop passes the
    slice of a (T, B, H) array; ``z_out`` may be ``xw_t`` itself, updated in place).
    """
    z = np.add(xw_t, h_prev @ recurrent_kernel, out=z_out)  # z_t = (x_t W + b) + h_{t-1} U
    return z, activation.apply(z, out=h_out)                # h_t = f(z_t)


def step_backward(
    dh_t: Array,
    fprime_t: Array,
    recurrent_kernel_t: Array,
    dz_out: Array | None = None,
    dh_prev_out: Array | None = None,
) -> tuple[Array, Array]:
    """dz_t = dL/dh_t * f'(z_t) ;  dL/dh_{t-1} (through this step) = dz_t U^T.

    dh_t (B, H) total gradient on h_t, fprime_t (B, H) = f'(z_t),
    recurrent_kernel_t (H, H) = U^T (transposed once by the loop)
    -> dz_t (B, H), dh_prev (B, H).
    """
    dz = np.multiply(dh_t, fprime_t, out=dz_out)                     # backprop through f
    return dz, np.matmul(dz, recurrent_kernel_t, out=dh_prev_out)  # backprop into h_{t-1}
