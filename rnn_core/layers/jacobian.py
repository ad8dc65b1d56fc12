"""The state Jacobian of a recurrent step, J_t = d s_t / d s_{t-1}, as matrix-free products.

s_t is the cell's whole state, its parts side by side in the cell's
``state_names`` order: [h_t] for SimpleRNN and GRU (S = H), [h_t, c_t] for LSTM
(S = 2H). Each cell builds one :class:`StepJacobian` for N steps from its
forward trace (``cell.step_jacobian``); the analysis never asks which cell it is.

Vectors are rows, batched as (N, M, S) (a leading 1 broadcasts over the steps):
row m of step n is a vector v and ``matvec`` returns J_n v (``rmatvec``: J_n^T w). Products with a shared
recurrent kernel are then one (N*M, H) x (H, G*H) matmul instead of N small
ones, which is what makes the batched Lanczos iteration fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Array = np.ndarray


@dataclass
class StepJacobian:
    """J_n = d s_t/d s_{t-1} for N steps t (float64).

    factors: per-step arrays, first axis N, shaped to broadcast against (N, M, H)
        (i.e. (N, 1, H)); shared: arrays common to every step (the recurrent kernel).
    apply(factors, shared, v) -> J v and apply_t(factors, shared, w) -> J^T w,
        both (N, M, S) -> (N, M, S), written by the cell with the math in comments.
    keep: (N, 1, 1) 1.0 where the step is taken, 0.0 where it is masked (then
        s_t = s_{t-1} and J_n = I), or None when nothing is masked.
    """

    size: int
    factors: dict[str, Array]
    shared: dict[str, Array]
    apply: Callable[[dict, dict, Array], Array]
    apply_t: Callable[[dict, dict, Array], Array]
    keep: Array | None = None
    steps: Array | None = field(default=None)   # (N,) which time steps these are, for the caller

    def __len__(self) -> int:
        return len(next(iter(self.factors.values())))

    def take(self, index) -> StepJacobian:
        """The Jacobians of a subset of the steps (index into the first axis)."""
        return StepJacobian(self.size, {k: v[index] for k, v in self.factors.items()}, self.shared, self.apply,
                            self.apply_t, None if self.keep is None else self.keep[index],
                            None if self.steps is None else self.steps[index])

    def matvec(self, v: Array) -> Array:
        """J_n v for v (N, M, S); a masked step is the identity."""
        out = self.apply(self.factors, self.shared, v)
        return out if self.keep is None else self.keep * out + (1 - self.keep) * v

    def rmatvec(self, w: Array) -> Array:
        """J_n^T w for w (N, M, S)."""
        out = self.apply_t(self.factors, self.shared, w)
        return out if self.keep is None else self.keep * out + (1 - self.keep) * w

    def dense(self) -> Array:
        """Every J_n as a dense (N, S, S) matrix: the columns J_n e_j, all at once."""
        N, S = len(self), self.size
        # One identity (1, S, S) broadcast over the N steps: products with a shared kernel happen once.
        out = self.matvec(np.eye(S)[None])               # row j of step n: J_n e_j
        return np.ascontiguousarray(np.broadcast_to(out, (N, S, S)).transpose(0, 2, 1))  # -> column j


def diagonal_times_matrix(d: Array, matrix: Array, steps: Array | None = None) -> StepJacobian:
    """J_n = diag(d_n) M^T for d (N, H) and a shared M (H, H): SimpleRNN's diag(f'(z_t)) U^T."""
    return StepJacobian(
        size=matrix.shape[0],
        factors={"d": np.asarray(d, np.float64)[:, None, :]},
        shared={"M": np.asarray(matrix, np.float64)},
        apply=lambda f, s, v: f["d"] * (v @ s["M"]),          # (diag(d) M^T v)^T = d * (v^T M)
        apply_t=lambda f, s, w: (f["d"] * w) @ s["M"].T,      # (M diag(d) w)^T = (d * w)^T M^T
        steps=steps,
    )
