"""rnn_core.training.optimizers: the same gradients fed to Keras' optimizers and to ours, and hand-computed steps."""

import math

import numpy as np
import pytest
from helpers import assert_close

from rnn_core.training import optimizers
from rnn_core.training.optimizers import SGD, Adam, RMSprop

SHAPES = [(5, 4), (4, 4), (4,)]
STEPS = 20

CASES = {
    "sgd": (SGD, {"learning_rate": 0.1}),
    "sgd momentum": (SGD, {"learning_rate": 0.05, "momentum": 0.9}),
    "sgd nesterov": (SGD, {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    "adam": (Adam, {"learning_rate": 0.01}),
    "adam amsgrad": (Adam, {"learning_rate": 0.01, "amsgrad": True}),
    "adam betas eps": (Adam, {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-3}),
    "rmsprop": (RMSprop, {"learning_rate": 0.01}),
    "rmsprop momentum": (RMSprop, {"learning_rate": 0.01, "momentum": 0.5}),
    "rmsprop centered": (RMSprop, {"learning_rate": 0.01, "centered": True}),
    "rmsprop centered momentum rho": (RMSprop, {"learning_rate": 0.01, "centered": True, "momentum": 0.3,
                                                "rho": 0.8}),
    "sgd clipnorm": (SGD, {"learning_rate": 0.1, "clipnorm": 1.0}),
    "adam clipnorm": (Adam, {"learning_rate": 0.01, "clipnorm": 1.0}),
    "adam global_clipnorm": (Adam, {"learning_rate": 0.01, "global_clipnorm": 2.0}),
    "rmsprop clipvalue": (RMSprop, {"learning_rate": 0.01, "clipvalue": 0.3}),
}


def _gradient_sequence(rng, steps=STEPS):
    """Per step, one gradient per weight; scales vary so every clipping kind both clips and passes."""
    return [[rng.normal(0, scale, s).astype(np.float32) for s in SHAPES]
            for scale in rng.choice([0.05, 0.3, 2.0], size=steps)]


@pytest.mark.keras
@pytest.mark.parametrize("case", list(CASES))
def test_twenty_steps_follow_keras(case, rng):
    import keras

    cls, kwargs = CASES[case]
    start = [rng.normal(0, 1, s).astype(np.float32) for s in SHAPES]
    steps = _gradient_sequence(rng)
    theirs_vars = [keras.Variable(w.copy()) for w in start]
    theirs = getattr(keras.optimizers, cls.__name__)(**kwargs)
    mine_weights = [w.copy() for w in start]
    mine = cls(**kwargs)
    for grads in steps:
        theirs.apply([keras.ops.convert_to_tensor(g) for g in grads], theirs_vars)
        mine.apply(grads, mine_weights)
    assert mine.iterations == int(theirs.iterations) == STEPS
    moved = max(float(np.abs(w - s).max()) for w, s in zip(mine_weights, start, strict=True))
    assert moved > 1e-2, "the weights hardly moved: the comparison would be empty"
    for i, (w, v) in enumerate(zip(mine_weights, theirs_vars, strict=True)):
        assert w.dtype == np.float32
        # float32 rounding of pow/sqrt may differ by an ulp per step; 20 steps stay well inside 1e-5 x scale.
        assert_close(w, np.asarray(v), f"{case}: weight {i} after {STEPS} steps")


def test_weights_are_updated_in_place():
    w = np.ones(3, np.float32)
    ref = w
    SGD(learning_rate=0.5).apply([np.ones(3, np.float32)], [w])
    assert ref is w
    np.testing.assert_array_equal(w, 0.5)


# -- float64, one or two steps by hand ---------------------------------------------


def test_sgd_by_hand():
    w, g = np.array([1.0, -2.0]), np.array([0.5, 4.0])
    SGD(learning_rate=0.1).apply([g], [w])
    np.testing.assert_allclose(w, [1.0 - 0.05, -2.0 - 0.4], rtol=1e-15)

    w = np.array([1.0, -2.0])
    opt = SGD(learning_rate=0.1, momentum=0.9)
    opt.apply([g], [w])                          # m1 = -0.1 g ; w += m1
    opt.apply([g], [w])                          # m2 = 0.9 m1 - 0.1 g = -0.19 g ; w += m2
    np.testing.assert_allclose(w, np.array([1.0, -2.0]) - 0.29 * g, rtol=1e-14)

    w = np.array([1.0, -2.0])
    opt = SGD(learning_rate=0.1, momentum=0.9, nesterov=True)
    opt.apply([g], [w])                          # m1 = -0.1 g ; w += 0.9 m1 - 0.1 g = -0.19 g
    opt.apply([g], [w])                          # m2 = -0.19 g ; w += 0.9 m2 - 0.1 g = -0.271 g
    np.testing.assert_allclose(w, np.array([1.0, -2.0]) - 0.461 * g, rtol=1e-14)


def test_adam_by_hand():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    g1, g2 = np.array([0.5, -3.0]), np.array([-1.0, 2.0])
    w = np.array([1.0, 1.0])
    opt = Adam(learning_rate=lr)
    opt.apply([g1], [w])
    # step 1: m = 0.1 g, v = 0.001 g^2, alpha = lr sqrt(1 - b2) / (1 - b1)
    m, v = (1 - b1) * g1, (1 - b2) * g1 ** 2
    expected = 1.0 - m * (lr * math.sqrt(1 - b2) / (1 - b1)) / (np.sqrt(v) + eps)
    np.testing.assert_allclose(w, expected, rtol=1e-14)
    np.testing.assert_allclose(w, 1.0 - lr * np.sign(g1), rtol=1e-6)      # Adam's first step is ~lr sign(g)
    opt.apply([g2], [w])
    m, v = b1 * m + (1 - b1) * g2, b2 * v + (1 - b2) * g2 ** 2
    expected = expected - m * (lr * math.sqrt(1 - b2 ** 2) / (1 - b1 ** 2)) / (np.sqrt(v) + eps)
    np.testing.assert_allclose(w, expected, rtol=1e-14)


def test_adam_amsgrad_keeps_the_largest_velocity():
    b2 = 0.999
    big, small = np.array([10.0]), np.array([0.1])
    w = np.array([0.0])
    opt = Adam(learning_rate=0.01, amsgrad=True)
    opt.apply([big], [w])
    before = w.copy()
    opt.apply([small], [w])
    m = 0.9 * 0.1 * big + 0.1 * small
    v_hat = (1 - b2) * big ** 2                          # v after step 2 is smaller; v_hat keeps step 1's
    assert (b2 * v_hat + (1 - b2) * small ** 2) < v_hat
    v_hat = np.maximum(v_hat, b2 * v_hat + (1 - b2) * small ** 2)
    step = m * (0.01 * math.sqrt(1 - b2 ** 2) / (1 - 0.9 ** 2)) / (np.sqrt(v_hat) + 1e-7)
    np.testing.assert_allclose(w, before - step, rtol=1e-14)


def test_rmsprop_by_hand():
    lr, rho, eps = 0.01, 0.9, 1e-7
    g = np.array([0.5, -3.0])
    w = np.array([1.0, 1.0])
    RMSprop(learning_rate=lr).apply([g], [w])
    np.testing.assert_allclose(w, 1.0 - lr * g / np.sqrt((1 - rho) * g ** 2 + eps), rtol=1e-14)

    w = np.array([1.0, 1.0])
    opt = RMSprop(learning_rate=lr, centered=True, momentum=0.5)
    opt.apply([g], [w])
    v, a = (1 - rho) * g ** 2, (1 - rho) * g
    p1 = lr * g / np.sqrt(v - a ** 2 + eps)                     # p = 0.5 * 0 + step
    np.testing.assert_allclose(w, 1.0 - p1, rtol=1e-14)
    opt.apply([g], [w])
    v, a = rho * v + (1 - rho) * g ** 2, rho * a + (1 - rho) * g
    p2 = 0.5 * p1 + lr * g / np.sqrt(v - a ** 2 + eps)
    np.testing.assert_allclose(w, 1.0 - p1 - p2, rtol=1e-14)


def test_clipping_before_the_update():
    g = [np.array([3.0, 4.0]), np.array([0.0, 12.0])]            # norms 5 and 12, global 13
    w = [np.zeros(2), np.zeros(2)]
    SGD(learning_rate=1.0, clipnorm=1.0).apply(g, w)
    np.testing.assert_allclose(w[0], [-0.6, -0.8], rtol=1e-15)
    np.testing.assert_allclose(w[1], [0.0, -1.0], rtol=1e-15)
    w = [np.zeros(2), np.zeros(2)]
    SGD(learning_rate=1.0, global_clipnorm=1.3).apply(g, w)
    np.testing.assert_allclose(np.concatenate(w), -np.concatenate(g) / 10, rtol=1e-14)
    w = [np.zeros(2), np.zeros(2)]
    SGD(learning_rate=1.0, clipvalue=3.5).apply(g, w)
    np.testing.assert_allclose(np.concatenate(w), [-3.0, -3.5, 0.0, -3.5], rtol=1e-15)
    opt = Adam(clipnorm=1.0)
    assert opt.clip(g)[0] is not g[0]
    np.testing.assert_allclose(opt.clip(g)[1], [0.0, 1.0])


@pytest.mark.parametrize("make, message", [
    (lambda: SGD(learning_rate=0), "learning_rate"),
    (lambda: SGD(learning_rate=float("nan")), "learning_rate"),
    (lambda: SGD(momentum=1.5), "momentum"),
    (lambda: Adam(beta_1=1.0), "beta_1"),
    (lambda: Adam(epsilon=-1), "epsilon"),
    (lambda: RMSprop(rho=-0.1), "rho"),
    (lambda: Adam(clipnorm=1.0, clipvalue=1.0), "Only one of"),
    (lambda: SGD(clipnorm=0), "clipnorm"),
    (lambda: optimizers.get("adagrad"), "optimizer must be one of"),
])
def test_bad_arguments_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_apply_calls_are_named():
    opt = Adam()
    w = [np.zeros((2, 3), np.float32)]
    with pytest.raises(ValueError, match="1 gradients for 2 weights"):
        opt.apply([np.zeros((2, 3))], w + w)
    with pytest.raises(ValueError, match="shape"):
        opt.apply([np.zeros((3, 2))], w)
    with pytest.raises(ValueError, match="writeable float"):
        opt.apply([np.zeros(3)], [np.zeros(3, int)])
    opt.apply([np.zeros((2, 3))], w)
    with pytest.raises(ValueError, match="built for 1 weights"):
        opt.apply([np.zeros((2, 3))] * 2, w + w)
    with pytest.raises(ValueError, match="another shape"):
        opt.apply([np.zeros((3, 3))], [np.zeros((3, 3), np.float32)])


def test_get_by_name_and_reset():
    opt = optimizers.get("RMSprop", learning_rate=0.1, momentum=0.2)
    assert isinstance(opt, RMSprop) and opt.get_config()["momentum"] == 0.2
    w = [np.ones(2)]
    opt.apply([np.ones(2)], w)
    assert opt.iterations == 1 and opt.slots is not None
    opt.reset()
    assert opt.iterations == 0 and opt.slots is None
