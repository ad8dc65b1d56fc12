"""rnn_core.training.tasks: generated tasks (shapes, seeds, targets that follow from the inputs) \
and the user's own data."""

import io

import numpy as np
import pytest

from rnn_core.training import tasks
from rnn_core.training.targets import TargetError


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize("make", [
    lambda s: tasks.frame_classification(n=8, steps=20, seed=s),
    lambda s: tasks.adding_problem(n=8, steps=20, seed=s),
    lambda s: tasks.delayed_recall(n=8, lag=3, seed=s),
    lambda s: tasks.next_character("abcab cabba " * 5, steps=10, n=8, seed=s),
    lambda s: tasks.sine_forecasting(n=8, steps=20, seed=s),
])
def test_tasks_are_seeded_and_shaped_for_their_model(make):
    a, b, c = make(0), make(0), make(1)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)
    N, T, _ = a.x.shape
    assert a.x.dtype == np.float32 and a.description
    if a.loss == "sparse_categorical_crossentropy":
        assert a.y.dtype == np.int64 and a.y.min() >= 0 and a.y.max() < a.num_outputs
        assert a.y.shape == ((N, T) if a.many_to_many else (N,))
    else:
        assert a.y.shape == ((N, T, a.num_outputs) if a.many_to_many else (N, a.num_outputs))
    assert a.chance_loss > 0


def test_frame_classification_labels_come_from_the_inputs():
    task = tasks.frame_classification(n=32, steps=50, num_classes=39, noise=0.0, seed=3)
    assert task.x.shape == (32, 50, 13) and task.num_outputs == 39 and task.many_to_many
    # without noise each frame is its class' prototype: equal labels <=> equal frames
    frames, labels = task.x.reshape(-1, 13), task.y.ravel()
    for c in np.unique(labels)[:5]:
        same = frames[labels == c]
        np.testing.assert_array_equal(same, np.broadcast_to(same[0], same.shape))
    runs = np.diff(np.flatnonzero(np.diff(task.y[0]) != 0))
    assert runs.min() >= 3 and runs.max() <= 8                    # segments of 3-8 frames


def test_adding_problem_target_is_the_sum_of_the_marked_values():
    task = tasks.adding_problem(n=16, steps=10, seed=0)
    values, markers = task.x[..., 0], task.x[..., 1]
    assert (markers.sum(axis=1) == 2).all()
    assert (markers[:, :5].sum(axis=1) == 1).all()
    np.testing.assert_allclose(task.y[:, 0], (values * markers).sum(axis=1), rtol=1e-6)
    assert task.loss == "mse" and not task.many_to_many and task.num_outputs == 1


def test_delayed_recall_target_is_the_first_symbol():
    task = tasks.delayed_recall(n=16, lag=6, num_symbols=5, seed=0)
    assert task.x.shape == (16, 8, 6) and not task.many_to_many and task.num_outputs == 5
    np.testing.assert_array_equal(task.x[:, 0, :5].argmax(-1), task.y)
    assert (task.x[:, :7, :5].sum(-1) == 1).all() and (task.x[:, 7, :5] == 0).all()   # a symbol per step, then
    assert (task.x[:, :, 5] == [0] * 7 + [1]).all()                                    # the cue at the end


def test_next_character_targets_are_the_following_characters():
    text = "hello world"
    task = tasks.next_character(text, steps=4)
    vocab = task.vocabulary
    assert "".join(vocab[i] for i in task.x[0].argmax(-1)) == "hell"
    assert "".join(vocab[i] for i in task.y[0]) == "ello"
    assert task.x.shape == (len(text) - 4, 4, len(set(text)))


@pytest.mark.parametrize("call, message", [
    (lambda: tasks.next_character("short", steps=10), "at least 11"),
    (lambda: tasks.next_character("".join(map(chr, range(200, 400))), steps=5), "different characters"),
    (lambda: tasks.delayed_recall(lag=-1), "lag must be"),
    (lambda: tasks.adding_problem(n=10**7), "n must be"),
])
def test_bad_task_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_user_task_reads_the_setting_from_y(rng):
    x = rng.normal(size=(5, 6, 2))
    assert tasks.user_task(x, rng.integers(0, 3, (5, 6))).many_to_many
    t = tasks.user_task(x, rng.integers(0, 3, 5))
    assert not t.many_to_many and t.loss == "sparse_categorical_crossentropy" and t.num_outputs >= 2
    t = tasks.user_task(x, rng.normal(size=(5, 6)))
    assert t.loss == "mse" and t.many_to_many and t.y.shape == (5, 6, 1)
    t = tasks.user_task(x, rng.normal(size=(5, 3)))
    assert t.loss == "mse" and not t.many_to_many and t.num_outputs == 3
    t = tasks.user_task(x[0], rng.integers(0, 2, 6))            # one sequence (T, D) with (T,) labels
    assert t.x.shape == (1, 6, 2) and t.y.shape == (1, 6)


@pytest.mark.parametrize("x, y, message", [
    (np.zeros((5, 6, 2)), np.zeros(4, int), "one entry per sequence"),
    (np.zeros((5, 6, 2)), np.full((5, 6), -1), "0 or more"),
    (np.zeros((5, 6, 2)), np.full((5, 6), 5000), "limit is 1000 classes"),
    (np.zeros((5, 6, 2)), np.array(["a"] * 5), "must be numbers"),
    (np.zeros((5, 6)), np.zeros(4, int), r"Integer labels must have shape \(1, 5\)"),
    (np.zeros((5, 6, 2)), np.zeros((5, 6, 2, 2)), "expected"),
    (np.full((5, 6, 2), np.inf), np.zeros(5, int), "NaN or infinite"),
])
def test_user_task_errors(x, y, message):
    with pytest.raises(TargetError, match=message):
        tasks.user_task(x, y)


def test_npz_upload(rng):
    x, y = rng.normal(size=(3, 5, 2)), rng.integers(0, 4, (3, 5))
    task = tasks.load_npz_task(_npz(x=x, y=y))
    np.testing.assert_array_equal(task.y, y)
    with pytest.raises(TargetError, match="needs arrays named 'x' and 'y'; it has: x"):
        tasks.load_npz_task(_npz(x=x))
    with pytest.raises(TargetError, match="never loaded"):
        tasks.load_npz_task(_npz(x=np.array([{"a": 1}], dtype=object), y=y))
    with pytest.raises(TargetError, match="not a NumPy .npz"):
        tasks.load_npz_task(b"hello")
    with pytest.raises(TargetError, match="damaged"):
        tasks.load_npz_task(_npz(x=x, y=y)[:60])


def test_label_column_upload():
    rows = ["a,b,label"] + [f"{i * 0.1:.1f},{i % 3},{i % 2}" for i in range(12)]
    task = tasks.label_column_task("t.csv", "\n".join(rows).encode(), "label", steps=4)
    assert task.x.shape == (3, 4, 2) and task.y.shape == (3, 4) and task.num_outputs == 2
    np.testing.assert_array_equal(task.y[0], [0, 1, 0, 1])
    same = tasks.label_column_task("t.csv", "\n".join(rows).encode(), -1, steps=4)
    np.testing.assert_array_equal(same.y, task.y)
    with pytest.raises(TargetError, match="No column named 'cls'; the columns are a, b, label"):
        tasks.label_column_task("t.csv", "\n".join(rows).encode(), "cls")
    bad = ["a,label"] + [f"{i},{i * 0.5}" for i in range(6)]
    with pytest.raises(TargetError, match="holds fractions"):
        tasks.label_column_task("t.csv", "\n".join(bad).encode(), "label")
    with pytest.raises(TargetError, match="(?i)row 3, column 'label'"):
        tasks.label_column_task("t.csv", b"a,label\n1,0\n2\n", "label")
