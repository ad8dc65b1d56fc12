"""The NumPy encoder-decoder (rnn_core.training.seq2seq) against finite differences and its Keras twin.

* Finite differences (float64): the loss's gradient for every weight of the whole model, and for both inputs,
  for each cell x attention kind and with a Bidirectional encoder; relative error (max-norm) < FD_TOL = 1e-6.
* Keras (float32, the twin of rnn_core.keras_bridge with the same weights): probabilities and GradientTape
  gradients to F32_TOL = 1e-5 (relative to max(1, max |Keras|)); then train_step vs train_on_batch for STEPS
  steps with the tolerances of test_training_parity.py (every loss within 1e-4 relative, every weight within
  1e-3 relative after the last step); greedy decoding gives the same tokens and attention weights.
  Measured: losses ~1e-7 apart, weights ~1e-6, probabilities and gradients ~5e-8.
* Greedy decoding equals the teacher-forced run fed its own predictions; the explained step, the attention
  weights and the input-gradient norms are the numbers of the forward and backward passes.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import F32_TOL, FD_TOL, assert_close, numeric_gradient, relative_error

from rnn_core.messages import UserError
from rnn_core.training.optimizers import SGD, Adam, RMSprop
from rnn_core.training.seq2seq import (
    Seq2Seq,
    fit,
    input_gradient_norms,
    sequence_accuracy,
    sequence_hits,
    train_step,
)
from rnn_core.training.seq2seq_tasks import END, START, reverse

ROOT = Path(__file__).resolve().parents[1]
B, TS, TT, VI, VO, H = 3, 5, 4, 7, 6, 4
CELLS = ["simple_rnn", "lstm", "gru"]
ATTENTION = [None, "dot", "additive"]
# every cell x attention kind, and a Bidirectional encoder with each attention kind (a different cell each)
CONFIGS = [(c, a, False) for c in CELLS for a in ATTENTION] + [("lstm", "dot", True), ("gru", "additive", True),
                                                                 ("simple_rnn", None, True)]
IDS = [f"{c}-{a}{'-bi' if b else ''}" for c, a, b in CONFIGS]
STEPS = 6
LOSS_RTOL = 1e-4
WEIGHT_RTOL = 1e-3
CLIPNORM = 0.04            # the gradients of this small model have norms of 0.03 to 0.2


def problem(rng, cell="lstm", attention="dot", bidirectional=False, dtype=np.float32, scale=0.5,
            sizes=(B, TS, TT, H)):
    """A model with random weights (away from the initial ones) and a random batch (x, y_in, y_out)."""
    b, ts, tt, units = sizes
    model = Seq2Seq(VI, VO, units, cell=cell, attention=attention, bidirectional=bidirectional, seed=0)
    model.set_weights([rng.normal(0, scale, w.shape).astype(dtype) for w in model.get_weights()])
    x = np.eye(VI, dtype=dtype)[rng.integers(0, VI, (b, ts))]
    y_out = rng.integers(0, VO, (b, tt))
    y_in = np.eye(VO, dtype=dtype)[np.concatenate([np.full((b, 1), START), y_out[:, :-1]], axis=1)]
    return model, x, y_in, y_out


# -- finite differences ------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell,attention,bidirectional", CONFIGS, ids=IDS)
def test_every_gradient_matches_finite_differences(cell, attention, bidirectional, rng):
    model, x, y_in, y_out = problem(rng, cell, attention, bidirectional, dtype=np.float64, sizes=(2, 4, 3, 3))

    def loss():
        return model.loss(model.forward(x, y_in), y_out)

    loss()
    grads = model.backward()
    analytic = grads.weights() + [grads.inputs, grads.decoder_inputs]
    arrays = model.get_weights() + [x, y_in]
    assert len(analytic) == len(arrays) == len(model.get_weights()) + 2
    for i, (g, a) in enumerate(zip(analytic, arrays, strict=True)):
        numeric = numeric_gradient(loss, a)
        assert np.abs(numeric).max() > 1e-8, f"array {i}: no gradient at all, the check would be empty"
        err = relative_error(g, numeric)
        assert err < FD_TOL, f"array {i} of {len(arrays)} ({a.shape}): relative error {err:.2g}"


# -- NumPy-only behaviour -------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell,attention,bidirectional", [("lstm", "dot", False), ("gru", "additive", False),
                                                          ("simple_rnn", None, False), ("lstm", "additive", True)])
def test_greedy_decoding_equals_teacher_forcing_on_its_own_predictions(cell, attention, bidirectional, rng):
    """Step by step (T=1 calls with the carried states) = the whole sequence when fed the same tokens."""
    model, x, _, _ = problem(rng, cell, attention, bidirectional, dtype=np.float64, scale=1.0)
    tokens, weights = model.predict_greedy(x, max_len=TT)
    probs_step, weights_step = model.last_greedy_probs, weights
    assert tokens.shape == (B, TT) and probs_step.shape == (B, TT, VO)
    assert (tokens == probs_step.argmax(-1)).all()
    fed = np.eye(VO)[np.concatenate([np.full((B, 1), START), tokens[:, :-1]], axis=1)]
    probs = model.forward(x, fed)
    np.testing.assert_allclose(probs_step, probs, rtol=0, atol=1e-12)
    if attention is None:
        assert weights_step is None and model.last_attention is None
    else:
        assert weights_step.shape == (B, TT, TS)
        np.testing.assert_allclose(weights_step, model.last_attention, rtol=0, atol=1e-12)
        np.testing.assert_allclose(weights_step.sum(-1), 1.0, atol=1e-12)
    assert len(np.unique(tokens)) > 1, "a constant decoding would make the comparison weak"


@pytest.mark.parametrize("attention", ATTENTION)
def test_explained_step_is_the_forward_pass_with_its_numbers(attention, rng):
    model, x, y_in, _ = problem(rng, "gru", attention, dtype=np.float64)
    probs = model.forward(x, y_in)
    weights = model.last_attention
    step = model.explain_step(x, y_in, step=2, sample=1)
    np.testing.assert_allclose(step.probs, probs[1, 2], atol=1e-12)
    np.testing.assert_allclose(step.probs, np.exp(step.logits) / np.exp(step.logits).sum(), atol=1e-12)
    Hd = model.config.decoder_units
    assert step.query.shape == (Hd,) and step.keys.shape == (TS, Hd)
    if attention is None:
        assert step.scores is None and step.weights is None and step.context is None
        assert step.features.shape == (Hd,)
        return
    np.testing.assert_allclose(step.weights, weights[1, 2], atol=1e-12)
    np.testing.assert_allclose(step.context, step.weights @ step.keys, atol=1e-12)
    np.testing.assert_allclose(step.features, np.concatenate([step.query, step.context]))
    if attention == "dot":
        np.testing.assert_allclose(step.scores, [step.query @ k for k in step.keys], atol=1e-12)
        assert step.tanh is None
    else:
        np.testing.assert_allclose(step.tanh, np.tanh(step.query + step.keys))
        np.testing.assert_allclose(step.scores, step.tanh @ model.attention.scale, atol=1e-12)


@pytest.mark.parametrize("attention", [None, "dot"])
def test_input_gradient_norms_are_the_gradient_of_one_output(attention, rng):
    model, x, y_in, y_out = problem(rng, "lstm", attention, dtype=np.float64)
    t = 2
    norms = input_gradient_norms(model, x, y_in, y_out, output_step=t)
    assert norms.shape == (B, TS)

    def log_loss():        # sum over b of -log p_b(y_out[b, t]): sequence b's loss depends on x_b only
        p = model.forward(x, y_in)[np.arange(B), t, y_out[:, t]]
        return float(-np.log(p).sum())

    numeric = numeric_gradient(log_loss, x)
    expected = np.sqrt((numeric ** 2).sum(-1))
    assert relative_error(norms, expected) < FD_TOL
    assert (norms > 0).all()


def test_weights_are_live_and_in_the_documented_order(rng):
    model = Seq2Seq(VI, VO, H, cell="lstm", attention="additive", bidirectional=True, seed=0)
    shapes = [w.shape for w in model.get_weights()]
    Hd = 2 * H
    assert shapes == [(VI, 4 * H), (H, 4 * H), (4 * H,)] * 2 + [(VO, 4 * Hd), (Hd, 4 * Hd), (4 * Hd,), (Hd,),
                                                                 (2 * Hd, VO), (VO,)]
    gru = Seq2Seq(VI, VO, H, cell="gru", attention=None, seed=0)
    assert [w.shape for w in gru.get_weights()] == [(VI, 3 * H), (H, 3 * H), (2, 3 * H), (VO, 3 * H), (H, 3 * H),
                                                   (2, 3 * H), (H, VO), (VO,)]
    before = [w.copy() for w in model.get_weights()]
    live = model.get_weights()
    _, x, y_in, y_out = problem(rng)
    train_step(model, Adam(0.01), x, y_in, y_out)
    assert all(a is b for a, b in zip(live, model.get_weights(), strict=True))
    assert all(not np.array_equal(a, b) for a, b in zip(before, live, strict=True)), "every weight is trained"
    other = Seq2Seq(VI, VO, H, cell="lstm", attention="additive", bidirectional=True, seed=5)
    other.set_weights(model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(other.get_weights(), model.get_weights(), strict=True))
    with pytest.raises(ValueError, match="weight 6"):
        other.set_weights(before[:6] + [np.zeros((VO + 1, 4 * Hd))] + before[7:])
    assert model.count_params() == sum(int(np.prod(s)) for s in shapes)


def test_bad_settings_are_user_errors():
    for kwargs, text in [({"cell": "rnn"}, "cell must be one of simple_rnn, lstm, gru; got 'rnn'."),
                         ({"attention": "luong"}, "attention must be None, 'dot' or 'additive'; got 'luong'."),
                         ({"units": 0}, "units must be a whole number from 1 to 1024; got 0.")]:
        with pytest.raises(UserError) as err:
            Seq2Seq(VI, VO, **kwargs)
        assert str(err.value) == text
    model = Seq2Seq(VI, VO, H)
    with pytest.raises(UserError, match="max_len"):
        model.predict_greedy(np.zeros((1, 3, VI), np.float32), max_len=0)
    with pytest.raises(ValueError, match="x must be one-hot"):
        model.forward(np.zeros((1, 3, VI + 1)), np.zeros((1, 2, VO)))


def test_sequence_hits_count_up_to_the_first_end():
    model = Seq2Seq(VI, VO, H, seed=0)
    x = np.eye(VI, dtype=np.float32)[np.zeros((2, 3), int)]
    tokens, _ = model.predict_greedy(x, max_len=4)
    y = tokens.copy()
    y[0, 1] = END                          # sequence 0: correct up to </s> at 1 if its token 1 were </s>
    hits = sequence_hits(model, x, y)
    assert hits[1] and hits[0] == (tokens[0, 1] == END)
    y[1, 0] = (tokens[1, 0] + 1) % VO      # sequence 1: wrong first token
    assert not sequence_hits(model, x, y)[1]
    y = tokens.copy()
    y[:, 2] = END
    y[:, 3] = (tokens[:, 3] + 1) % VO      # after </s> nothing counts
    expected = (tokens[:, 2] == END)
    assert (sequence_hits(model, x, y) == expected).all()


def test_fit_learns_reverse_and_stops_at_the_target_accuracy():
    task = reverse(n=600, min_len=3, max_len=4, symbols="0123", held_out=40, seed=1)
    train, held = task.arrays(), task.arrays(held_out=True)
    model = Seq2Seq(len(task.source_vocabulary), len(task.target_vocabulary), 16, attention="dot", seed=0)
    seen = []
    history = fit(model, Adam(0.02), train.x, train.y_in, train.y_out, epochs=30, batch_size=32,
                  validation=(held.x, held.y_out), validate_every=25, target_accuracy=0.95, callback=seen.append)
    assert history.stopped and history.evaluations[-1][2] >= 0.95
    assert sequence_accuracy(model, held.x, held.y_out) == history.evaluations[-1][2]
    assert history.batch_loss[-1] < 0.3 * history.batch_loss[0]
    assert len(seen) == history.steps and seen[-1].held_out_accuracy == history.evaluations[-1][2]
    stopped = fit(model, Adam(0.02), train.x, train.y_in, train.y_out, epochs=5, callback=lambda p: p.step < 3)
    assert stopped.stopped and stopped.steps == 3 and len(stopped.epoch_loss) == 1


def test_importing_the_model_and_its_twin_builders_does_not_import_tensorflow():
    script = ("import sys, rnn_core.training.seq2seq, rnn_core.training.seq2seq_tasks, rnn_core.keras_bridge\n"
              "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=120)


# -- Keras ------------------------------------------------------------------------------------------------

_keras_models: dict = {}


def keras_twin(cell, attention, bidirectional):
    """The Keras twin, built once per module for each configuration; weights are set by each test."""
    key = (cell, attention, bidirectional)
    if key not in _keras_models:
        from rnn_core import keras_bridge as ks

        _keras_models[key] = ks.build_seq2seq_model(cell, H, VI, VO, attention, bidirectional)
    return _keras_models[key]


def _rel(mine, theirs) -> float:
    scale = float(np.abs(theirs).max())
    assert scale > 0
    return float(np.abs(mine - theirs).max()) / scale


@pytest.mark.keras
@pytest.mark.parametrize("cell,attention,bidirectional", CONFIGS, ids=IDS)
def test_forward_and_gradients_match_keras(cell, attention, bidirectional, rng):
    from rnn_core import keras_bridge as ks

    model, x, y_in, y_out = problem(rng, cell, attention, bidirectional)
    theirs = keras_twin(cell, attention, bidirectional)
    names = ks.seq2seq_weight_names(theirs)
    prefix = ["encoder/forward_", "encoder/backward_"] if bidirectional else ["encoder/"]
    expected = [p for p in prefix for _ in range(3)] + ["decoder/"] * 3 + ["attention/scale"] * (
        attention == "additive") + ["output/kernel", "output/bias"]
    assert all(n.startswith(e) for n, e in zip(names, expected, strict=True)), names
    ks.set_seq2seq_weights(theirs, model.get_weights())
    probs = model.forward(x, y_in)
    loss = model.loss(probs, y_out)
    grads = model.backward().weights()
    reference = ks.seq2seq_gradients(theirs, x, y_in, y_out)
    assert_close(probs, reference["probs"], "probs", F32_TOL)
    assert abs(loss - reference["loss"]) <= LOSS_RTOL * reference["loss"]
    for name, g, k in zip(names, grads, reference["weights"], strict=True):
        assert_close(g, k, f"dL/d {name}", F32_TOL)
    wrong = model.get_weights()
    wrong[-2] = np.zeros((wrong[-2].shape[0] + 1, VO), np.float32)
    with pytest.raises(ValueError, match="output/kernel: Keras shape"):
        ks.set_seq2seq_weights(theirs, wrong)


def _train_side_by_side(model, theirs, optimizer, keras_optimizer_config, rng, run_eagerly=True):
    from rnn_core import keras_bridge as ks

    start = [w.copy() for w in model.get_weights()]
    ks.set_seq2seq_weights(theirs, start)
    ks.compile_seq2seq(theirs, keras_optimizer_config, run_eagerly=run_eagerly)
    for step in range(STEPS):
        _, x, y_in, y_out = problem(rng)        # a fresh batch each step (the model part is discarded)
        mine = train_step(model, optimizer, x, y_in, y_out)
        reference = ks.seq2seq_train_on_batch(theirs, x, y_in, y_out)
        assert abs(mine - reference) <= LOSS_RTOL * abs(reference), f"step {step}: loss {mine} vs Keras {reference}"
    moved = min(_rel(w, s) for w, s in zip(model.get_weights(), start, strict=True))
    assert moved > 10 * WEIGHT_RTOL, f"a weight moved only {moved:.2g}: the comparison would be empty"
    for name, w, k in zip(ks.seq2seq_weight_names(theirs), model.get_weights(), theirs.get_weights(), strict=True):
        assert _rel(w, k) <= WEIGHT_RTOL, f"{name} after {STEPS} steps: {_rel(w, k):.2g} relative"


@pytest.mark.keras
@pytest.mark.parametrize("cell,attention,bidirectional", CONFIGS, ids=IDS)
def test_train_step_follows_train_on_batch(cell, attention, bidirectional, rng):
    """Keras' train_on_batch run eagerly (the same train step without tracing, ~5 s saved per model)."""
    model, *_ = problem(rng, cell, attention, bidirectional)
    _train_side_by_side(model, keras_twin(cell, attention, bidirectional), Adam(0.01), Adam(0.01).get_config(), rng)


@pytest.mark.keras
@pytest.mark.parametrize("optimizer", [SGD(0.1, momentum=0.9, nesterov=True), RMSprop(0.005),
                                       Adam(0.01, clipnorm=CLIPNORM)], ids=["sgd nesterov", "rmsprop", "adam clipnorm"])
def test_other_optimizers_follow_train_on_batch(optimizer, rng):
    model, x, y_in, y_out = problem(rng, "gru", "dot", False)
    model.loss(model.forward(x, y_in), y_out)
    norms = [float(np.linalg.norm(g)) for g in model.backward().weights()]
    assert sum(n > 2 * CLIPNORM for n in norms) >= 3, f"'adam clipnorm' would hardly clip: {norms}"
    _train_side_by_side(model, keras_twin("gru", "dot", False), optimizer, optimizer.get_config(), rng)


@pytest.mark.keras
def test_train_step_follows_compiled_train_on_batch(rng):
    """The same with Keras' compiled train function (what the benchmark times)."""
    model, *_ = problem(rng, "lstm", "dot", False)
    _train_side_by_side(model, keras_twin("lstm", "dot", False), Adam(0.01), Adam(0.01).get_config(), rng,
                        run_eagerly=False)


@pytest.mark.keras
@pytest.mark.parametrize("cell,attention,bidirectional", [("lstm", "dot", False), ("gru", "additive", False),
                                                          ("simple_rnn", None, False), ("lstm", "dot", True)])
def test_greedy_decoding_matches_keras(cell, attention, bidirectional, rng):
    from rnn_core import keras_bridge as ks

    model, x, _, _ = problem(rng, cell, attention, bidirectional, scale=1.0)
    theirs = keras_twin(cell, attention, bidirectional)
    ks.set_seq2seq_weights(theirs, model.get_weights())
    tokens, weights = model.predict_greedy(x, max_len=TT + 2)
    k_tokens, k_weights, k_probs = ks.seq2seq_greedy_decode(theirs, x, max_len=TT + 2)
    assert (tokens == k_tokens).all(), (tokens, k_tokens)
    assert len(np.unique(tokens)) > 1
    assert_close(model.last_greedy_probs, k_probs, "greedy probs", F32_TOL)
    if attention is None:
        assert weights is None and k_weights is None
    else:
        assert_close(weights, k_weights, "attention weights", F32_TOL)
