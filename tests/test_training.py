"""rnn_core.training.trainer and rnn_core.training.model's cells, in NumPy alone: steps, fit, Trainer chunks, \
stopping, bad targets."""

import numpy as np
import pytest

from rnn_core.training import tasks
from rnn_core.training.model import RNNClassifier
from rnn_core.training.optimizers import SGD, Adam
from rnn_core.training.targets import TargetError
from rnn_core.training.trainer import StopTraining, Trainer, fit, train_step

B, T, D, H, C = 4, 7, 3, 6, 5


def _data(rng, n=10, many_to_many=True):
    x = rng.normal(size=(n, T, D)).astype(np.float32)
    y = rng.integers(0, C, size=(n, T) if many_to_many else (n,))
    return x, y


def _model(many_to_many=True, cell="simple_rnn", **kwargs):
    model = RNNClassifier(H, C, many_to_many=many_to_many, cell=cell, seed=0, **kwargs)
    model.build((1, T, D))
    return model


@pytest.mark.parametrize("many_to_many", [True, False])
def test_train_step_returns_the_loss_before_the_update_and_updates_in_place(many_to_many, rng):
    x, y = _data(rng, B, many_to_many)
    model = _model(many_to_many)
    before = [w.copy() for w in model.get_weights()]
    expected, _ = model.loss(x, y)
    live = model.get_weights()
    grads = model.backward().weights()
    loss = train_step(model, SGD(learning_rate=0.1), x, y)
    assert loss == pytest.approx(expected, rel=1e-6)
    for w, w0, g, arr in zip(model.get_weights(), before, grads, live, strict=True):
        assert w is arr                                     # the model's own arrays were updated
        np.testing.assert_allclose(w, w0 - 0.1 * g, rtol=1e-5, atol=1e-7)
    assert model.loss(x, y)[0] < expected


def test_fit_reports_the_batch_size_weighted_mean_per_epoch(rng):
    x, y = _data(rng, 10)                                 # batches of 4, 4, 2
    model = _model()
    seen = []
    history = fit(model, x, y, optimizer=Adam(0.01), loss="sparse_categorical_crossentropy", epochs=3,
                  batch_size=4, callback=seen.append)
    assert history.steps == 9 and history.epochs == 3 and not history.stopped
    for e in range(3):
        losses = np.array(history.batch_loss[3 * e:3 * e + 3])
        assert history.loss[e] == pytest.approx(float(losses @ [4, 4, 2]) / 10, rel=1e-12)
        acc = np.array(history.batch_accuracy[3 * e:3 * e + 3])
        assert history.accuracy[e] == pytest.approx(float(acc @ [4, 4, 2]) / 10, rel=1e-12)
    assert [p.batch for p in seen] == [0, 1, 2] * 3 and [p.epoch for p in seen] == [0] * 3 + [1] * 3 + [2] * 3
    assert [p.epoch_loss for p in seen if p.epoch_loss is not None] == history.loss
    assert history.batch_epoch == [0] * 3 + [1] * 3 + [2] * 3
    assert len(history.rows()) == 9 and history.rows()[0]["step"] == 1


@pytest.mark.parametrize("shuffle", [False, True])
def test_trainer_in_chunks_equals_one_run(shuffle, rng):
    x, y = _data(rng, 10)
    one = _model()
    whole = fit(one, x, y, optimizer=Adam(0.01), epochs=3, batch_size=4, shuffle=shuffle, seed=7)
    two = _model()
    trainer = Trainer(two, Adam(0.01), x, y, batch_size=4, shuffle=shuffle, seed=7)
    for steps in (2, 1, 4, 2):                               # crosses epoch boundaries mid-chunk
        trainer.run(steps=steps)
    assert trainer.epoch == 3 and trainer.batch == 0
    assert trainer.history.batch_loss == whole.batch_loss and trainer.history.loss == whole.loss
    for a, b in zip(one.get_weights(), two.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_shuffle_changes_the_batches_and_the_seed_fixes_them(rng):
    x, y = _data(rng, 12)
    runs = [fit(_model(), x, y, optimizer=SGD(0.1), epochs=2, batch_size=4, shuffle=s, seed=seed).batch_loss
            for s, seed in ((False, None), (True, 1), (True, 1), (True, 2))]
    assert runs[1] == runs[2]
    assert runs[0] != runs[1] and runs[1] != runs[3]


@pytest.mark.parametrize("stop", ["return False", "raise"])
def test_callback_stops_training(stop, rng):
    x, y = _data(rng, 10)

    def callback(progress):
        if progress.step == 4:
            if stop == "raise":
                raise StopTraining
            return False
        return None

    history = fit(_model(), x, y, optimizer=SGD(0.1), epochs=5, batch_size=4, callback=callback)
    assert history.stopped and history.steps == 4
    # epoch 0 (3 batches) complete, epoch 1 recorded with the one batch it ran, as Keras does on stop_training
    assert len(history.loss) == 2 and history.loss[1] == history.batch_loss[3]


def test_trainer_stops_within_a_time_budget_and_continues(rng):
    x, y = _data(rng, 10)
    trainer = Trainer(_model(), SGD(0.1), x, y, batch_size=4)
    trainer.run(seconds=1e-9)                       # at least one step, then the deadline has passed
    assert trainer.steps_done == 1
    trainer.run(epochs=1)
    assert trainer.epoch == 1 and trainer.batch == 0    # started mid-epoch: finishes that epoch
    assert trainer.steps_done == 3
    assert trainer.history.epochs == 1
    loss, acc = trainer.evaluate()
    assert np.isfinite(loss) and 0 <= acc <= 1


def test_gradient_norms_before_and_after_clipping(rng):
    x, y = _data(rng, 4)
    model = _model()
    model.loss(x, y)
    norm = float(np.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in model.backward().weights())))
    history = fit(model, x, y, optimizer=SGD(0.1, global_clipnorm=norm / 4), epochs=1, batch_size=4)
    assert history.grad_norm[0] == pytest.approx(norm, rel=1e-6)
    assert history.clipped_grad_norm[0] == pytest.approx(norm / 4, rel=1e-5)
    unclipped = fit(_model(), x, y, optimizer=SGD(0.1), epochs=1, batch_size=4)
    assert unclipped.clipped_grad_norm == unclipped.grad_norm


def test_mse_training_on_a_regression_head(rng):
    task = tasks.sine_forecasting(n=16, steps=12)
    model = RNNClassifier(8, **task.model_kwargs(), seed=0)
    history = fit(model, task.x, task.y, optimizer=Adam(0.02), loss="mse", epochs=15, batch_size=8)
    assert history.accuracy == [] and history.batch_accuracy[0] is None
    assert history.loss[-1] < 0.5 * history.loss[0]


@pytest.mark.parametrize("y, loss, message", [
    (np.zeros((B, T + 1), int), "sparse_categorical_crossentropy", r"shape \(4, 7\) \(many-to-many"),
    (np.zeros(B, int), "sparse_categorical_crossentropy", r"shape \(4, 7\)"),
    (np.full((B, T), C), "sparse_categorical_crossentropy", r"class indices in \[0, 5\)"),
    (np.full((B, T), -1), "sparse_categorical_crossentropy", r"values from -1"),
    (np.full((B, T), 0.5), "sparse_categorical_crossentropy", "whole numbers"),
    (np.array([["a"] * T] * B), "sparse_categorical_crossentropy", "dtype <U1"),
    (np.zeros((B, T), bool), "sparse_categorical_crossentropy", "dtype bool"),
    (np.zeros((B, T), float), "mse", r"shape \(4, 7, 5\)"),
    (np.zeros((B, T), int), "hinge", "loss must be one of"),
])
def test_bad_targets_get_a_clear_message(y, loss, message, rng):
    x, _ = _data(rng, B)
    model = _model(head_activation="linear" if loss == "mse" else "softmax")
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(TargetError, match=message):
        train_step(model, SGD(), x, y, loss=loss)
    for a, b in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)                 # nothing changed


def test_accepted_label_forms(rng):
    x, y = _data(rng, B)
    model = _model()
    train_step(model, SGD(), x, y[..., None])                   # trailing axis of 1, as Keras accepts
    train_step(model, SGD(), x, y.astype(np.float32))           # whole-number floats, cast as Keras does
    with pytest.raises(TargetError, match="3-D"):
        train_step(model, SGD(), x[0], y[0])
    with pytest.raises(TargetError, match="NaN"):
        train_step(model, SGD(), np.full_like(x, np.nan), y)
    with pytest.raises(TargetError, match="features per step"):
        train_step(model, SGD(), x[..., :2], y)
    with pytest.raises(TargetError, match="softmax head"):
        train_step(_model(head_activation="linear"), SGD(), x, y)


def test_bad_run_arguments(rng):
    x, y = _data(rng, B)
    with pytest.raises(ValueError, match="batch_size"):
        Trainer(_model(), SGD(), x, y, batch_size=0)
    trainer = Trainer(_model(), SGD(), x, y)
    for kwargs in ({"steps": 0}, {"epochs": 1.5}, {"seconds": -1}):
        with pytest.raises(ValueError):
            trainer.run(**kwargs)


# -- cells -------------------------------------------------------------------------------


def test_unknown_cell_is_named():
    with pytest.raises(ValueError, match="cell must be one of simple_rnn, lstm, gru"):
        RNNClassifier(4, 3, cell="transformer")


CELLS = ["simple_rnn", "lstm", "gru"]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("many_to_many", [True, False])
def test_every_cell_trains_and_round_trips_its_weights(cell, many_to_many, rng):
    x, y = _data(rng, 8, many_to_many)
    model = _model(many_to_many, cell=cell)
    weights = [w.copy() for w in model.get_weights()]
    copy = RNNClassifier(H, C, many_to_many=many_to_many, cell=cell, seed=1)
    copy.build((1, T, D))
    copy.set_weights(weights)
    np.testing.assert_array_equal(copy(x), model(x))
    history = fit(model, x, y, optimizer=Adam(0.05), epochs=20, batch_size=8)
    assert history.loss[-1] < 0.7 * history.loss[0], history.loss
    with pytest.raises(ValueError, match="weight arrays"):
        model.set_weights(weights[:-1])


def test_frame_classification_is_learnable():
    """The tutorial-like task: far above chance after a few epochs (checks the labels follow the inputs)."""
    task = tasks.frame_classification(n=64, steps=40, seed=0)
    model = RNNClassifier(32, **task.model_kwargs(), seed=0)
    history = fit(model, task.x, task.y, optimizer=Adam(0.01), epochs=12, batch_size=32)
    assert history.loss[0] > 0.9 * task.chance_loss
    assert history.accuracy[-1] > 10 / task.num_outputs        # chance is about 1/39


def test_budget_estimates_and_refuses_with_a_reason():
    from rnn_core import training_budget as budget

    tutorial = budget.estimate_step_seconds("simple_rnn", 32, 100, 13, 128, 39)
    assert 0.005 < tutorial < 0.1
    assert budget.estimate_step_seconds("lstm", 32, 100, 13, 128, 39) > 3 * tutorial
    assert budget.check_budget(100, "simple_rnn", 32, 100, 13, 128, 39) == pytest.approx(100 * tutorial)
    with pytest.raises(budget.BudgetError, match=r"limit is 60 s per run \(about 1,"):
        budget.check_budget(4000, "simple_rnn", 32, 100, 13, 128, 39)
    with pytest.raises(budget.BudgetError, match="limit is 5,000"):
        budget.check_budget(6000, "simple_rnn", 1, 2, 1, 2, 2)


def test_probe_shows_the_gradient_reach_without_changing_the_model(rng):
    x, y = _data(rng, 10)
    model = _model()
    trainer = Trainer(model, Adam(0.01), x, y, batch_size=4)
    before = [w.copy() for w in model.get_weights()]
    probe = trainer.probe(count=3)
    for a, b in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)
    assert probe.outputs.shape == (3, T, H) and probe.hidden_grad_norm.shape == (T,)
    model.loss(x[:3], y[:3])
    hidden = model.backward().rnn.hidden
    np.testing.assert_allclose(probe.hidden_grad_norm, np.linalg.norm(hidden, axis=-1).mean(axis=0), rtol=1e-6)
    assert probe.loss == pytest.approx(model.loss(x[:3], y[:3])[0])
    trainer.run(steps=2)
    assert trainer.probe(count=3).loss != probe.loss
