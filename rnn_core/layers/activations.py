"""Activation functions with their derivatives, named as Keras 3 names them.

Each activation is a pair: ``forward(z) -> h`` and ``derivative(z, h) -> f'(z)``.
The derivative receives both the pre-activation ``z`` and the already computed
``h = f(z)`` so that tanh, sigmoid and friends reuse ``h`` instead of calling
``exp`` again. At kinks we use the subgradient TensorFlow uses (relu'(0) = 0,
leaky_relu'(0) = slope, hard_tanh'(+-1) = 1) so gradients match Keras exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray

# Constants of SELU from Klambauer et al. 2017, as in tf.nn.selu.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_LEAKY_SLOPE = 0.2  # keras.activations.leaky_relu default (tf.nn.leaky_relu uses 0.2 too)


@dataclass(frozen=True)
class Activation:
    """An elementwise nonlinearity ``h = f(z)`` and its derivative ``f'(z)``."""

    name: str
    forward: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array]
    formula: str  # shown in the app next to the step's arithmetic
    max_slope: float = 1.0  # gamma = sup |f'(z)|: the bound in Pascanu et al.'s vanishing condition

    def __call__(self, z: Array) -> Array:
        return self.forward(z)

    def apply(self, z: Array, out: Array | None = None) -> Array:
        """f(z), written into ``out`` when given (no allocation for NumPy ufuncs)."""
        if out is None:
            return self.forward(z)
        if isinstance(self.forward, np.ufunc) or getattr(self.forward, "writes_out", False):
            return self.forward(z, out=out)
        out[...] = self.forward(z)
        return out


def _sigmoid(z: Array, out: Array | None = None) -> Array:
    # 1 / (1 + e^-z) written as (1 + tanh(z / 2)) / 2: the same function, no overflow on either tail,
    # four passes over the array and none of them allocates when ``out`` is given.
    out = np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


_sigmoid.writes_out = True


def _softplus(z: Array) -> Array:
    return np.logaddexp(np.zeros((), z.dtype), z)


_erf = np.frompyfunc(math.erf, 1, 1)


def _gelu(z: Array) -> Array:
    # Exact GELU, x * Phi(x), as keras.activations.gelu(approximate=False).
    return (0.5 * z * (1 + _erf(z / np.sqrt(2)).astype(z.dtype))).astype(z.dtype)


def _gelu_derivative(z: Array, h: Array) -> Array:
    # d/dx [x Phi(x)] = Phi(x) + x phi(x)
    phi_cdf = 0.5 * (1 + _erf(z / np.sqrt(2)).astype(z.dtype))
    phi_pdf = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    return (phi_cdf + z * phi_pdf).astype(z.dtype)


def _mish_derivative(z: Array, h: Array) -> Array:
    # mish = x tanh(sp(x)); mish' = tanh(sp) + x (1 - tanh(sp)^2) sigmoid(x)
    t = np.tanh(_softplus(z))
    return t + z * (1 - t * t) * _sigmoid(z)


def _one(z: Array) -> Array:
    return np.ones_like(z)


def _cast(mask: Array, like: Array) -> Array:
    return mask.astype(like.dtype)


_REGISTRY: dict[str, Activation] = {}


def _register(name: str, forward, derivative, formula: str, *aliases: str, max_slope: float = 1.0) -> None:
    act = Activation(name, forward, derivative, formula, max_slope)
    for key in (name, *aliases):
        _REGISTRY[key] = act


_register("linear", lambda z: z, lambda z, h: _one(z), "f(z) = z", "None")
_register("tanh", np.tanh, lambda z, h: 1 - h * h, "f(z) = tanh(z)")
_register("sigmoid", _sigmoid, lambda z, h: h * (1 - h), "f(z) = 1 / (1 + e^-z)", max_slope=0.25)
_register("relu", lambda z: np.maximum(z, 0), lambda z, h: _cast(z > 0, z), "f(z) = max(z, 0)")
_register(
    "relu6",
    lambda z: np.clip(z, 0, 6),
    lambda z, h: _cast((z > 0) & (z < 6), z),
    "f(z) = min(max(z, 0), 6)",
)
_register(
    "leaky_relu",
    lambda z: np.where(z > 0, z, _LEAKY_SLOPE * z).astype(z.dtype),
    lambda z, h: np.where(z > 0, 1, _LEAKY_SLOPE).astype(z.dtype),
    "f(z) = z if z > 0 else 0.2 z",
)
_register(
    "elu",
    lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))).astype(z.dtype),
    lambda z, h: np.where(z > 0, 1, h + 1).astype(z.dtype),
    "f(z) = z if z > 0 else e^z - 1",
)
_register(
    "selu",
    lambda z: (_SELU_SCALE * np.where(z > 0, z, _SELU_ALPHA * np.expm1(np.minimum(z, 0)))).astype(z.dtype),
    lambda z, h: np.where(z > 0, _SELU_SCALE, h + _SELU_SCALE * _SELU_ALPHA).astype(z.dtype),
    "f(z) = 1.0507 (z if z > 0 else 1.6733 (e^z - 1))",
    max_slope=_SELU_SCALE * _SELU_ALPHA,
)
_register("softplus", _softplus, lambda z, h: _sigmoid(z), "f(z) = log(1 + e^z)")
_register(
    "softsign",
    lambda z: z / (1 + np.abs(z)),
    lambda z, h: 1 / (1 + np.abs(z)) ** 2,
    "f(z) = z / (1 + |z|)",
)
_register(
    "silu",
    lambda z: z * _sigmoid(z),
    lambda z, h: (lambda s: s * (1 + z * (1 - s)))(_sigmoid(z)),
    "f(z) = z sigmoid(z)",
    "swish",
    max_slope=1.0999,
)
_register("gelu", _gelu, _gelu_derivative, "f(z) = z Phi(z)  (exact, erf)", max_slope=1.128905)
_register("mish", lambda z: z * np.tanh(_softplus(z)), _mish_derivative, "f(z) = z tanh(softplus(z))", max_slope=1.0886)
_register(
    "hard_sigmoid",
    lambda z: np.clip(z + 3, 0, 6) / 6,
    lambda z, h: _cast((z > -3) & (z < 3), z) / 6,
    "f(z) = relu6(z + 3) / 6",
    max_slope=1 / 6,
)
_register(
    "hard_silu",
    lambda z: z * np.clip(z + 3, 0, 6) / 6,
    lambda z, h: (np.clip(z + 3, 0, 6) / 6 + z * _cast((z > -3) & (z < 3), z) / 6).astype(z.dtype),
    "f(z) = z relu6(z + 3) / 6",
    "hard_swish",
    max_slope=1.5,
)
_register(
    "hard_tanh",
    lambda z: np.clip(z, -1, 1),
    lambda z, h: _cast((z >= -1) & (z <= 1), z),
    "f(z) = clip(z, -1, 1)",
)
_register("exponential", np.exp, lambda z, h: h, "f(z) = e^z", max_slope=float("inf"))
_register(
    "log_sigmoid",
    lambda z: -_softplus(-z),
    lambda z, h: _sigmoid(-z),
    "f(z) = log sigmoid(z)",
)
_register(
    "tanh_shrink",
    lambda z: z - np.tanh(z),
    lambda z, h: np.tanh(z) ** 2,
    "f(z) = z - tanh(z)",
)

#: Names offered in the app, in the order a course meets them.
ACTIVATIONS: tuple[str, ...] = (
    "tanh", "relu", "sigmoid", "linear", "leaky_relu", "elu", "selu", "relu6",
    "softplus", "softsign", "silu", "gelu", "mish", "hard_sigmoid", "hard_silu",
    "hard_tanh", "exponential", "log_sigmoid", "tanh_shrink",
)


def get(name: str | None) -> Activation:
    """Return the activation called ``name`` (``None`` means linear, as in Keras)."""
    if name is None:
        name = "linear"
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(
            f"Unknown activation {name!r}. Expected one of: {', '.join(ACTIVATIONS)}."
        )
    return _REGISTRY[name]
