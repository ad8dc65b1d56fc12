"""Training in NumPy follows Keras step for step: train_step vs train_on_batch, fit vs fit.

Same initial weights, same batches. After 24 steps the batch losses agree within
1e-4 relative and every weight within 1e-3 relative (max |mine - theirs| <=
1e-3 x max |theirs|). Measured: about 1e-6 for both; float32 rounding differs
in the order of sums, so the runs drift apart slowly rather than not at all.
"""

import numpy as np
import pytest

from rnn_core.training.model import RNNClassifier
from rnn_core.training.optimizers import SGD, Adam, RMSprop
from rnn_core.training.trainer import fit, train_step

pytestmark = pytest.mark.keras

B, T, D, H, C = 8, 12, 5, 16, 7
STEPS = 24
LOSS_RTOL = 1e-4
WEIGHT_RTOL = 1e-3

OPTIMIZERS = {
    "sgd nesterov": (SGD, {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    "adam": (Adam, {"learning_rate": 0.01}),
    "rmsprop": (RMSprop, {"learning_rate": 0.005}),
    "adam clipnorm": (Adam, {"learning_rate": 0.01, "clipnorm": 0.1}),
}
KERAS_LAYERS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
CELLS = list(KERAS_LAYERS)

_models: dict = {}


def keras_model(cell: str, many_to_many: bool):
    """The Keras twin, built once per module for each (cell, many_to_many); weights are set by each test."""
    key = (cell, many_to_many)
    if key not in _models:
        if cell == "simple_rnn":
            from rnn_core import keras_bridge as kb

            _models[key] = kb.build_tutorial_model(H, C, many_to_many, input_shape=(B, T, D))
        else:
            import keras

            head = keras.layers.Dense(C, activation="softmax")
            _models[key] = keras.Sequential([
                keras.Input((T, D)),
                getattr(keras.layers, KERAS_LAYERS[cell])(H, return_sequences=many_to_many),
                keras.layers.TimeDistributed(head) if many_to_many else head,
            ])
    return _models[key]


def _batches(rng, many_to_many, n=STEPS):
    xs = rng.normal(size=(n, B, T, D)).astype(np.float32)
    ys = rng.integers(0, C, size=(n, B, T) if many_to_many else (n, B))
    return xs, ys


def _rel(mine, theirs) -> float:
    """max |mine - theirs| / max |theirs| (theirs is never all zeros here: trained weights)."""
    scale = float(np.abs(theirs).max())
    assert scale > 0
    return float(np.abs(mine - theirs).max()) / scale


@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
@pytest.mark.parametrize("many_to_many", [True, False], ids=["many_to_many", "many_to_one"])
@pytest.mark.parametrize("cell", CELLS)
def test_train_step_follows_train_on_batch(cell, many_to_many, opt_name, rng):
    import keras

    cls, kwargs = OPTIMIZERS[opt_name]
    model = RNNClassifier(H, C, many_to_many=many_to_many, cell=cell, seed=0)
    model.build((B, T, D))
    start = [w.copy() for w in model.get_weights()]
    theirs = keras_model(cell, many_to_many)
    theirs.set_weights(start)
    theirs.compile(optimizer=getattr(keras.optimizers, cls.__name__)(**kwargs),
                   loss="sparse_categorical_crossentropy")
    optimizer = cls(**kwargs)
    for step, (x, y) in enumerate(zip(*_batches(rng, many_to_many), strict=True)):
        mine = train_step(model, optimizer, x, y)
        reference = float(theirs.train_on_batch(x, y))
        assert abs(mine - reference) <= LOSS_RTOL * abs(reference), f"step {step}: loss {mine} vs Keras {reference}"
    names = ["rnn kernel", "rnn recurrent_kernel", "rnn bias", "dense kernel", "dense bias"]
    moved = min(_rel(s, w) for w, s in zip(model.get_weights(), start, strict=True))
    assert moved > 10 * WEIGHT_RTOL, f"a weight moved only {moved:.2g}: the comparison would be empty"
    for name, w, k in zip(names, model.get_weights(), theirs.get_weights(), strict=True):
        assert _rel(w, k) <= WEIGHT_RTOL, f"{name} after {STEPS} steps: {_rel(w, k):.2g} relative"


def test_clipnorm_case_really_clips(rng):
    """The 'adam clipnorm' case above would prove nothing if no gradient were longer than 0.1."""
    model = RNNClassifier(H, C, seed=0)
    model.build((B, T, D))
    x, y = (a[0] for a in _batches(rng, True, 1))
    model.loss(x, y)
    norms = [float(np.linalg.norm(g)) for g in model.backward().weights()]
    assert max(norms) > 3 * OPTIMIZERS["adam clipnorm"][1]["clipnorm"], norms


@pytest.mark.parametrize("many_to_many", [True, False], ids=["many_to_many", "many_to_one"])
def test_fit_history_matches_keras_fit(many_to_many, rng):
    import keras

    n = 20                                                     # batches of 8, 8 and 4: a partial last batch
    x = rng.normal(size=(n, T, D)).astype(np.float32)
    y = rng.integers(0, C, size=(n, T) if many_to_many else (n,))
    model = RNNClassifier(H, C, many_to_many=many_to_many, seed=0)
    model.build((B, T, D))
    theirs = keras_model("simple_rnn", many_to_many)
    theirs.set_weights(model.get_weights())
    theirs.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                   metrics=["accuracy"])
    reference = theirs.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0).history
    history = fit(model, x, y, optimizer=Adam(0.01), loss="sparse_categorical_crossentropy", epochs=4,
                  batch_size=8)
    assert history.steps == 12
    np.testing.assert_allclose(history.loss, reference["loss"], rtol=LOSS_RTOL)
    # accuracy counts argmax hits; a float32 near-tie could flip one prediction (1/n of the batch) at most
    np.testing.assert_allclose(history.accuracy, reference["accuracy"], atol=1.5 / y.size)
    assert history.loss[-1] < history.loss[0]
    for w, k in zip(model.get_weights(), theirs.get_weights(), strict=True):
        assert _rel(w, k) <= WEIGHT_RTOL
