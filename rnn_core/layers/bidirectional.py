"""``Bidirectional``: a NumPy twin of ``keras.layers.Bidirectional`` (Keras 3) with BPTT.

Two copies of one recurrent layer read the same sequence, one from the first
step to the last and one (``go_backwards=True``) from the last to the first;
their outputs are merged. As in ``keras/src/layers/rnn/bidirectional.py``:

    y     = forward_layer(x)                   (B, T, H) or (B, H)
    y_rev = backward_layer(x)                  processing order: y_rev[:, 0] read x[:, T-1]
    y_rev = flip(y_rev, time)                  only with return_sequences: back to input order
    concat: [y, y_rev] on the last axis   sum: y + y_rev   ave: (y + y_rev) / 2
    mul:    y * y_rev                     None: the tuple (y, y_rev)

With return_state the result is the tuple (output, *forward states, *backward
states) (merge_mode=None: (y, y_rev, *states)), so a Bidirectional LSTM returns
the output and four states. ``initial_state`` is split in half: the first half
goes to the forward layer, the second to the backward one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

Array = np.ndarray
MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _as_tuple(value) -> tuple:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


@dataclass
class BidirectionalGradients:
    """Gradients of a scalar loss after :meth:`Bidirectional.backward`.

    ``forward`` and ``backward`` are each direction's own gradients as its layer
    returns them (its ``hidden``/``cell`` in that layer's processing order, so
    reversed in time for the backward layer). ``hidden`` (and ``cell`` and
    ``cell_carried`` for LSTM) repeat them both in the input's time order.
    ``cell`` is the total dL/dc_t (the path c_t -> h_t of the same step
    included); ``cell_carried`` the part of dL/dc_t that flows back from the
    direction's next step (through c_{t+1} = f_{t+1} c_t + ...).
    """

    forward: object             # RNNGradients of forward_layer
    backward: object            # RNNGradients of backward_layer
    inputs: Array               # (B, T, D): dL/dx through both directions (their sum)
    initial_state: tuple        # dL/d(initial_state), in the order initial_state is given (forward half first)
    hidden: tuple[Array, Array]  # (forward dL/dh_t, backward dL/dh_t), each (B, T, H) in input time order
    cell: tuple[Array, Array] | None  # the same for the total dL/dc_t (LSTM), else None
    cell_carried: tuple[Array, Array] | None = None   # the same for the carried part of dL/dc_t (LSTM), else None

    def weights(self) -> list[Array]:
        """In the order of get_weights(): the forward layer's, then the backward layer's."""
        return list(self.forward.weights()) + list(self.backward.weights())


class Bidirectional:
    """Bidirectional wrapper for the NumPy recurrent layers, as keras.layers.Bidirectional.

    Args:
        layer: a ``SimpleRNN``, ``LSTM`` or ``GRU`` (unbuilt or built; its
            weights are not reused, as in Keras: both directions get fresh ones).
        merge_mode: one of "concat" (default), "sum", "mul", "ave" or None (the
            tuple (forward output, backward output)).
        backward_layer: optional layer for the backward direction, used as is;
            it must have the opposite ``go_backwards`` and the same
            ``stateful``, ``return_sequences`` and ``return_state``.

    The backward layer, when not given, is a copy of ``layer``'s configuration
    with ``go_backwards=True``; its ``seed`` (if one is set) is ``seed + 1`` so
    the two directions do not start from identical weights. As in Keras, both
    layers get ``zero_output_for_mask = return_sequences``.

    Example:
        >>> bi = Bidirectional(SimpleRNN(4, return_sequences=True, return_state=True, seed=0))
        >>> out, h_fwd, h_bwd = bi(np.ones((2, 5, 3), np.float32))
        >>> out.shape, h_fwd.shape, h_bwd.shape
        ((2, 5, 8), (2, 4), (2, 4))
    """

    def __init__(self, layer, merge_mode: str | None = "concat", backward_layer=None) -> None:
        for name, value in (("layer", layer), ("backward_layer", backward_layer)):
            if value is None and name == "backward_layer":
                continue
            if not hasattr(value, "config") or not hasattr(value.config, "go_backwards"):
                raise ValueError(
                    f"Bidirectional wraps a recurrent layer of rnn_core (SimpleRNN, LSTM, GRU); "
                    f"{name} is {value!r}."
                )
        if merge_mode not in MERGE_MODES:
            raise ValueError(
                f"Invalid merge mode. Received: {merge_mode!r}. "
                'Merge mode should be one of {"sum", "mul", "ave", "concat", None}.'
            )
        self.merge_mode = merge_mode
        base = getattr(layer, "name", None) or "rnn"
        self.forward_layer = _copy_layer(layer, name=f"forward_{base.removeprefix('forward_')}")
        if backward_layer is None:
            seed = layer.config.seed
            self.backward_layer = _copy_layer(layer, name=f"backward_{base.removeprefix('backward_')}",
                                              go_backwards=True, seed=None if seed is None else seed + 1)
        else:
            self.backward_layer = backward_layer
        self._verify_layer_config()
        # Keras forces zero_output_for_mask = return_sequences on both layers.
        for direction in (self.forward_layer, self.backward_layer):
            direction.config = dataclasses.replace(direction.config, zero_output_for_mask=direction.return_sequences)
        self.return_sequences = layer.config.return_sequences
        self.return_state = layer.config.return_state
        self.stateful = layer.config.stateful
        self._last: dict | None = None

    def _verify_layer_config(self) -> None:
        fwd, bwd = self.forward_layer.config, self.backward_layer.config
        if fwd.go_backwards == bwd.go_backwards:
            raise ValueError(
                "Forward layer and backward layer should have different `go_backwards` value. Received: "
                f"forward_layer.go_backwards={fwd.go_backwards}, backward_layer.go_backwards={bwd.go_backwards}."
            )
        for name in ("stateful", "return_sequences", "return_state"):
            if getattr(fwd, name) != getattr(bwd, name):
                raise ValueError(
                    f'Forward layer and backward layer are expected to have the same value for attribute "{name}", '
                    f'got "{getattr(fwd, name)}" for forward layer and "{getattr(bwd, name)}" for backward layer.'
                )

    # -- weights and state -----------------------------------------------------------

    @property
    def built(self) -> bool:
        return self.forward_layer.built and self.backward_layer.built

    def build(self, input_shape: tuple[int, ...]) -> None:
        """Build both directions for inputs of shape (batch, timesteps, features)."""
        for direction in (self.forward_layer, self.backward_layer):
            if not direction.built:
                direction.build(input_shape)

    def get_weights(self) -> list[Array]:
        """The forward layer's weights, then the backward layer's (Keras' order)."""
        return list(self.forward_layer.get_weights()) + list(self.backward_layer.get_weights())

    def set_weights(self, weights: list[Array]) -> None:
        """Set [forward weights..., backward weights...], e.g. from keras.layers.Bidirectional.get_weights()."""
        weights = list(weights)
        if len(weights) % 2:
            raise ValueError(
                f"Expected the forward layer's weights followed by the backward layer's (an even number of "
                f"arrays), got {len(weights)}."
            )
        half = len(weights) // 2
        self.forward_layer.set_weights(weights[:half])
        self.backward_layer.set_weights(weights[half:])

    @property
    def states(self) -> tuple | None:
        """Stateful only: the forward layer's carried states, then the backward layer's."""
        fwd, bwd = _as_tuple(self.forward_layer.states), _as_tuple(self.backward_layer.states)
        return fwd + bwd if fwd and bwd else None

    def reset_state(self) -> None:
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    reset_states = reset_state  # Keras' compatibility alias

    # -- call -------------------------------------------------------------------------

    def __call__(self, inputs: Array, mask: Array | None = None, initial_state=None, training: bool = False):
        """Run both directions on ``inputs`` (B, T, D) and merge, returning what Keras 3 returns.

        initial_state: a list/tuple of the forward layer's initial states then
        the backward layer's (e.g. [h_f, c_f, h_b, c_b] for LSTM).
        """
        fwd_state = bwd_state = None
        if initial_state is not None:
            if not isinstance(initial_state, (list, tuple)) or len(initial_state) % 2:
                raise ValueError(
                    "initial_state of a Bidirectional layer must be a list of the forward layer's states followed "
                    "by the backward layer's (an even number of arrays, e.g. [h_forward, h_backward])."
                )
            half = len(initial_state) // 2
            fwd_state, bwd_state = list(initial_state[:half]), list(initial_state[half:])
        y = self.forward_layer(inputs, mask=mask, initial_state=fwd_state, training=training)
        y_rev = self.backward_layer(inputs, mask=mask, initial_state=bwd_state, training=training)
        states: tuple = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]                       # back to input time order
        self._last = {"y": y, "y_rev": y_rev, "n_fwd_states": len(states) // 2,
                      "states": states}
        output = self._merge(y, y_rev)
        if not self.return_state:
            return output
        return output + states if self.merge_mode is None else (output,) + states

    def _merge(self, y: Array, y_rev: Array):
        if self.merge_mode == "concat":
            return np.concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) / 2
        if self.merge_mode == "mul":
            return y * y_rev
        return (y, y_rev)

    # -- backward ------------------------------------------------------------------

    def backward(self, d_output, *d_states: Array | None, truncate: int | None = None) -> BidirectionalGradients:
        """Backprop through time through both directions after the last call.

        d_output: dL/d(output) shaped as the merged output; with merge_mode=None
            the pair (dL/dy, dL/dy_rev) as returned.
        d_states: dL/d(each returned state), in the returned order (forward
            states, then backward states); none at all, or one per state
            (None = 0). Only with return_state.
        truncate: truncated BPTT in each direction (see the wrapped layer's backward).
        """
        if self._last is None:
            raise ValueError("backward() needs a forward call first.")
        y, y_rev, states = self._last["y"], self._last["y_rev"], self._last["states"]
        d_y, d_y_rev = self._split_d_output(d_output, y, y_rev)
        if d_states and not self.return_state:
            raise ValueError("State gradients are only meaningful with return_state=True.")
        if d_states and len(d_states) != len(states):
            raise ValueError(
                f"Expected {len(states)} state gradients (forward states, then backward states), got {len(d_states)}."
            )
        d_states = tuple(np.zeros_like(s) if d is None else d for d, s in zip(d_states, states, strict=False))
        half = self._last["n_fwd_states"]
        if self.return_sequences:
            d_y_rev = d_y_rev[:, ::-1]                     # undo the flip: backward layer's processing order
        g_fwd = self.forward_layer.backward(d_y, *d_states[:half], truncate=truncate)
        g_bwd = self.backward_layer.backward(d_y_rev, *d_states[half:], truncate=truncate)
        fwd_back, bwd_back = self.forward_layer.go_backwards, self.backward_layer.go_backwards
        hidden = (_input_order(g_fwd.hidden, fwd_back), _input_order(g_bwd.hidden, bwd_back))
        cell = carried = None
        if getattr(g_fwd, "cell", None) is not None:
            cell = (_input_order(g_fwd.cell, fwd_back), _input_order(g_bwd.cell, bwd_back))
            carried = (_input_order(g_fwd.cell_carried, fwd_back), _input_order(g_bwd.cell_carried, bwd_back))
        return BidirectionalGradients(
            forward=g_fwd,
            backward=g_bwd,
            inputs=g_fwd.inputs + g_bwd.inputs,
            initial_state=_as_tuple(g_fwd.initial_state) + _as_tuple(g_bwd.initial_state),
            hidden=hidden,
            cell=cell,
            cell_carried=carried,
        )

    def _split_d_output(self, d_output, y: Array, y_rev: Array) -> tuple[Array, Array]:
        """dL/dy and dL/dy_rev (input time order) from dL/d(merged output)."""
        if self.merge_mode is None:
            if not isinstance(d_output, (list, tuple)) or len(d_output) != 2:
                raise ValueError("With merge_mode=None, d_output is the pair (dL/d forward output, "
                                 "dL/d backward output).")
            d_y, d_y_rev = (np.asarray(d, dtype=y.dtype) for d in d_output)
            for name, d, ref in (("forward", d_y, y), ("backward", d_y_rev, y_rev)):
                if d.shape != ref.shape:
                    raise ValueError(f"d_output for the {name} output must have shape {ref.shape}, got {d.shape}.")
            return d_y, d_y_rev
        d = np.asarray(d_output, dtype=y.dtype)
        expected = self._merge(y, y_rev).shape
        if d.shape != expected:
            raise ValueError(f"d_output must have the output's shape {expected}, got {d.shape}.")
        if self.merge_mode == "concat":
            h = y.shape[-1]
            return d[..., :h], d[..., h:]
        if self.merge_mode == "sum":
            return d, d
        if self.merge_mode == "ave":
            return d / 2, d / 2
        return d * y_rev, d * y                               # mul: d(y y_rev) = dy y_rev + y dy_rev

    def get_config(self) -> dict:
        return {"merge_mode": self.merge_mode, "layer": self.forward_layer.get_config(),
                "backward_layer": self.backward_layer.get_config()}


def _copy_layer(layer, name: str, **changes):
    """A fresh, unbuilt layer of the same class with ``layer``'s configuration (and ``changes``)."""
    return type(layer)(name=name, **{**layer.get_config(), **changes})


def _input_order(seq: Array, go_backwards: bool) -> Array:
    """A (B, T, ...) sequence in processing order -> input time order."""
    return np.ascontiguousarray(seq[:, ::-1]) if go_backwards else seq
