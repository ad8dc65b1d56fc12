"""The loop over time, for every cell: masking, dropout masks, backprop through time.

A cell (``simple_rnn_cell.py``, ``lstm_cell.py``, ``gru_cell.py``) does one
step; this module runs it over a whole sequence, as Keras' generic RNN wrapper
does, and runs the backward step in reverse. It never asks which cell it runs:
it reads ``cell.state_names`` and ``cell.n_blocks`` and calls the cell's steps.
Everything here is time-major ``(T, B, ...)`` and in *processing order*: with
``go_backwards`` the layer reverses the input before calling us.

Masking follows Keras 3 (``keras.src.backend.tensorflow.rnn``) exactly:
    s_t = step(s_{t-1}) if m_t else s_{t-1}                 (every state is carried)
    o_t = h_t     if m_t else (0 if zero_output_for_mask else o_{t-1}),  o_{-1} = 0
so under a mask the returned output o_t can differ from the state h_t.

Speed: ``x W + b`` for all gates and all steps is one matmul before the loop;
each step does one fused recurrent matmul ``h_{t-1} U``; the weight gradients
are one matmul each after the loop. What the backward step needs besides the
incoming gradient (the gates' slopes times the values they multiply) is
computed for a window of steps at once, a window that fits the CPU's cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .cell_base import Cell, block_matmul, block_matmul_t, block_outer, per_gate

Array = np.ndarray

# The backward loop gets the cell's backward cache for windows of this many bytes of (steps x B x G*H) floats.
# Computed for all steps at once, the arrays leave the CPU's cache at (32, 200, 4 x 128) and the passes over them
# run at memory speed; computed per step, every step pays NumPy's call overheads again (1,000 small steps at
# B=1). Measured here (LSTM forward + BPTT, interleaved repeats, one BLAS thread): at (1, 1000, 8, 128) all at
# once 34.6 ms, windows of 128 KiB 31.9, 512 KiB 30.9, 2 MiB 35.6; at (32, 200, 16, 128) 53.8, 47.9, 46.4, 48.7
# (per step, in another run: 32.8 and 39.4 where all at once took 24.8 and 41.4).
CACHE_WINDOW_BYTES = 512 * 1024


class _WindowedCache:
    """The cell's backward cache for the window of steps holding t, recomputed as the loop walks back."""

    def __init__(self, cell: Cell, tr: Trace) -> None:
        T, B, width = tr.pre.shape
        self.cell, self.tr = cell, tr
        self.steps = max(1, CACHE_WINDOW_BYTES // (B * width * tr.pre.itemsize))
        self.cache = {"lo": T}

    def at(self, t: int) -> dict:
        if t < self.cache["lo"]:
            lo = max(0, t + 1 - self.steps)
            self.cache = self.cell.backward_cache(self.tr, lo, t + 1)
        return self.cache


@dataclass
class Trace:
    """What the forward pass keeps for backprop; time-major, processing order."""

    x: Array                         # (T, B, D) inputs as given (dropout masks are kept apart)
    pre: Array                       # (T, B, G*H) pre-activations of every gate block
    act: Array | None                # (T, B, G*H) gate activations (None for SimpleRNN: h is its activation)
    states: dict[str, Array]         # name -> (T+1, B, H); [0] = initial state, [t+1] = state after step t
    outputs: Array                   # (T, B, H) o_t; a view of h[1:] when nothing is masked
    mask: Array | None               # (T, B, 1) 1.0 where the step is taken, or None
    input_dropout: Array | None      # (B, D) or one per gate (G, B, D), or None
    recurrent_dropout: Array | None  # (B, H) or one per gate (G, B, H), or None
    zero_output_for_mask: bool
    extra: dict[str, Array] = field(default_factory=dict)   # whatever else a cell keeps (act(c_t), ...)

    @property
    def h(self) -> Array:
        return self.states["h"]

    @property
    def c(self) -> Array:
        return self.states["c"]

    @property
    def z(self) -> Array:
        """SimpleRNN's pre-activations z_t (the name the app uses)."""
        return self.pre


def forward(
    cell: Cell,
    x: Array,
    initial_states: tuple[Array, ...],
    kernel: Array,
    recurrent_kernel: Array,
    bias: Array | None,
    mask: Array | None = None,
    input_dropout: Array | None = None,
    recurrent_dropout: Array | None = None,
    zero_output_for_mask: bool = False,
) -> Trace:
    """Run ``cell`` over ``x`` (T, B, D) from ``initial_states`` (one (B, H) per state name).

    ``mask`` is (T, B) booleans or None; the dropout masks are drawn by the
    layer, the same at every step (see cell_base for their shapes).
    """
    T, B, _ = x.shape
    H, G = cell.units, cell.n_blocks
    # x_t W + b for every gate and every step at once: one (T*B, D) x (D, G*H) matmul.
    pre = block_matmul(per_gate(x, input_dropout, G), kernel, 0, G, H)
    b_in = cell.input_bias(bias)
    if b_in is not None:
        pre += b_in
    dtype = pre.dtype
    states = {}
    for name, s0 in zip(cell.state_names, initial_states, strict=True):
        states[name] = np.empty((T + 1, B, H), dtype=dtype)
        states[name][0] = s0
    act = np.empty_like(pre) if G > 1 else None
    tr = Trace(x, pre, act, states, states["h"][1:], None, input_dropout, recurrent_dropout,
               zero_output_for_mask, cell.new_buffers(T, B, dtype))
    h = states["h"]
    if mask is None and recurrent_dropout is None:
        # Hot path: the cell's step and nothing else.
        for t in range(T):
            cell.step_forward(t, tr, h[t], recurrent_kernel, bias)
        return tr

    m = None if mask is None else mask.reshape(T, B, 1)
    tr.mask = None if m is None else m.astype(dtype)
    outputs = np.empty((T, B, H), dtype=dtype) if m is not None else tr.outputs
    prev_output = np.zeros((B, H), dtype=dtype)
    for t in range(T):
        h_in = h[t] if recurrent_dropout is None else per_gate(h[t], recurrent_dropout, G)
        cell.step_forward(t, tr, h_in, recurrent_kernel, bias)
        if m is None:
            continue
        for s in states.values():
            s[t + 1] = np.where(m[t], s[t + 1], s[t])          # a masked step carries every state
        carried = 0.0 if zero_output_for_mask else prev_output
        outputs[t] = np.where(m[t], h[t + 1], carried)
        prev_output = outputs[t]
    tr.outputs = outputs
    return tr


@dataclass
class BackwardResult:
    """Gradients that flow along the sequence; all time-major, processing order.

    ``hidden`` is what arrives at each carried state s_t (the state step t hands to step t+1 and to the loss);
    ``total`` is dL/ds_t with the path inside step t included, as the cell defines it
    (:meth:`Cell.total_state_gradients`): for h the two are the same array; an LSTM's c_t also feeds
    h_t = o_t act(c_t) of its own step, so total dL/dc_t = hidden["c"][t] + m_t hidden["h"][t] o_t act'(c_t).
    """

    d_pre: Array                 # (T, B, G*H) dL/d(x_t W + b) per gate block
    d_rec: Array                 # (T, B, G*H) dL/d(recurrent term); the same array unless the cell says otherwise
    hidden: dict[str, Array]     # name -> (T, B, H) dL/ds_t arriving at the carried state s_t (from the loss and
                                 # from step t+1); under truncation the sum of all streams, spent ones included
    d_initial: list[Array]       # one (B, H) per state: dL/d(initial state)
    total: dict[str, Array] = field(default_factory=dict)   # name -> (T, B, H) total dL/ds_t (see above)


def _state_injections(tr: Trace, d_outputs: Array | None, d_finals: list[Array | None]) -> dict[str, Array]:
    """The gradient each state receives from the loss directly (not through the next step).

    Returned output o_t feeds h_t when step t is taken; under a mask the
    gradient on a carried output travels back to the last step that was taken.
    The returned final states are the states after the last step.
    """
    T, B, _ = tr.x.shape
    dtype = tr.pre.dtype
    inj = {}
    for name, s in tr.states.items():
        inj[name] = np.zeros(s[1:].shape, dtype=dtype)
    if d_outputs is not None:
        inj["h"][...] = d_outputs
    if tr.mask is not None:
        h = inj["h"]
        carry = np.zeros(h.shape[1:], dtype=dtype)
        for t in range(T - 1, -1, -1):
            g_o = h[t] + carry                       # dL/do_t, own term + carried from o_{t+1}
            m = tr.mask[t]
            h[t] = m * g_o                           # o_t = h_t where the step is taken
            carry = 0.0 * g_o if tr.zero_output_for_mask else (1 - m) * g_o
    for name, d in zip(tr.states, d_finals, strict=True):
        if d is not None:
            inj[name][T - 1] += d
    return inj


def backward(
    cell: Cell,
    tr: Trace,
    d_outputs: Array | None,
    d_finals: list[Array | None],
    recurrent_kernel: Array,
    truncate: int | None = None,
) -> BackwardResult:
    """Backprop through time.

    d_outputs (T, B, H): dL/do_t for each returned output (zeros where nothing
    is returned), or None. d_finals: dL/d(final state) per state, or None each.

    ``truncate=k`` keeps only paths of at most k steps: the gradient the loss
    puts on a state at step s flows back through steps s, s-1, ..., s-k+1 (their
    weights and inputs get it) and reaches the state after step s-k, where it
    stops. It is exact: each injected gradient is carried as its own stream (a
    (k+1, B, H) buffer per state), so nothing longer than k steps leaks in.
    Masked steps count as steps.
    """
    T, B, _ = tr.x.shape
    inj = _state_injections(tr, d_outputs, d_finals)
    cache = _WindowedCache(cell, tr)
    u_t = np.ascontiguousarray(recurrent_kernel.T)
    d_pre = np.empty_like(tr.pre)
    d_rec = np.empty_like(tr.pre) if cell.separate_recurrent_gradient else d_pre
    if truncate is not None and truncate < T:
        return _backward_truncated(cell, tr, inj, cache, u_t, truncate, d_pre, d_rec)

    names = cell.state_names
    hidden = inj                     # filled in place: hidden[s][t] = inj[s][t] + (from step t+1)
    m, r = tr.mask, tr.recurrent_dropout
    g = [np.zeros((B, cell.units), dtype=tr.pre.dtype) for _ in names]   # gradients arriving from step t+1
    for t in range(T - 1, -1, -1):
        d = [hidden[s][t] for s in names]
        for d_s, g_s in zip(d, g):
            d_s += g_s
        if m is None:
            _, _, g = cell.step_backward(t, tr, cache.at(t), d, u_t, r, out=(d_pre[t], d_rec[t]))
            continue
        carry = [(1 - m[t]) * d_s for d_s in d]     # a masked step carries its states: s_t = s_{t-1}
        taken = [m[t] * d_s for d_s in d]           # a masked step passes nothing into its cell
        _, _, g = cell.step_backward(t, tr, cache.at(t), taken, u_t, r, out=(d_pre[t], d_rec[t]))
        g = [g_s + carry_s for g_s, carry_s in zip(g, carry)]
    # The paths inside a step (LSTM: c_t -> h_t) once for all steps, after the loop: one vectorised pass.
    return BackwardResult(d_pre, d_rec, hidden, g, cell.total_state_gradients(tr, hidden))


def _backward_truncated(cell, tr, inj, cache, u_t, k, d_pre, d_rec) -> BackwardResult:
    """BPTT where each injected gradient travels at most k steps (see ``backward``)."""
    T, B, _ = tr.x.shape
    names = cell.state_names
    m, r = tr.mask, tr.recurrent_dropout
    streams = {s: np.zeros((k + 1, B, cell.units), dtype=tr.pre.dtype) for s in names}  # [j]: injected j steps later
    hidden = {s: np.empty_like(inj[s]) for s in names}
    for t in range(T - 1, -1, -1):
        for s in names:
            streams[s][0] = inj[s][t]
        live = [streams[s][:k] for s in names]      # streams[s][k] has used up its k steps
        if m is None:
            taken, carry = live, None
        else:
            taken = [m[t] * x for x in live]
            carry = [(1 - m[t]) * x for x in live]
        dp, dr, back = cell.step_backward(t, tr, cache.at(t), taken, u_t, r)
        d_pre[t] = dp.sum(axis=0)
        if d_rec is not d_pre:
            d_rec[t] = dr.sum(axis=0)
        for j, s in enumerate(names):
            hidden[s][t] = streams[s].sum(axis=0)
            streams[s][1:] = back[j] if carry is None else back[j] + carry[j]
            streams[s][0] = 0
    # hidden holds every stream that reached s_t, the one that used up its k steps too: the path s_t's own step
    # adds (LSTM: c_t -> h_t) is the same as without truncation.
    return BackwardResult(d_pre, d_rec, hidden, [streams[s].sum(axis=0) for s in names],
                          cell.total_state_gradients(tr, hidden))


def weight_gradients(
    cell: Cell, tr: Trace, res: BackwardResult, kernel: Array, use_bias: bool
) -> tuple[Array, Array, Array | None, Array]:
    """dL/dW, dL/dU, dL/db and dL/dx (processing order), each summed over steps in one go.

    dW = sum_t x_t^T da_t,  dU = sum_t h_{t-1}^T dm_t (per block: what U multiplied),
    db = sum_t sum_b da_t,  dx_t = da_t W^T   (dropout masks applied per block)
    """
    H, G = cell.units, cell.n_blocks
    d_kernel = block_outer(per_gate(tr.x, tr.input_dropout, G), res.d_pre, H)
    d_recurrent = block_outer(cell.recurrent_operand(tr.h[:-1], tr.recurrent_dropout, tr), res.d_rec, H)
    d_bias = None
    if use_bias:
        d_bias = cell.bias_gradient(res.d_pre.sum(axis=(0, 1)), res.d_rec.sum(axis=(0, 1)))
    d_x = block_matmul_t(res.d_pre, np.ascontiguousarray(kernel.T), tr.input_dropout, 0, G, H)
    return d_kernel, d_recurrent, d_bias, d_x
