"""Gradient clipping helpers: their definitions, and the same numbers as Keras optimizers."""

import numpy as np
import pytest
from helpers import assert_close

from rnn_core.training.clipping import clip_by_global_norm, clip_by_norm, clip_gradients, global_norm, l2_norm


def grads(rng):
    return [rng.normal(size=(4, 3)).astype(np.float32) * 5, rng.normal(size=(3,)).astype(np.float32)]


def test_clipnorm_caps_each_norm_and_keeps_direction(rng):
    g = grads(rng)
    out = clip_by_norm(g, 1.0)
    for before, after in zip(g, out, strict=True):
        assert l2_norm(after) <= 1.0 + 1e-6
        cos = np.sum(before * after) / (l2_norm(before) * l2_norm(after))
        assert cos == pytest.approx(1.0, abs=1e-6)
    small = [np.full(3, 0.1, np.float32)]
    np.testing.assert_array_equal(clip_by_norm(small, 1.0)[0], small[0])


def test_global_clipnorm_scales_all_together(rng):
    g = grads(rng)
    out = clip_by_global_norm(g, 2.0)
    assert global_norm(out) == pytest.approx(2.0, rel=1e-6)
    ratios = [l2_norm(a) / l2_norm(b) for a, b in zip(out, g, strict=True)]
    assert ratios[0] == pytest.approx(ratios[1], rel=1e-6)
    assert np.isnan(clip_by_global_norm([np.array([np.inf, 1.0])], 1.0)[0]).all()


def test_only_one_option(rng):
    with pytest.raises(ValueError, match="Only one"):
        clip_gradients(grads(rng), clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(ValueError, match="positive"):
        clip_gradients(grads(rng), clipvalue=-1.0)


@pytest.mark.keras
@pytest.mark.parametrize("option", [{"clipnorm": 1.0}, {"global_clipnorm": 2.0}, {"clipvalue": 0.5}])
def test_same_as_keras_optimizer(option, rng):
    from rnn_core.keras_bridge import _tf

    tf, keras = _tf()
    g = grads(rng)
    theirs = keras.optimizers.SGD(**option)._clip_gradients([tf.constant(a) for a in g])
    for i, (a, b) in enumerate(zip(clip_gradients(g, **option), theirs, strict=True)):
        assert_close(a, np.asarray(b), f"gradient {i} with {option}", tol=1e-6)
