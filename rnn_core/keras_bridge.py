"""The only module that imports TensorFlow/Keras, and only when a function here is called.

It builds the Keras twin of a NumPy configuration, copies weights both ways,
runs it and takes gradients with ``tf.GradientTape``. Importing this module is
cheap; the first call pays for ``import tensorflow`` (5-15 s on a small machine).
"""

from __future__ import annotations

import os
from dataclasses import asdict
from functools import lru_cache
from typing import Any

import numpy as np

from .layer import SimpleRNNConfig

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


def build_simple_rnn(config: SimpleRNNConfig, input_shape: tuple[int, int, int], weights: list[Array] | None = None,
                     dtype: str = "float32"):
    """A built keras.layers.SimpleRNN with the same arguments (and weights, if given)."""
    tf, keras = _tf()
    kwargs = asdict(config)
    units = kwargs.pop("units")
    layer = keras.layers.SimpleRNN(units, dtype=dtype, **kwargs)
    layer.build(tuple(input_shape))
    if weights is not None:
        set_weights(layer, weights)
    return layer


def set_weights(layer, weights: list[Array]) -> None:
    """Copy NumPy weights into a Keras layer or model, asserting every shape (no transposes)."""
    current = layer.get_weights()
    if len(current) != len(weights):
        raise ValueError(f"Keras expects {len(current)} weight arrays, got {len(weights)}.")
    for i, (theirs, mine) in enumerate(zip(current, weights, strict=True)):
        if theirs.shape != np.shape(mine):
            raise ValueError(f"weight {i}: Keras shape {theirs.shape} vs NumPy shape {np.shape(mine)}.")
    layer.set_weights([np.asarray(w, dtype=theirs.dtype) for w, theirs in zip(weights, current, strict=True)])


def _use_dropout_masks(layer, masks: tuple[Array | None, Array | None]) -> None:
    """Make Keras use the NumPy layer's dropout masks for its next call.

    Keras draws the masks in ``RNN.call`` only when the cell holds none, so
    setting them beforehand makes both sides drop exactly the same units.
    """
    tf, _ = _tf()
    in_mask, rec_mask = masks
    cell = layer.cell
    cell._dropout_mask = None if in_mask is None else tf.constant(in_mask, dtype=layer.compute_dtype)
    cell._recurrent_dropout_mask = None if rec_mask is None else tf.constant(rec_mask, dtype=layer.compute_dtype)


def run_layer(layer, x: Array, mask: Array | None = None, initial_state: Array | None = None,
              training: bool = False, dropout_masks: tuple[Array | None, Array | None] = (None, None)) -> Any:
    """Call the Keras layer; returns what it returns, as NumPy (an array or an (output, state) tuple)."""
    tf, _ = _tf()
    _use_dropout_masks(layer, dropout_masks)
    kwargs = {"training": training}
    if mask is not None:
        kwargs["mask"] = tf.constant(np.asarray(mask, bool))
    if initial_state is not None:
        kwargs["initial_state"] = [tf.constant(initial_state, dtype=layer.compute_dtype)]
    return _to_numpy(layer(tf.constant(x, dtype=layer.compute_dtype), **kwargs))


def layer_gradients(layer, x: Array, d_output: Array, d_state: Array | None = None, mask: Array | None = None,
                    initial_state: Array | None = None, training: bool = False,
                    dropout_masks: tuple[Array | None, Array | None] = (None, None)) -> dict[str, Any]:
    """Gradients of L = <d_output, output> + <d_state, state> by GradientTape.

    Returns the same names as rnn_core.RNNGradients (kernel, recurrent_kernel,
    bias, inputs, initial_state, hidden) plus ``output``. ``hidden`` (the total
    dL/dh_t) comes from stepping the Keras cell under the tape, see
    :func:`hidden_gradients`; a tape gradient on the returned sequence would
    only give the direct term.
    """
    tf, _ = _tf()
    dtype = layer.compute_dtype
    B, T, _ = np.shape(x)
    x_t = tf.constant(x, dtype=dtype)
    h0 = tf.constant(np.zeros((B, layer.units)) if initial_state is None else initial_state, dtype=dtype)
    if layer.stateful and initial_state is None:
        h0 = tf.identity(layer.states[0])
    mask_t = None if mask is None else tf.constant(np.asarray(mask, bool))
    _use_dropout_masks(layer, dropout_masks)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x_t, h0])
        result = layer(x_t, mask=mask_t, initial_state=[h0], training=training)
        output, state = result if layer.return_state else (result, None)
        loss = tf.reduce_sum(output * tf.constant(d_output, dtype=dtype))
        if d_state is not None:
            loss += tf.reduce_sum(state * tf.constant(d_state, dtype=dtype))
    names = ["kernel", "recurrent_kernel"] + (["bias"] if layer.cell.use_bias else [])
    grads = tape.gradient(loss, [layer.cell.kernel, layer.cell.recurrent_kernel]
                          + ([layer.cell.bias] if layer.cell.use_bias else []) + [x_t, h0])
    out = {name: np.asarray(g) for name, g in zip(names, grads, strict=False)}
    out.setdefault("bias", None)
    out["inputs"], out["initial_state"] = np.asarray(grads[-2]), np.asarray(grads[-1])
    out["output"] = _to_numpy(result)
    out["hidden"] = hidden_gradients(layer, x, h0.numpy(), d_output, d_state, mask, training, dropout_masks)
    return out


def hidden_gradients(layer, x: Array, h0: Array, d_output: Array, d_state: Array | None, mask: Array | None,
                     training: bool, dropout_masks: tuple[Array | None, Array | None]) -> Array:
    """Total dL/dh_t (B, T, H), in processing order, by stepping ``layer.cell`` under the tape.

    The loop repeats Keras' own masking rule (keras.src.backend.tensorflow.rnn):
    the state is carried where a step is masked, and the output is the
    previous output (zeros with zero_output_for_mask). The gradient of the
    loss with respect to each state tensor h_t is then the total one.
    """
    tf, _ = _tf()
    dtype = layer.compute_dtype
    xs = np.asarray(x)
    m = None if mask is None else np.asarray(mask, bool)
    if layer.go_backwards:
        xs = xs[:, ::-1]
        m = None if m is None else m[:, ::-1]
    B, T, _ = xs.shape
    _use_dropout_masks(layer, dropout_masks)
    cell = layer.cell
    with tf.GradientTape() as tape:
        h = tf.constant(h0, dtype=dtype)
        prev_out = tf.zeros_like(h)
        states, outputs = [], []
        for t in range(T):
            new_out, _ = cell(tf.constant(xs[:, t], dtype=dtype), [h], training=training)
            if m is None:
                h = new_out
                o = h
            else:
                keep = tf.constant(m[:, t:t + 1])
                h = tf.where(keep, new_out, h)
                o = tf.where(keep, h, tf.zeros_like(h) if layer.zero_output_for_mask else prev_out)
            tape.watch(h)
            states.append(h)
            outputs.append(o)
            prev_out = o
        seq = tf.stack(outputs, axis=1)
        out = seq if layer.return_sequences else seq[:, -1]
        loss = tf.reduce_sum(out * tf.constant(d_output, dtype=dtype))
        if d_state is not None:
            loss += tf.reduce_sum(h * tf.constant(d_state, dtype=dtype))
    cell.reset_dropout_mask()
    cell.reset_recurrent_dropout_mask()
    grads = tape.gradient(loss, states, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return np.stack([np.asarray(g) for g in grads], axis=1)


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


def build_tutorial_model(num_hidden: int = 128, num_class: int = 39, many_to_many: bool = True,
                         input_shape: tuple[int, int, int] | None = None, weights: list[Array] | None = None,
                         **rnn_kwargs):
    """The tutorial's RNNLayer (a keras.Model subclass); many_to_one drops return_sequences and TimeDistributed."""
    tf, keras = _tf()
    rnn_kwargs.setdefault("activation", "tanh")
    rnn_kwargs.pop("return_state", None)
    rnn_kwargs.pop("return_sequences", None)

    class RNNLayer(keras.Model):
        def __init__(self, num_hidden=128, num_class=39):
            super().__init__()
            self.rnn = keras.layers.SimpleRNN(num_hidden, return_sequences=many_to_many, **rnn_kwargs)
            dense = keras.layers.Dense(num_class, activation="softmax")
            self.fc = keras.layers.TimeDistributed(dense) if many_to_many else dense

        def call(self, x):
            x = self.rnn(x)
            return self.fc(x)

    model = RNNLayer(num_hidden, num_class)
    if input_shape is not None:
        model(np.zeros(input_shape, np.float32))
        if weights is not None:
            set_weights(model, weights)
    return model


def model_gradients(model, x: Array, labels: Array) -> dict[str, Any]:
    """Loss (sparse categorical cross-entropy), predictions, gradients of every weight and the input,
    and the total dL/dh_t of the RNN inside (``hidden``, by stepping its cell, see hidden_gradients)."""
    tf, keras = _tf()
    x_t = tf.constant(x, dtype="float32")
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x_t)
        rnn_out = model.rnn(x_t)
        probs = model.fc(rnn_out)
        loss = loss_fn(tf.constant(labels), probs)
    grads = tape.gradient(loss, model.trainable_variables + [x_t])
    d_rnn_out = tape.gradient(loss, rnn_out).numpy()
    hidden = hidden_gradients(model.rnn, x, np.zeros((x.shape[0], model.rnn.units), np.float32), d_rnn_out, None,
                              None, False, (None, None))
    return {"loss": float(loss), "probs": probs.numpy(), "weights": [np.asarray(g) for g in grads[:-1]],
            "inputs": np.asarray(grads[-1]), "hidden": hidden}


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
# -- a user's own model file (issue 11) ------------------------------------------------
# Everything below is self-contained: the file is inspected by rnn_core.model_files
# (no Keras) before Keras reads a byte of it.


def load_model_file(filename: str, data: bytes):
    """Inspect a user's ``.keras`` file, then load it with Keras; returns ``(keras.Model, ModelFileInfo)``.

    The bytes are checked by :func:`rnn_core.model_files.inspect_model_file` first
    (nothing reaches Keras otherwise), then written to a private temporary
    directory (mode 0700, removed afterwards whatever happens) and loaded with
    ``keras.saving.load_model(path, safe_mode=True, compile=False)``. Any failure
    is raised as ModelFileError with a message a user can act on.
    """
    import shutil  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    from .model_files import ModelFileError, inspect_model_file  # noqa: PLC0415

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
        raise ModelFileError(f"Keras could not load the model: {str(e)[:300]} "
                             'Re-save it with Keras 3 as `model.save("model.keras")` and try again.') from None
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
        raise ValueError(f"There is no NumPy twin of a Keras {kind}; only {', '.join(TWIN_CLASSES)}.")
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
            raise ValueError(f"{kind} twin: weight shape {np.shape(mine)} vs Keras {theirs.shape}.")
    return twin
