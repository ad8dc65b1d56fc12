"""The only module that imports TensorFlow/Keras, and only when a function here is called.

It builds the Keras twin of a NumPy configuration (SimpleRNN, LSTM or GRU),
copies weights both ways, runs it and takes gradients with ``tf.GradientTape``
inside a ``tf.function`` compiled once per layer and input shape. Importing
this module is cheap; the first call pays for ``import tensorflow`` (5-15 s on
a small machine).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from dataclasses import asdict
from functools import lru_cache
from typing import Any

import numpy as np

from .layers.configs import SimpleRNNConfig, _RecurrentConfig
from .messages import N_, Message, UserError

Array = np.ndarray


@lru_cache(maxsize=1)
def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415 - deliberately lazy

    return tf, keras


def versions() -> dict[str, str]:
    tf, keras = _tf()
    return {"tensorflow": tf.__version__, "keras": keras.__version__}


def _to_numpy(value: Any) -> Any:
    """Keras output structure -> the same structure of NumPy arrays (tuples stay tuples)."""
    if isinstance(value, (list, tuple)):
        return type(value)(_to_numpy(v) for v in value)
    return np.asarray(value)


# -- the layer -------------------------------------------------------------------

#: Keras' class for each cell name of rnn_core.CELLS.
KERAS_LAYERS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def build_layer(kind: str, config: _RecurrentConfig, input_shape: tuple[int, int, int],
                weights: list[Array] | None = None, dtype: str = "float32"):
    """A built keras.layers.SimpleRNN / LSTM / GRU (``kind`` as in rnn_core.CELLS) with the config's
    arguments (and weights, if given)."""
    if kind not in KERAS_LAYERS:
        raise ValueError(f"kind must be one of {', '.join(KERAS_LAYERS)}; got {kind!r}.")
    _, keras = _tf()
    kwargs = asdict(config)
    units = kwargs.pop("units")
    layer = getattr(keras.layers, KERAS_LAYERS[kind])(units, dtype=dtype, **kwargs)
    layer.build(tuple(input_shape))
    if weights is not None:
        set_weights(layer, weights)
    return layer


def build_simple_rnn(config: SimpleRNNConfig, input_shape: tuple[int, int, int], weights: list[Array] | None = None,
                     dtype: str = "float32"):
    """A built keras.layers.SimpleRNN with the same arguments (and weights, if given)."""
    return build_layer("simple_rnn", config, input_shape, weights, dtype)


def set_weights(layer, weights: list[Array]) -> None:
    """Copy NumPy weights into a Keras layer or model, asserting every shape (no transposes)."""
    current = layer.get_weights()
    if len(current) != len(weights):
        raise ValueError(f"Keras expects {len(current)} weight arrays, got {len(weights)}.")
    for i, (theirs, mine) in enumerate(zip(current, weights, strict=True)):
        if theirs.shape != np.shape(mine):
            raise ValueError(f"weight {i}: Keras shape {theirs.shape} vs NumPy shape {np.shape(mine)}.")
    layer.set_weights([np.asarray(w, dtype=theirs.dtype) for w, theirs in zip(weights, current, strict=True)])


def _as_masks(tf, masks: tuple[Array | None, Array | None], dtype) -> tuple[Any, Any]:
    """NumPy dropout masks -> what Keras' cell caches: a tensor, or a list of one per gate ((G, B, .) arrays)."""
    def one(m):
        if m is None:
            return None
        m = tf.convert_to_tensor(m, dtype=dtype)
        return m if m.shape.rank == 2 else [m[k] for k in range(m.shape[0])]
    return one(masks[0]), one(masks[1])


def _set_dropout_masks(cell, in_mask, rec_mask) -> None:
    """Make Keras use these dropout masks for the next call.

    Keras draws the masks in ``RNN.call`` only when the cell holds none (and
    LSTM/GRU expect a list of one mask per gate when recurrent_dropout > 0),
    so setting them beforehand makes both sides drop exactly the same units.
    """
    cell._dropout_mask = in_mask
    cell._recurrent_dropout_mask = rec_mask


def _use_dropout_masks(layer, masks: tuple[Array | None, Array | None]) -> None:
    tf, _ = _tf()
    _set_dropout_masks(layer.cell, *_as_masks(tf, masks, layer.compute_dtype))


def _state_list(states, n: int) -> list:
    """An initial state or state gradient given as one array or a list -> a list of n (None where absent)."""
    if states is None:
        return [None] * n
    states = list(states) if isinstance(states, (list, tuple)) else [states]
    if len(states) > n:
        raise ValueError(f"The layer has {n} state(s); got {len(states)}.")
    return states + [None] * (n - len(states))


def run_layer(layer, x: Array, mask: Array | None = None, initial_state: Array | list[Array] | None = None,
              training: bool = False, dropout_masks: tuple[Array | None, Array | None] = (None, None)) -> Any:
    """Call the Keras layer; returns what it returns, as NumPy (an array or an (output, *states) tuple)."""
    tf, _ = _tf()
    mask_t = None if mask is None else tf.constant(np.asarray(mask, bool))
    states_t = None
    if initial_state is not None:
        states = _state_list(initial_state, _n_states(layer))
        states_t = [tf.constant(s, dtype=layer.compute_dtype) for s in states]
    x_t = tf.constant(x, dtype=layer.compute_dtype)
    if not training and dropout_masks == (None, None) and np.shape(x)[1] >= COMPILE_FORWARD_MIN_STEPS:
        # Inference on a long sequence: the same call compiled once per layer (eager Keras steps op by op,
        # ~1.4 ms a step here; tracing costs ~2 s once per layer and input shape).
        return _to_numpy(_compiled_call(layer)(x_t, mask_t, states_t))
    _use_dropout_masks(layer, dropout_masks)
    try:
        return _to_numpy(layer(x_t, mask=mask_t, initial_state=states_t, training=training))
    finally:
        _set_dropout_masks(layer.cell, None, None)


_CALL_ATTR = "_rnn_explorer_call_fn"
#: From this many steps a forward call is compiled: measured here, eager Keras takes ~1.4 ms a step and
#: tracing ~2 s, so below ~1,500 steps one eager call is cheaper than tracing (the app keeps the results).
COMPILE_FORWARD_MIN_STEPS = 1000


def _compiled_call(owner):
    """``owner``'s inference call as a tf.function, made once per layer or model and kept on it (it goes
    away with its owner), as the gradient functions are (see _compiled).

    A model is traced once for every batch size and length (see _sequence_spec); a layer's call is
    retraced for a new shape, then relaxed to any shape by ``reduce_retracing``."""
    fn = owner.__dict__.get(_CALL_ATTR)
    if fn is None:
        tf, _ = _tf()
        if hasattr(owner, "cell"):
            fn = tf.function(lambda x, mask, states: owner(x, mask=mask, initial_state=states, training=False),
                             reduce_retracing=True)
        else:
            fn = tf.function(lambda x: _head(owner)(owner.rnn(x, training=False)),
                             input_signature=[_sequence_spec(tf, owner)])
        object.__setattr__(owner, _CALL_ATTR, fn)          # not a Keras-tracked attribute
    return fn


def _sequence_spec(tf, model):
    """(None, None, D) float32: a model's input with batch and length left open, so one trace serves
    every sequence a visitor picks (see _head for why that needs the head's Dense)."""
    return tf.TensorSpec((None, None, int(model.rnn.cell.kernel.shape[0])), tf.float32)


def _head(model):
    """The tutorial model's head as called in compiled functions: the Dense inside TimeDistributed, on 3-D.

    TimeDistributed(Dense) is Dense on a (B, T, H) input (the tutorial's point, shown and tested on the
    output-shapes page): the same variables, the same numbers. Compiled, Keras 3's TimeDistributed is
    unusable here: with a known length it unrolls a Python loop, one Dense per step in the graph
    (tracing the model's gradients took 34 s at T=400 on this machine, growing with T); with the length
    left open it maps over ``range(batch)`` instead of the steps (keras/src/layers/rnn/time_distributed.py:
    ``vectorized_map(step_function, ops.arange(input_shape[0]))`` with the shape taken before the
    transpose), returning (B, B, C). Eager calls use the model itself.
    """
    fc = model.fc
    return fc.layer if fc.__class__.__name__ == "TimeDistributed" else fc


def run_model(model, x: Array) -> Array:
    """The model's predictions on x as NumPy, compiled for sequences of COMPILE_FORWARD_MIN_STEPS or more."""
    tf, _ = _tf()
    x_t = tf.constant(x, dtype="float32")
    if np.shape(x)[1] >= COMPILE_FORWARD_MIN_STEPS:
        return np.asarray(_compiled_call(model)(x_t))
    return np.asarray(model(x_t, training=False))


def run_bidirectional(kind: str, config: _RecurrentConfig, merge_mode: str | None, x: Array,
                      weights: list[Array]) -> Any:
    """keras.layers.Bidirectional around the Keras twin of ``config``, weights in Keras' order (forward
    then backward), called on ``x``: what it returns, as NumPy (the same structure)."""
    tf, keras = _tf()
    layer = getattr(keras.layers, KERAS_LAYERS[kind])(config.units, **{k: v for k, v in asdict(config).items()
                                                                        if k != "units"})
    bi = keras.layers.Bidirectional(layer, merge_mode=merge_mode)
    bi.build(tuple(np.shape(x)))
    set_weights(bi, weights)
    return _to_numpy(bi(tf.constant(x, dtype=bi.compute_dtype)))


def stacking_error(kind: str, first: _RecurrentConfig, second: _RecurrentConfig,
                   input_shape: tuple[int, int, int]) -> str | None:
    """Keras' own message when ``second`` (named "upper") is called on what ``first`` returns (None if it works).

    A fixed name: Keras numbers its layers per process ("lstm_6"), so the message names the same layer as the
    NumPy core's, which counts its own layers."""
    tf, keras = _tf()
    make = getattr(keras.layers, KERAS_LAYERS[kind])
    one = make(first.units, **{k: v for k, v in asdict(first).items() if k != "units"})
    two = make(second.units, name="upper",   # as the NumPy side's
               **{k: v for k, v in asdict(second).items() if k != "units"})
    try:
        out = one(tf.zeros(input_shape))
        two(out[0] if isinstance(out, (list, tuple)) else out)
    except ValueError as err:          # Keras' input-spec check: the text a Keras user sees
        return str(err)
    return None


def _n_states(layer) -> int:
    size = layer.cell.state_size
    return len(size) if isinstance(size, (list, tuple)) else 1


#: Below this many steps the gradient function runs eagerly: tracing (about 1 s) would cost more than it saves.
COMPILE_MIN_STEPS = 32
_COMPILED_ATTR = "_rnn_explorer_gradient_fn"


def _compiled(owner, make, steps: int, **options):
    """The gradient function of ``owner``: a tf.function made once per layer or model and kept on it
    (it goes away with its owner), or the same function run eagerly for short sequences.

    ``options`` go to tf.function: a model's gradients are traced once for any batch and length
    (``input_signature``, see _sequence_spec); a layer's are retraced per new shape and flags, then
    relaxed to any length (``reduce_retracing``)."""
    if steps < COMPILE_MIN_STEPS:
        return make(owner)
    key = _COMPILED_ATTR + "_" + "_".join(sorted(options))
    fn = owner.__dict__.get(key)
    if fn is None:
        tf, _ = _tf()
        fn = tf.function(make(owner), **(options or {"reduce_retracing": True}))
        object.__setattr__(owner, key, fn)                 # not a Keras-tracked attribute
    return fn


def layer_gradients(layer, x: Array, d_output: Array, d_state: Array | list | None = None, mask: Array | None = None,
                    initial_state: Array | list[Array] | None = None, training: bool = False,
                    dropout_masks: tuple[Array | None, Array | None] = (None, None)) -> dict[str, Any]:
    """Gradients of L = <d_output, output> + sum_k <d_state_k, state_k> by GradientTape, compiled.

    ``d_state`` is dL/d(final state): one array, or a list in the order of the
    returned states ([h, c] for LSTM). Returns the names of
    rnn_core.RNNGradients: kernel, recurrent_kernel, bias, inputs,
    initial_state (a tuple for LSTM), hidden (total dL/dh_t), cell (total
    dL/dc_t for LSTM, the path c_t -> h_t of the same step included, else
    None), cell_carried (the part of dL/dc_t that flows back from step t+1,
    LSTM, else None), plus ``output`` (what the layer returned). The weight,
    input and initial-state gradients are those of the layer's own call; the
    state gradients come from stepping its cell (see :func:`_state_totals`).
    """
    tf, _ = _tf()
    dtype = layer.compute_dtype
    n = _n_states(layer)
    B = np.shape(x)[0]
    states0 = _state_list(initial_state, n)
    if layer.stateful and initial_state is None and layer.states is not None:
        states0 = [np.asarray(v) for v in layer.states]
    states0 = [np.zeros((B, layer.cell.units)) if s is None else s for s in states0]
    d_states = _state_list(d_state, n)
    in_mask, rec_mask = _as_masks(tf, dropout_masks, dtype)
    fn = _compiled(layer, _layer_gradient_graph, int(np.shape(x)[1]))
    result, grads, totals, carried = fn(
        tf.constant(x, dtype=dtype), tf.constant(d_output, dtype=dtype),
        tuple(None if d is None else tf.constant(d, dtype=dtype) for d in d_states),
        None if mask is None else tf.constant(np.asarray(mask, bool)),
        tuple(tf.constant(s, dtype=dtype) for s in states0), bool(training), in_mask, rec_mask)
    names = ["kernel", "recurrent_kernel"] + (["bias"] if layer.cell.use_bias else [])
    out = {name: np.asarray(g) for name, g in zip(names, grads, strict=False)}
    out.setdefault("bias", None)
    out["inputs"] = np.asarray(grads[len(names)])
    d0 = [np.asarray(g) for g in grads[len(names) + 1:]]
    out["initial_state"] = d0[0] if n == 1 else tuple(d0)
    out["output"] = _to_numpy(result)
    out["hidden"] = np.asarray(totals[0])
    out["cell"] = np.asarray(totals[1]) if n > 1 else None
    out["cell_carried"] = np.asarray(carried[1]) if n > 1 else None
    return out


def _layer_gradient_graph(layer):
    """The function compiled by layer_gradients: the layer's call under a tape, then the state totals."""
    tf, _ = _tf()

    def graph(x, d_output, d_states, mask, states0, training, in_mask, rec_mask):
        cell = layer.cell
        variables = [cell.kernel, cell.recurrent_kernel] + ([cell.bias] if cell.use_bias else [])
        with tf.GradientTape() as tape:
            tape.watch([x, *states0])
            _set_dropout_masks(cell, in_mask, rec_mask)
            result = layer(x, mask=mask, initial_state=list(states0), training=training)
            loss = _loss(tf, layer, result, d_output, d_states)
        grads = tape.gradient(loss, variables + [x, *states0], unconnected_gradients=tf.UnconnectedGradients.ZERO)
        totals, carried = _state_totals(layer, x, states0, d_output, d_states, mask, training, in_mask, rec_mask)
        return result, grads, totals, carried

    return graph


def _loss(tf, layer, result, d_output, d_states):
    """<d_output, output> + sum_k <d_state_k, state_k> for what a Keras RNN layer returned."""
    output, *states = result if layer.return_state else (result,)
    loss = tf.reduce_sum(output * d_output)
    for s, d in zip(states, d_states):
        if d is not None:
            loss += tf.reduce_sum(s * d)
    return loss


def _state_totals(layer, x, states0, d_output, d_states, mask, training, in_mask, rec_mask):
    """dL/ds_t (B, T, H) for every state s (h; and c for LSTM), in processing order: (totals, carried).

    carried: steps ``layer.cell`` in a tf.while_loop and adds a zero
    perturbation eps_s[t] to each state after step t (after masking):
    dL/d eps_s[t] is what arrives at the carried state s_t, from the loss and
    from step t+1. The loop repeats Keras' own masking rule
    (keras.src.backend.tensorflow.rnn): the states are carried where a step is
    masked, and the output is the previous output (zeros with
    zero_output_for_mask).

    totals: for h the carried gradient is all of dL/dh_t (nothing else in
    step t is computed from h_t). A cell whose step computes h_t from another
    state (Keras 3's LSTMCell: ``h = o * activation(c)`` from the very tensor
    ``c`` it returns) gives that state one more path. TensorFlow differentiates
    it: the Keras cell is called once more on all T*B steps at once, from the
    recorded states before each step (with the same dropout masks), under a
    tape, and ``tape.gradient(h, c, output_gradients=dL/dh_t)`` is added to the
    carried part, with dL/dh_t set to zero at masked steps (their h_t is
    carried, not computed from c_t).
    """
    tf, _ = _tf()
    cell = layer.cell
    xs = tf.reverse(x, [1]) if layer.go_backwards else x
    xs = tf.transpose(xs, [1, 0, 2])                                   # (T, B, D) time-major
    T = tf.shape(x)[1]                                                 # open when traced for any length
    ms = None
    if mask is not None:
        ms = tf.transpose(tf.reverse(mask, [1]) if layer.go_backwards else mask)[:, :, None]   # (T, B, 1)
    eps = [tf.zeros(tf.concat([[T], tf.shape(s)], 0), dtype=s.dtype) for s in states0]
    nested = isinstance(cell.state_size, (list, tuple))
    with tf.GradientTape() as tape:
        tape.watch(eps)
        _set_dropout_masks(cell, in_mask, rec_mask)

        def body(t, states, prev_out, outs, carried):
            _, new = cell(xs[t], list(states), training=training)
            new = list(new) if nested or isinstance(new, (list, tuple)) else [new]
            if ms is not None:
                new = [tf.where(ms[t], s_new, s) for s_new, s in zip(new, states)]
            new = [s + e[t] for s, e in zip(new, eps)]                 # s_t + eps_s[t]
            o = new[0]
            if ms is not None:
                o = tf.where(ms[t], new[0], tf.zeros_like(o) if layer.zero_output_for_mask else prev_out)
            carried = tuple(ta.write(t, s) for ta, s in zip(carried, new))
            return t + 1, tuple(new), o, outs.write(t, o), carried

        outs = tf.TensorArray(x.dtype, size=T)
        carried_tas = tuple(tf.TensorArray(s.dtype, size=T) for s in states0)
        _, finals, _, outs, carried_tas = tf.while_loop(
            lambda t, *_: t < T, body, (tf.constant(0), tuple(states0), tf.zeros_like(states0[0]), outs, carried_tas))
        seq = tf.transpose(outs.stack(), [1, 0, 2])
        out = seq if layer.return_sequences else seq[:, -1]
        loss = tf.reduce_sum(out * d_output)
        for s, d in zip(finals, d_states):
            if d is not None:
                loss += tf.reduce_sum(s * d)
    _set_dropout_masks(cell, None, None)
    carried = tape.gradient(loss, eps, unconnected_gradients=tf.UnconnectedGradients.ZERO)   # (T, B, H) each
    totals = list(carried)
    if len(states0) > 1:
        totals[1:] = _through_own_step(tf, cell, xs, states0, [ta.stack() for ta in carried_tas], carried[0], ms,
                                       training, in_mask, rec_mask, carried[1:])
    return [tf.transpose(g, [1, 0, 2]) for g in totals], [tf.transpose(g, [1, 0, 2]) for g in carried]


def _through_own_step(tf, cell, xs, states0, after, d_h, ms, training, in_mask, rec_mask, carried):
    """For each state after h (LSTM: c): its carried gradient plus what it passes to h_t of its own step (TF).

    xs (T, B, D); after: the carried states after each step, (T, B, H) each; d_h (T, B, H) = dL/dh_t.
    The Keras cell runs once on the T*B steps as one batch, from the states before each step.
    """
    T = tf.shape(xs)[0]

    def flat(a):                                                       # (T, B, ...) -> (T*B, ...)
        return tf.reshape(a, tf.concat([[-1], tf.shape(a)[2:]], 0))

    def tiled(m):                                                      # a (B, .) dropout mask for every step
        if m is None:
            return None
        return [tf.tile(k, [T, 1]) for k in m] if isinstance(m, (list, tuple)) else tf.tile(m, [T, 1])

    before = [flat(tf.concat([s0[None], s[:-1]], 0)) for s0, s in zip(states0, after)]
    with tf.GradientTape() as tape:
        tape.watch(before)
        _set_dropout_masks(cell, tiled(in_mask), tiled(rec_mask))
        h, new = cell(flat(xs), before, training=training)         # h_t and the raw states of every step
    _set_dropout_masks(cell, None, None)
    if ms is not None:
        d_h = d_h * tf.cast(ms, d_h.dtype)                             # a masked step's h_t is carried
    own = tape.gradient(h, list(new)[1:], output_gradients=flat(d_h),
                        unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return [c + tf.reshape(g, tf.shape(c)) for c, g in zip(carried, own)]


def hidden_gradients(layer, x: Array, h0: Array, d_output: Array, d_state: Array | None, mask: Array | None,
                     training: bool, dropout_masks: tuple[Array | None, Array | None]) -> Array:
    """Total dL/dh_t (B, T, H), in processing order (see :func:`layer_gradients`, which also gives dL/dc_t)."""
    return layer_gradients(layer, x, d_output, d_state, mask, h0, training, dropout_masks)["hidden"]


# -- the tutorial model -------------------------------------------------------------

TUTORIAL_MODEL_SOURCE = '''\
class RNNLayer(keras.Model):
    def __init__(self, num_hidden=128, num_class=39):
        super().__init__()
        self.rnn = SimpleRNN(num_hidden, activation='tanh', return_sequences=True)
        self.fc = TimeDistributed(Dense(num_class, activation='softmax'))

    def call(self, x):
        x = self.rnn(x)
        return self.fc(x)
'''


def tutorial_model_source(cell: str = "simple_rnn") -> str:
    """The tutorial's model code with its recurrent layer swapped for ``cell``'s Keras class."""
    return TUTORIAL_MODEL_SOURCE.replace("SimpleRNN(", f"{KERAS_LAYERS[cell]}(")


def build_tutorial_model(num_hidden: int = 128, num_class: int = 39, many_to_many: bool = True,
                         cell: str = "simple_rnn", input_shape: tuple[int, int, int] | None = None,
                         weights: list[Array] | None = None, **rnn_kwargs):
    """The tutorial's RNNLayer (a keras.Model subclass) with a SimpleRNN, LSTM or GRU (``cell`` as in
    rnn_core.CELLS); many_to_one drops return_sequences and TimeDistributed."""
    if cell not in KERAS_LAYERS:
        raise ValueError(f"cell must be one of {', '.join(KERAS_LAYERS)}; got {cell!r}.")
    tf, keras = _tf()
    rnn_kwargs.setdefault("activation", "tanh")
    rnn_kwargs.pop("return_state", None)
    rnn_kwargs.pop("return_sequences", None)
    rnn_class = getattr(keras.layers, KERAS_LAYERS[cell])

    class RNNLayer(keras.Model):
        def __init__(self, num_hidden=128, num_class=39):
            super().__init__()
            self.rnn = rnn_class(num_hidden, return_sequences=many_to_many, **rnn_kwargs)
            dense = keras.layers.Dense(num_class, activation="softmax")
            self.fc = keras.layers.TimeDistributed(dense) if many_to_many else dense

        def call(self, x):
            x = self.rnn(x)
            return self.fc(x)

        def build(self, input_shape):
            # Not in the tutorial: without it Keras builds a subclassed model by tracing call() symbolically,
            # its layers' variables created deferred inside a StatelessScope. Under the load test (8 visitors
            # building at once, even one at a time) the recurrent layer's variables of 1 build in ~4 came out
            # never initialised ('NoneType' object has no attribute 'assign' in set_weights). Built here,
            # eagerly, they exist before any call: the same layers, weights and numbers.
            self.rnn.build(input_shape)
            self.fc.build(self.rnn.compute_output_shape(input_shape))

    model = RNNLayer(num_hidden, num_class)
    if input_shape is not None:
        model(np.zeros(input_shape, np.float32))
        if weights is not None:
            set_weights(model, weights)
    return model


def model_gradients(model, x: Array, labels: Array, mask: Array | None = None) -> dict[str, Any]:
    """Loss (sparse categorical cross-entropy), predictions, gradients of every weight and the input,
    and the total dL/dh_t of the RNN inside (``hidden``; ``cell`` = the total dL/dc_t for an LSTM, else None),
    in one compiled function (see layer_gradients). ``mask`` (B, T) goes to the recurrent layer only
    (padded steps carry its state); the loss is over every step, as rnn_core.training.model.RNNClassifier.loss."""
    tf, _ = _tf()
    n = _n_states(model.rnn)
    labels = np.asarray(labels)
    if mask is None:
        mask = np.ones(np.shape(x)[:2], bool)   # one traced function: an all-true mask changes nothing
    spec = [_sequence_spec(tf, model), tf.TensorSpec([None] * labels.ndim, tf.as_dtype(labels.dtype)),
            tf.TensorSpec((None, None), tf.bool)]
    fn = _compiled(model, _model_gradient_graph, int(np.shape(x)[1]), input_signature=spec)
    loss, probs, grads, totals = fn(tf.constant(x, dtype="float32"), tf.constant(labels),
                                    tf.constant(np.asarray(mask, bool)))
    return {"loss": float(loss), "probs": probs.numpy(), "weights": [np.asarray(g) for g in grads[:-1]],
            "inputs": np.asarray(grads[-1]), "hidden": np.asarray(totals[0]),
            "cell": np.asarray(totals[1]) if n > 1 else None}


def _model_gradient_graph(model):
    tf, keras = _tf()
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    def graph(x, labels, mask=None):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            # identity: the head and the loss see the outputs without Keras' mask attached (no loss masking).
            rnn_out = tf.identity(model.rnn(x, mask=mask))
            probs = _head(model)(rnn_out)
            loss = loss_fn(labels, probs)
        grads = tape.gradient(loss, model.trainable_variables + [x])
        d_rnn_out = tape.gradient(loss, rnn_out)
        del tape
        n = _n_states(model.rnn)
        states0 = tuple(tf.zeros(tf.stack([tf.shape(x)[0], model.rnn.cell.units]), x.dtype) for _ in range(n))
        totals, _ = _state_totals(model.rnn, x, states0, d_rnn_out, (None,) * n, mask, False, None, None)
        return loss, probs, grads, totals

    return graph


def timedistributed_vs_dense(h: Array, kernel: Array, bias: Array, activation: str = "softmax") -> tuple[Array, Array]:
    """Apply TimeDistributed(Dense) and a plain Dense (same weights) to h (B, T, H); return both outputs."""
    tf, keras = _tf()
    units = kernel.shape[1]
    dense = keras.layers.Dense(units, activation=activation)
    td = keras.layers.TimeDistributed(keras.layers.Dense(units, activation=activation))
    h_t = tf.constant(h, dtype="float32")
    dense.build(h.shape)
    td.build(h.shape)
    dense.set_weights([kernel, bias])
    td.set_weights([kernel, bias])
    return np.asarray(td(h_t)), np.asarray(dense(h_t))


# =====================================================================================
# -- training the model's Keras twin, step for step (issue 10) --------------------------
# The Training page trains rnn_core.training.model.RNNClassifier in NumPy and, on the same batches
# from the same initial weights, this Keras model with train_on_batch (the parity curve);
# the trained model is exported from here as a .keras file.


def build_training_model(cell: str, config: _RecurrentConfig, num_outputs: int, many_to_many: bool,
                         head_activation: str, input_dim: int, weights: list[Array] | None = None):
    """The Keras twin of ``RNNClassifier``: ``Sequential([Input((None, D)), Layer(**config), head])``.

    head: ``TimeDistributed(Dense(C, head_activation))`` many-to-many, ``Dense`` on the
    last output many-to-one. A Sequential of built-in layers (not the tutorial's
    subclassed RNNLayer) so that it saves as a .keras file that
    ``keras.saving.load_model`` opens without custom objects. The time axis is
    None: the model takes sequences of any length. ``weights`` in
    ``model.get_weights()`` order (the NumPy model's order), shapes asserted.
    """
    if cell not in KERAS_LAYERS:
        raise ValueError(f"cell must be one of {', '.join(KERAS_LAYERS)}; got {cell!r}.")
    _, keras = _tf()
    kwargs = asdict(config)
    units = kwargs.pop("units")
    kwargs.update(return_sequences=many_to_many, return_state=False)
    dense = keras.layers.Dense(num_outputs, activation=head_activation, name="fc")
    model = keras.Sequential([
        keras.Input((None, input_dim)),
        getattr(keras.layers, KERAS_LAYERS[cell])(units, name="rnn", **kwargs),
        keras.layers.TimeDistributed(dense, name="fc_every_step") if many_to_many else dense,
    ])
    if weights is not None:
        set_weights(model, weights)
    return model


def keras_optimizer(config: dict):
    """The keras.optimizers object for an rnn_core optimizer's ``get_config()`` (same name and arguments)."""
    _, keras = _tf()
    kwargs = {k: v for k, v in config.items() if k != "name" and v is not None}
    return getattr(keras.optimizers, config["name"])(**kwargs)


def compile_for_training(model, optimizer_config: dict, loss: str) -> None:
    """Compile ``model`` with the Keras twin of an rnn_core optimizer and the loss, for train_on_batch."""
    model.compile(optimizer=keras_optimizer(optimizer_config), loss=loss)


def train_on_batch(model, x: Array, y: Array) -> float:
    """One Keras training step (a compiled tf.function after the first call); the loss before the update."""
    return float(model.train_on_batch(x, y))


def save_model_bytes(model, metadata: dict | None = None) -> bytes:
    """``model.save`` into a private temporary folder (removed afterwards) and the .keras file's bytes.

    ``metadata``: entries added to the file's metadata.json (which Keras writes and never reads back), e.g. the
    app's text record (rnn_core/saving/text_record.py); the other members are copied byte for byte.
    """
    with tempfile.TemporaryDirectory(prefix="rnn-explorer-export-") as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        with open(path, "rb") as f:
            data = f.read()
    if not metadata:
        return data
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info)
            if info.filename == "metadata.json":
                content = json.dumps(json.loads(content) | metadata).encode()
            dst.writestr(info, content)
    return out.getvalue()


# =====================================================================================
# -- a user's own model file (issue 11) ------------------------------------------------
# Everything below is self-contained: the file is inspected by rnn_core.saving.model_files
# (no Keras) before Keras reads a byte of it.


def load_model_file(filename: str, data: bytes):
    """Inspect a user's ``.keras`` file, then load it with Keras; returns ``(keras.Model, ModelFileInfo)``.

    The bytes are checked by :func:`rnn_core.saving.model_files.inspect_model_file` first
    (nothing reaches Keras otherwise), then written to a private temporary
    directory (mode 0700, removed afterwards whatever happens) and loaded with
    ``keras.saving.load_model(path, safe_mode=True, compile=False)``. Any failure
    is raised as ModelFileError with a message a user can act on.
    """
    import shutil  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    from .saving.model_files import ModelFileError, inspect_model_file  # noqa: PLC0415

    info = inspect_model_file(filename, data)
    _, keras = _tf()
    folder = tempfile.mkdtemp(prefix="rnn-explorer-model-")   # created with mode 0700
    try:
        os.chmod(folder, 0o700)
        path = os.path.join(folder, "model.keras")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(bytes(data))
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except ModelFileError:
        raise
    except Exception as e:  # noqa: BLE001 - anything Keras raises becomes a message, never a traceback
        raise ModelFileError(N_("Keras could not load the model: {e} Re-save it with Keras 3 as "
                                '`model.save("model.keras")` and try again.'),
                             e=str(e)[:300]) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return model, info


# Keras recurrent class name -> rnn_core class name. rnn_core.LSTM and rnn_core.GRU plug in
# as soon as they exist (Keras' constructor arguments and weight layout).
TWIN_CLASSES = {"SimpleRNN": "SimpleRNN", "LSTM": "LSTM", "GRU": "GRU"}


def _twin_arguments(cls, keras_config: dict) -> dict:
    """The Keras config values that ``cls`` accepts: fields of rnn_core.<Name>Config, else __init__'s keywords."""
    import dataclasses  # noqa: PLC0415
    import importlib  # noqa: PLC0415
    import inspect  # noqa: PLC0415

    config_cls = getattr(importlib.import_module(__package__), cls.__name__ + "Config", None)
    if config_cls is not None and dataclasses.is_dataclass(config_cls):
        accepted = {f.name for f in dataclasses.fields(config_cls)}
    else:
        params = inspect.signature(cls.__init__).parameters.values()
        accepted = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"self"}
    # Initializers are objects in a Keras config; the weights are copied, so the twin keeps its defaults.
    return {k: v for k, v in keras_config.items()
            if k in accepted and (v is None or isinstance(v, (bool, int, float, str)))}


class TwinError(UserError):
    """A Keras layer that has no NumPy twin here (a ValueError; the message is a template the app translates)."""


def twin_of(keras_layer):
    """The rnn_core layer with the same configuration and weights as a Keras SimpleRNN, LSTM or GRU.

    A Keras Bidirectional gives an rnn_core.Bidirectional of the two directions' twins when rnn_core
    has one (else call twin_of on ``layer.forward_layer`` and ``layer.backward_layer``).
    Raises ValueError (NotImplementedError while rnn_core lacks the class) naming what is missing.
    """
    import importlib  # noqa: PLC0415

    kind = type(keras_layer).__name__
    if kind == "Bidirectional":
        wrapper = getattr(importlib.import_module(__package__), "Bidirectional", None)
        if wrapper is None:
            raise ValueError("rnn_core has no Bidirectional yet: use twin_of(layer.forward_layer) and "
                             "twin_of(layer.backward_layer).")
        forward, backward = twin_of(keras_layer.forward_layer), twin_of(keras_layer.backward_layer)
        twin = wrapper(forward, merge_mode=keras_layer.merge_mode, backward_layer=backward)
        twin.build((1, 1, forward.get_weights()[0].shape[0]))
        twin.set_weights([np.asarray(w) for w in keras_layer.get_weights()])
        return twin
    if kind not in TWIN_CLASSES:
        raise TwinError(N_("There is no NumPy twin of a Keras {kind}; only {classes}."), kind=kind,
                        classes=", ".join(TWIN_CLASSES))
    cls = getattr(importlib.import_module(__package__), TWIN_CLASSES[kind], None)
    if cls is None:
        raise NotImplementedError(f"rnn_core has no {TWIN_CLASSES[kind]} yet.")
    config = keras_layer.get_config()
    kwargs = _twin_arguments(cls, config)
    units = kwargs.pop("units")
    twin = cls(units, **kwargs)
    weights = [np.asarray(w) for w in keras_layer.get_weights()]
    input_dim = weights[0].shape[0]
    twin.build((1, 1, input_dim))
    twin.set_weights(weights)
    for mine, theirs in zip(twin.get_weights(), weights, strict=True):
        if np.shape(mine) != theirs.shape:
            raise TwinError(N_("{kind} twin: weight shape {mine} vs Keras {theirs}."), kind=kind, mine=np.shape(mine),
                            theirs=theirs.shape)
    return twin


def app_layer(model, name: str, direction: str | None = None, filename: str = "model") -> dict:
    """What the app shows for a recurrent layer of a loaded model: its twin's cell, configuration and weights,
    and the Dense softmax right after it (directly or in TimeDistributed, in a Sequential-like chain) as the head.

    Returns the dict explorer.custom_layer keeps in the session: label, cell, config (rnn_core config fields),
    weights, head ("many-to-many", "many-to-one" or "none"), head_weights, input_dim.
    """
    from dataclasses import asdict  # noqa: PLC0415

    layer = model.get_layer(name)
    keras_rnn = layer if direction is None else getattr(layer, f"{direction}_layer")
    twin = twin_of(keras_rnn)
    weights = [np.asarray(w, np.float32) for w in twin.get_weights()]
    head, head_weights = "none", None
    layers = list(model.layers)
    after = layers[layers.index(layer) + 1:] if layer in layers else []
    after = [a for a in after if type(a).__name__ not in ("Dropout",)]
    if direction is None and after:
        nxt = after[0]
        dense = nxt.layer if type(nxt).__name__ == "TimeDistributed" else nxt
        if type(dense).__name__ == "Dense" and dense.get_config().get("activation") == "softmax" and dense.use_bias:
            head = "many-to-many" if keras_rnn.return_sequences else "many-to-one"
            head_weights = [np.asarray(w, np.float32) for w in dense.get_weights()]
    if direction:
        where = Message(N_("{name} (forward)") if direction == "forward" else N_("{name} (backward)"), {"name": name})
    else:
        where = name
    label = Message(N_("{cls} layer '{where}' of {filename}"),
                    {"cls": type(keras_rnn).__name__, "where": where, "filename": filename})
    return {"label": label, "cell": type(twin).__name__,
            "config": asdict(twin.config), "weights": weights, "head": head, "head_weights": head_weights,
            "input_dim": int(weights[0].shape[0])}


# -- the encoder-decoder (rnn_core.training.seq2seq) ------------------------------------------------------
# The Keras twin of ``rnn_core.training.seq2seq.Seq2Seq``: built from keras.layers, same weights, same numbers.
#
# As everywhere in this module, TensorFlow/Keras are imported inside the functions, on first use; the
# encoder-decoder's helpers are prefixed ``_s2s_``.
#
# The functional model (names of the layers in brackets):
#
#     source = Input((None, V_in))                   ["source"]        one-hot, any length
#     decoder_input = Input((None, V_out))           ["decoder_input"] one-hot <s> y_1 .. y_L
#     e, *s = RNN(H, return_sequences=True, return_state=True)(source)            ["encoder"]
#         Bidirectional: Bidirectional(RNN(H, ...))(source) -> e, *s_fwd, *s_bwd   ["encoder"]
#                        s_k = Concatenate()([s_fwd_k, s_bwd_k])                   ["bridge_h", "bridge_c"]
#     d, *_ = RNN(Hd, return_sequences=True, return_state=True)(decoder_input, initial_state=s)   ["decoder"]
#     with attention: c = Attention()([d, e]) or AdditiveAttention()([d, e])      ["attention"]
#                     f = Concatenate()([d, c])                                   ["features"]
#     probs = Dense(V_out, activation="softmax")(f or d)                         ["output"]
#
# ``model.get_weights()`` order = ``Seq2Seq.get_weights()`` order: encoder (forward, backward), decoder,
# AdditiveAttention's scale, Dense kernel and bias. :func:`build_seq2seq_model` checks it.

_S2S_LAYERS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
_S2S_STEP_ATTR = "_rnn_explorer_s2s_step_models"


def _s2s_set_weights(model, weights: list[Array], names: list[str] | None = None) -> None:
    """Copy NumPy weights into a Keras model, asserting every shape (no transposes)."""
    current = model.get_weights()
    if len(current) != len(weights):
        raise ValueError(f"Keras expects {len(current)} weight arrays, got {len(weights)}.")
    for i, (theirs, mine) in enumerate(zip(current, weights, strict=True)):
        if theirs.shape != np.shape(mine):
            name = names[i] if names else f"weight {i}"
            raise ValueError(f"{name}: Keras shape {theirs.shape} vs NumPy shape {np.shape(mine)}.")
    model.set_weights([np.asarray(w, dtype=theirs.dtype) for w, theirs in zip(weights, current, strict=True)])


def build_seq2seq_model(cell: str, units: int, vocab_in: int, vocab_out: int, attention: str | None = "dot",
                        bidirectional: bool = False, weights: list[Array] | None = None):
    """The Keras twin of ``Seq2Seq(vocab_in, vocab_out, units, cell, attention, bidirectional)``.

    ``weights`` in ``Seq2Seq.get_weights()`` order (the same as this model's ``get_weights()``), shapes
    asserted. The model's inputs are ``[source, decoder_input]``; compile it with :func:`compile_seq2seq`.
    """
    if cell not in _S2S_LAYERS:
        raise ValueError(f"cell must be one of {', '.join(_S2S_LAYERS)}; got {cell!r}.")
    if attention not in (None, "dot", "additive"):
        raise ValueError(f"attention must be None, 'dot' or 'additive'; got {attention!r}.")
    _, keras = _tf()
    layer = getattr(keras.layers, _S2S_LAYERS[cell])
    source = keras.Input((None, vocab_in), name="source")
    decoder_input = keras.Input((None, vocab_out), name="decoder_input")
    if bidirectional:
        encoder = keras.layers.Bidirectional(layer(units, return_sequences=True, return_state=True), name="encoder")
        e, *states = encoder(source)
        n = len(states) // 2                                    # [h_f, (c_f), h_b, (c_b)] -> [h_f h_b], [c_f c_b]
        states = [keras.layers.Concatenate(name=f"bridge_{'hc'[k]}")([states[k], states[n + k]]) for k in range(n)]
        decoder_units = 2 * units
    else:
        e, *states = layer(units, return_sequences=True, return_state=True, name="encoder")(source)
        decoder_units = units
    d, *_ = layer(decoder_units, return_sequences=True, return_state=True, name="decoder")(
        decoder_input, initial_state=states)
    features = d
    if attention is not None:
        kind = keras.layers.Attention if attention == "dot" else keras.layers.AdditiveAttention
        context = kind(name="attention")([d, e])
        features = keras.layers.Concatenate(name="features")([d, context])
    probs = keras.layers.Dense(vocab_out, activation="softmax", name="output")(features)
    model = keras.Model([source, decoder_input], probs, name=f"seq2seq_{cell}")
    if weights is not None:
        set_seq2seq_weights(model, weights)
    return model


def set_seq2seq_weights(model, weights: list[Array]) -> None:
    """Copy ``Seq2Seq.get_weights()`` into the twin, asserting every shape (a mismatch names the Keras variable)."""
    _s2s_set_weights(model, weights, seq2seq_weight_names(model))


def seq2seq_weight_names(model) -> list[str]:
    """The Keras variable paths in get_weights() order, e.g. "encoder/lstm_cell/kernel" (for messages)."""
    return [v.path for v in model.weights]


def compile_seq2seq(model, optimizer_config: dict, run_eagerly: bool = False) -> None:
    """Compile with the Keras twin of an rnn_core optimizer and sparse categorical cross-entropy."""
    model.compile(optimizer=keras_optimizer(optimizer_config), loss="sparse_categorical_crossentropy",
                  run_eagerly=run_eagerly)


def seq2seq_train_on_batch(model, x: Array, y_in: Array, y_out: Array) -> float:
    """One Keras training step, ``train_on_batch([x, y_in], y_out)``: the loss before the update."""
    return float(model.train_on_batch([np.asarray(x, np.float32), np.asarray(y_in, np.float32)], y_out))


def seq2seq_gradients(model, x: Array, y_in: Array, y_out: Array) -> dict:
    """Loss, probabilities and dL/dw for every weight (get_weights() order) by GradientTape, eagerly."""
    import tensorflow as tf  # noqa: PLC0415

    _, keras = _tf()
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    inputs = [tf.constant(x, tf.float32), tf.constant(y_in, tf.float32)]
    with tf.GradientTape() as tape:
        probs = model(inputs, training=True)
        loss = loss_fn(tf.constant(y_out), probs)
    grads = tape.gradient(loss, model.trainable_variables)
    if [v.path for v in model.trainable_variables] != seq2seq_weight_names(model):
        raise RuntimeError("The twin's trainable variables are not in get_weights() order.")
    return {"loss": float(loss), "probs": np.asarray(probs), "weights": [np.asarray(g) for g in grads]}


def _s2s_step_models(model):
    """(encoder model, one-step decoder model) sharing ``model``'s layers, made once and kept on the model.

    encoder: source -> [e, *initial states]; step: [y_t (B, 1, V_out), e, *states] ->
    [probs (B, 1, V_out), d_t (B, 1, Hd), *new states].
    """
    cached = model.__dict__.get(_S2S_STEP_ATTR)
    if cached is not None:
        return cached
    _, keras = _tf()
    names = {layer.name for layer in model.layers}
    encoder, decoder, dense = model.get_layer("encoder"), model.get_layer("decoder"), model.get_layer("output")
    bridges = [model.get_layer(n) for n in ("bridge_h", "bridge_c") if n in names]
    e, *states = encoder.output
    if bridges:
        states = [b.output for b in bridges]
    encoder_model = keras.Model(model.inputs[0], [e, *states])

    y_t = keras.Input((1, model.inputs[1].shape[-1]))
    e_in = keras.Input((None, e.shape[-1]))
    state_in = [keras.Input((s.shape[-1],)) for s in states]
    d, *new_states = decoder(y_t, initial_state=state_in)
    if "attention" in names:
        probs = dense(model.get_layer("features")([d, model.get_layer("attention")([d, e_in])]))
    else:
        probs = dense(d)
    step_model = keras.Model([y_t, e_in, *state_in], [probs, d, *new_states])
    object.__setattr__(model, _S2S_STEP_ATTR, (encoder_model, step_model))
    return encoder_model, step_model


def seq2seq_greedy_decode(model, x: Array, max_len: int, start_token: int = 1) -> tuple[Array, Array | None, Array]:
    """Keras' greedy decoding with the twin's own layers, one decoder step at a time (the argmax fed back).

    Returns tokens (B, max_len), attention weights (B, max_len, Ts) or None, probabilities (B, max_len, V_out).
    The weights come from the twin's attention layer called eagerly on (d_t, e) with return_attention_scores
    (Keras 3.15's functional graph does not connect that second output).
    """
    encoder_model, step_model = _s2s_step_models(model)
    attention = model.get_layer("attention") if "attention" in {layer.name for layer in model.layers} else None
    e, *states = (np.asarray(a) for a in encoder_model(np.asarray(x, np.float32), training=False))
    B, V = np.shape(x)[0], model.inputs[1].shape[-1]
    eye = np.eye(V, dtype=np.float32)
    prev = np.full(B, start_token)
    tokens, weights_all, probs_all = [], [], []
    for _ in range(max_len):
        probs, d, *states = (np.asarray(a) for a in step_model([eye[prev][:, None, :], e, *states], training=False))
        if attention is not None:
            _, weights = attention([d, e], return_attention_scores=True)
            weights_all.append(np.asarray(weights)[:, 0])
        prev = probs[:, 0].argmax(axis=-1)
        tokens.append(prev)
        probs_all.append(probs[:, 0])
    return (np.stack(tokens, axis=1), np.stack(weights_all, axis=1) if weights_all else None,
            np.stack(probs_all, axis=1))
