"""``Attention`` and ``AdditiveAttention``: NumPy twins of the Keras 3 layers, with their backward pass.

Both read a query Q (B, Tq, D) against keys K (B, Tv, D) and return a weighted sum of values V (B, Tv, Dv):

    S = score(Q, K)                      (B, Tq, Tv)
    S = where(keep, S, S - 1e9)          value mask and/or causal mask (65504 for float16), as Keras
    A = softmax(S)                       over Tv; with dropout in training, A = A * keep / (1 - rate)
    O = A V                              (B, Tq, Dv); rows where the query mask is False are set to 0

The score is Luong's dot product ``s * Q K^T`` or ``c * sum_d tanh(s * (q_d + k_d))`` ("concat") for
``Attention``, Bahdanau's ``sum_d w_d tanh(q_d + k_d)`` for ``AdditiveAttention``. Same arguments, weights
(names, shapes, initial values, order) and call signature as Keras 3; after a call,
:meth:`Attention.backward` returns every gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..messages import N_, UserError
from .dense import softmax, softmax_backward

Array = np.ndarray


@dataclass(frozen=True)
class AttentionConfig:
    """The constructor arguments of keras.layers.Attention (AdditiveAttention has no score_mode)."""

    use_scale: bool = False         # learn a scale s on the scores (AdditiveAttention: the vector w, default True)
    score_mode: str = "dot"         # "dot": s * Q K^T; "concat": c * sum tanh(s * (q + k))
    dropout: float = 0.0            # fraction of attention weights dropped (training only)
    seed: int | None = None         # the dropout generator and AdditiveAttention's initial scale

    def __post_init__(self) -> None:
        if not isinstance(self.use_scale, (bool, np.bool_)):
            raise ValueError(f"use_scale must be True or False, got {self.use_scale!r}.")
        if self.score_mode not in ("dot", "concat"):
            raise ValueError(f"score_mode must be one of 'dot', 'concat'; got {self.score_mode!r}.")
        rate = self.dropout
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
            raise ValueError(f"dropout must be a float in [0, 1], got {rate!r}.")


@dataclass
class AttentionGradients:
    """Gradients of a scalar loss after :meth:`Attention.backward`."""

    query: Array                    # (B, Tq, D)
    value: Array                    # (B, Tv, Dv); without a key it also holds the key's path (key = value)
    key: Array | None               # (B, Tv, D), or None when the call had no key
    weights: list[Array]            # in the order of get_weights()


# -- score functions: forward and backward side by side ------------------------------------------------------
# Each returns S (B, Tq, Tv) and a closure dS -> (dQ, dK, {weight name: gradient}).

def dot_scores(q: Array, k: Array, scale: Array | None):
    """Luong: S = s Q K^T (s = 1 without use_scale)."""
    qk = q @ k.swapaxes(-1, -2)                                    # (B, Tq, Tv)
    scores = qk if scale is None else qk * scale

    def backward(d_s: Array):
        d_qk = d_s if scale is None else d_s * scale
        grads = {} if scale is None else {"scale": np.sum(d_s * qk)}   # dL/ds = <dS, Q K^T>
        return d_qk @ k, d_qk.swapaxes(-1, -2) @ q, grads             # dQ = dS K, dK = dS^T Q
    return scores, backward


def concat_scores(q: Array, k: Array, scale: Array | None, c: Array):
    """Attention(score_mode="concat"): S_ij = c sum_d tanh(s (q_id + k_jd)) (s = 1 without use_scale)."""
    u = q[:, :, None, :] + k[:, None, :, :]                        # (B, Tq, Tv, D) every query + every key
    t = np.tanh(u if scale is None else scale * u)
    t_sum = t.sum(axis=-1)                                         # (B, Tq, Tv)

    def backward(d_s: Array):
        grads = {"concat_score_weight": np.sum(d_s * t_sum)}       # dL/dc = <dS, sum_d tanh>
        d_z = (c * d_s)[..., None] * (1.0 - t * t)                 # through tanh: 1 - tanh^2
        if scale is not None:
            grads["scale"] = np.sum(d_z * u)                       # z = s u: dL/ds = <dZ, u>
            d_z = scale * d_z
        return d_z.sum(axis=2), d_z.sum(axis=1), grads            # u = q_i + k_j: sum over the other index
    return c * t_sum, backward


def additive_scores(q: Array, k: Array, w: Array | None):
    """Bahdanau: S_ij = sum_d w_d tanh(q_id + k_jd) (w = 1 without use_scale)."""
    t = np.tanh(q[:, :, None, :] + k[:, None, :, :])               # (B, Tq, Tv, D)
    scores = (t if w is None else t * w).sum(axis=-1)             # (B, Tq, Tv)

    def backward(d_s: Array):
        grads = {} if w is None else {"scale": np.einsum("bij,bijd->d", d_s, t)}   # dL/dw_d = sum dS t_d
        d_u = d_s[..., None] * (1.0 - t * t)                       # through tanh: 1 - tanh^2
        if w is not None:
            d_u = d_u * w
        return d_u.sum(axis=2), d_u.sum(axis=1), grads
    return scores, backward


class Attention:
    """Dot-product (Luong) attention, as keras.layers.Attention.

    Args:
        use_scale: learn a scalar ``scale`` (initialised to 1) multiplying the scores. Default False.
        score_mode: "dot" (s Q K^T) or "concat" (c sum tanh(s (q + k)), with a scalar
            ``concat_score_weight`` c initialised to 1). Default "dot".
        dropout: fraction of the attention weights dropped in training. Default 0.
        seed: seed of the NumPy generator that draws the dropout mask. Default None.

    Example:
        >>> layer = Attention()
        >>> out, scores = layer([np.ones((2, 3, 4)), np.ones((2, 5, 4))], return_attention_scores=True)
        >>> out.shape, scores.shape
        ((2, 3, 4), (2, 3, 5))
    """

    default_name = "attention"

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: int | None = None, name: str | None = None) -> None:
        self.config = AttentionConfig(use_scale, score_mode, dropout, seed)
        self.name = name or self.default_name
        self._rng = np.random.default_rng(seed)
        self.built = False
        self._dim: int | None = None                     # query features D the weights were built for
        self.scale: Array | None = None
        self.concat_score_weight: Array | None = None
        self.last_dropout_mask: Array | None = None      # (B, Tq, Tv) keep / (1 - rate) of the last training call
        self._cache: dict | None = None

    # -- weights ---------------------------------------------------------------

    def weight_shapes(self, dim: int) -> dict[str, tuple[int, ...]]:
        """Keras' weights in get_weights() order: scale () if use_scale, then concat_score_weight () if concat."""
        shapes = {"scale": ()} if self.config.use_scale else {}
        if self.config.score_mode == "concat":
            shapes["concat_score_weight"] = ()
        return shapes

    def initial_weight(self, name: str, shape: tuple[int, ...]) -> Array:
        return np.ones(shape, np.float32)                # Keras: both scalars start at "ones"

    def build(self, query_shape: tuple[int, ...], value_shape: tuple[int, ...],
              key_shape: tuple[int, ...] | None = None) -> None:
        """Create the weights for a query (B, Tq, D) and value (B, Tv, Dv) (and key (B, Tv, D))."""
        self._dim = int(query_shape[-1])
        for name, shape in self.weight_shapes(self._dim).items():
            setattr(self, name, self.initial_weight(name, shape))
        self.built = True

    @property
    def weight_names(self) -> list[str]:
        return list(self.weight_shapes(self._dim)) if self.built else []

    def get_weights(self) -> list[Array]:
        return [getattr(self, n) for n in self.weight_names]

    def set_weights(self, weights: list[Array]) -> None:
        """Set the weights in get_weights() order (e.g. from the Keras layer); every shape is checked."""
        if not self.built:
            raise ValueError("Build the layer (or call it once) before set_weights().")
        shapes = self.weight_shapes(self._dim)
        if len(weights) != len(shapes):
            raise ValueError(f"Expected {len(shapes)} arrays [{', '.join(shapes)}], got {len(weights)}.")
        arrays = [np.array(w) for w in weights]
        for (name, shape), a in zip(shapes.items(), arrays, strict=True):
            if a.shape != shape or not np.issubdtype(a.dtype, np.floating):
                raise ValueError(f"{name} must be a float array of shape {shape}, got {a.dtype} {a.shape}.")
        for name, a in zip(shapes, arrays, strict=True):
            setattr(self, name, a)

    # -- call ------------------------------------------------------------------

    def scores(self, q: Array, k: Array, dtype):
        """S (B, Tq, Tv) and its backward closure, with the weights cast to ``dtype``."""
        scale = None if self.scale is None else self.scale.astype(dtype)
        if self.config.score_mode == "concat":
            return concat_scores(q, k, scale, self.concat_score_weight.astype(dtype))
        return dot_scores(q, k, scale)

    def __call__(self, inputs: list[Array], mask: list[Array | None] | None = None, training: bool = False,
                 return_attention_scores: bool = False, use_causal_mask: bool = False) -> Array | tuple[Array, Array]:
        """inputs = [query (B, Tq, D), value (B, Tv, Dv)] or [query, value, key (B, Tv, D)];
        mask = [query_mask (B, Tq), value_mask (B, Tv)] (either may be None).

        Returns the output (B, Tq, Dv), or (output, scores) with the attention weights (B, Tq, Tv) after the
        masks, the softmax and dropout, as Keras.
        """
        q, v, k, has_key = self._check_inputs(inputs)
        q_mask, v_mask = self._check_masks(mask, q.shape, v.shape)
        if not self.built:
            self.build(q.shape, v.shape, k.shape if has_key else None)
        if self.weight_shapes(q.shape[-1]) != self.weight_shapes(self._dim):       # AdditiveAttention's (dim,)
            raise UserError(N_("Layer '{layer}' was built for {built} query features; got {dim}."),
                            layer=self.name, built=self._dim, dim=q.shape[-1])
        weights = self.get_weights()
        floats = [a.dtype for a in (q, v, k) if np.issubdtype(a.dtype, np.floating)]
        dtype = np.result_type(*floats, *(w.dtype for w in weights)) if floats else np.dtype(np.float32)
        q, v, k = (a.astype(dtype, copy=False) for a in (q, v, k))
        B, Tq, Tv = q.shape[0], q.shape[1], v.shape[1]

        scores, scores_backward = self.scores(q, k, dtype)                 # (B, Tq, Tv)
        keep = None if v_mask is None else v_mask[:, None, :]             # (B, 1, Tv)
        if use_causal_mask:
            causal = np.tril(np.ones((Tq, Tv), bool))[None]               # (1, Tq, Tv): i attends to j <= i
            keep = causal if keep is None else keep & causal
        if keep is not None:
            big = dtype.type(65504.0 if dtype == np.float16 else 1e9)
            scores = np.where(keep, scores, scores - big)                 # masked scores pushed to -1e9
        a = softmax(scores)                                               # (B, Tq, Tv) over Tv
        drop = None
        if training and self.config.dropout > 0:
            rate = self.config.dropout
            kept = self._rng.random((B, Tq, Tv)) >= rate
            drop = (kept * (0.0 if rate == 1 else 1.0 / (1.0 - rate))).astype(dtype)   # inverted dropout
            a_out = a * drop
        else:
            a_out = a
        self.last_dropout_mask = drop
        out = a_out @ v                                                   # (B, Tq, Dv) O = A V
        if q_mask is not None:
            out = np.where(q_mask[:, :, None], out, dtype.type(0))       # masked queries output 0
        self._cache = {"v": v, "a": a, "a_out": a_out, "drop": drop, "q_mask": q_mask, "has_key": has_key,
                       "scores_backward": scores_backward, "dtype": dtype}
        return (out, a_out) if return_attention_scores else out

    # -- backward --------------------------------------------------------------

    def backward(self, d_output: Array, d_scores: Array | None = None) -> AttentionGradients:
        """dL/d(output) (B, Tq, Dv) and, with return_attention_scores, dL/d(scores) (B, Tq, Tv) -> every gradient."""
        c = self._cache
        if c is None:
            raise ValueError("backward() needs a forward call first.")
        dtype, v, a_out = c["dtype"], c["v"], c["a_out"]
        d_out = np.asarray(d_output, dtype=dtype)
        want = a_out.shape[:2] + v.shape[2:]                                # (B, Tq, Dv)
        if d_out.shape != want:
            raise ValueError(f"d_output must have shape {want}, got {d_out.shape}.")
        if c["q_mask"] is not None:
            d_out = d_out * c["q_mask"][:, :, None]                       # where(q_mask, O, 0)
        d_a = d_out @ v.swapaxes(-1, -2)                                  # O = A V: dA = dO V^T
        if d_scores is not None:
            d_scores = np.asarray(d_scores, dtype=dtype)
            if d_scores.shape != a_out.shape:
                raise ValueError(f"d_scores must have shape {a_out.shape}, got {d_scores.shape}.")
            d_a = d_a + d_scores                                          # the returned scores are A itself
        d_v = a_out.swapaxes(-1, -2) @ d_out                              # dV = A^T dO
        if c["drop"] is not None:
            d_a = d_a * c["drop"]                                         # the same keep / (1 - rate) mask
        d_s = softmax_backward(c["a"], d_a)                               # dS = A * (dA - sum(dA * A, -1))
        # The mask (where(keep, S, S - 1e9)) passes dS unchanged on both branches.
        d_q, d_k, grads = c["scores_backward"](d_s)
        weights = [np.asarray(grads[n], dtype=dtype) for n in self.weight_names]
        if not c["has_key"]:
            return AttentionGradients(query=d_q, value=d_v + d_k, key=None, weights=weights)   # key = value
        return AttentionGradients(query=d_q, value=d_v, key=d_k, weights=weights)

    # -- checks ----------------------------------------------------------------

    def _check_inputs(self, inputs) -> tuple[Array, Array, Array, bool]:
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
            got = f"a list of {len(inputs)}" if isinstance(inputs, (list, tuple)) else type(inputs).__name__
            raise UserError(N_("Layer '{layer}' must be called on a list [query, value] or [query, value, key]; "
                               "got {got}."), layer=self.name, got=got)
        arrays = [np.asarray(x) for x in inputs]
        for name, x in zip(("query", "value", "key")[:len(arrays)], arrays, strict=True):
            if x.ndim != 3:
                raise UserError(N_("Layer '{layer}': {name} must be 3-D (batch, steps, features); got shape "
                                   "{shape}."), layer=self.name, name=name, shape=tuple(x.shape))
        q, v = arrays[:2]
        k = arrays[2] if len(arrays) == 3 else v
        if not q.shape[0] == v.shape[0] == k.shape[0] or k.shape[1] != v.shape[1] or q.shape[2] != k.shape[2]:
            raise UserError(N_("Layer '{layer}' needs query (B, Tq, D), value (B, Tv, Dv) and key (B, Tv, D) with "
                               "the same B, Tv and D; got query {query}, value {value}, key {key}."),
                            layer=self.name, query=q.shape, value=v.shape, key=k.shape)
        return q, v, k, len(arrays) == 3

    def _check_masks(self, mask, q_shape, v_shape) -> tuple[Array | None, Array | None]:
        if mask is None:
            return None, None
        if not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3:
            raise UserError(N_("Layer '{layer}' takes mask=[query_mask, value_mask]; got {got}."),
                            layer=self.name, got=f"a list of {len(mask)}" if isinstance(mask, (list, tuple))
                            else type(mask).__name__)
        out = []
        for name, m, want in (("query_mask", mask[0], q_shape[:2]), ("value_mask", mask[1], v_shape[:2])):
            if m is not None:
                m = np.asarray(m)
                if m.shape != want:
                    raise UserError(N_("Layer '{layer}': {name} must have shape {want} (batch, steps); got "
                                       "{shape}."), layer=self.name, name=name, want=want, shape=m.shape)
                m = m.astype(bool)
            out.append(m)
        return out[0], out[1]


class AdditiveAttention(Attention):
    """Additive (Bahdanau) attention, as keras.layers.AdditiveAttention: S_ij = sum_d w_d tanh(q_id + k_jd).

    Args:
        use_scale: learn the vector ``scale`` w (dim,), initialised glorot_uniform. Default True.
        dropout: fraction of the attention weights dropped in training. Default 0.
        seed: seed of the NumPy generator (dropout masks and the initial scale). Default None.

    Example:
        >>> layer = AdditiveAttention(seed=0)
        >>> layer([np.ones((2, 3, 4)), np.ones((2, 5, 4))]).shape
        (2, 3, 4)
    """

    default_name = "additive_attention"

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, seed: int | None = None,
                 name: str | None = None) -> None:
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, name=name)

    def weight_shapes(self, dim: int) -> dict[str, tuple[int, ...]]:
        return {"scale": (dim,)} if self.config.use_scale else {}

    def initial_weight(self, name: str, shape: tuple[int, ...]) -> Array:
        limit = np.sqrt(6.0 / (2 * shape[0]))            # glorot_uniform of a vector: fan_in = fan_out = dim
        return self._rng.uniform(-limit, limit, shape).astype(np.float32)

    def scores(self, q: Array, k: Array, dtype):
        return additive_scores(q, k, None if self.scale is None else self.scale.astype(dtype))
