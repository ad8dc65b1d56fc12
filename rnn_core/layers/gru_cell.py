"""One step of a GRU, forward and backward, side by side, in both of Keras' variants.

Keras' layout: W = kernel (D, 3H), U = recurrent_kernel (H, 3H), blocks in the
order z (update), r (reset), h (candidate, here "hh"). sigma is
recurrent_activation (sigmoid), act is activation (tanh).

reset_after=True (Keras' default, cuDNN's): bias (2, 3H) = [input bias b; recurrent bias b_r]
    m_t  = h_{t-1} U + b_r                   all three blocks, one matmul per step
    z_t  = sigma(x_t W_z + b_z + m_z)        update gate
    r_t  = sigma(x_t W_r + b_r + m_r)        reset gate
    hh_t = act(x_t W_h + b_h + r_t * m_h)    candidate: the reset gate scales h_{t-1} U_h + b_rh
reset_after=False (the original paper): bias (3H,)
    z_t, r_t as above with m = h_{t-1} U[:, :2H] (one matmul for both gates)
    hh_t = act(x_t W_h + b_h + (r_t * h_{t-1}) U_h)
both:
    h_t  = z_t * h_{t-1} + (1 - z_t) * hh_t

Backward, given the total dL/dh_t:
    dz = dh * (h_{t-1} - hh),  dhh = dh * (1 - z),  dL/dh_{t-1} += dh * z
    da_hh = dhh * act'(a_hh)
    after:  dr = da_hh * m_h,   dL/dm_h = da_hh * r
    before: d(r h) = da_hh U_h^T,  dr = d(r h) * h_{t-1},  dL/dh_{t-1} += d(r h) * r
    da_z = dz * sigma'(a_z),  da_r = dr * sigma'(a_r);  dL/dh_{t-1} += [da_z, da_r, (dL/dm_h)] U^T
"""

from __future__ import annotations

import numpy as np

from ..messages import N_, Message
from .activations import Activation
from .cell_base import Cell, block_matmul, block_matmul_t, per_gate, split_weights
from .jacobian import StepJacobian

Array = np.ndarray


def _block(mask: Array | None, k: int) -> Array | None:
    """The recurrent dropout mask of block k (shared or per gate)."""
    return mask if mask is None or mask.ndim == 2 else mask[k]


class GRUCell(Cell):
    """keras.layers.GRUCell: state h, gates z, r, candidate hh."""

    name = "gru"
    state_names = ("h",)
    gate_names = ("z", "r", "hh")
    carry_gate = "z"          # h_t = z_t h_{t-1} + ...: the direct path diag(z_t), the analysis multiplies these
    n_blocks = 3
    gate_labels = {"z": Message(N_("update gate z_t")), "r": Message(N_("reset gate r_t")),
                   "hh": Message(N_("candidate h̃_t"))}
    gate_symbols = {"hh": "h̃"}   # how the diagram writes the candidate (its name in the code is hh)

    def __init__(self, units: int, activation: Activation, recurrent_activation: Activation,
                 use_bias: bool = True, reset_after: bool = True) -> None:
        super().__init__(units, use_bias)
        self.activation, self.recurrent_activation = activation, recurrent_activation
        self.reset_after = reset_after
        self.separate_recurrent_gradient = reset_after     # dL/dm_h = da_hh * r differs from da_hh
        s, a = recurrent_activation.name, activation.name
        bi = (lambda n: f" + b_{n}") if use_bias else (lambda n: "")
        br = (lambda n: f" + b^r_{n}") if use_bias and reset_after else (lambda n: "")
        cand = (rf"r_t \odot (h_{{t-1}} U_h{br('h')})" if reset_after else r"(r_t \odot h_{t-1}) U_h")
        self.step_latex = [
            rf"z_t = \mathrm{{{s}}}(x_t W_z{bi('z')} + h_{{t-1}} U_z{br('z')})",
            rf"r_t = \mathrm{{{s}}}(x_t W_r{bi('r')} + h_{{t-1}} U_r{br('r')})",
            rf"\tilde h_t = \mathrm{{{a}}}(x_t W_h{bi('h')} + {cand})",
            r"h_t = z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t",
        ]

    # -- weights ---------------------------------------------------------------

    def bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def input_bias(self, bias: Array | None) -> Array | None:
        return bias[0] if bias is not None and self.reset_after else bias

    def bias_gradient(self, d_input: Array, d_recurrent: Array) -> Array:
        return np.stack([d_input, d_recurrent]) if self.reset_after else d_input

    def recurrent_operand(self, h_prev: Array, rec_mask: Array | None, tr):
        operand = per_gate(h_prev, rec_mask, 3)
        if self.reset_after:
            return operand
        ops = operand if isinstance(operand, list) else [operand] * 3
        r = tr.act[..., self.units:2 * self.units]
        return [ops[0], ops[1], r * ops[2]]                # U_h multiplied r_t * h_{t-1}

    # -- the step ----------------------------------------------------------------

    def new_buffers(self, T: int, B: int, dtype) -> dict[str, Array]:
        return {"m_h": np.empty((T, B, self.units), dtype)} if self.reset_after else {}

    def step_forward(self, t: int, tr, h_in, U: Array, bias: Array | None) -> None:
        """tr.pre[t] holds x_t W + b on entry, the pre-activations a_z, a_r, a_hh on exit."""
        H, sig, act = self.units, self.recurrent_activation, self.activation
        a, gates, h_prev = tr.pre[t], tr.act[t], tr.h[t]
        if self.reset_after:
            m = block_matmul(h_in, U, 0, 3, H)             # m_t = h_{t-1} U (+ b_r): all three blocks at once
            if bias is not None:
                m += bias[1]
            a[:, :2 * H] += m[:, :2 * H]                   # a_z, a_r
            sig.apply(a[:, :2 * H], out=gates[:, :2 * H])  # z_t, r_t
            tr.extra["m_h"][t] = m[:, 2 * H:]
            a[:, 2 * H:] += gates[:, H:2 * H] * m[:, 2 * H:]        # a_hh = x W_h + b_h + r * m_h
        else:
            a[:, :2 * H] += block_matmul(h_in, U, 0, 2, H)           # a_z, a_r: one matmul for both
            sig.apply(a[:, :2 * H], out=gates[:, :2 * H])            # z_t, r_t
            h_h = h_in[2] if isinstance(h_in, list) else h_in
            a[:, 2 * H:] += (gates[:, H:2 * H] * h_h) @ U[:, 2 * H:]  # a_hh = x W_h + b_h + (r * h) U_h
        act.apply(a[:, 2 * H:], out=gates[:, 2 * H:])                # hh_t = act(a_hh)
        z, hh = gates[:, :H], gates[:, 2 * H:]
        np.multiply(z, h_prev - hh, out=tr.h[t + 1])
        tr.h[t + 1] += hh                                            # h_t = z h_{t-1} + (1 - z) hh

    def backward_cache(self, tr, lo: int, hi: int) -> dict[str, Array]:
        """Everything of the backward step that does not depend on the incoming gradient, for steps lo..hi-1 at once.

            da_z  = dh * [(h_{t-1} - hh) sigma'(a_z)]       da_hh = dh * [(1 - z) act'(a_hh)]
            da_r  = da_hh * [m_h sigma'(a_r)]               (after)
            da_r  = (da_hh U_h^T) * [h_{t-1} sigma'(a_r)]   (before; h_{t-1} times its dropout mask)
        """
        H, sig, act = self.units, self.recurrent_activation, self.activation
        a, gates, h_prev = tr.pre[lo:hi], tr.act[lo:hi], tr.h[lo:hi]
        n, B, _ = a.shape
        slope = np.empty_like(gates)                                 # sigma'(a_z), sigma'(a_r), act'(a_hh)
        slope[...] = sig.derivative(a, gates)                        # (hh's block is replaced on the next line)
        slope[..., 2 * H:] = act.derivative(a[..., 2 * H:], gates[..., 2 * H:])
        z, r, hh = (gates[..., k * H:(k + 1) * H] for k in range(3))
        coef = slope.reshape(n, B, 3, H)
        coef[:, :, 0] *= h_prev - hh
        coef[:, :, 2] *= 1 - z
        cache = {"lo": lo, "coef": coef}
        if self.reset_after:
            coef[:, :, 1] *= tr.extra["m_h"][lo:hi]
        else:
            mask_h = _block(tr.recurrent_dropout, 2)
            h_in = h_prev if mask_h is None else h_prev * mask_h
            coef[:, :, 1] *= h_in
            cache["r_in"] = r if mask_h is None else r * mask_h      # d(r * h_in)/dh_{t-1}
        return cache

    def step_backward(self, t: int, tr, cache: dict, d: list[Array], U_t: Array, rec_mask,
                      out: tuple[Array, Array] | None = None):
        """d = [dL/dh_t] (total, (..., B, H)).

        Returns (dL/d(x_t W + b), dL/d(recurrent term m_t), [dL/dh_{t-1}]) through this step.
        """
        H, k = self.units, t - cache["lo"]
        z, r = tr.act[t][:, :H], tr.act[t][:, H:2 * H]
        coef = cache["coef"][k]
        dh = d[0]
        da = out[0] if out is not None else np.empty(dh.shape[:-1] + (3 * H,), dh.dtype)
        da3 = da.reshape(da.shape[:-1] + (3, H))
        np.multiply(dh, coef[:, 0], out=da3[..., 0, :])             # da_z = dh (h_{t-1} - hh) sigma'(a_z)
        np.multiply(dh, coef[:, 2], out=da3[..., 2, :])             # da_hh = dh (1 - z) act'(a_hh)
        dh_prev = dh * z                                            # h_t = z h_{t-1} + ...: the direct path
        if self.reset_after:
            np.multiply(da3[..., 2, :], coef[:, 1], out=da3[..., 1, :])   # da_r = da_hh m_h sigma'(a_r)
            dm = out[1] if out is not None else np.empty_like(da)
            dm[..., :2 * H] = da[..., :2 * H]
            np.multiply(da3[..., 2, :], r, out=dm[..., 2 * H:])       # dL/dm_h = da_hh * r
            dh_prev += block_matmul_t(dm, U_t, rec_mask, 0, 3, H)     # backprop into h_{t-1}: dm U^T
            return da, dm, [dh_prev]
        d_rh = da3[..., 2, :] @ U_t[2 * H:]                           # dL/d(r * h_{t-1}) = da_hh U_h^T
        np.multiply(d_rh, coef[:, 1], out=da3[..., 1, :])             # da_r = d(r h) h_{t-1} sigma'(a_r)
        dh_prev += block_matmul_t(da[..., :2 * H], U_t, rec_mask, 0, 2, H)   # through a_z, a_r
        d_rh *= cache["r_in"][k]
        dh_prev += d_rh                                               # through r * h_{t-1}
        return da, da, [dh_prev]

    def step_jacobian(self, tr, recurrent_kernel: Array, b: int = 0) -> StepJacobian:
        """J_t = dh_t/dh_{t-1} (H x H) for every step of sequence b (float64).

        A change v of h_{t-1}, with u = v U (the gate blocks' view of it):
            dh_t = z v + ((h_{t-1} - hh) sigma'(a_z)) u_z + ((1 - z) act'(a_hh)) d a_hh
        reset_after:  d a_hh = r u_h + (m_h sigma'(a_r)) u_r             (m_h = h_{t-1} U_h + b_rh)
        reset_before: d a_hh = (r v + (h_{t-1} sigma'(a_r)) u_r) U_h
        so the direct path h_{t-1} -> h_t is diag(z_t): the GRU's carry.
        """
        H, sig, act = self.units, self.recurrent_activation, self.activation
        a, gates, h_prev = tr.pre[:, b], tr.act[:, b], tr.h[:-1, b]
        z, r, hh = (gates[:, k * H:(k + 1) * H] for k in range(3))
        ch = (1 - z) * act.derivative(a[:, 2 * H:], hh)                    # dh_t / d a_hh
        q = {"z": z, "u_z": (h_prev - hh) * sig.derivative(a[:, :H], z), "r": r, "ch": ch}
        dr = sig.derivative(a[:, H:2 * H], r)
        q["u_r"] = ch * tr.extra["m_h"][:, b] * dr if self.reset_after else h_prev * dr
        products = (_gru_after_jv, _gru_after_jtw) if self.reset_after else (_gru_before_jv, _gru_before_jtw)
        return StepJacobian(H, {n: np.asarray(v, np.float64)[:, None, :] for n, v in q.items()},
                            {"U": np.asarray(recurrent_kernel, np.float64)}, *products)

    def explain_step(self, x_t: Array, states_prev: tuple[Array, ...], weights: list[Array]) -> dict[str, Array]:
        """Every intermediate of one step for one sequence, float64, in order: a_z, a_r, z, r, a_hh, hh, h."""
        W, U, b = split_weights(weights, self.use_bias)
        H, sig, act = self.units, self.recurrent_activation, self.activation
        h_prev = np.asarray(states_prev[0], np.float64)
        xw = np.asarray(x_t, np.float64) @ W
        b_in, b_rec = (np.zeros(3 * H), np.zeros(3 * H)) if b is None else ((b[0], b[1]) if self.reset_after
                                                                               else (b, np.zeros(3 * H)))
        xw = xw + b_in
        m = h_prev @ U + b_rec
        out = {"a_z": xw[:H] + m[:H], "a_r": xw[H:2 * H] + m[H:2 * H]}
        out["z"], out["r"] = sig(out["a_z"]), sig(out["a_r"])
        rec_h = out["r"] * m[2 * H:] if self.reset_after else (out["r"] * h_prev) @ U[:, 2 * H:]
        out["a_hh"] = xw[2 * H:] + rec_h
        out["hh"] = act(out["a_hh"])
        out["h"] = out["z"] * h_prev + (1 - out["z"]) * out["hh"]
        return out


def _gru_after_jv(q: dict, shared: dict, v: Array) -> Array:
    """reset_after: J v = z v + c_z u_z + c_r u_r + (ch r) u_h, u = v U (see GRUCell.step_jacobian)."""
    H = v.shape[-1]
    u = v @ shared["U"]
    return q["z"] * v + q["u_z"] * u[..., :H] + q["u_r"] * u[..., H:2 * H] + q["ch"] * q["r"] * u[..., 2 * H:]


def _gru_after_jtw(q: dict, shared: dict, w: Array) -> Array:
    """reset_after: J^T w = z w + [c_z w, c_r w, ch r w] U^T."""
    d_u = np.concatenate([q["u_z"] * w, q["u_r"] * w, q["ch"] * q["r"] * w], axis=-1)
    return q["z"] * w + d_u @ shared["U"].T


def _gru_before_jv(q: dict, shared: dict, v: Array) -> Array:
    """reset_before: J v = z v + c_z u_z + ch ((r v + h sigma'(a_r) u_r) U_h), u = v U[:, :2H]."""
    H = v.shape[-1]
    U = shared["U"]
    u = v @ U[:, :2 * H]
    p = q["r"] * v + q["u_r"] * u[..., H:]                              # the change of r_t * h_{t-1}
    return q["z"] * v + q["u_z"] * u[..., :H] + q["ch"] * (p @ U[:, 2 * H:])


def _gru_before_jtw(q: dict, shared: dict, w: Array) -> Array:
    """reset_before: J^T w = z w + r p' + [c_z w, h sigma'(a_r) p'] U[:, :2H]^T, p' = (ch w) U_h^T."""
    H = w.shape[-1]
    U = shared["U"]
    p = (q["ch"] * w) @ U[:, 2 * H:].T                                  # onto r_t * h_{t-1}
    d_u = np.concatenate([q["u_z"] * w, q["u_r"] * p], axis=-1)
    return q["z"] * w + q["r"] * p + d_u @ U[:, :2 * H].T
