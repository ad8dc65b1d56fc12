"""Dense layer on the last axis, softmax, and what TimeDistributed(Dense) means.

A Dense layer is y = g(x W + b) on the last axis. On a 3-D sequence (B, T, H)
the same matmul applies W at every step, which is exactly what
``TimeDistributed(Dense)`` does: one weight matrix shared over time. The app's
shapes page measures that the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import activations, initializers

Array = np.ndarray


def softmax(z: Array) -> Array:
    """p = exp(z - max z) / sum exp(z - max z) on the last axis."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(p: Array, dp: Array) -> Array:
    """dz = p * (dp - <dp, p>): the softmax Jacobian diag(p) - p p^T applied to dp."""
    return p * (dp - (dp * p).sum(axis=-1, keepdims=True))


@dataclass
class DenseGradients:
    kernel: Array          # (H, C)
    bias: Array | None     # (C,)
    inputs: Array          # same shape as the input (..., H)


class Dense:
    """NumPy twin of keras.layers.Dense: y = g(x W + b) on the last axis of x (any rank)."""

    def __init__(self, units: int, activation: str | None = None, use_bias: bool = True,
                 kernel_initializer: str = "glorot_uniform", seed: int | None = None) -> None:
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"units must be a positive integer, got {units!r}.")
        self.units = int(units)
        self.activation_name = activation or "linear"
        if self.activation_name != "softmax":
            activations.get(self.activation_name)   # fail early on an unknown name
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self._rng = np.random.default_rng(seed)
        self.kernel: Array | None = None
        self.bias: Array | None = None
        self._cache: tuple[Array, Array, Array] | None = None

    def build(self, input_dim: int) -> None:
        self.kernel = initializers.initialize(self.kernel_initializer, (input_dim, self.units), self._rng)
        self.bias = np.zeros(self.units, np.float32) if self.use_bias else None

    def get_weights(self) -> list[Array]:
        return [self.kernel] + ([self.bias] if self.use_bias else [])

    def set_weights(self, weights: list[Array]) -> None:
        kernel = np.asarray(weights[0])
        if kernel.ndim != 2 or kernel.shape[1] != self.units:
            raise ValueError(f"Dense kernel must have shape (input_dim, {self.units}), got {kernel.shape}.")
        self.kernel = kernel.copy()
        if self.use_bias:
            bias = np.asarray(weights[1])
            if bias.shape != (self.units,):
                raise ValueError(f"Dense bias must have shape ({self.units},), got {bias.shape}.")
            self.bias = bias.copy()

    def __call__(self, x: Array) -> Array:
        """x (..., H) -> y (..., C). On (B, T, H) this is TimeDistributed(Dense)."""
        x = np.asarray(x)
        if self.kernel is None:
            self.build(x.shape[-1])
        kernel = self.kernel.astype(np.result_type(x.dtype, self.kernel.dtype), copy=False)
        z = (x.reshape(-1, x.shape[-1]) @ kernel).reshape(x.shape[:-1] + (self.units,))  # one GEMM for all steps
        if self.bias is not None:
            z = z + self.bias.astype(z.dtype, copy=False)
        if self.activation_name == "softmax":
            y = softmax(z)
        else:
            y = activations.get(self.activation_name).forward(z)
        self._cache = (x, z, y)
        return y

    def backward(self, d_y: Array) -> DenseGradients:
        """dL/dy (..., C) -> gradients of W, b and x, summed over every leading axis."""
        x, z, y = self._cache
        d_y = np.asarray(d_y, dtype=y.dtype)
        if self.activation_name == "softmax":
            dz = softmax_backward(y, d_y)
        else:
            dz = d_y * activations.get(self.activation_name).derivative(z, y)
        dz2 = dz.reshape(-1, self.units)
        d_kernel = x.reshape(-1, x.shape[-1]).T @ dz2
        d_bias = dz2.sum(axis=0) if self.use_bias else None
        d_x = (dz2 @ self.kernel.astype(dz.dtype).T).reshape(x.shape)                      # dL/dx = dz W^T
        return DenseGradients(d_kernel, d_bias, d_x)


def time_distributed(dense: Dense, x: Array) -> Array:
    """Apply ``dense`` to each step of x (B, T, H) separately, as TimeDistributed does."""
    return np.stack([dense(x[:, t]) for t in range(x.shape[1])], axis=1)
