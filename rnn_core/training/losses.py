"""Losses of the tutorial model, with Keras 3's reduction ("sum_over_batch_size").

Each returns (loss, dL/d(prediction)).
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray

EPSILON = 1e-7  # keras.backend.epsilon()


def sparse_categorical_crossentropy(probs: Array, labels: Array) -> tuple[float, Array]:
    """Mean over all positions of -log p[label]; probs (..., C), labels (...) ints.

    As Keras does for probabilities (from_logits=False): clip p to
    [eps, 1 - eps] and take log-probabilities of the renormalised clipped p,
    L = -log p_c[y] + log sum_j p_c[j]. Without clipping this is -log p[y].
    """
    labels = np.asarray(labels)
    if labels.shape != probs.shape[:-1]:
        raise ValueError(f"labels must have shape {probs.shape[:-1]}, got {labels.shape}.")
    C = probs.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= C):
        raise ValueError(f"labels must be integers in [0, {C}), got values from {labels.min()} to {labels.max()}.")
    n = labels.size
    pc = np.clip(probs, EPSILON, 1 - EPSILON)
    total = pc.sum(axis=-1)
    picked = np.take_along_axis(pc, labels[..., None], axis=-1)[..., 0]
    loss = float(np.mean(-np.log(picked) + np.log(total)))
    # dL/dp_c = (1/S - onehot / p_c[y]) / n ; the clip passes gradient only inside its bounds.
    d_pc = np.broadcast_to((1.0 / total)[..., None], probs.shape).copy()
    np.put_along_axis(d_pc, labels[..., None], (1.0 / total - 1.0 / picked)[..., None], axis=-1)
    inside = (probs >= EPSILON) & (probs <= 1 - EPSILON)
    return loss, (d_pc * inside / n).astype(probs.dtype)


def mean_squared_error(pred: Array, target: Array) -> tuple[float, Array]:
    """Mean over all positions of mean_j (pred_j - target_j)^2 (Keras' MSE)."""
    target = np.asarray(target, dtype=pred.dtype)
    if target.shape != pred.shape:
        raise ValueError(f"target must have shape {pred.shape}, got {target.shape}.")
    diff = pred - target
    return float(np.mean(diff * diff)), (2.0 * diff / diff.size).astype(pred.dtype)


LOSSES = {
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "mse": mean_squared_error,
}
