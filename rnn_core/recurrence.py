"""The loop over time: masking, dropout masks, and backprop through time.

The cell (``cell.py``) does one step; this module runs it over a whole
sequence, as Keras' generic RNN wrapper does, and runs the backward step in
reverse. Everything here is time-major ``(T, B, ...)`` and in *processing
order*: with ``go_backwards`` the layer reverses the input before calling us.

Masking follows Keras 3 (``keras.src.backend.tensorflow.rnn``) exactly:
    h_t = f(z_t)  if m_t else h_{t-1}                       (the state is carried)
    o_t = h_t     if m_t else (0 if zero_output_for_mask else o_{t-1}),  o_{-1} = 0
so under a mask the returned output o_t can differ from the state h_t.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import Activation
from .cell import step_backward, step_forward

Array = np.ndarray


@dataclass
class Trace:
    """What the forward pass keeps for backprop; time-major, processing order."""

    x: Array                      # (T, B, D) inputs as the cell saw them (input dropout applied)
    z: Array                      # (T, B, H) pre-activations
    h: Array                      # (T+1, B, H) h[0] = initial state, h[t+1] = state after step t
    outputs: Array                # (T, B, H) o_t; a view of h[1:] when nothing is masked
    mask: Array | None            # (T, B, 1) 1.0 where the step is taken, or None
    recurrent_dropout: Array | None  # (B, H) mask applied to h_{t-1} before U, or None
    zero_output_for_mask: bool


def forward(
    x: Array,
    h0: Array,
    kernel: Array,
    recurrent_kernel: Array,
    bias: Array | None,
    activation: Activation,
    mask: Array | None = None,
    recurrent_dropout: Array | None = None,
    zero_output_for_mask: bool = False,
) -> Trace:
    """Run the recurrence over ``x`` (T, B, D) from ``h0`` (B, H).

    ``mask`` is (T, B) booleans or None; ``recurrent_dropout`` a (B, H) mask
    multiplied into h_{t-1} before the recurrent matmul (Keras' recurrent
    dropout). Input dropout is already applied to ``x`` by the caller.
    """
    T, B, _ = x.shape
    H = recurrent_kernel.shape[0]
    # x_t W + b for every step at once: one (T*B, D) x (D, H) matmul instead of T small ones.
    z = x @ kernel
    if bias is not None:
        z += bias
    h = np.empty((T + 1, B, H), dtype=z.dtype)
    h[0] = h0
    m = None if mask is None else mask.reshape(T, B, 1).astype(z.dtype)
    if m is None and recurrent_dropout is None:
        # Hot path: three NumPy calls per step, no allocation.
        for t in range(T):
            step_forward(z[t], h[t], recurrent_kernel, activation, z_out=z[t], h_out=h[t + 1])
        return Trace(x, z, h, h[1:], None, None, zero_output_for_mask)

    outputs = np.empty((T, B, H), dtype=z.dtype)
    prev_output = np.zeros((B, H), dtype=z.dtype)
    for t in range(T):
        h_in = h[t] if recurrent_dropout is None else h[t] * recurrent_dropout
        _, h_new = step_forward(z[t], h_in, recurrent_kernel, activation, z_out=z[t])
        if m is None:
            h[t + 1] = h_new
            outputs[t] = h_new
            continue
        h[t + 1] = m[t] * h_new + (1 - m[t]) * h[t]   # a masked step carries the state
        carried = 0.0 if zero_output_for_mask else prev_output
        outputs[t] = m[t] * h_new + (1 - m[t]) * carried
        prev_output = outputs[t]
    return Trace(x, z, h, outputs, m, recurrent_dropout, zero_output_for_mask)


@dataclass
class BackwardResult:
    """Gradients that flow along the sequence; all time-major, processing order."""

    dz: Array       # (T, B, H) dL/dz_t
    hidden: Array   # (T, B, H) total dL/dh_t (all paths from the loss to h_t)
    d_h0: Array     # (B, H) dL/d(initial state)


def _state_injections(trace: Trace, d_outputs: Array | None, d_state: Array | None) -> Array:
    """The gradient each step receives from the loss directly (not through h_{t+1}).

    Returned output o_t feeds h_t when step t is taken; under a mask the
    gradient on a carried output travels back to the last step that was taken.
    """
    T, B, H = trace.z.shape
    inj = np.zeros((T, B, H), dtype=trace.z.dtype) if d_outputs is None else np.array(d_outputs, dtype=trace.z.dtype)
    if trace.mask is not None:
        carry = np.zeros((B, H), dtype=inj.dtype)
        for t in range(T - 1, -1, -1):
            g_o = inj[t] + carry                     # dL/do_t, own term + carried from o_{t+1}
            m = trace.mask[t]
            inj[t] = m * g_o                         # o_t = h_t where the step is taken
            carry = 0.0 * g_o if trace.zero_output_for_mask else (1 - m) * g_o
    if d_state is not None:
        inj[T - 1] += d_state                        # the returned final state is h_{T-1}
    return inj


def backward(
    trace: Trace,
    d_outputs: Array | None,
    d_state: Array | None,
    recurrent_kernel: Array,
    activation: Activation,
    truncate: int | None = None,
) -> BackwardResult:
    """Backprop through time.

    d_outputs (T, B, H): dL/do_t for each returned output (zeros where nothing
    is returned), or None. d_state (B, H): dL/d(final state), or None.

    ``truncate=k`` keeps only paths of at most k steps: the gradient the loss
    puts on h_s flows back through steps s, s-1, ..., s-k+1 (their weights and
    inputs get it) and reaches h_{s-k}, where it stops. It is exact: each
    injected gradient is carried as its own stream (a (k+1, B, H) buffer), so
    nothing longer than k steps leaks in. Masked steps count as steps.
    """
    T, B, H = trace.z.shape
    inj = _state_injections(trace, d_outputs, d_state)
    fprime = activation.derivative(trace.z, trace.h[1:])   # f'(z_t) for all steps at once
    if np.may_share_memory(fprime, trace.h) or np.may_share_memory(fprime, trace.z):
        fprime = fprime.copy()                            # it becomes dz in place below (exp' = exp returns h)
    if trace.mask is not None:
        fprime *= trace.mask                              # a masked step passes no gradient to z_t
    u_t = np.ascontiguousarray(recurrent_kernel.T)
    if truncate is not None and truncate < T:
        return _backward_truncated(trace, inj, fprime, u_t, truncate)

    hidden = inj                      # filled in place: hidden[t] = inj[t] + (from h_{t+1})
    dz = fprime                       # overwritten in place: dz[t] = hidden[t] * f'(z_t)
    m, r = trace.mask, trace.recurrent_dropout
    g = np.zeros((B, H), dtype=inj.dtype)    # gradient on h_t arriving from step t+1
    for t in range(T - 1, -1, -1):
        hidden[t] += g
        step_backward(hidden[t], fprime[t], u_t, dz_out=dz[t], dh_prev_out=g)
        if r is not None:
            g *= r                                   # recurrent dropout: h_{t-1} * r entered U
        if m is not None:
            g += (1 - m[t]) * hidden[t]              # carried state: h_t = h_{t-1} if masked
    return BackwardResult(dz, hidden, g)


def _backward_truncated(trace: Trace, inj: Array, fprime: Array, u_t: Array, k: int) -> BackwardResult:
    """BPTT where each injected gradient travels at most k steps (see ``backward``)."""
    T, B, H = trace.z.shape
    m, r = trace.mask, trace.recurrent_dropout
    streams = np.zeros((k + 1, B, H), dtype=inj.dtype)   # streams[j]: injected j steps later
    hidden = np.empty_like(inj)
    dz = np.empty_like(inj)
    for t in range(T - 1, -1, -1):
        streams[0] = inj[t]
        hidden[t] = streams.sum(axis=0)
        live = streams[:k]                                # streams[k] has used up its k steps
        dz_streams = live * fprime[t]
        dz[t] = dz_streams.sum(axis=0)
        back = dz_streams @ u_t
        if r is not None:
            back *= r
        if m is not None:
            back += (1 - m[t]) * live
        streams[1:] = back
        streams[0] = 0
    return BackwardResult(dz, hidden, streams.sum(axis=0))


def weight_gradients(
    trace: Trace, dz: Array, kernel: Array, use_bias: bool
) -> tuple[Array, Array, Array | None, Array]:
    """dL/dW, dL/dU, dL/db and dL/dx (as the cell saw x), each summed over steps in one go.

    dW = sum_t x_t^T dz_t,  dU = sum_t (h_{t-1} r)^T dz_t,  db = sum_t sum_b dz_t,  dx_t = dz_t W^T
    """
    T, B, H = dz.shape
    dz2 = dz.reshape(T * B, H)
    x2 = trace.x.reshape(T * B, -1)
    h_prev = trace.h[:-1]
    if trace.recurrent_dropout is not None:
        h_prev = h_prev * trace.recurrent_dropout
    d_kernel = x2.T @ dz2
    d_recurrent = h_prev.reshape(T * B, H).T @ dz2
    d_bias = dz2.sum(axis=0) if use_bias else None
    d_x = dz @ kernel.T
    return d_kernel, d_recurrent, d_bias, d_x
