"""The tutorial's RNNLayer (SimpleRNN + TimeDistributed(Dense softmax)): NumPy twin vs Keras."""

import numpy as np
import pytest
from helpers import assert_close

from rnn_core.layers.dense import Dense, time_distributed
from rnn_core.training.model import RNNClassifier

B, T, D, H, C = 2, 6, 5, 8, 7


def test_timedistributed_equals_dense_on_3d_numpy(rng):
    dense = Dense(C, activation="softmax", seed=0)
    h = rng.normal(size=(B, T, H)).astype(np.float32)
    per_step = time_distributed(dense, h)
    whole = dense(h)
    assert whole.shape == (B, T, C)
    np.testing.assert_allclose(per_step, whole, rtol=0, atol=1e-7)


def test_default_model_is_the_tutorials():
    model = RNNClassifier()
    model.build((1, 10, 13))
    assert model.rnn.units == 128 and model.rnn.activation.name == "tanh" and model.rnn.return_sequences
    assert model.fc.units == 39 and model.fc.activation_name == "softmax"
    probs = model(np.zeros((1, 10, 13), np.float32))
    assert probs.shape == (1, 10, 39)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-6)


@pytest.mark.keras
def test_timedistributed_equals_dense_on_3d_keras(rng):
    from rnn_core import keras_bridge as kb

    h = rng.normal(size=(B, T, H)).astype(np.float32)
    kernel, bias = rng.normal(size=(H, C)).astype(np.float32), rng.normal(size=C).astype(np.float32)
    td, dense = kb.timedistributed_vs_dense(h, kernel, bias)
    assert td.shape == dense.shape == (B, T, C)
    assert_close(td, dense, "TimeDistributed(Dense) vs Dense", tol=1e-6)
    numpy_dense = Dense(C, activation="softmax")
    numpy_dense.set_weights([kernel, bias])
    assert_close(numpy_dense(h), dense, "NumPy Dense vs Keras Dense")


@pytest.mark.keras
@pytest.mark.parametrize("many_to_many", [True, False])
def test_model_parity_with_keras(many_to_many, rng):
    from rnn_core import keras_bridge as kb

    model = RNNClassifier(num_hidden=H, num_class=C, many_to_many=many_to_many, seed=0)
    model.build((B, T, D))
    x = rng.normal(size=(B, T, D)).astype(np.float32)
    y = rng.integers(0, C, size=(B, T) if many_to_many else (B,))
    keras_model = kb.build_tutorial_model(H, C, many_to_many, input_shape=x.shape, weights=model.get_weights())
    loss, probs = model.loss(x, y)
    grads = model.backward()
    theirs = kb.model_gradients(keras_model, x, y)
    assert_close(probs, theirs["probs"], "probabilities")
    assert abs(loss - theirs["loss"]) <= 1e-5 * max(1.0, abs(theirs["loss"])), (loss, theirs["loss"])
    names = ["rnn kernel", "rnn recurrent_kernel", "rnn bias", "dense kernel", "dense bias"]
    for name, a, b in zip(names, grads.weights(), theirs["weights"], strict=True):
        assert_close(a, b, f"d {name}")
    assert_close(grads.rnn.inputs, theirs["inputs"], "d inputs")


@pytest.mark.keras
@pytest.mark.parametrize("many_to_many", [True, False])
def test_compiled_model_gradients_match_the_eager_model_for_any_length(many_to_many, rng):
    """From COMPILE_MIN_STEPS steps model_gradients is one tf.function for every batch and length (its head is
    the Dense inside TimeDistributed, on 3-D): the numbers of an eager GradientTape on the real model, with
    its TimeDistributed, at float32 tolerance; one trace for two lengths and two batch sizes."""
    from rnn_core import keras_bridge as kb

    tf, keras = kb._tf()
    steps = kb.COMPILE_MIN_STEPS + 8
    model = kb.build_tutorial_model(H, C, many_to_many, input_shape=(B, steps, D))
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    for b, t in ((B, steps), (B + 1, steps + 25)):
        x = rng.normal(size=(b, t, D)).astype(np.float32)
        y = rng.integers(0, C, size=(b, t) if many_to_many else (b,))
        theirs = kb.model_gradients(model, x, y)
        x_t = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x_t)
            probs = model(x_t)                                   # eager: TimeDistributed's own per-step loop
            loss = loss_fn(y, probs)
        grads = tape.gradient(loss, model.trainable_variables + [x_t])
        assert_close(probs.numpy(), theirs["probs"], f"probabilities at B={b}, T={t}")
        assert abs(float(loss) - theirs["loss"]) <= 1e-5 * max(1.0, abs(float(loss)))
        for i, (a, g) in enumerate(zip(theirs["weights"], grads[:-1], strict=True)):
            assert_close(a, g.numpy(), f"d weight {i} at B={b}, T={t}")
        assert_close(theirs["inputs"], grads[-1].numpy(), "d inputs")
    fn = next(v for k, v in model.__dict__.items() if k.startswith(kb._COMPILED_ATTR))
    assert fn.experimental_get_tracing_count() == 1


@pytest.mark.keras
def test_compiled_model_call_matches_the_eager_model(rng):
    """run_model compiles from COMPILE_FORWARD_MIN_STEPS steps (head as Dense on 3-D): the eager model's numbers."""
    from rnn_core import keras_bridge as kb

    T_long = kb.COMPILE_FORWARD_MIN_STEPS
    model = kb.build_tutorial_model(H, C, True, input_shape=(1, T_long, D))
    x = rng.normal(size=(1, T_long, D)).astype(np.float32)
    assert_close(kb.run_model(model, x), np.asarray(model(x)), "compiled vs eager model call")
