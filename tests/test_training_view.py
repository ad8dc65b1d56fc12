"""The Training page's run objects without Streamlit: chunks, budget, probes, exports, the Keras twin.

Keras parity here is the page's own claim (its badge): the NumPy run and the
Keras twin trained with train_on_batch on the same batches from the same
initial weights give batch losses within 1e-4 relative for the first 24 steps
(the bound of tests/test_training_parity.py), and the exported .keras file
predicts what the NumPy model predicts within F32_TOL x max(1, scale).
"""

import io
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from helpers import F32_TOL

from explorer.training_view import (
    MAX_PROBES,
    BudgetError,
    CompareRun,
    CompareSettings,
    TrainingRun,
    TrainingSettings,
)

QUICK = TrainingSettings(task="delayed_recall", lag=2, units=16, epochs=20, n=64, batch_size=16, keras=False)


def run_to_end(run, seconds=0.5):
    ticks = 0
    while run.status == "running":
        run.advance(seconds)
        ticks += 1
        assert ticks < 1000
    return ticks


def test_a_run_learns_the_easy_task_in_bounded_chunks():
    run = TrainingRun(QUICK, QUICK.make_task())
    assert run.total_steps == 20 * 4
    first = run.advance(10.0)
    assert first == run.steps_per_tick < run.total_steps        # a tick never trains the whole run
    ticks = run_to_end(run)
    assert run.status == "done" and run.steps_done == run.total_steps and ticks >= 2
    losses = run.trainer.history.batch_loss
    assert np.mean(losses[-4:]) < 0.5 * np.mean(losses[:4])     # it learns: the last epoch's loss is far lower
    assert run.advance(1.0) == 0                                  # a finished run stays finished


def test_chunks_give_the_same_numbers_as_one_long_run():
    a, b = TrainingRun(QUICK, QUICK.make_task()), TrainingRun(QUICK, QUICK.make_task())
    a.steps_per_tick = 1
    run_to_end(a)
    b.steps_per_tick = b.total_steps
    b.advance(1e9)
    assert a.trainer.history.batch_loss == b.trainer.history.batch_loss


def test_paused_runs_do_not_train_and_continue_where_they_stopped():
    run = TrainingRun(QUICK, QUICK.make_task())
    run.advance(1.0)
    done = run.steps_done
    run.status = "paused"
    assert run.advance(1.0) == 0 and run.steps_done == done
    run.status = "running"
    assert run.advance(1.0) > 0


def test_probes_at_chosen_epochs_hold_gradient_reach_and_hidden_states():
    settings = replace(QUICK, epochs=100, n=16)
    run = TrainingRun(settings, settings.make_task())
    run_to_end(run)
    epochs = [p.epoch for p in run.probes]
    assert epochs[0] == 0 and epochs[-1] == 100 and len(epochs) <= MAX_PROBES
    T = settings.lag + 2
    for p in run.probes:
        assert p.hidden_grad_norm.shape == (T,) and p.hidden.shape == (T, settings.units)
    assert not np.allclose(run.probes[0].hidden, run.probes[-1].hidden)


def test_budget_says_so_and_the_offered_epochs_fit():
    settings = TrainingSettings(task="frame_classification", units=128, steps=500, n=2048, epochs=1000,
                                batch_size=32, keras=False)
    task = settings.make_task()
    with pytest.raises(BudgetError, match="limit"):
        settings.check_budget(task)
    fits = settings.fitting_epochs(task)
    assert fits >= 1
    replace(settings, epochs=fits).check_budget(task)              # the one-click offer is within budget
    with pytest.raises(BudgetError):
        replace(settings, epochs=fits + 1).check_budget(task)      # and it is the nearest such setting


def test_custom_layer_dict_for_the_other_pages():
    run = TrainingRun(QUICK, QUICK.make_task())
    run_to_end(run)
    layer = run.custom_layer()
    assert layer["label"] == "trained: SimpleRNN(16), delayed recall k=2, 80 steps"
    assert layer["cell"] == "SimpleRNN" and layer["config"]["units"] == 16
    assert layer["head"] == "many-to-one" and layer["input_dim"] == 9
    for mine, theirs in zip(layer["weights"], run.model.rnn.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
        assert mine is not theirs                                   # a copy: training on does not change it
    assert [w.shape for w in layer["head_weights"]] == [(16, 8), (8,)]


def test_regression_runs_hand_over_the_layer_without_their_linear_head():
    settings = replace(QUICK, task="sine_forecasting", steps=10, epochs=1)
    run = TrainingRun(settings, settings.make_task())
    run_to_end(run)
    layer = run.custom_layer()
    assert layer["head"] == "none" and layer["head_weights"] is None


def test_npz_and_csv_exports():
    run = TrainingRun(QUICK, QUICK.make_task())
    run_to_end(run)
    with np.load(io.BytesIO(run.weights_npz()), allow_pickle=False) as npz:
        for name, w in zip(["rnn_kernel", "rnn_recurrent_kernel", "rnn_bias", "fc_kernel", "fc_bias"],
                           run.model.get_weights(), strict=True):
            np.testing.assert_array_equal(npz[name], w)
        assert len(npz["loss_per_step"]) == run.steps_done
    log = pd.read_csv(io.BytesIO(run.log_csv()))
    assert list(log.columns) == ["step", "epoch", "loss", "accuracy", "grad_norm", "clipped_grad_norm"]
    assert len(log) == run.steps_done
    np.testing.assert_allclose(log["loss"], run.trainer.history.batch_loss, rtol=1e-12)


def test_compare_run_trains_the_three_cells_level():
    settings = CompareSettings(lag=2, units=8, epochs=3, n=32)
    run = CompareRun(settings, settings.make_task())
    run.advance(1e9)
    assert run.epochs_done == run.epochs_per_tick == 1              # one epoch per cell per tick
    run.advance(1e-9)                                               # out of time after the first cell's epoch
    assert [t.epoch for t in run.trainers.values()] == [2, 1, 1]
    run.advance(1e-9)
    assert [t.epoch for t in run.trainers.values()] == [2, 2, 1]    # the cells behind go first
    run_to_end(run)
    for what in ("loss", "accuracy", "held-out accuracy"):
        curves = run.curves(what)
        assert list(curves) == ["SimpleRNN", "LSTM", "GRU"] and all(len(v) == 3 for v in curves.values())


# -- with Keras ----------------------------------------------------------------------------


@pytest.mark.keras
@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
def test_keras_twin_follows_step_for_step(cell):
    settings = replace(QUICK, cell=cell, keras=True, epochs=6)      # 24 steps
    run = TrainingRun(settings, settings.make_task())
    assert run.advance(1.0) == 0 and run.keras_model is not None     # the first tick builds the twin
    run_to_end(run, seconds=5.0)
    assert len(run.keras_loss) == run.steps_done == 24
    diff, compared = run.parity()
    assert compared == 24 and diff <= 1e-4, diff
    assert run.log()["keras_loss"].notna().all()


@pytest.mark.keras
@pytest.mark.parametrize("task", ["delayed_recall", "sine_forecasting"])
def test_exported_keras_file_opens_and_predicts_what_numpy_predicts(task, tmp_path):
    import keras

    settings = replace(QUICK, task=task, cell="lstm", steps=12, epochs=2)
    run = TrainingRun(settings, settings.make_task())
    run_to_end(run)
    path = tmp_path / "trained.keras"
    path.write_bytes(run.keras_bytes())
    model = keras.saving.load_model(path)
    x = run.task.x[:5]
    mine = run.model(x)
    theirs = model.predict(x, verbose=0)
    assert theirs.shape == mine.shape
    assert np.abs(mine - theirs).max() <= F32_TOL * max(1.0, float(np.abs(theirs).max()))


def test_a_task_too_large_for_memory_is_refused_before_it_is_made():
    text = "".join(chr(33 + i) for i in range(90)) * 10
    settings = TrainingSettings(task="next_character", text=text, steps=500, n=2048)
    assert settings.data_bytes() == 4 * 2048 * 500 * 90
    with pytest.raises(ValueError, match="MB; the limit"):
        settings.make_task()
    assert replace(settings, n=64).make_task().x.nbytes == replace(settings, n=64).data_bytes()


def test_the_sidebar_layer_flags_reach_the_model():
    from explorer.training_view import layer_flags
    from rnn_core import LSTMConfig

    flags = layer_flags(LSTMConfig(4, activation="relu", unit_forget_bias=False, go_backwards=True, stateful=True))
    assert dict(flags)["activation"] == "relu" and "stateful" not in dict(flags) and "units" not in dict(flags)
    settings = replace(QUICK, cell="lstm", layer_flags=flags, epochs=1)
    run = TrainingRun(settings, settings.make_task())
    config = run.model.rnn.config
    assert (config.activation, config.unit_forget_bias, config.go_backwards) == ("relu", False, True)
    assert not config.return_sequences and not config.stateful          # the task decides; never stateful


@pytest.mark.keras
def test_keras_twin_with_the_sidebar_flags_follows_too():
    from explorer.training_view import layer_flags
    from rnn_core import GRUConfig

    flags = layer_flags(GRUConfig(4, reset_after=False, go_backwards=True, kernel_initializer="he_normal"))
    settings = replace(QUICK, cell="gru", layer_flags=flags, keras=True, epochs=6)
    run = TrainingRun(settings, settings.make_task())
    run_to_end(run, seconds=5.0)
    diff, compared = run.parity()
    assert compared == 24 and diff <= 1e-4, diff
    assert run.keras_model.get_layer("rnn").go_backwards and not run.keras_model.get_layer("rnn").reset_after


def test_an_upload_that_inflates_past_the_limit_is_refused_before_numpy_unpacks_it():
    from explorer.training_view import MAX_DATA_BYTES, load_upload
    from rnn_core.training.targets import TargetError

    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=np.zeros((MAX_DATA_BYTES // 4 + 1024,), np.float32), y=np.zeros(1, np.int64))
    assert len(buffer.getvalue()) < 2**20                      # a small file ...
    with pytest.raises(TargetError, match="once unpacked"):    # ... of more than the limit unpacked
        load_upload(buffer.getvalue())
    good = io.BytesIO()
    np.savez(good, x=np.zeros((4, 6, 2), np.float32), y=np.array([0, 1, 1, 0]))
    task = load_upload(good.getvalue())
    assert task.x.shape == (4, 6, 2) and not task.many_to_many and task.num_outputs == 2
