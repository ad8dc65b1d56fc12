"""One step of an LSTM, forward and backward, side by side.

Keras' layout: W = kernel (D, 4H), U = recurrent_kernel (H, 4H), b = bias (4H,),
the four gate blocks in the order i, f, c (here "g", the candidate), o.
sigma is recurrent_activation (sigmoid), act is activation (tanh):

    a_t = x_t W + b + h_{t-1} U          all four pre-activations, one matmul per step
    i_t = sigma(a_i)   input gate         f_t = sigma(a_f)   forget gate
    g_t = act(a_g)     candidate          o_t = sigma(a_o)   output gate
    c_t = f_t * c_{t-1} + i_t * g_t      the cell state (the "constant error carousel")
    h_t = o_t * act(c_t)

Backward, given dL/dh_t and the carried part of dL/dc_t (what flows back from step t+1, through
c_{t+1} = f_{t+1} c_t + ..., plus the loss on a returned c_T):
    dc_t   = dL/dc_t|carried + dL/dh_t * o_t * act'(c_t)   the total dL/dc_t: the path through h_t added
    do_t   = dL/dh_t * act(c_t)
    di_t   = dc_t * g_t,  dg_t = dc_t * i_t,  df_t = dc_t * c_{t-1},  dL/dc_{t-1} = dc_t * f_t
    da_t   = [di, df, dg, do] * [sigma', sigma', act', sigma'](a_t)
    dL/dh_{t-1} (through this step) = da_t U^T
"""

from __future__ import annotations

import numpy as np

from ..messages import N_, Message
from .activations import Activation
from .cell_base import Cell, block_matmul, block_matmul_t, split_weights
from .jacobian import StepJacobian

Array = np.ndarray


class LSTMCell(Cell):
    """keras.layers.LSTMCell: states (h, c), gates i, f, g, o."""

    name = "lstm"
    state_names = ("h", "c")
    gate_names = ("i", "f", "g", "o")
    carry_gate = "f"          # c_t = f_t c_{t-1} + ...: dc_t/dc_{t-1} = diag(f_t), the analysis multiplies these
    n_blocks = 4
    gate_labels = {"i": Message(N_("input gate i_t")), "f": Message(N_("forget gate f_t")),
                   "g": Message(N_("candidate g_t")), "o": Message(N_("output gate o_t"))}

    def __init__(self, units: int, activation: Activation, recurrent_activation: Activation,
                 use_bias: bool = True) -> None:
        super().__init__(units, use_bias)
        self.activation, self.recurrent_activation = activation, recurrent_activation
        bi = (lambda n: f" + b_{n}") if use_bias else (lambda n: "")
        s, a = recurrent_activation.name, activation.name
        self.step_latex = [
            rf"i_t = \mathrm{{{s}}}(x_t W_i + h_{{t-1}} U_i{bi('i')})",
            rf"f_t = \mathrm{{{s}}}(x_t W_f + h_{{t-1}} U_f{bi('f')})",
            rf"g_t = \mathrm{{{a}}}(x_t W_c + h_{{t-1}} U_c{bi('c')})",
            rf"o_t = \mathrm{{{s}}}(x_t W_o + h_{{t-1}} U_o{bi('o')})",
            r"c_t = f_t \odot c_{t-1} + i_t \odot g_t",
            rf"h_t = o_t \odot \mathrm{{{a}}}(c_t)",
        ]

    def new_buffers(self, T: int, B: int, dtype) -> dict[str, Array]:
        return {"act_c": np.empty((T, B, self.units), dtype)}      # act(c_t), reused by the backward step

    def step_forward(self, t: int, tr, h_in, U: Array, bias: Array | None) -> None:
        """tr.pre[t] holds x_t W + b on entry, a_t on exit; gates go to tr.act[t], states to tr.h/tr.c[t + 1]."""
        H, sig, act = self.units, self.recurrent_activation, self.activation
        a = np.add(tr.pre[t], block_matmul(h_in, U, 0, 4, H), out=tr.pre[t])  # a_t = x_t W + b + h_{t-1} U
        gates = tr.act[t]
        sig.apply(a, out=gates)                                    # i_t, f_t, o_t = sigma(a_i), sigma(a_f), sigma(a_o)
        act.apply(a[:, 2 * H:3 * H], out=gates[:, 2 * H:3 * H])    # g_t = act(a_g) (one call each beats three)
        i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
        c = tr.c[t + 1]
        np.multiply(f, tr.c[t], out=c)
        c += np.multiply(i, g, out=tr.extra["act_c"][t])            # c_t = f_t * c_{t-1} + i_t * g_t
        act_c = act.apply(c, out=tr.extra["act_c"][t])
        np.multiply(o, act_c, out=tr.h[t + 1])                      # h_t = o_t * act(c_t)

    def backward_cache(self, tr, lo: int, hi: int) -> dict[str, Array]:
        """Everything of the backward step that does not depend on the incoming gradient, for steps lo..hi-1 at once.

        With sigma'/act' the slopes at a_t, the step's arithmetic becomes two products per gate:
            dc_t = dL/dc_t + dL/dh_t * [o_t act'(c_t)]
            da_t = [dc_t * (g sigma'_i), dc_t * (c_{t-1} sigma'_f), dc_t * (i act'_g), dL/dh_t * (act(c_t) sigma'_o)]
        """
        H, sig, act = self.units, self.recurrent_activation, self.activation
        a, gates, act_c = tr.pre[lo:hi], tr.act[lo:hi], tr.extra["act_c"][lo:hi]
        n, B, _ = a.shape
        slope = np.empty_like(gates)                                # sigma'(a_i), sigma'(a_f), act'(a_g), sigma'(a_o)
        slope[...] = sig.derivative(a, gates)                       # (g's block is replaced on the next line)
        slope[..., 2 * H:3 * H] = act.derivative(a[..., 2 * H:3 * H], gates[..., 2 * H:3 * H])
        i, f, g, o = (gates[..., k * H:(k + 1) * H] for k in range(4))
        coef = slope.reshape(n, B, 4, H)
        coef[:, :, 0] *= g                                          # da_i = dc * g * sigma'(a_i)
        coef[:, :, 1] *= tr.c[lo:hi]                                # da_f = dc * c_{t-1} * sigma'(a_f)
        coef[:, :, 2] *= i                                          # da_g = dc * i * act'(a_g)
        coef[:, :, 3] *= act_c                                      # da_o = dh * act(c_t) * sigma'(a_o)
        dc_dh = act.derivative(tr.c[lo + 1:hi + 1], act_c) * o     # dh_t/dc_t = o_t act'(c_t)
        return {"lo": lo, "coef": coef, "dc_dh": dc_dh}

    def step_backward(self, t: int, tr, cache: dict, d: list[Array], U_t: Array, rec_mask,
                      out: tuple[Array, Array] | None = None):
        """d = [dL/dh_t, carried part of dL/dc_t] (from the loss and from step t+1), each (..., B, H).

        Returns (dL/da_t, dL/da_t, [dL/dh_{t-1}, dL/dc_{t-1}]) through this step.
        """
        H, k = self.units, t - cache["lo"]
        dh, dc = d
        dc = dh * cache["dc_dh"][k]                  # h_t = o * act(c_t): the path through h_t ...
        dc += d[1]                                   # ... plus the carried part: the total dL/dc_t
        da = out[0] if out is not None else np.empty(dh.shape[:-1] + (4 * H,), dh.dtype)
        da4 = da.reshape(da.shape[:-1] + (4, H))
        coef = cache["coef"][k]
        np.multiply(dc[..., None, :], coef[:, :3], out=da4[..., :3, :])  # di, df, dg through sigma/act
        np.multiply(dh, coef[:, 3], out=da4[..., 3, :])                   # do = dh * act(c_t), through sigma
        dh_prev = block_matmul_t(da, U_t, rec_mask, 0, 4, H)              # backprop into h_{t-1}: da_t U^T
        dc *= tr.act[t][:, H:2 * H]                  # c_t = f * c_{t-1} + ...: dL/dc_{t-1} = dc * f
        return da, da, [dh_prev, dc]

    def total_state_gradients(self, tr, hidden: dict[str, Array]) -> dict[str, Array]:
        """Total dL/dc_t for every step at once (after the backward loop): the carried part plus the path c_t -> h_t.

            dL/dc_t = hidden_c[t] + m_t * hidden_h[t] * o_t * act'(c_t)
        hidden_c[t] is what flows back from step t+1 (and the loss on a returned c_T), hidden_h[t] all of
        dL/dh_t; m_t = 0 at a masked step, whose c_t is carried from c_{t-1} and whose h_t does not depend on it.
        h needs nothing more: nothing else in step t is computed from h_t.
        """
        H, act = self.units, self.activation
        act_c = tr.extra["act_c"]                                        # act(c_t) of the step's own c_t
        through_h = np.multiply(act.derivative(tr.c[1:], act_c), tr.act[..., 3 * H:])   # dh_t/dc_t = o_t act'(c_t)
        through_h *= hidden["h"]                                         # dL/dh_t * dh_t/dc_t
        if tr.mask is not None:
            # A masked step's c_t is c_{t-1} carried: no path to h_t (and act'(c) there mixes two steps' values).
            through_h = np.where(tr.mask > 0, through_h, 0.0).astype(through_h.dtype, copy=False)
        through_h += hidden["c"]
        return {"h": hidden["h"], "c": through_h}

    def step_jacobian(self, tr, recurrent_kernel: Array, b: int = 0) -> StepJacobian:
        """J_t = d(h_t, c_t)/d(h_{t-1}, c_{t-1}) (2H x 2H) for every step of sequence b (float64).

        With u = dh_{t-1} U (a change of h_{t-1} seen by the four gate blocks) and
        the per-step coefficients below, a change (dh_{t-1}, dc_{t-1}) gives
            dc_t = (g sigma'(a_i)) u_i + (c_{t-1} sigma'(a_f)) u_f + (i act'(a_g)) u_g + f dc_{t-1}
            dh_t = (act(c_t) sigma'(a_o)) u_o + (o act'(c_t)) dc_t
        so the c -> c block is diag(f_t): the constant error carousel.
        """
        H, sig, act = self.units, self.recurrent_activation, self.activation
        a, gates = tr.pre[:, b].astype(np.float64), tr.act[:, b].astype(np.float64)
        i, f, g, o = (gates[:, k * H:(k + 1) * H] for k in range(4))
        c_prev, c, act_c = tr.c[:-1, b], tr.c[1:, b], tr.extra["act_c"][:, b]
        coef = {"u_i": g * sig.derivative(a[:, :H], i), "u_f": c_prev * sig.derivative(a[:, H:2 * H], f),
                "u_g": i * act.derivative(a[:, 2 * H:3 * H], g), "u_o": act_c * sig.derivative(a[:, 3 * H:], o),
                "f": f, "k": o * act.derivative(c, act_c)}
        return StepJacobian(2 * H, {n: np.asarray(v, np.float64)[:, None, :] for n, v in coef.items()},
                            {"U": np.asarray(recurrent_kernel, np.float64)}, _lstm_jv, _lstm_jtw)

    def explain_step(self, x_t: Array, states_prev: tuple[Array, ...], weights: list[Array]) -> dict[str, Array]:
        """Every intermediate of one step for one sequence, float64, in order: a_i.. a_o, i, f, g, o, c, h."""
        W, U, b = split_weights(weights, self.use_bias)
        h_prev, c_prev = (np.asarray(s, np.float64) for s in states_prev)
        a = np.asarray(x_t, np.float64) @ W + h_prev @ U + (0 if b is None else b)
        H, sig, act = self.units, self.recurrent_activation, self.activation
        out = {f"a_{n}": a[k * H:(k + 1) * H] for k, n in enumerate(self.gate_names)}
        out["i"], out["f"] = sig(out["a_i"]), sig(out["a_f"])
        out["g"], out["o"] = act(out["a_g"]), sig(out["a_o"])
        out["c"] = out["f"] * c_prev + out["i"] * out["g"]
        out["h"] = out["o"] * act(out["c"])
        return out


def _lstm_jv(q: dict, shared: dict, v: Array) -> Array:
    """J v for v = [dh_{t-1}, dc_{t-1}] (..., 2H): the forward change of one step (see LSTMCell.step_jacobian)."""
    H = v.shape[-1] // 2
    u = v[..., :H] @ shared["U"]                                       # dh_{t-1} U, all four blocks
    dc = (q["u_i"] * u[..., :H] + q["u_f"] * u[..., H:2 * H] + q["u_g"] * u[..., 2 * H:3 * H]
          + q["f"] * v[..., H:])                                       # dc_t
    dh = q["u_o"] * u[..., 3 * H:] + q["k"] * dc                       # dh_t
    return np.concatenate([dh, dc], axis=-1)


def _lstm_jtw(q: dict, shared: dict, w: Array) -> Array:
    """J^T w for w = [w_h, w_c]: the same step backwards (as step_backward, with the gates fixed)."""
    H = w.shape[-1] // 2
    w_h, w_c = w[..., :H], w[..., H:] + q["k"] * w[..., :H]           # w_c: all that reaches c_t
    d_u = np.concatenate([q["u_i"] * w_c, q["u_f"] * w_c, q["u_g"] * w_c, q["u_o"] * w_h], axis=-1)
    return np.concatenate([d_u @ shared["U"].T, q["f"] * w_c], axis=-1)   # [into h_{t-1}, into c_{t-1}]
