"""Weight initializers with the same distributions as Keras 3.

The draws come from NumPy's generator, so the numbers differ from Keras' own
draws; the distributions (and so the behaviour of a freshly built layer) are
the same. To compare with Keras, copy weights with ``set_weights``.
"""

from __future__ import annotations

import numpy as np

INITIALIZERS: tuple[str, ...] = (
    "glorot_uniform", "glorot_normal", "orthogonal", "he_uniform", "he_normal",
    "lecun_uniform", "lecun_normal", "random_normal", "random_uniform",
    "identity", "zeros", "ones",
)


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 1:
        return shape[0], shape[0]
    return shape[0], shape[1]


def _truncated_normal(rng: np.random.Generator, shape, stddev: float) -> np.ndarray:
    # Keras' variance-scaling "normal" draws a normal truncated at 2 sigma,
    # rescaled so the final stddev is the one asked for.
    stddev = stddev / 0.87962566103423978
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(bad.sum())
        bad = np.abs(out) > 2
    return out * stddev


def initialize(name: str, shape: tuple[int, ...], rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """Draw an array of ``shape`` from the Keras initializer called ``name``.

    Example: ``initialize("orthogonal", (4, 4), np.random.default_rng(0))``.
    """
    fan_in, fan_out = _fans(shape)
    if name == "zeros":
        out = np.zeros(shape)
    elif name == "ones":
        out = np.ones(shape)
    elif name == "glorot_uniform":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        out = rng.uniform(-limit, limit, shape)
    elif name == "glorot_normal":
        out = _truncated_normal(rng, shape, np.sqrt(2.0 / (fan_in + fan_out)))
    elif name == "he_uniform":
        limit = np.sqrt(6.0 / fan_in)
        out = rng.uniform(-limit, limit, shape)
    elif name == "he_normal":
        out = _truncated_normal(rng, shape, np.sqrt(2.0 / fan_in))
    elif name == "lecun_uniform":
        limit = np.sqrt(3.0 / fan_in)
        out = rng.uniform(-limit, limit, shape)
    elif name == "lecun_normal":
        out = _truncated_normal(rng, shape, np.sqrt(1.0 / fan_in))
    elif name == "random_normal":
        out = rng.normal(0.0, 0.05, shape)
    elif name == "random_uniform":
        out = rng.uniform(-0.05, 0.05, shape)
    elif name == "identity":
        if len(shape) != 2:
            raise ValueError(f"identity initializer needs a 2-D shape, got {shape}.")
        out = np.eye(*shape)
    elif name == "orthogonal":
        if len(shape) != 2:
            raise ValueError(f"orthogonal initializer needs a 2-D shape, got {shape}.")
        rows, cols = shape
        # QR of a Gaussian matrix, signs fixed by diag(R): Haar-distributed, gain 1.
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        out = q.T if rows < cols else q
    else:
        raise ValueError(
            f"Unknown initializer {name!r}. Expected one of: {', '.join(INITIALIZERS)}."
        )
    return np.asarray(out, dtype=dtype)
