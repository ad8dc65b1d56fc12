"""Attention and AdditiveAttention against Keras 3 and against finite differences.

* Parity (float32): the real keras.layers.Attention / AdditiveAttention with the same weights, for every
  score function x use_scale x key x masks x use_causal_mask x return_attention_scores. Outputs and scores
  agree to PARITY_TOL = 1e-6 and every gradient (query, value, key, weights; TensorFlow's GradientTape) to
  GRAD_TOL = 1e-5, both relative to max(1, max |Keras' value|) (helpers.assert_close). Gradients get the
  looser float32 tolerance of the other parity tests: a scalar weight's gradient is a float32 sum of
  B*Tq*Tv*D terms; measured, mine and Keras' are each up to ~4e-6 from the float64 value, in both directions.
* Finite differences (float64): L = <G, output> (+ <G_s, scores>) with fixed random G; every gradient's
  relative error (max-norm) below FD_TOL = 1e-6 (helpers).
* Dropout, shapes, dtypes, the tiny examples of Keras' own tests, and the errors a user can cause.
"""

import itertools
from functools import cache

import numpy as np
import pytest
from helpers import FD_TOL, assert_close, numeric_gradient, relative_error

from rnn_core.layers.attention import AdditiveAttention, Attention, AttentionGradients
from rnn_core.messages import UserError

B, TQ, TV, D, DV = 2, 3, 4, 5, 6            # value features DV != D when a key is given
PARITY_TOL = 1e-6
GRAD_TOL = 1e-5

# (class, constructor arguments): every score function Keras has, with and without its scale.
VARIANTS = {
    "dot": (Attention, {}),
    "dot_scaled": (Attention, {"use_scale": True}),
    "concat": (Attention, {"score_mode": "concat"}),
    "concat_scaled": (Attention, {"score_mode": "concat", "use_scale": True}),
    "additive": (AdditiveAttention, {}),
    "additive_unscaled": (AdditiveAttention, {"use_scale": False}),
}
Q_MASK = np.array([[True, False, True], [True, True, False]])
V_MASK = np.array([[True, False, True, True], [True, True, False, True]])   # column 0 kept: no empty causal row
MASKS = {"none": None, "query": [Q_MASK, None], "value": [None, V_MASK], "both": [Q_MASK, V_MASK]}


def make_layer(variant: str, rng, dtype=np.float32, **kwargs):
    """A built layer of ``variant`` with random weights away from their initial values (to catch a swap)."""
    cls, args = VARIANTS[variant]
    layer = cls(**args, **kwargs)
    layer.build((B, TQ, D), (B, TV, D))
    shapes = layer.weight_shapes(D)                           # scalars near 1; AdditiveAttention's w (D,) ~ N(0, 0.7)
    layer.set_weights([np.asarray(rng.uniform(0.5, 1.5) if s == () else rng.normal(0, 0.7, s), dtype)
                       for s in shapes.values()])
    return layer


def make_inputs(rng, with_key: bool, dtype=np.float32):
    q = rng.normal(size=(B, TQ, D))
    if not with_key:
        return [a.astype(dtype) for a in (q, rng.normal(size=(B, TV, D)))]
    return [a.astype(dtype) for a in (q, rng.normal(size=(B, TV, DV)), rng.normal(size=(B, TV, D)))]


# -- Keras: one layer per variant for the whole module, gradients by GradientTape -----------------------------

@cache
def keras_layer(variant: str, dropout: float = 0.0, seed: int | None = None):
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    cls, args = VARIANTS[variant]
    layer = getattr(keras.layers, cls.__name__)(**args, dropout=dropout, seed=seed)
    layer([np.zeros((B, TQ, D), np.float32), np.zeros((B, TV, D), np.float32)])    # build
    return layer


def keras_gradients(k_layer, inputs, mask, causal, return_scores, g_out, g_scores):
    """Keras' result of one call and the gradients of L = <g_out, output> (+ <g_scores, scores>)."""
    import tensorflow as tf

    tensors = [tf.constant(x) for x in inputs]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        result = k_layer(tensors, mask=mask, return_attention_scores=return_scores, use_causal_mask=causal,
                         training=False)
        out, scores = result if return_scores else (result, None)
        loss = tf.reduce_sum(out * g_out) + (tf.reduce_sum(scores * g_scores) if return_scores else 0.0)
    grads = tape.gradient(loss, tensors + list(k_layer.trainable_weights))
    as_np = [None if g is None else np.asarray(g) for g in grads]
    result = tuple(np.asarray(r) for r in result) if isinstance(result, (tuple, list)) else np.asarray(result)
    return result, as_np[:len(inputs)], as_np[len(inputs):]


@pytest.mark.keras
@pytest.mark.parametrize("return_scores", [False, True], ids=["output", "scores"])
@pytest.mark.parametrize("causal", [False, True], ids=["acausal", "causal"])
@pytest.mark.parametrize("mask_name", list(MASKS))
@pytest.mark.parametrize("with_key", [False, True], ids=["no_key", "key"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_parity_with_keras(variant, with_key, mask_name, causal, return_scores, rng):
    layer = make_layer(variant, rng)
    k_layer = keras_layer(variant)
    assert layer.weight_names == [w.name for w in k_layer.weights]
    k_layer.set_weights(layer.get_weights())
    inputs, mask = make_inputs(rng, with_key), MASKS[mask_name]

    mine = layer(inputs, mask=mask, return_attention_scores=return_scores, use_causal_mask=causal)
    g_out = rng.normal(size=(B, TQ, inputs[1].shape[-1])).astype(np.float32)
    g_scores = rng.normal(size=(B, TQ, TV)).astype(np.float32) if return_scores else None
    grads = layer.backward(g_out, g_scores)
    theirs, d_inputs, d_weights = keras_gradients(k_layer, inputs, mask, causal, return_scores, g_out, g_scores)

    assert type(mine) is type(theirs), f"structure: mine {type(mine)} vs Keras {type(theirs)}"
    if return_scores:
        assert_close(mine[0], theirs[0], "output", PARITY_TOL)
        assert_close(mine[1], theirs[1], "scores", PARITY_TOL)
        assert mine[0].dtype == mine[1].dtype == np.float32
    else:
        assert_close(mine, theirs, "output", PARITY_TOL)
    assert_close(grads.query, d_inputs[0], "d query", GRAD_TOL)
    assert_close(grads.value, d_inputs[1], "d value", GRAD_TOL)
    if with_key:
        assert_close(grads.key, d_inputs[2], "d key", GRAD_TOL)
    else:
        assert grads.key is None
    assert len(grads.weights) == len(d_weights) == len(layer.weight_names)
    for name, a, b in zip(layer.weight_names, grads.weights, d_weights, strict=True):
        assert_close(a, b, f"d {name}", GRAD_TOL)


@pytest.mark.keras
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_fresh_weights_like_keras(variant):
    """Names, shapes, order and initial values (Attention: ones; AdditiveAttention: glorot_uniform)."""
    cls, args = VARIANTS[variant]
    layer = cls(**args, seed=3)
    assert not layer.built and layer.get_weights() == []
    layer([np.zeros((B, TQ, D), np.float32), np.zeros((B, TV, D), np.float32)])     # built on the first call
    k_layer = keras_layer(variant)
    assert layer.weight_names == [w.name for w in k_layer.weights]
    for mine, v in zip(layer.get_weights(), k_layer.weights, strict=True):
        assert mine.shape == tuple(v.shape) and mine.dtype == np.float32
    if cls is Attention:
        assert all(np.all(w == 1) for w in layer.get_weights())
    elif layer.weight_names:
        limit = np.sqrt(6 / (2 * D))
        assert np.all(np.abs(layer.scale) <= limit) and np.ptp(layer.scale) > 0


@pytest.mark.keras
@pytest.mark.parametrize("variant", ["dot", "additive"])
def test_keras_returns_the_dropped_weights(variant, rng):
    """In training Keras' scores are softmax * keep / (1 - rate) (after dropout) and the output is scores @ V."""
    rate = 0.5
    layer = make_layer(variant, rng)
    k_layer = keras_layer(variant, dropout=rate, seed=11)
    k_layer.set_weights(layer.get_weights())
    q, v = make_inputs(rng, with_key=False)
    _, a = layer([q, v], return_attention_scores=True)                # inference: no dropout
    out, scores = (np.asarray(t) for t in k_layer([q, v], return_attention_scores=True, training=True))
    kept = scores != 0
    assert 0 < kept.mean() < 1
    assert_close(scores, np.where(kept, a / (1 - rate), 0), "Keras' scores vs mine / (1 - rate)", PARITY_TOL)
    assert_close(out, scores @ v, "Keras' output vs its scores @ value", PARITY_TOL)


# -- finite differences in float64 -----------------------------------------------------------------------------

def check_gradients(layer, inputs, rng, mask=None, causal=False, return_scores=False, training=False):
    """Every analytic gradient of one call against centred differences of the same function."""
    rng_state = layer._rng.bit_generator.state                # replayed: every call draws the same dropout mask

    def run():
        layer._rng.bit_generator.state = rng_state
        return layer(inputs, mask=mask, return_attention_scores=return_scores, use_causal_mask=causal,
                     training=training)

    result = run()
    out, scores = result if return_scores else (result, None)
    g_out = rng.normal(size=out.shape)
    g_scores = rng.normal(size=scores.shape) if return_scores else None
    grads = layer.backward(g_out, g_scores)
    assert isinstance(grads, AttentionGradients)

    def loss():
        r = run()
        return float(np.sum(r[0] * g_out) + np.sum(r[1] * g_scores)) if return_scores else float(np.sum(r * g_out))

    targets = {"query": (grads.query, inputs[0]), "value": (grads.value, inputs[1])}
    if len(inputs) == 3:
        targets["key"] = (grads.key, inputs[2])
    else:
        assert grads.key is None
    for name, analytic, array in zip(layer.weight_names, grads.weights, layer.get_weights(), strict=True):
        targets[name] = (analytic, array)                    # get_weights() holds the layer's own arrays
    for name, (analytic, array) in targets.items():
        assert analytic.shape == array.shape and analytic.dtype == np.float64, name
        err = relative_error(analytic, numeric_gradient(loss, array))
        assert err < FD_TOL, f"{name}: relative error {err:.2e} >= {FD_TOL:g}"
    return grads


@pytest.mark.parametrize("setting", ["plain", "masked_causal_scores"])
@pytest.mark.parametrize("with_key", [False, True], ids=["no_key", "key"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_finite_differences(variant, with_key, setting, rng):
    layer = make_layer(variant, rng, dtype=np.float64)
    inputs = make_inputs(rng, with_key, dtype=np.float64)
    if setting == "plain":
        check_gradients(layer, inputs, rng)
    else:
        check_gradients(layer, inputs, rng, mask=MASKS["both"], causal=True, return_scores=True)


@pytest.mark.parametrize("variant", ["dot", "concat_scaled", "additive"])
def test_finite_differences_with_dropout(variant, rng):
    """The backward multiplies by the very mask the forward drew."""
    layer = make_layer(variant, rng, dtype=np.float64, dropout=0.4, seed=5)
    grads = check_gradients(layer, make_inputs(rng, True, np.float64), rng, mask=MASKS["value"],
                            return_scores=True, training=True)
    assert layer.last_dropout_mask is not None and np.any(layer.last_dropout_mask == 0)
    assert grads.value.shape == (B, TV, DV)


# -- dropout -------------------------------------------------------------------------------------------------

def test_dropout_fraction_and_scaling(rng):
    rate, shape = 0.25, (4, 64, 64)
    layer = Attention(dropout=rate, seed=0)
    q, v = rng.normal(size=(4, 64, D)).astype(np.float32), rng.normal(size=(4, 64, D)).astype(np.float32)
    _, a = layer([q, v], return_attention_scores=True, training=False)
    assert layer.last_dropout_mask is None
    out, dropped = layer([q, v], return_attention_scores=True, training=True)
    keep = layer.last_dropout_mask != 0
    assert layer.last_dropout_mask.shape == shape
    assert abs((~keep).mean() - rate) < 0.015                 # 16384 draws: 4.4 standard deviations
    np.testing.assert_allclose(dropped, np.where(keep, a / (1 - rate), 0), rtol=1e-6)
    np.testing.assert_allclose(out, dropped @ v, rtol=1e-5, atol=1e-6)
    out, dropped = layer([q, v, v.copy()], return_attention_scores=True, training=True)   # a key: dV = A^T dO only
    d_out = rng.normal(size=out.shape).astype(np.float32)
    np.testing.assert_allclose(layer.backward(d_out).value, dropped.swapaxes(1, 2) @ d_out, rtol=1e-5, atol=1e-6)


def test_dropout_is_seeded_and_off_in_inference(rng):
    q, v = make_inputs(rng, with_key=False)
    a, b = Attention(dropout=0.5, seed=7), Attention(dropout=0.5, seed=7)
    np.testing.assert_array_equal(a([q, v], training=True), b([q, v], training=True))
    np.testing.assert_array_equal(a([q, v]), Attention()([q, v]))


# -- tiny cases from Keras' own tests, dtypes ------------------------------------------------------------------

def test_keras_documented_numbers():
    q = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    k = np.array([[[0.0, 1.0], [1.0, 0.0]]])
    v = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    out, scores = Attention()([q, v, k], return_attention_scores=True)
    np.testing.assert_allclose(out, [[[2.462, 3.462], [1.538, 2.538]]], atol=1e-3)
    np.testing.assert_allclose(scores, [[[0.269, 0.731], [0.731, 0.269]]], atol=1e-3)
    for layer in (Attention(score_mode="concat"), AdditiveAttention(use_scale=False)):
        out, scores = layer([q, v, k], return_attention_scores=True)
        np.testing.assert_allclose(out, [[[1.727, 2.727], [2.272, 3.272]]], atol=1e-3)
        np.testing.assert_allclose(scores, [[[0.636, 0.363], [0.363, 0.636]]], atol=1e-3)
    ones = np.ones((1, 2, 2))
    out, scores = Attention()([q, ones], mask=[np.array([[True, False]])] * 2, return_attention_scores=True)
    np.testing.assert_allclose(out, [[[1.0, 1.0], [0.0, 0.0]]])
    np.testing.assert_allclose(scores, [[[1.0, 0.0], [1.0, 0.0]]])


def test_causal_mask_is_lower_triangular(rng):
    q, v = make_inputs(rng, with_key=False)
    _, scores = Attention()([q, v], use_causal_mask=True, return_attention_scores=True)
    rows, cols = np.triu_indices(TQ, 1, TV)                  # j > i: the future
    assert np.all(scores[:, rows, cols] == 0) and np.allclose(scores.sum(-1), 1.0)
    np.testing.assert_allclose(scores[:, 0, 0], 1.0)


@pytest.mark.parametrize("dtype, expected", [(np.float32, np.float32), (np.int64, np.float32),
                                             (np.float64, np.float64)])
def test_dtypes(dtype, expected, rng):
    layer = make_layer("concat_scaled", rng)
    q, v = (rng.normal(size=(B, TQ, D)) * 2).astype(dtype), (rng.normal(size=(B, TV, D)) * 2).astype(dtype)
    out = layer([q, v])
    grads = layer.backward(np.ones_like(out))
    assert out.dtype == expected and grads.query.dtype == expected
    assert all(w.dtype == expected for w in grads.weights)


def test_weights_round_trip_and_checks(rng):
    layer = make_layer("concat_scaled", rng)
    weights = [w * 2 for w in layer.get_weights()]
    layer.set_weights(weights)
    assert all(np.array_equal(a, b) for a, b in zip(layer.get_weights(), weights, strict=True))
    with pytest.raises(ValueError, match="Expected 2 arrays"):
        layer.set_weights(weights[:1])
    with pytest.raises(ValueError, match="scale must be a float array of shape"):
        layer.set_weights([np.ones(3), weights[1]])
    additive = make_layer("additive", rng)
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        additive.set_weights([np.ones(4)])
    with pytest.raises(ValueError, match="Build the layer"):
        Attention().set_weights([])
    with pytest.raises(ValueError, match="backward"):
        Attention().backward(np.ones((B, TQ, D)))


# -- errors a user can cause ----------------------------------------------------------------------------------

q3, v3 = np.ones((B, TQ, D)), np.ones((B, TV, D))
BAD_CALLS = {
    "not a list": (lambda layer: layer(q3), "must be called on a list"),
    "one input": (lambda layer: layer([q3]), "got a list of 1"),
    "2-D query": (lambda layer: layer([q3[:, 0], v3]), r"query must be 3-D .* \(2, 5\)"),
    "4-D key": (lambda layer: layer([q3, v3, v3[None]]), "key must be 3-D"),
    "batch": (lambda layer: layer([q3, v3[:1]]), "the same B, Tv and D"),
    "features": (lambda layer: layer([q3, np.ones((B, TV, D + 1))]), "the same B, Tv and D"),
    "key steps": (lambda layer: layer([q3, v3, np.ones((B, TV + 1, D))]), "the same B, Tv and D"),
    "mask not a list": (lambda layer: layer([q3, v3], mask=Q_MASK), "mask=\\[query_mask, value_mask\\]"),
    "query mask": (lambda layer: layer([q3, v3], mask=[V_MASK, None]), r"query_mask must have shape \(2, 3\)"),
    "value mask": (lambda layer: layer([q3, v3], mask=[None, V_MASK[:, :2]]), "value_mask must have shape"),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
@pytest.mark.parametrize("cls", [Attention, AdditiveAttention])
def test_bad_input_is_a_user_error(cls, case):
    call, match = BAD_CALLS[case]
    with pytest.raises(UserError, match=match) as err:
        call(cls())
    assert isinstance(err.value, ValueError)
    assert "{layer}" in err.value.message.template and cls().name in str(err.value)   # a template, translatable


def test_additive_attention_keeps_its_query_width():
    layer = AdditiveAttention()
    layer([q3, v3])
    with pytest.raises(UserError, match="built for 5 query features; got 4"):
        layer([np.ones((B, TQ, 4)), np.ones((B, TV, 4))])
    scalar = Attention(use_scale=True)                   # scalar weights: any width, as Keras
    scalar([q3, v3])
    assert scalar([np.ones((B, TQ, 4)), np.ones((B, TV, 4))]).shape == (B, TQ, 4)


@pytest.mark.parametrize("kwargs, match", [({"score_mode": "add"}, "score_mode"), ({"dropout": 1.5}, "dropout"),
                                           ({"use_scale": "yes"}, "use_scale")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Attention(**kwargs)


def test_every_combination_runs_without_keras(rng):
    """Shapes of every call option, so the NumPy path is covered where TensorFlow is not installed."""
    for variant, with_key, mask_name, causal in itertools.product(VARIANTS, [False, True], MASKS, [False, True]):
        layer = make_layer(variant, rng)
        inputs = make_inputs(rng, with_key)
        out, scores = layer(inputs, mask=MASKS[mask_name], use_causal_mask=causal, return_attention_scores=True)
        assert out.shape == (B, TQ, inputs[1].shape[-1]) and scores.shape == (B, TQ, TV)
        np.testing.assert_allclose(scores.sum(-1), 1.0, rtol=1e-6)
