"""Gradient clipping with the meaning of Keras optimizers' arguments.

clipnorm:        each gradient is rescaled so that its own L2 norm is at most c:
                 g <- g c / max(||g||, c).
global_clipnorm: all gradients are rescaled together so that the norm G of all
                 of them concatenated is at most c: g_i <- g_i c / max(G, c).
                 As in Keras, a non-finite G turns every gradient into NaN.
clipvalue:       each element is clipped to [-c, c] (this changes the direction).

As in Keras, at most one of the three may be set.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def l2_norm(g: Array) -> float:
    """||g||_2 of all elements, accumulated in float64."""
    return float(np.sqrt(np.sum(np.square(g, dtype=np.float64))))


def global_norm(grads: list[Array]) -> float:
    """G = sqrt(sum_i ||g_i||^2)."""
    return float(np.sqrt(sum(l2_norm(g) ** 2 for g in grads)))


def clip_by_norm(grads: list[Array], clipnorm: float) -> list[Array]:
    """g <- g c / max(||g||, c), for each gradient separately."""
    return [(g * (clipnorm / max(l2_norm(g), clipnorm))).astype(g.dtype) for g in grads]


def clip_by_global_norm(grads: list[Array], global_clipnorm: float) -> list[Array]:
    """g_i <- g_i c / max(G, c) with G = sqrt(sum_i ||g_i||^2); NaN everywhere if G is not finite."""
    total = global_norm(grads)
    scale = global_clipnorm / max(total, global_clipnorm) if np.isfinite(total) else np.nan
    return [(g * scale).astype(g.dtype) for g in grads]


def clip_by_value(grads: list[Array], clipvalue: float) -> list[Array]:
    """Each element clipped to [-c, c]."""
    return [np.clip(g, -clipvalue, clipvalue) for g in grads]


def clip_gradients(grads: list[Array], clipnorm: float | None = None,
                   global_clipnorm: float | None = None, clipvalue: float | None = None) -> list[Array]:
    """Apply the clipping a Keras optimizer built with these arguments applies."""
    given = {k: v for k, v in (("clipnorm", clipnorm), ("global_clipnorm", global_clipnorm),
                               ("clipvalue", clipvalue)) if v is not None}
    if len(given) > 1:
        raise ValueError(f"Only one of clipnorm, clipvalue and global_clipnorm can be set, got {given}.")
    for name, v in given.items():
        if not v > 0:
            raise ValueError(f"{name} must be a positive number, got {v!r}.")
    if clipnorm is not None:
        return clip_by_norm(grads, clipnorm)
    if global_clipnorm is not None:
        return clip_by_global_norm(grads, global_clipnorm)
    if clipvalue is not None:
        return clip_by_value(grads, clipvalue)
    return list(grads)
