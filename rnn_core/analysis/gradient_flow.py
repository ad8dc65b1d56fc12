"""Why gradients vanish or explode: Jacobians of the recurrence, their norms, and Pascanu's bounds.

For h_t = f(h_{t-1} U + x_t W + b) (row vectors), the step Jacobian is
    J_t = dh_t/dh_{t-1} = diag(f'(z_t)) U^T          (H, H)
and the gradient that reaches h_k from h_t is dL/dh_k = (J_t ... J_{k+1})^T dL/dh_t,
so ||dh_t/dh_k|| <= prod_j ||J_j|| <= (gamma sigma_max(U))^(t-k), with
gamma = sup |f'| (Pascanu, Mikolov & Bengio 2013, "On the difficulty of training RNNs").

Nothing here forms an SVD per step: largest singular values come from a
batched Lanczos iteration on J^T J, and the dh_t/dh_k map is computed on a grid
of at most ``max_points`` steps (every step when the sequence is that short).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..layers.activations import Activation
from ..layers.jacobian import StepJacobian, diagonal_times_matrix
from ..messages import N_, Message

Array = np.ndarray
CHUNK_BYTES = 16 * 2**20       # dense Jacobians and Lanczos bases are built this many bytes at a time (bounds the peak)


def top_singular_values(apply, apply_t, shape: tuple[int, int], k: int = 40, seed: int = 0) -> tuple[Array, int]:
    """Largest singular value of a batch of linear maps M_n (N of them, acting on (N, H) vectors).

    sigma_max(M) = sqrt(lambda_max(M^T M)), and lambda_max comes from k steps of
    Lanczos with full reorthogonalisation, run on all N maps at once: the top
    eigenvalue of the k x k tridiagonal matrix. Lanczos converges far faster
    than the power iteration when the top singular values are close (as they
    are for diag(f') times an orthogonal U). Returns (sigma (N,), k used).
    """
    N, H = shape
    k = max(1, min(k, H))
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((N, H))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    basis = np.zeros((N, k, H))                                 # (map, Lanczos vector, H): batched matmuls below
    alpha, beta = np.zeros((N, k)), np.zeros((N, k))
    for j in range(k):
        basis[:, j] = q
        w = apply_t(apply(q))                                   # A q with A = M^T M
        scale = np.linalg.norm(w, axis=-1)
        alpha[:, j] = np.einsum("nh,nh->n", w, q)
        done = basis[:, :j + 1]                                 # (N, j+1, H)
        for _ in range(2):                                      # full reorthogonalisation, twice for safety
            w -= np.matmul(np.matmul(done, w[:, :, None]).transpose(0, 2, 1), done)[:, 0]
        if j + 1 == k:
            break
        b = np.linalg.norm(w, axis=-1)
        # Breakdown (b ~ 0 next to |A q|: what is left is rounding noise, not a new direction) means the
        # Krylov space is exhausted: stop that map's recurrence with a zero vector.
        live = b > 1e-10 * scale
        b = np.where(live, b, 0.0)
        beta[:, j] = b
        q = np.where(live[:, None], w / np.where(live, b, 1.0)[:, None], 0.0)
    tri = np.zeros((N, k, k))
    idx = np.arange(k)
    tri[:, idx, idx] = alpha
    tri[:, idx[:-1], idx[1:]] = beta[:, :-1]
    tri[:, idx[1:], idx[:-1]] = beta[:, :-1]
    top = np.full(N, np.nan)                                    # an overflowed map (inf/nan) stays NaN
    finite = np.isfinite(tri).all(axis=(1, 2))
    if finite.any():
        top[finite] = np.linalg.eigvalsh(tri[finite])[:, -1]
    return np.sqrt(np.maximum(top, 0.0)), k


def state_jacobian_norms(jac: StepJacobian, k: int = 40, max_bytes: int = CHUNK_BYTES) -> tuple[Array, int]:
    """sigma_max(J_n) for every step of ``jac`` (any cell: J_n = d s_t/d s_{t-1}, S x S) -> ((N,), Lanczos steps).

    Matrix-free (the cell's products), in chunks of steps so the Lanczos basis
    (N, k, S) stays under ``max_bytes``.
    """
    N, S = len(jac), jac.size
    k = max(1, min(k, S))
    per = max(1, int(max_bytes // (8 * S * (k + 8))))
    sigma = np.empty(N)
    for start in range(0, N, per):
        part = jac.take(slice(start, start + per))
        sigma[start:start + per], _ = top_singular_values(
            lambda v, part=part: part.matvec(v[:, None])[:, 0],
            lambda w, part=part: part.rmatvec(w[:, None])[:, 0],
            (len(part), S), k=k)
    return sigma, k


def step_jacobian_norms(fprime: Array, recurrent_kernel: Array, k: int = 40) -> tuple[Array, int]:
    """SimpleRNN: sigma_max(J_t) for every step, J_t = diag(f'(z_t)) U^T; fprime (T, H) -> ((T,), Lanczos steps)."""
    return state_jacobian_norms(diagonal_times_matrix(fprime, recurrent_kernel), k=k)


@dataclass
class JacobianMap:
    steps: Array        # (S,) the time steps on the grid
    log10_norm: Array   # (S, S) log10 ||dh_t/dh_k||_2 for t = steps[i] >= k = steps[j]; NaN above the diagonal
    exact_grid: bool    # True when the grid is every step
    method: str         # a Message: the app shows it translated


def state_jacobian_map(jac: StepJacobian, max_points: int = 32, max_bytes: int = CHUNK_BYTES) -> JacobianMap:
    """log10 ||d s_t/d s_k||_2 for all pairs k <= t on a grid of at most ``max_points`` steps.

    ``jac`` holds J_t for t = 0..T-1 (J_0, into the initial state, is not used).
    The product d s_t/d s_k = J_t ... J_{k+1} is built from segment products
    between grid steps, renormalised as they grow (their log-scale is tracked
    separately), so exploding products of 1,000 steps do not overflow. The
    dense J_t are formed a chunk of steps at a time (at most ``max_bytes``).
    """
    T, S = len(jac), jac.size
    steps = np.unique(np.linspace(0, T - 1, min(T, max_points)).round().astype(int))
    P = len(steps)
    # seg[i] = J_{steps[i]} ... J_{steps[i-1]+1}, normalised, with its log-scale.
    seg = np.broadcast_to(np.eye(S), (P, S, S)).copy()
    seg_log = np.zeros(P)
    per = max(1, int(max_bytes // (8 * S * S)))
    for start in range(1, T, per):
        dense = jac.take(slice(start, min(T, start + per))).dense()
        for t, j_t in enumerate(dense, start):
            i = int(np.searchsorted(steps, t))          # the segment that ends at the first grid step >= t
            if not np.isfinite(seg_log[i]):
                continue                                # this segment already vanished or overflowed
            m = j_t @ seg[i]                            # extend on the left: J_t (J_{t-1} ... )
            n = np.linalg.norm(m)
            if n == 0 or not np.isfinite(n):
                seg_log[i] = -np.inf if n == 0 else np.inf
                seg[i] = 0.0 if n == 0 else seg[i]
                continue
            seg[i] = m / n
            seg_log[i] += np.log(n)
    # prod[i, j] = d s_{steps[i]}/d s_{steps[j]} = seg[i] ... seg[j+1], built by extending each row.
    pairs, logs, index = [], [], []
    for j in range(P):
        m = np.eye(S)
        log_scale = 0.0
        for i in range(j, P):
            if i > j:
                m = seg[i] @ m
                n = np.linalg.norm(m)
                log_scale += seg_log[i] + (np.log(n) if n > 0 else -np.inf)
                m = m / n if n > 0 else m
            pairs.append(m)
            logs.append(log_scale)
            index.append((i, j))
    mats = np.stack(pairs)
    gram = np.matmul(mats.transpose(0, 2, 1), mats)            # M^T M once: then one matvec per Lanczos step
    sigma, _ = top_singular_values(lambda v: np.matmul(gram, v[:, :, None])[:, :, 0], lambda w: w,
                                   (len(pairs), S), k=24)
    out = np.full((P, P), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = (np.log(sigma) + np.array(logs)) / np.log(10)
    for (i, j), v in zip(index, values, strict=True):
        out[i, j] = v
    exact = P == T
    method = (Message(N_("every step; spectral norms by Lanczos")) if exact else
              Message(N_("grid of {points} of {steps} steps (every ~{every:.0f}th); spectral norms by Lanczos"),
                      {"points": P, "steps": T, "every": (T - 1) / max(P - 1, 1)}))
    return JacobianMap(steps, out, exact, method)


def jacobian_norm_map(fprime: Array, recurrent_kernel: Array, max_points: int = 32) -> JacobianMap:
    """SimpleRNN: log10 ||dh_t/dh_k||_2 on a grid, J_t = diag(f'(z_t)) U^T (see :func:`state_jacobian_map`)."""
    return state_jacobian_map(diagonal_times_matrix(fprime, recurrent_kernel), max_points=max_points)


@dataclass
class PascanuReport:
    spectral_radius: float    # max |eig(U)|
    sigma_max: float          # largest singular value of U
    gamma: float              # sup |f'| of the activation
    bound: float              # gamma * sigma_max: ||J_t|| <= bound for every step
    verdict: str              # a Message: the app shows it translated


def pascanu_report(recurrent_kernel: Array, activation: Activation) -> PascanuReport:
    """The vanishing/exploding conditions of Pascanu et al. 2013 for this U and f."""
    u = recurrent_kernel.astype(np.float64)
    rho = float(np.abs(np.linalg.eigvals(u)).max())
    sigma = float(np.linalg.norm(u, 2))
    gamma = float(activation.max_slope)
    bound = gamma * sigma
    if bound < 1 - 1e-3:
        verdict = Message(N_("gamma x sigma_max(U) = {bound:.3g} < 1: every step shrinks the gradient by at least "
                             "this factor, so long-range gradients vanish (sufficient condition)."), {"bound": bound})
    elif bound > 1 + 1e-3:
        verdict = Message(N_("gamma x sigma_max(U) = {bound:.3g} > 1: exploding gradients are possible (necessary "
                             "condition), and happen when the activations stay in their steep region."),
                          {"bound": bound})
    else:
        verdict = Message(N_("gamma x sigma_max(U) = {bound:.4g} ~ 1: on the edge (an orthogonal U at gain 1 sits "
                             "here); the saturation of f decides, step by step."), {"bound": bound})
    return PascanuReport(rho, sigma, gamma, bound, verdict)


@dataclass
class DecayFit:
    factor: float        # the gradient norm is multiplied by this per step back in time
    half_life: float     # steps to halve (if factor < 1) or to double (if factor > 1); inf if factor == 1
    r2: float


def fit_decay(norms: Array) -> DecayFit | None:
    """Least-squares line through log ||dL/dh_t|| against t, read backwards in time.

    Returns None when fewer than two finite, positive norms are available.
    """
    norms = np.asarray(norms, np.float64)
    t = np.arange(len(norms))
    ok = np.isfinite(norms) & (norms > 0)
    if ok.sum() < 2:
        return None
    y = np.log(norms[ok])
    slope, intercept = np.polyfit(t[ok], y, 1)
    resid = y - (slope * t[ok] + intercept)
    ss = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid ** 2)) / ss if ss > 0 else 1.0
    factor = float(np.exp(-slope))          # going back one step multiplies by exp(-slope)
    half = float(np.log(2) / abs(np.log(factor))) if factor != 1 else float("inf")
    return DecayFit(factor, half, r2)


def recurrent_contributions(h_prev: Array, dz: Array) -> Array:
    """||dL/dU from step t||_F = ||sum_b h_{t-1,b}^T dz_{t,b}||_F for each t, without forming (T, H, H).

    h_prev, dz: (T, B, H). Uses ||sum_b a_b c_b^T||_F^2 = sum_{b,b'} (a_b . a_b')(c_b . c_b').
    """
    gram_h = np.einsum("tbh,tch->tbc", h_prev, h_prev)
    gram_z = np.einsum("tbh,tch->tbc", dz, dz)
    return np.sqrt(np.maximum(np.sum(gram_h * gram_z, axis=(1, 2)), 0.0))


# -- any cell: the whole state's Jacobian, from a layer's last call -------------------------------

MAX_SIGMA_STEPS = 2_000        # sigma_max(J_t) on at most this many (evenly spaced) steps
MAP_FLOPS = 5e9                # the d s_t/d s_k map: ~2 S^3 flops per step of its window


def layer_step_jacobian(layer, b: int = 0) -> StepJacobian:
    """J_t = d s_t/d s_{t-1} of sequence ``b`` for every step of the layer's last call (processing order).

    s_t is the whole state (``layer.cell.state_names``: [h] or [h, c]); the cell
    supplies the products (``cell.step_jacobian``), a masked step is the identity.
    """
    tr = layer.last_trace
    if tr is None:
        raise ValueError("The Jacobians need a forward call of the layer first.")
    if tr.recurrent_dropout is not None:
        raise ValueError("The step Jacobians are those of the inference step: call the layer with training=False "
                         "(or without recurrent_dropout).")
    T, B = tr.x.shape[:2]
    if not 0 <= b < B:
        raise ValueError(f"Sequence {b} does not exist: the last call had {B} sequence(s).")
    jac = layer.cell.step_jacobian(tr, layer.recurrent_kernel, b)
    if tr.mask is not None:
        jac.keep = np.asarray(tr.mask[:, b], np.float64)[:, None, :]      # (T, 1, 1)
    jac.steps = np.arange(T)
    return jac


@dataclass
class CarryProducts:
    """prod_{s=k+1..t} g_s of a cell's carry gate (LSTM's forget gate f: the constant error carousel)."""

    gate: str
    end: int                  # t: the step the paths start from (going back in time)
    distance: Array           # (K,) t - k, on a grid of at most ``max_points`` distances
    log10_per_unit: Array     # (K, H) log10 of the product for each unit
    log10_mean: Array         # (T,) log10 of the mean over units of the product, for every distance 0..t
    log10_max: Array          # (T,) log10 of the largest product over units, for every distance 0..t


def carry_products(gate: Array, end: int | None = None, name: str = "f", max_points: int = 2_000) -> CarryProducts:
    """Products of the carry gate along the path from step ``end`` back to every k <= end.

    gate (T, H) in processing order. For distance d = end - k, the product over
    s = k+1..end of g_s is exp of a cumulative sum of log g_s (no underflow:
    1,000 forget gates of 0.5 give 10^-301 as a log). d = 0 is the empty product, 1.
    """
    g = np.asarray(gate, np.float64)
    T, H = g.shape
    end = T - 1 if end is None else int(end)
    if not 0 <= end < T:
        raise ValueError(f"end must be a step in [0, {T - 1}], got {end}.")
    with np.errstate(divide="ignore"):
        logs = np.log10(g[end:0:-1])                                        # g_end, g_end-1, ..., g_1
    cum = np.concatenate([np.zeros((1, H)), np.cumsum(logs, axis=0)])       # (end+1, H): distance 0..end
    top = cum.max(axis=1)
    with np.errstate(invalid="ignore"):                                     # log10 mean = logsumexp - log10 H
        mean = top + np.log10(np.sum(10.0 ** (cum - top[:, None]), axis=1)) - np.log10(H)
    mean[~np.isfinite(top)] = -np.inf
    dist = np.unique(np.linspace(0, end, min(end + 1, max_points)).round().astype(int))
    return CarryProducts(name, end, dist, cum[dist], mean, top)


@dataclass
class StateFlow:
    """How the gradient crosses the steps of one sequence, for any cell."""

    state_names: tuple[str, ...]  # the parts of s_t, e.g. ("h", "c"): S = len(state_names) * H
    size: int                     # S
    sigma_steps: Array            # (N,) the steps sigma_max(J_t) was computed on (all, or evenly spaced)
    sigma: Array                  # (N,) sigma_max(d s_t/d s_{t-1})
    lanczos_steps: int
    map: JacobianMap              # log10 ||d s_t/d s_k|| (steps already offset by map_start)
    map_start: int                # the map covers steps map_start..T-1
    carry: CarryProducts | None   # the cell's carry gate products from the last step (None for SimpleRNN)


def flow_budget(T: int, S: int, max_points: int = 32, map_flops: float = MAP_FLOPS) -> tuple[int, int]:
    """(grid points, window of steps) of the map that fit ``map_flops`` for S x S Jacobians."""
    points = int(max(8, min(max_points, np.sqrt(map_flops / S ** 3))))
    window = int(min(T, max(points, map_flops // (2 * S ** 3))))
    return points, window


def state_flow(layer, b: int = 0, max_sigma_steps: int = MAX_SIGMA_STEPS, max_points: int = 32,
               map_flops: float = MAP_FLOPS) -> StateFlow:
    """sigma_max of every step Jacobian, the ||d s_t/d s_k|| map and the carry products of the layer's last call.

    Bounded in work like the SimpleRNN analysis: sigma_max on at most
    ``max_sigma_steps`` evenly spaced steps; the map over the last window of
    steps that fits ``map_flops`` (see :func:`flow_budget`).
    """
    jac = layer_step_jacobian(layer, b)
    T, S = len(jac), jac.size
    steps = np.unique(np.linspace(0, T - 1, min(T, max_sigma_steps)).round().astype(int))
    sigma, iters = state_jacobian_norms(jac.take(steps))
    points, window = flow_budget(T, S, max_points, map_flops)
    jmap = state_jacobian_map(jac.take(slice(T - window, T)), max_points=points)
    jmap.steps = jmap.steps + (T - window)
    if window < T:
        jmap.method = Message(N_("{method}; the last {window:,} of {steps:,} steps"),
                              {"method": jmap.method, "window": window, "steps": T})
    gate = getattr(layer.cell, "carry_gate", None)
    carry = None
    if gate is not None:
        carry = carry_products(layer.last_sequences()[gate][b], name=gate)
    return StateFlow(tuple(layer.cell.state_names), S, steps, sigma, iters, jmap, T - window, carry)


# -- compare cells on one long input ------------------------------------------------------------------


@dataclass
class CellFlow:
    cell: str                 # "SimpleRNN", "LSTM", "GRU"
    hidden_norms: Array       # (T,) ||dL/dh_t|| of sequence 0, L = <g, h_T> on the last step
    fit: DecayFit | None      # fit_decay(hidden_norms): the measured per-step rate


def compare_cells(x: Array, units: int = 32, seed: int = 0, cells: tuple[str, ...] = ("SimpleRNN", "LSTM", "GRU"),
                  carry_bias: float | None = None, **layer_kwargs) -> list[CellFlow]:
    """||dL/dh_t|| for the same input through each cell, for a loss on the last step only.

    x: (T,), (T, D) or (B, T, D). Every cell is built with the same ``units``,
    ``seed`` and Keras' default initializers (or ``layer_kwargs``), runs in
    float64, and receives the same unit gradient g (drawn from ``seed``) on
    its last state h_T; the norms are those of sequence 0, in time order.

    ``carry_bias`` sets the bias of each gated cell's carry gate (LSTM's forget
    gate f, GRU's update gate z) to this value (Keras' unit_forget_bias is 1):
    a gate that stays near 1 passes the gradient back untouched.
    """
    from ..layers import rnn as layers  # noqa: PLC0415 - the layers import nothing from here; keep the core acyclic

    x = np.asarray(x, np.float64)
    x = x.reshape(1, -1, 1) if x.ndim == 1 else (x[None] if x.ndim == 2 else x)
    if x.ndim != 3 or x.shape[1] < 2:
        raise ValueError(f"x must be (T,), (T, D) or (B, T, D) with at least 2 steps, got shape {np.shape(x)}.")
    g = np.random.default_rng(seed).standard_normal(units)
    g /= np.linalg.norm(g)
    out = []
    for name in cells:
        cls = getattr(layers, name, None)
        if cls is None or not isinstance(cls, type) or not issubclass(cls, layers.RNN):
            raise ValueError(f"Unknown cell {name!r}; expected one of SimpleRNN, LSTM, GRU.")
        layer = cls(units, seed=seed, **layer_kwargs)
        layer.build(x.shape)
        weights = [w.astype(np.float64) for w in layer.get_weights()]
        gate = getattr(layer.cell, "carry_gate", None)
        if carry_bias is not None and gate is not None and len(weights) == 3:
            k, G = layer.cell.gate_names.index(gate), layer.cell.n_blocks
            rows = weights[2].reshape(-1, G * units)      # (1, G*H), or GRU reset_after's (2, 3H): input, recurrent
            rows[:, k * units:(k + 1) * units] = 0.0
            rows[0, k * units:(k + 1) * units] = carry_bias
        layer.set_weights(weights)
        layer(x)
        grads = layer.backward(np.broadcast_to(g, (x.shape[0], units)))
        norms = np.linalg.norm(grads.hidden[0], axis=-1)
        out.append(CellFlow(name, norms, fit_decay(norms)))
    return out
