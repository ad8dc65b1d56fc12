"""``SimpleRNN``, ``LSTM`` and ``GRU``: NumPy twins of the Keras 3 layers, with BPTT.

One generic :class:`RNN` layer holds the weights, the state and the call; the
three classes below it only name their config and build their cell. Same
constructor arguments, weight layout, call signature and return structure as
Keras 3, so weights and results compare one to one. After a call,
:meth:`RNN.backward` returns every gradient.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np

from ..messages import N_, UserError
from . import activations, initializers
from .cell_base import Cell
from .configs import GRUConfig, LSTMConfig, SimpleRNNConfig, _RecurrentConfig
from .gru_cell import GRUCell
from .lstm_cell import LSTMCell
from .recurrence import Trace, backward, forward, weight_gradients
from .simple_rnn_cell import SimpleRNNCell

Array = np.ndarray
_NAME_COUNTERS: dict[str, itertools.count] = {}


class StackingError(UserError):
    """A recurrent layer called on input that is not 3-D (e.g. stacked after a layer that returns (B, H)).

    A ValueError, as Keras' own error; its message (Keras' first sentence, then what to change) is a template
    the app shows translated.
    """


def _unique_name(prefix: str) -> str:
    """Keras' automatic layer names: "lstm", "lstm_1", "lstm_2", ..."""
    n = next(_NAME_COUNTERS.setdefault(prefix, itertools.count()))
    return prefix if n == 0 else f"{prefix}_{n}"


@dataclass
class RNNGradients:
    """Gradients of a scalar loss after :meth:`RNN.backward`.

    hidden is the total dL/dh_t: through the output o_t, the returned final
    state and every later step. cell (LSTM) is the total dL/dc_t: the
    gradient of the loss with respect to c_t with everything after c_t
    recomputed from it, the path c_t -> h_t = o_t act(c_t) of the same step
    included; cell_carried is only the part that flows back from step t+1
    (through c_{t+1} = f_{t+1} c_t + ...; plus the loss on a returned c_T).
    They differ by dL/dh_t * o_t * act'(c_t) at every step that is taken,
    the last one included. All are in the order of the returned sequence
    (processing order, so reversed with go_backwards); inputs is in the order
    the input was given.
    """

    kernel: Array                       # (D, G*H)
    recurrent_kernel: Array             # (H, G*H)
    bias: Array | None                  # Keras' bias shape, or None without bias
    inputs: Array                       # (B, T, D)
    initial_state: Array | tuple        # (B, H); LSTM: (dL/dh0, dL/dc0)
    hidden: Array                       # (B, T, H) total dL/dh_t
    cell: Array | None = None           # (B, T, H) total dL/dc_t, the path c_t -> h_t included (LSTM), else None
    cell_carried: Array | None = None   # (B, T, H) the part of dL/dc_t that flows back from step t+1 (LSTM)

    def weights(self) -> list[Array]:
        """In the order of get_weights(): [kernel, recurrent_kernel, (bias)]."""
        out = [self.kernel, self.recurrent_kernel]
        return out if self.bias is None else out + [self.bias]


class RNN:
    """The loop shared by every cell: weights, state, masking, dropout, call and backward.

    Subclasses set ``config_class`` and build their cell in ``make_cell``.
    """

    config_class: type[_RecurrentConfig] = SimpleRNNConfig

    def __init__(self, units: int, name: str | None = None, **kwargs) -> None:
        self.config = self.config_class(units, **kwargs)
        self.activation = activations.get(self.config.activation)
        self.cell: Cell = self.make_cell(self.config)
        self.name = name or _unique_name(self.cell.name)
        self._rng = np.random.default_rng(self.config.seed)
        self.kernel: Array | None = None
        self.recurrent_kernel: Array | None = None
        self.bias: Array | None = None
        self._states: tuple[Array, ...] | None = None    # stateful only: carried between calls
        self.last_dropout_masks: tuple[Array | None, Array | None] = (None, None)
        self._trace: Trace | None = None
        self._call_info: dict | None = None
        self.last_backward = None        # recurrence.BackwardResult of the last backward() call

    def make_cell(self, config) -> Cell:
        raise NotImplementedError

    def __getattr__(self, name: str):
        # units, return_sequences, ... read like Keras layer attributes.
        config = self.__dict__.get("config")
        if config is not None and name in type(config).__dataclass_fields__:
            return getattr(config, name)
        raise AttributeError(name)

    # -- weights ---------------------------------------------------------------

    @property
    def built(self) -> bool:
        return self.kernel is not None

    def _shapes(self, input_dim: int) -> dict[str, tuple[int, ...]]:
        gh = self.cell.n_blocks * self.config.units
        return {"kernel": (input_dim, gh), "recurrent_kernel": (self.config.units, gh),
                "bias": self.cell.bias_shape()}

    def initial_bias(self, shape: tuple[int, ...]) -> Array:
        return initializers.initialize(self.config.bias_initializer, shape, self._rng)

    def build(self, input_shape: tuple[int, ...]) -> None:
        """Create the weights for inputs of shape (batch, timesteps, features)."""
        if len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__} expects a 3-D input shape (batch, timesteps, features), "
                             f"got {tuple(input_shape)}.")
        c, shapes = self.config, self._shapes(int(input_shape[-1]))
        self.kernel = initializers.initialize(c.kernel_initializer, shapes["kernel"], self._rng)
        self.recurrent_kernel = initializers.initialize(c.recurrent_initializer, shapes["recurrent_kernel"], self._rng)
        self.bias = self.initial_bias(shapes["bias"]) if c.use_bias else None

    def get_weights(self) -> list[Array]:
        """[kernel (D, G*H), recurrent_kernel (H, G*H), bias] as Keras (no bias when use_bias=False)."""
        if not self.built:
            return []
        out = [self.kernel, self.recurrent_kernel]
        return out if self.bias is None else out + [self.bias]

    def set_weights(self, weights: list[Array]) -> None:
        """Set [kernel, recurrent_kernel, bias] in Keras' layout, e.g. from a Keras layer; every shape is checked."""
        expected = 3 if self.config.use_bias else 2
        if len(weights) != expected:
            raise ValueError(
                f"Expected {expected} arrays [kernel, recurrent_kernel{', bias' if expected == 3 else ''}], "
                f"got {len(weights)}."
            )
        arrays = [np.asarray(w) for w in weights]
        if not all(np.issubdtype(a.dtype, np.floating) for a in arrays):
            raise ValueError("weights must be float arrays.")
        kernel, recurrent = arrays[:2]
        shapes = self._shapes(kernel.shape[0] if kernel.ndim == 2 else -1)
        if kernel.ndim != 2 or kernel.shape[1] != shapes["kernel"][1]:
            raise ValueError(f"kernel must have shape (input_dim, {shapes['kernel'][1]}), got {kernel.shape}.")
        if self.built and kernel.shape != self.kernel.shape:
            raise ValueError(f"kernel must have shape {self.kernel.shape}, got {kernel.shape}.")
        if recurrent.shape != shapes["recurrent_kernel"]:
            raise ValueError(f"recurrent_kernel must have shape {shapes['recurrent_kernel']}, got {recurrent.shape}.")
        if expected == 3 and arrays[2].shape != shapes["bias"]:
            raise ValueError(f"bias must have shape {shapes['bias']}, got {arrays[2].shape}.")
        self.kernel, self.recurrent_kernel = kernel.copy(), recurrent.copy()
        if expected == 3:
            self.bias = arrays[2].copy()

    # -- state -----------------------------------------------------------------

    @property
    def states(self) -> Array | tuple[Array, ...] | None:
        """The carried state of a stateful layer: (B, H), or a tuple (h, c) for LSTM; None before a call."""
        if self._states is None:
            return None
        return self._states[0] if len(self._states) == 1 else self._states

    def reset_state(self, states: Array | list[Array] | None = None) -> None:
        """Zero the carried state of a stateful layer (or set it: (B, H), or [h, c] for LSTM)."""
        if states is not None:
            dtype = self.kernel.dtype if self.built else np.float32
            self._states = tuple(np.array(s, dtype=dtype) for s in self._as_state_list(states))
        elif self._states is not None:
            self._states = tuple(np.zeros_like(s) for s in self._states)

    reset_states = reset_state  # Keras' compatibility alias

    def _as_state_list(self, states) -> list:
        n = len(self.cell.state_names)
        if not isinstance(states, (list, tuple)):
            states = [states]
        if len(states) != n:
            raise ValueError(f"{type(self).__name__} has {n} state{'s' if n > 1 else ''} "
                             f"({', '.join(self.cell.state_names)}); got {len(states)} initial states.")
        return list(states)

    # -- call ------------------------------------------------------------------

    def __call__(
        self,
        inputs: Array,
        mask: Array | None = None,
        initial_state: Array | list[Array] | None = None,
        training: bool = False,
    ) -> Array | tuple[Array, ...]:
        """Run the layer on ``inputs`` (B, T, D).

        Returns the output ((B, T, H) with return_sequences, else (B, H)), or
        with return_state the tuple (output, *final_states) as Keras 3:
        (output, h) for SimpleRNN and GRU, (output, h, c) for LSTM.
        """
        x = np.asarray(inputs)
        if x.ndim != 3:
            if x.ndim == 2:
                message = N_("Input 0 with name 'None' of layer '{name}' is incompatible with the layer: expected "
                             "ndim=3, found ndim={ndim}. Full shape received: {shape}. A recurrent layer needs 3-D "
                             "input (batch, timesteps, features): set return_sequences=True on the layer before it "
                             "so it returns (batch, timesteps, units).")
            else:
                message = N_("Input 0 with name 'None' of layer '{name}' is incompatible with the layer: expected "
                             "ndim=3, found ndim={ndim}. Full shape received: {shape}. A recurrent layer needs 3-D "
                             "input (batch, timesteps, features).")
            raise StackingError(message, name=self.name, ndim=x.ndim, shape=tuple(x.shape))
        B, T, D = x.shape
        if T < 1:
            raise ValueError("inputs must have at least one time step.")
        if not self.built:
            self.build(x.shape)
        if self.kernel.shape[0] != D:
            raise ValueError(f"inputs have {D} features but the layer was built for {self.kernel.shape[0]}.")
        dtype = np.result_type(self.kernel.dtype, np.float32) if not np.issubdtype(x.dtype, np.floating) \
            else np.result_type(x.dtype, self.kernel.dtype)
        c, G = self.config, self.cell.n_blocks
        x = x.astype(dtype, copy=False)
        # C order: the orthogonal initializer leaves U in Fortran order, and OpenBLAS' AVX-512 kernels run
        # the step's h_{t-1} U a third slower on it (measured); a copy per call is nothing beside T steps.
        kernel, recurrent = (np.ascontiguousarray(w, dtype=dtype) for w in (self.kernel, self.recurrent_kernel))
        bias = None if self.bias is None else self.bias.astype(dtype, copy=False)

        s0 = self._initial_states(initial_state, B, dtype)
        m = None
        if mask is not None:
            m = np.asarray(mask)
            if m.shape != (B, T):
                raise ValueError(f"mask must have shape (batch, timesteps) = {(B, T)}, got {m.shape}.")
            m = m.astype(bool).T                          # (T, B)
        x_tm = x.transpose(1, 0, 2)                       # (T, B, D) time-major
        if c.go_backwards:
            x_tm = x_tm[::-1]
            m = None if m is None else m[::-1]

        # Dropout masks: drawn once per call, the same at every step (inverted scaling). Keras' LSTM and
        # GRU draw one mask per gate block when recurrent_dropout > 0 (their implementation=1).
        per_gate = G > 1 and c.recurrent_dropout > 0
        in_mask = rec_mask = None
        if training and c.dropout > 0:
            in_mask = self._dropout_mask(((G,) if per_gate else ()) + (B, D), c.dropout, dtype)
        if training and c.recurrent_dropout > 0:
            rec_mask = self._dropout_mask(((G,) if per_gate else ()) + (B, c.units), c.recurrent_dropout, dtype)
        self.last_dropout_masks = (in_mask, rec_mask)

        # The last call's arrays go first: kept alive during this call, they doubled the peak memory of a repeated
        # call and made the allocator fetch fresh pages (LSTM (32, 200, 16, 128) forward + BPTT: 46.3 -> 43.1 ms).
        self._trace = self.last_backward = None
        trace = forward(self.cell, np.ascontiguousarray(x_tm), s0, kernel, recurrent, bias, mask=m,
                        input_dropout=in_mask, recurrent_dropout=rec_mask,
                        zero_output_for_mask=c.zero_output_for_mask)
        self._trace = trace
        self._call_info = {"dtype": dtype, "kernel": kernel, "recurrent": recurrent}
        finals = tuple(trace.states[s][-1].copy() for s in self.cell.state_names)
        if c.stateful:
            self._states = tuple(s.copy() for s in finals)

        output = trace.outputs.transpose(1, 0, 2).copy() if c.return_sequences else trace.outputs[-1].copy()
        return (output, *finals) if c.return_state else output

    def _initial_states(self, initial_state, batch: int, dtype) -> tuple[Array, ...]:
        H = self.config.units
        if initial_state is not None:
            out = []
            for name, s in zip(self.cell.state_names, self._as_state_list(initial_state), strict=True):
                s = np.asarray(s, dtype=dtype)
                if s.shape != (batch, H):
                    raise ValueError(f"initial_state {name} must have shape (batch, units) = {(batch, H)}, "
                                     f"got {s.shape}.")
                out.append(s)
            return tuple(out)
        n = len(self.cell.state_names)
        if self.config.stateful:
            if self._states is None:
                self._states = tuple(np.zeros((batch, H), dtype=dtype) for _ in range(n))
            if self._states[0].shape[0] != batch:
                raise ValueError(
                    "If an RNN is stateful, the batch size of the input sequences must be the same "
                    f"as the batch size of the state. Expected batch size: {self._states[0].shape[0]}, "
                    f"received: {batch}. Call reset_state() after building a new layer, or keep the batch size."
                )
            return tuple(s.astype(dtype) for s in self._states)
        return tuple(np.zeros((batch, H), dtype=dtype) for _ in range(n))

    def _dropout_mask(self, shape: tuple[int, ...], rate: float, dtype) -> Array:
        keep = self._rng.random(shape) >= rate
        return (keep / (1.0 - rate)).astype(dtype)

    # -- backward --------------------------------------------------------------

    def backward(self, d_output: Array, *d_states: Array | None, truncate: int | None = None) -> RNNGradients:
        """Backprop through time after the last call.

        d_output: dL/d(output) with the shape the call returned ((B, T, H) or (B, H)).
        d_states: dL/d(final state) for each returned state, in the returned order
            ((h,) or (h, c) for LSTM), each (B, H) or None (= 0); only with return_state.
        truncate: keep only gradient paths of at most ``truncate`` steps back
            (see :func:`rnn_core.layers.recurrence.backward`); None = full BPTT.
        """
        if self._trace is None:
            raise ValueError("backward() needs a forward call first.")
        if truncate is not None and (isinstance(truncate, bool) or int(truncate) != truncate or truncate < 1):
            raise ValueError(f"truncate must be a positive integer or None, got {truncate!r}.")
        c, trace, info, names = self.config, self._trace, self._call_info, self.cell.state_names
        T, B, _ = trace.x.shape
        H, dtype = c.units, info["dtype"]
        d_out = np.asarray(d_output, dtype=dtype)
        if c.return_sequences:
            if d_out.shape != (B, T, H):
                raise ValueError(f"d_output must have shape {(B, T, H)}, got {d_out.shape}.")
            d_outputs = d_out.transpose(1, 0, 2)
        else:
            if d_out.shape != (B, H):
                raise ValueError(f"d_output must have shape {(B, H)}, got {d_out.shape}.")
            d_outputs = np.zeros((T, B, H), dtype=dtype)
            d_outputs[-1] = d_out
        if len(d_states) > len(names):
            raise ValueError(f"{type(self).__name__} returns {len(names)} state(s) ({', '.join(names)}); "
                             f"got {len(d_states)} state gradients.")
        d_finals = []
        for name, d in itertools.zip_longest(names, d_states):
            if d is not None:
                if not c.return_state:
                    raise ValueError("d_state is only meaningful with return_state=True.")
                d = np.asarray(d, dtype=dtype)
                if d.shape != (B, H):
                    raise ValueError(f"d_state for {name} must have shape {(B, H)}, got {d.shape}.")
            d_finals.append(d)

        self.last_backward = None        # freed before the new arrays are made (see __call__)
        res = backward(self.cell, trace, d_outputs, d_finals, info["recurrent"],
                       truncate=None if truncate is None else int(truncate))
        self.last_backward = res          # the time-major gradients along the sequence, for the app's analysis
        d_kernel, d_recurrent, d_bias, d_x = weight_gradients(self.cell, trace, res, info["kernel"], c.use_bias)
        if c.go_backwards:
            d_x = d_x[::-1]
        d0 = res.d_initial[0] if len(names) == 1 else tuple(res.d_initial)

        def batch_major(seq: Array | None) -> Array | None:
            return None if seq is None else np.ascontiguousarray(seq.transpose(1, 0, 2))

        return RNNGradients(
            kernel=d_kernel,
            recurrent_kernel=d_recurrent,
            bias=d_bias,
            inputs=batch_major(d_x),
            initial_state=d0,
            hidden=batch_major(res.total["h"]),
            cell=batch_major(res.total.get("c")),
            cell_carried=batch_major(res.hidden.get("c")),
        )

    # -- introspection used by the app --------------------------------------------

    @property
    def last_trace(self) -> Trace | None:
        """The forward trace of the last call (time-major, processing order)."""
        return self._trace

    def last_sequences(self) -> dict[str, Array]:
        """The last call's states and gates, name -> (B, T, H), in processing order.

        "h" (and "c" for LSTM) is the state after each step; then every gate by
        name (SimpleRNN "z" = pre-activation; LSTM "i", "f", "g", "o"; GRU "z", "r", "hh").
        """
        if self._trace is None:
            raise ValueError("last_sequences() needs a forward call first.")
        tr = self._trace
        out = {s: tr.states[s][1:] for s in self.cell.state_names}
        out.update(self.cell.gate_sequences(tr))
        return {k: np.ascontiguousarray(v.transpose(1, 0, 2)) for k, v in out.items()}

    def get_config(self) -> dict:
        return asdict(self.config)


class SimpleRNN(RNN):
    """Fully-connected RNN where the output is fed back as the next input.

    h_t = f(x_t W + h_{t-1} U + b), as keras.layers.SimpleRNN.

    Example:
        >>> layer = SimpleRNN(4, return_sequences=True, return_state=True, seed=0)
        >>> out, state = layer(np.ones((2, 5, 3), np.float32))
        >>> out.shape, state.shape
        ((2, 5, 4), (2, 4))
    """

    config_class = SimpleRNNConfig

    def make_cell(self, config: SimpleRNNConfig) -> Cell:
        return SimpleRNNCell(config.units, activations.get(config.activation), config.use_bias)

    def backward(self, d_output: Array, *d_states: Array | None, d_state: Array | None = None,
                 truncate: int | None = None) -> RNNGradients:
        """BPTT; dL/d(final state) (B, H) positionally or as ``d_state=``, only with return_state.

        See :meth:`RNN.backward`.
        """
        if d_state is not None:
            if d_states:
                raise ValueError("Give the state gradient positionally or as d_state=, not both.")
            d_states = (d_state,)
        return super().backward(d_output, *d_states, truncate=truncate)


class LSTM(RNN):
    """Long Short-Term Memory (Hochreiter 1997), as keras.layers.LSTM; gates i, f, g (Keras' "c"), o.

    Example:
        >>> layer = LSTM(4, return_sequences=True, return_state=True, seed=0)
        >>> out, h, c = layer(np.ones((2, 5, 3), np.float32))
        >>> out.shape, h.shape, c.shape
        ((2, 5, 4), (2, 4), (2, 4))
    """

    config_class = LSTMConfig

    def __init__(self, units: int, name: str | None = None, **kwargs) -> None:
        super().__init__(units, name=name, **kwargs)
        self.recurrent_activation = activations.get(self.config.recurrent_activation)

    def make_cell(self, config: LSTMConfig) -> Cell:
        return LSTMCell(config.units, activations.get(config.activation),
                        activations.get(config.recurrent_activation), config.use_bias)

    def initial_bias(self, shape: tuple[int, ...]) -> Array:
        """unit_forget_bias: the forget gate's block starts at ones, the others from bias_initializer."""
        if not self.config.unit_forget_bias:
            return super().initial_bias(shape)
        H = self.config.units
        return np.concatenate([super().initial_bias((H,)), np.ones(H, np.float32), super().initial_bias((2 * H,))])


class GRU(RNN):
    """Gated Recurrent Unit (Cho et al. 2014), as keras.layers.GRU; gates z, r and candidate hh.

    Example:
        >>> layer = GRU(4, return_sequences=True, return_state=True, seed=0)
        >>> out, h = layer(np.ones((2, 5, 3), np.float32))
        >>> out.shape, h.shape
        ((2, 5, 4), (2, 4))
    """

    config_class = GRUConfig

    def __init__(self, units: int, name: str | None = None, **kwargs) -> None:
        super().__init__(units, name=name, **kwargs)
        self.recurrent_activation = activations.get(self.config.recurrent_activation)

    def make_cell(self, config: GRUConfig) -> Cell:
        return GRUCell(config.units, activations.get(config.activation),
                       activations.get(config.recurrent_activation), config.use_bias, config.reset_after)


#: The layer class of each cell, by the name the app and the Keras bridge use.
CELLS: dict[str, type[RNN]] = {"simple_rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}
