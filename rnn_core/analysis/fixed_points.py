"""Fixed points of a recurrent layer and their linearisation (Sussillo & Barak 2013).

Sussillo & Barak 2013, "Opening the Black Box: Low-Dimensional Dynamics in High-Dimensional Recurrent
Neural Networks" (Neural Computation 25(3), 626-649). With the input held at x, one step of the layer is a
map of its state,

    s_t = F(s_{t-1}),    s = [h] for SimpleRNN and GRU (S = H),  s = [h, c] for LSTM (S = 2H).

A fixed point s* = F(s*) is a state the layer keeps for as long as the input stays x. Near it
F(s* + e) ~ s* + J e with J = dF/ds at s*, so the eigenvalues of J tell what becomes of a small push:
every |lambda| < 1 and it dies out (a stable point, an attractor: how a network holds a memory); some
|lambda| > 1 and it grows along that eigenvector (a saddle or a repeller). A *slow point* is where
q(s) = ||F(s) - s||^2 / 2 is small but not zero: the state creeps there, and the network can still use it
(a "ghost" of a fixed point, or one point of an approximate line attractor).

How they are found, from many starts at once (all float64, batched over the starts):

* Newton's method on G(s) = F(s) - s = 0: solve (J - I) d = -G, then s <- s + alpha d with alpha = 1, 1/2,
  1/4, ... until q drops by Armijo's rule q(s + alpha d) <= (1 - 2 c alpha) q(s), c = 1e-4. d always goes
  down q, since grad q = (J - I)^T G gives grad q . d = -||G||^2 = -2 q. Near a fixed point Newton
  converges quadratically (a handful of steps), far faster than the gradient descent on q Sussillo & Barak
  used. One batched np.linalg.solve per step for all starts; an LSTM's solve is H x H, not 2H x 2H (its J's
  c-columns are diagonal, so d_c is eliminated: :func:`_lstm_newton`). A start whose q has not halved in
  ``PATIENCE`` steps is creeping along a valley of q, not converging: it stops there (stalled).
* Each step stays in the box of states the cell can reach (h in its activation's range, :func:`step_map`)
  and moves no unit further than the starts spread: a GRU whose update gate rounds to 1.0 keeps any h, even
  h = 30, and an unguarded Newton jump lands there.
* Starts that meet (closer than ``min_distance``) are headed for the same point: only the one with the lower q
  goes on, so 256 starts falling into one attractor cost little more than one.
* Newton stalls where J - I is (nearly) singular: near a minimum of q that is not zero. With slow=True those
  starts go on with Levenberg-Marquardt on q, ((J - I)^T (J - I) + mu I) d = -(J - I)^T G, mu shrunk after a
  step that lowers q and grown after one that does not; it settles in the local minima of q, the slow points
  (and finds some fixed points Newton missed).

Then the points with ||F(s) - s|| < tol are kept, merged when closer than ``min_distance``, and J is
formed and diagonalised at each.

F and J are written here from the layer's weights, one small function per cell (:data:`STEPS`, keyed by the
cell's name), because the cells' own steps work on a trace of consecutive steps, not on a batch of unrelated
states; they are the equations of ``layers/simple_rnn_cell.py``, ``lstm_cell.py`` and ``gru_cell.py`` (the
tests check them against those cells' forward step and StepJacobian, against Keras' cells and against
TensorFlow's Jacobian).

Measured (``python -m bench.bench_interpretation``, one BLAS thread): 256 starts at H = 128 take 0.3-0.8 s
for each cell with Keras' initializers, 1.3 s for a SimpleRNN with many fixed points (U x 1.5); slow=True
adds the Levenberg-Marquardt phase, 4.5 s in all on that network (its (J - I)^T (J - I) is the cost).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..layers.activations import Activation
from ..layers.cell_base import split_weights
from ..messages import N_, UserError

Array = np.ndarray
ARMIJO = 1e-4          # c of Armijo's rule: accept a step that lowers q by at least 2 c alpha q
MAX_HALVINGS = 14      # alpha down to 2^-13 before a start is declared stalled
PATIENCE = 10          # Newton gives up on a start whose q has not halved in this many steps
CONVERGED = 1e-2       # Newton goes on to ||F(s) - s|| <= CONVERGED * tol (quadratic: usually far below)
FTOL = 1e-12           # Levenberg-Marquardt has settled when a step lowers q by less than this share of q


# -- one step of each cell and its Jacobian, batched over states ------------------------------------------


@dataclass(frozen=True)
class StepMap:
    """One step of a layer's cell at a fixed input x, in float64: s -> F(s) and J = dF/ds, for a batch of states.

    J[n, i, j] = dF_i/ds_j at state n (rows: what changes, columns: what is pushed).
    """

    cell: str                             # the cell's name: "simple_rnn", "lstm", "gru"
    units: int                            # H
    state_names: tuple[str, ...]          # ("h",) or ("h", "c"): the parts of s, side by side
    x: Array                              # (D,) the input held fixed
    xw: Array                             # (G*H,) x W + b (the part of the bias added to x W)
    recurrent: Array                      # (H, G*H) U
    recurrent_bias: Array                 # (G*H,) GRU reset_after's b_r inside the reset gate's product, else 0
    activation: Activation
    recurrent_activation: Activation | None
    reset_after: bool = True              # GRU only
    lower: Array | None = None            # (S,) the box the states stay in (see step_map); None: unbounded
    upper: Array | None = None

    @property
    def size(self) -> int:
        """S: the number of values of the state s."""
        return len(self.state_names) * self.units

    def __call__(self, s: Array, jacobian: bool = False) -> tuple[Array, Array | None]:
        """F(s) (N, S), and J (N, S, S) when ``jacobian`` (else None), for states s (N, S)."""
        return STEPS[self.cell](self, np.asarray(s, np.float64), jacobian)

    def clip(self, s: Array) -> Array:
        """s (N, S) put back inside the box of states the cell can reach (lower, upper)."""
        return s if self.lower is None else np.clip(s, self.lower, self.upper)

    def newton(self, s: Array) -> tuple[Array, Array]:
        """F(s) and the Newton step d, (J - I) d = -(F(s) - s), for states s (N, S)."""
        special = NEWTON_STEPS.get(self.cell)
        if special is not None:
            return special(self, s)
        F, J = self(s, jacobian=True)
        return F, _solve(J - np.eye(self.size), s - F)


def _simple_rnn_step(p: StepMap, s: Array, jacobian: bool) -> tuple[Array, Array | None]:
    """h' = f(x W + b + h U);   dh'/dh = diag(f'(z)) U^T."""
    z = p.xw + s @ p.recurrent                                        # (N, H) pre-activation
    h = p.activation(z)
    if not jacobian:
        return h, None
    return h, p.activation.derivative(z, h)[:, :, None] * p.recurrent.T      # row i: f'(z_i) U[:, i]


def _lstm_parts(p: StepMap, s: Array, jacobian: bool):
    """s = [h, c]:  a = x W + b + h U;  i, f, o = sigma(a_i, a_f, a_o), g = act(a_g);
    c' = f c + i g;  h' = o act(c').  Returns F = [h', c'] and, with ``jacobian``, J's four blocks:

        C = dc'/dh = diag(g sigma'(a_i)) U_i^T + diag(c sigma'(a_f)) U_f^T + diag(i act'(a_g)) U_g^T
        A = dh'/dh = diag(act(c') sigma'(a_o)) U_o^T + diag(k) C,     k = o act'(c')
        dh'/dc = diag(k f),   dc'/dc = diag(f): the constant error carousel
    as (A (N, H, H), C (N, H, H), k f (N, H), f (N, H)).
    """
    H, sig, act = p.units, p.recurrent_activation, p.activation
    h, c = s[:, :H], s[:, H:]
    a = p.xw + h @ p.recurrent                                        # (N, 4H): a_i, a_f, a_g, a_o
    a_i, a_f, a_g, a_o = (a[:, k * H:(k + 1) * H] for k in range(4))
    i, f, g, o = sig(a_i), sig(a_f), act(a_g), sig(a_o)
    c_new = f * c + i * g                                             # the cell state
    act_c = act(c_new)
    F = np.concatenate([o * act_c, c_new], axis=1)                    # [h', c']
    if not jacobian:
        return F, None
    UT = p.recurrent.T.reshape(4, H, H)                               # UT[k] = U_k^T: d a_k / dh
    C = (g * sig.derivative(a_i, i))[:, :, None] * UT[0]
    C += (c * sig.derivative(a_f, f))[:, :, None] * UT[1]
    C += (i * act.derivative(a_g, g))[:, :, None] * UT[2]
    k = o * act.derivative(c_new, act_c)                              # dh'/dc' (diagonal)
    A = (act_c * sig.derivative(a_o, o))[:, :, None] * UT[3]
    A += k[:, :, None] * C
    return F, (A, C, k * f, f)


def _lstm_step(p: StepMap, s: Array, jacobian: bool) -> tuple[Array, Array | None]:
    """F(s) and the dense J = [[A, diag(k f)], [C, diag(f)]] (see :func:`_lstm_parts`)."""
    F, parts = _lstm_parts(p, s, jacobian)
    if parts is None:
        return F, None
    A, C, kf, f = parts
    H = p.units
    J = np.zeros((len(s), 2 * H, 2 * H))
    J[:, :H, :H], J[:, H:, :H] = A, C
    d = np.arange(H)
    J[:, d, H + d] = kf
    J[:, H + d, H + d] = f
    return F, J


def _lstm_newton(p: StepMap, s: Array) -> tuple[Array, Array]:
    """The Newton step (J - I) d = -G of an LSTM with an H x H solve instead of 2H x 2H (8 times less work).

    J's c-columns are diagonal, so d_c comes out of the c-rows, C d_h + (f - 1) d_c = -G_c:
        d_c = (G_c + C d_h) / (1 - f)
    and the h-rows, (A - I) d_h + diag(k f) d_c = -G_h, become
        [A - I + diag(k f / (1 - f)) C] d_h = -G_h - k f G_c / (1 - f).
    A start with a forget gate at 1 to rounding (1 - f < 1e-12) takes the full solve.
    """
    F, (A, C, kf, f) = _lstm_parts(p, s, True)
    H = p.units
    G_h, G_c = F[:, :H] - s[:, :H], F[:, H:] - s[:, H:]
    d = np.empty_like(s)
    ok = (1 - f).min(axis=1) >= 1e-12
    if ok.any():
        w = kf[ok] / (1 - f[ok])                                      # k f / (1 - f)
        M = A[ok] + w[:, :, None] * C[ok]
        M[:, np.arange(H), np.arange(H)] -= 1.0
        d_h = _solve(M, -G_h[ok] - w * G_c[ok])
        d[ok, :H] = d_h
        d[ok, H:] = (G_c[ok] + np.einsum("nij,nj->ni", C[ok], d_h)) / (1 - f[ok])
    if not ok.all():
        _, J = _lstm_step(p, s[~ok], True)
        d[~ok] = _solve(J - np.eye(2 * H), s[~ok] - F[~ok])
    return F, d


def _gru_step(p: StepMap, s: Array, jacobian: bool) -> tuple[Array, Array | None]:
    """h' = z h + (1 - z) hh, z = sigma(a_z), r = sigma(a_r), hh = act(a_hh); Keras' two variants:

        reset_after:   m = h U + b_r;  a_z, a_r = x W_{z,r} + b_{z,r} + m_{z,r};  a_hh = x W_h + b_h + r m_h
        reset_before:  a_z, a_r = x W_{z,r} + b_{z,r} + h U_{z,r};           a_hh = x W_h + b_h + (r h) U_h

        dh'/dh = diag(z) + diag((h - hh) sigma'(a_z)) U_z^T + diag((1 - z) act'(a_hh)) d a_hh/dh
        after:   d a_hh/dh = diag(r) U_h^T + diag(m_h sigma'(a_r)) U_r^T
        before:  d a_hh/dh = U_h^T (diag(r) + diag(h sigma'(a_r)) U_r^T)
    """
    H, sig, act = p.units, p.recurrent_activation, p.activation
    xz, xr, xh = p.xw[:H], p.xw[H:2 * H], p.xw[2 * H:]
    U = p.recurrent
    if p.reset_after:
        m = s @ U + p.recurrent_bias                                  # (N, 3H)
        a_z, a_r = xz + m[:, :H], xr + m[:, H:2 * H]
        z, r = sig(a_z), sig(a_r)
        a_hh = xh + r * m[:, 2 * H:]
    else:
        m = s @ U[:, :2 * H]
        a_z, a_r = xz + m[:, :H], xr + m[:, H:]
        z, r = sig(a_z), sig(a_r)
        a_hh = xh + (r * s) @ U[:, 2 * H:]
    hh = act(a_hh)
    F = z * s + (1 - z) * hh
    if not jacobian:
        return F, None
    UT = U.T.reshape(3, H, H)                                         # UT[k] = U_k^T
    dr = sig.derivative(a_r, r)
    if p.reset_after:
        d_hh = r[:, :, None] * UT[2] + (m[:, 2 * H:] * dr)[:, :, None] * UT[1]
    else:
        d_hh = UT[2] * r[:, None, :] + (UT[2] * (s * dr)[:, None, :]) @ UT[1]
    J = ((s - hh) * sig.derivative(a_z, z))[:, :, None] * UT[0]
    J += ((1 - z) * act.derivative(a_hh, hh))[:, :, None] * d_hh
    d = np.arange(H)
    J[:, d, d] += z                                                   # the direct path h -> h'
    return F, J


#: The step and its Jacobian of each cell, by the cell's name (``layer.cell.name``).
STEPS = {"simple_rnn": _simple_rnn_step, "lstm": _lstm_step, "gru": _gru_step}
#: A cell's own Newton step, where its Jacobian's structure makes it cheaper than the dense solve.
NEWTON_STEPS = {"lstm": _lstm_newton}


def step_map(layer, x=None) -> StepMap:
    """The map s -> F(s) of one step of ``layer`` with its input held at ``x`` ((D,), zeros by default)."""
    if not getattr(layer, "built", False):
        raise UserError(N_("The layer '{name}' has no weights yet: build it (or call it on a sequence) before "
                           "looking for its fixed points."), name=getattr(layer, "name", "?"))
    cell = layer.cell
    if cell.name not in STEPS:
        raise ValueError(f"No fixed-point step for the cell {cell.name!r}; expected one of {', '.join(STEPS)}.")
    W, U, b = split_weights(layer.get_weights(), cell.use_bias)
    D, GH = W.shape
    if x is None:
        x = np.zeros(D)
    x = np.array(x, np.float64)
    if x.shape != (D,) or not np.isfinite(x).all():
        raise UserError(N_("The input held fixed must be {dim} finite number(s), one per input feature; got shape "
                           "{shape}."), dim=D, shape=tuple(x.shape))
    b_in = cell.input_bias(b)
    b_rec = b[1] if b is not None and b.ndim == 2 else np.zeros(GH)  # Keras' reset_after bias: [input; recurrent]
    # Every cell's h is act(.) (SimpleRNN), a mixture of h_{t-1} and act(.) (GRU) or o act(c) with o in [0, 1]
    # (LSTM): in the activation's range, with 0 (the initial state) added. An LSTM's c is unbounded.
    H, S = cell.units, len(cell.state_names) * cell.units
    lo, hi = activation_range(cell.activation)
    lower, upper = np.full(S, -np.inf), np.full(S, np.inf)
    lower[:H], upper[:H] = min(lo, 0.0), max(hi, 0.0)
    return StepMap(cell.name, H, tuple(cell.state_names), x, x @ W + (0.0 if b_in is None else b_in), U,
                   b_rec, cell.activation, getattr(cell, "recurrent_activation", None),
                   bool(getattr(cell, "reset_after", True)), lower, upper)


def activation_range(act: Activation) -> tuple[float, float]:
    """[lo, hi] holding every value of ``act``, -inf / inf on a side where it grows without bound.

    Read off a log-spaced grid of z in [-1e5, 1e5] (which also catches the dips of gelu, silu, mish). A side is
    bounded when act(+-1e5) and act(+-1e4) differ by less than 1e-3; its bound is then widened by ten times that
    difference (softsign's -0.99999 on the grid covers its limit -1) and by 1e-3 (1 + |bound|) (the grid's step).
    """
    z = np.concatenate([-np.logspace(5, -3, 401), [0.0], np.logspace(-3, 5, 401)])
    with np.errstate(all="ignore"):
        v = np.asarray(act(z), np.float64)
        tails = np.asarray(act(np.array([-1e5, -1e4, 1e4, 1e5])), np.float64)
        gaps = np.abs([tails[0] - tails[1], tails[3] - tails[2]])      # inf - inf (exponential) is NaN: unbounded

    def side(value: float, gap: float, sign: float) -> float:
        if not (np.isfinite(value) and np.isfinite(gap) and gap < 1e-3):
            return sign * np.inf
        return value + sign * (10 * gap + 1e-3 * (1 + abs(value)))

    return side(float(np.min(v)), gaps[0], -1.0), side(float(np.max(v)), gaps[1], 1.0)


def step_and_jacobian(layer, s, x=None) -> tuple[Array, Array]:
    """F(s) (N, S) and J = dF/ds (N, S, S) of one step of ``layer`` from states s (N, S), input x, float64."""
    F, J = step_map(layer, x)(np.atleast_2d(s), jacobian=True)
    return F, J


# -- the search -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixedPoints:
    """The fixed (and slow) points of one step of a layer at input x, with their linearisation."""

    points: Array          # (K, S) s* = [h] or [h, c]: the fixed points first, then the slow points
    residual: Array        # (K,) ||F(s*) - s*||_2; the speed q = residual^2 / 2
    eigenvalues: Array     # (K, S) complex: eigenvalues of J = dF/ds at s*, largest modulus first
    stable: Array          # (K,) bool: every |eigenvalue| < 1
    slow: Array            # (K,) bool: a slow point (residual >= tol, q <= slow_tol); only with slow=True
    hits: Array            # (K,) how many starts ended at this point (within min_distance)
    state_names: tuple[str, ...]
    x: Array               # (D,) the input held fixed
    n_starts: int          # how many starts the search ran from

    def __len__(self) -> int:
        return len(self.points)


def fixed_points(layer, x=None, n_starts: int = 256, tol: float = 1e-6, seed: int = 0, slow: bool = False,
                 states=None, slow_tol: float = 1e-4, min_distance: float = 1e-4, max_iter: int = 50,
                 slow_iter: int = 50) -> FixedPoints:
    """The states s* = F(s*) of one step of ``layer`` at input ``x`` (zeros (D,) by default), and their stability.

    Starts: up to ``n_starts`` states sampled (with ``seed``) from ``states`` (visited states, (..., S)) or,
    without it, from the states of the layer's last call (every step of every sequence); a layer that has not
    run starts from F(s0), s0 = [act(z), (c)] with z (and an LSTM's c) ~ N(0, 2^2): one step from h in the
    activation's range puts the starts where the cell's states can be (tanh's (-1, 1), relu's [0, inf), a GRU's
    convex mixtures of those, an LSTM's c anywhere its gates allow).

    From every start at once: Newton with backtracking on G(s) = F(s) - s (at most ``max_iter`` steps), then
    with ``slow=True`` Levenberg-Marquardt on q for the starts where Newton stalled (``slow_iter`` steps); see
    the module's docstring. Kept: the points with ||F(s) - s|| < tol, and with slow=True those with
    q = ||F(s) - s||^2 / 2 <= slow_tol (flagged ``slow``); points closer than ``min_distance`` (Euclidean) are
    one point. J = dF/ds is then formed at each point and its eigenvalues sorted by modulus, largest first;
    a point is stable when every |lambda| < 1.

    Example:
        >>> layer = SimpleRNN(1, use_bias=False); layer.build((1, 1, 1))
        >>> layer.set_weights([np.zeros((1, 1)), np.array([[2.0]])])     # h' = tanh(2 h)
        >>> np.sort(fixed_points(layer).points[:, 0]).round(4)            # a saddle at 0, attractors at +-0.9575
        array([-0.9575,  0.    ,  0.9575])
    """
    step = step_map(layer, x)
    if isinstance(n_starts, (bool, np.bool_)) or not isinstance(n_starts, (int, np.integer)) or n_starts < 1:
        raise UserError(N_("The number of starts must be a positive whole number; got {n}."), n=repr(n_starts))
    if not (tol > 0 and slow_tol > 0 and min_distance >= 0):
        raise ValueError(f"tol and slow_tol must be positive and min_distance >= 0; got {tol}, {slow_tol}, "
                         f"{min_distance}.")
    rng = np.random.default_rng(seed)
    s = _starts(layer, step, int(n_starts), states, rng)

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):   # a start may overflow: it is dropped
        s, q, stalled = _newton(step, s, max_iter, tol, min_distance)
        stalled &= q >= tol ** 2 / 2                               # already a fixed point (at rounding's floor)
        if slow and stalled.any():
            s[stalled], q[stalled] = _levenberg_marquardt(step, s[stalled], q[stalled], slow_iter, tol,
                                                             min_distance, slow_tol)
    residual = np.sqrt(2 * q)
    is_fixed = residual < tol
    is_slow = ~is_fixed & (q <= slow_tol) if slow else np.zeros(len(s), bool)

    fixed, fixed_hits = _merge(s[is_fixed], residual[is_fixed], min_distance)
    slow_pts, slow_hits = _merge(s[is_slow], residual[is_slow], min_distance)
    if len(fixed) and len(slow_pts):                              # a slow point on a fixed point is that point
        near = _distances(s[is_slow][slow_pts], s[is_fixed][fixed]).min(axis=1) <= min_distance
        slow_pts, slow_hits = slow_pts[~near], slow_hits[~near]
    idx = np.concatenate([np.flatnonzero(is_fixed)[fixed], np.flatnonzero(is_slow)[slow_pts]]).astype(int)
    points, resid = s[idx], residual[idx]
    S = step.size
    if len(points):
        _, J = step(points, jacobian=True)
        eig = np.linalg.eigvals(J)
        eig = np.take_along_axis(eig, np.argsort(-np.abs(eig), axis=1, kind="stable"), axis=1)
    else:
        eig = np.zeros((0, S), complex)
    flags = np.concatenate([np.zeros(len(fixed), bool), np.ones(len(slow_pts), bool)])
    return FixedPoints(points.reshape(-1, S), resid, eig, np.all(np.abs(eig) < 1, axis=1), flags,
                       np.concatenate([fixed_hits, slow_hits]).astype(int), step.state_names, step.x, len(s))


def _starts(layer, step: StepMap, n_starts: int, states, rng: np.random.Generator) -> Array:
    """Up to n_starts starting states (N, S): visited states if there are any, else F of random states."""
    S = step.size
    visited = None
    if states is not None:
        visited = np.asarray(states, np.float64)
        if visited.ndim < 1 or visited.shape[-1] != S:
            raise UserError(N_("The visited states must have {size} values each ({names}, side by side); got "
                               "shape {shape}."), size=S, names=", ".join(step.state_names),
                            shape=tuple(visited.shape))
        visited = visited.reshape(-1, S)
    elif getattr(layer, "last_trace", None) is not None:
        tr = layer.last_trace                                         # states (T + 1, B, H) per name; [0] = initial
        visited = np.concatenate([tr.states[name][1:] for name in step.state_names], axis=-1)
        visited = np.asarray(visited, np.float64).reshape(-1, S)
    if visited is not None:
        visited = visited[np.isfinite(visited).all(axis=1)]
    if visited is not None and len(visited):
        if len(visited) <= n_starts:
            return visited.copy()
        return visited[rng.choice(len(visited), size=n_starts, replace=False)]
    s0 = rng.normal(0.0, 2.0, (n_starts, S))
    s0[:, :step.units] = step.activation(s0[:, :step.units])         # h in the activation's range, c anywhere
    with np.errstate(over="ignore", invalid="ignore"):
        s = step(s0)[0]                                               # then one step: where the cell's states are
    return s[np.isfinite(s).all(axis=1)]


def _q(step: StepMap, s: Array) -> Array:
    """q(s) = ||F(s) - s||^2 / 2 per row (inf where F overflows)."""
    with np.errstate(over="ignore", invalid="ignore"):
        G = step(s)[0] - s
        q = 0.5 * np.einsum("ns,ns->n", G, G)
    return np.where(np.isfinite(q), q, np.inf)


def _solve(A: Array, b: Array) -> Array:
    """x with A x = b for a batch (N, S, S), (N, S); a singular A gets the least-squares solution."""
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:                     # one singular matrix stops the batched LU: one at a time
        out = np.empty_like(b)
        for n in range(len(A)):
            try:
                out[n] = np.linalg.solve(A[n], b[n])
            except np.linalg.LinAlgError:
                out[n] = np.linalg.lstsq(A[n], b[n], rcond=None)[0]
        return out


def _newton(step: StepMap, s: Array, max_iter: int, tol: float, radius: float) -> tuple[Array, Array, Array]:
    """Damped Newton on F(s) - s = 0 for every row of s (see the module's docstring).

    A start is done when ||F(s) - s|| <= CONVERGED * tol and its Newton step (its distance to the root, to first
    order) is below radius / 100: near a nearly singular J - I a tiny residual can still be far from the point.
    Returns (s, q, stalled): stalled marks the starts where no step along the Newton direction lowered q enough,
    or the iterations ran out, before that. A start that comes within ``radius`` of one with a lower q follows
    it (see :func:`_follow_neighbours`).
    """
    s = s.copy()
    N = len(s)
    q = _q(step, s)
    target = 0.5 * (CONVERGED * tol) ** 2
    active = np.isfinite(q)
    stalled = np.zeros(N, bool)
    reach = max(1.0, float(np.abs(s[active]).max(initial=0.0)))      # the largest |value| among the starts
    follow = np.full(N, -1)
    history = [q.copy()]
    for it in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        s_a = s[idx]
        with np.errstate(over="ignore", invalid="ignore"):
            _, d = step.newton(s_a)                                   # (J - I) d = -(F(s) - s)
        done = (q[idx] <= target) & (np.linalg.norm(d, axis=1) <= 1e-2 * radius)
        # A trust region: no unit moves further than the starts spread in one step. A nearly singular J - I
        # gives a huge d, and a jump along it can land where the gates saturate to rounding (a GRU with
        # z = 1.0 keeps any h, even h = 30): fixed in float64, but no state the layer ever visits.
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = np.minimum(1.0, reach / np.abs(d).max(axis=1))
        alpha = np.where(np.isfinite(alpha), alpha, 1.0)
        todo = np.arange(idx.size)
        for _ in range(MAX_HALVINGS):                                 # backtracking: alpha = 1, 1/2, 1/4, ...
            trial = step.clip(s_a[todo] + alpha[todo, None] * d[todo])
            q_trial = _q(step, trial)
            ok = q_trial <= (1 - 2 * ARMIJO * alpha[todo]) * q[idx[todo]]
            s[idx[todo[ok]]], q[idx[todo[ok]]] = trial[ok], q_trial[ok]
            todo = todo[~ok]
            if todo.size == 0:
                break
            alpha[todo] *= 0.5
        stalled[idx[todo]] = ~done[todo]                             # at a root, rounding may refuse the last step
        active[idx[todo]] = False
        active[idx[done]] = False
        # No progress: q not halved in PATIENCE steps (Newton creeping along a valley of q, far from a root).
        history.append(q.copy())
        if it >= PATIENCE:
            creeping = active & (q > 0.5 * history[-1 - PATIENCE])
            stalled |= creeping
            active &= ~creeping
        _follow_neighbours(s, q, active, np.isfinite(q) & ~stalled, follow, radius)
    stalled |= active & np.isfinite(q)                                # out of iterations
    root = _roots(follow)
    return s[root], q[root], stalled[root]


def _follow_neighbours(s: Array, q: Array, active: Array, live: Array, follow: Array, radius: float) -> None:
    """An active start within ``radius`` of a live start with a lower q stops and will end where that one ends.

    Starts that meet are headed for the same point: iterating one of them finds it at a fraction of the work
    (256 starts that all fall into one attractor become one). ``follow[j]`` is the start j follows (-1: none).
    """
    idx, pool = np.flatnonzero(active), np.flatnonzero(live & (follow < 0))
    if idx.size == 0 or pool.size < 2 or radius <= 0:
        return
    near = _within(s[idx], s[pool], radius) & (q[pool][None] < q[idx][:, None])             # (A, P)
    rows = np.flatnonzero(near.any(axis=1))
    follow[idx[rows]] = pool[near[rows].argmax(axis=1)]              # the first such start (a lower q: no cycles)
    active[idx[rows]] = False


def _roots(follow: Array) -> Array:
    """For every start, the start at the end of its chain of follows (itself if it follows none)."""
    root = np.where(follow < 0, np.arange(len(follow)), follow)
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            return root
        root = nxt


def _levenberg_marquardt(step: StepMap, s: Array, q: Array, iters: int, tol: float, radius: float,
                         slow_tol: float) -> tuple[Array, Array]:
    """Levenberg-Marquardt on q(s) = ||F(s) - s||^2 / 2 for every row: towards the local minima of q (slow points).

    d = -((J - I)^T (J - I) + mu I)^{-1} (J - I)^T G; a step that lowers q is taken and mu /= 3, else mu *= 4.
    A refused step leaves s where it was, so its (J - I)^T (J - I) and gradient are kept for the next try with
    the larger mu: only the starts that moved are stepped and multiplied again (half the work of recomputing
    everything, measured on a SimpleRNN with U x 1.5). A start stops when a step it takes is shorter than
    radius / 100 (it has settled), at q below Newton's target, or when mu passes 1e12 (no step lowers q: a
    minimum to rounding); one that comes within ``radius`` of a start with a lower q follows it (see
    :func:`_follow_neighbours`).
    """
    s, q = s.copy(), q.copy()
    N, S = s.shape
    eye = np.eye(S)
    mu = np.full(N, 1e-3)
    target = 0.5 * (CONVERGED * tol) ** 2
    active = np.isfinite(q) & (q > target)
    follow = np.full(N, -1)
    normal = np.empty((N, S, S))                                      # (J - I)^T (J - I) at each start's s
    grad = np.empty((N, S))                                           # grad q = (J - I)^T G
    moved = active.copy()                                             # s changed since normal was formed
    history = [q.copy()]
    for it in range(iters):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        new = idx[moved[idx]]
        if new.size:
            with np.errstate(over="ignore", invalid="ignore"):
                F, J = step(s[new], jacobian=True)
                A = J - eye
                grad[new] = np.einsum("nij,ni->nj", A, F - s[new])
                normal[new] = np.matmul(A.transpose(0, 2, 1), A)
        s_a = s[idx]
        with np.errstate(over="ignore", invalid="ignore"):
            d = step.clip(s_a + _solve(normal[idx] + mu[idx, None, None] * eye, -grad[idx])) - s_a
        q_trial = _q(step, s_a + d)
        better = q_trial < q[idx]
        settled = better & ((np.linalg.norm(d, axis=1) <= 1e-2 * radius) | (q[idx] - q_trial <= FTOL * q[idx]))
        s[idx[better]], q[idx[better]] = s_a[better] + d[better], q_trial[better]
        moved[idx] = better
        mu[idx] = np.where(better, mu[idx] / 3, mu[idx] * 4)
        active[idx[settled | (q[idx] <= target) | (mu[idx] > 1e12)]] = False
        history.append(q.copy())
        if it >= PATIENCE:
            active &= ~((q > slow_tol) & (q > 0.5 * history[-1 - PATIENCE]))
        _follow_neighbours(s, q, active, np.isfinite(q), follow, radius)
    root = _roots(follow)
    return s[root], q[root]



def _within(a: Array, b: Array, radius: float) -> Array:
    """(len(a), len(b)) bools: ||a_i - b_j|| <= radius. Screened with ||a||^2 + ||b||^2 - 2 a.b (one matmul),
    then the few candidate pairs measured exactly (the expansion loses digits on short distances)."""
    na, nb = (a * a).sum(axis=1)[:, None], (b * b).sum(axis=1)[None]
    candidate = na + nb - 2 * a @ b.T <= radius ** 2 + 1e-10 * (na + nb)
    i, j = np.nonzero(candidate)
    out = np.zeros(candidate.shape, bool)
    out[i, j] = np.linalg.norm(a[i] - b[j], axis=1) <= radius
    return out


def _distances(a: Array, b: Array) -> Array:
    """Euclidean distances (len(a), len(b)) between rows, one column at a time (no (len(a), len(b), S) array)."""
    out = np.empty((len(a), len(b)))
    for j, row in enumerate(b):
        out[:, j] = np.linalg.norm(a - row, axis=1)
    return out


def _merge(points: Array, residual: Array, min_distance: float) -> tuple[Array, Array]:
    """Greedy merge, most accurate first: (indices of the kept points, how many points fell on each)."""
    if len(points) == 0:
        return np.zeros(0, int), np.zeros(0, int)
    kept: list[int] = []
    for i in np.argsort(residual, kind="stable"):
        if not kept or np.linalg.norm(points[kept] - points[i], axis=1).min() > min_distance:
            kept.append(int(i))
    owner = _distances(points, points[kept]).argmin(axis=1)
    hits = np.bincount(owner, minlength=len(kept))
    order = np.argsort(-hits, kind="stable")                        # the points most starts reached first
    return np.asarray(kept)[order], hits[order]
