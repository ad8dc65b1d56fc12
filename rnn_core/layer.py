"""``SimpleRNN``: a NumPy twin of ``keras.layers.SimpleRNN`` (Keras 3) with BPTT.

Same constructor arguments, same weight layout, same call signature and the
same return structure as Keras 3, so weights and results can be compared one to
one. After a call, :meth:`SimpleRNN.backward` returns every gradient.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from . import activations, initializers
from .recurrence import Trace, backward, forward, weight_gradients

Array = np.ndarray


@dataclass(frozen=True)
class SimpleRNNConfig:
    """The constructor arguments of keras.layers.SimpleRNN that change the numbers."""

    units: int                              # H, size of the state
    activation: str = "tanh"                # f in h_t = f(x_t W + h_{t-1} U + b)
    use_bias: bool = True
    kernel_initializer: str = "glorot_uniform"
    recurrent_initializer: str = "orthogonal"
    bias_initializer: str = "zeros"
    dropout: float = 0.0                    # fraction of input features dropped (training only)
    recurrent_dropout: float = 0.0          # fraction of state units dropped before U (training only)
    return_sequences: bool = False          # all outputs (B, T, H) or only the last (B, H)
    return_state: bool = False              # also return the final state: (output, state)
    go_backwards: bool = False              # read the input from the last step to the first
    stateful: bool = False                  # carry the final state into the next call
    zero_output_for_mask: bool = False      # masked steps output zeros instead of the previous output
    seed: int | None = None                 # initializers and dropout masks

    def __post_init__(self) -> None:
        if isinstance(self.units, bool) or not isinstance(self.units, (int, np.integer)) or self.units <= 0:
            raise ValueError(f"units must be a positive integer, got {self.units!r}.")
        activations.get(self.activation)
        for name in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
            value = getattr(self, name)
            if value not in initializers.INITIALIZERS:
                raise ValueError(
                    f"{name} must be one of {', '.join(initializers.INITIALIZERS)}; got {value!r}."
                )
        for name in ("dropout", "recurrent_dropout"):
            rate = getattr(self, name)
            if not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
                raise ValueError(f"{name} must be a float in [0, 1), got {rate!r}.")


@dataclass
class RNNGradients:
    """Gradients of a scalar loss after :meth:`SimpleRNN.backward`.

    hidden is the *total* dL/dh_t (through the outputs and through later
    steps), in the order of the returned sequence (processing order, so
    reversed with go_backwards); inputs is in the order the input was given.
    """

    kernel: Array               # (D, H)
    recurrent_kernel: Array     # (H, H)
    bias: Array | None          # (H,) or None without bias
    inputs: Array               # (B, T, D)
    initial_state: Array        # (B, H)
    hidden: Array               # (B, T, H)

    def weights(self) -> list[Array]:
        """In the order of get_weights(): [kernel, recurrent_kernel, (bias)]."""
        out = [self.kernel, self.recurrent_kernel]
        return out if self.bias is None else out + [self.bias]


class SimpleRNN:
    """Fully-connected RNN where the output is fed back as the next input.

    h_t = f(x_t W + h_{t-1} U + b), as keras.layers.SimpleRNN.

    Example:
        >>> layer = SimpleRNN(4, return_sequences=True, return_state=True, seed=0)
        >>> out, state = layer(np.ones((2, 5, 3), np.float32))
        >>> out.shape, state.shape
        ((2, 5, 4), (2, 4))
    """

    def __init__(self, units: int, **kwargs) -> None:
        self.config = SimpleRNNConfig(units, **kwargs)
        self.activation = activations.get(self.config.activation)
        self._rng = np.random.default_rng(self.config.seed)
        self.kernel: Array | None = None
        self.recurrent_kernel: Array | None = None
        self.bias: Array | None = None
        self.states: Array | None = None        # stateful only: (B, H) carried between calls
        self.last_dropout_masks: tuple[Array | None, Array | None] = (None, None)
        self._trace: Trace | None = None
        self._call_info: dict | None = None

    def __getattr__(self, name: str):
        # units, return_sequences, ... read like Keras layer attributes.
        config = self.__dict__.get("config")
        if config is not None and name in SimpleRNNConfig.__dataclass_fields__:
            return getattr(config, name)
        raise AttributeError(name)

    # -- weights ---------------------------------------------------------------

    @property
    def built(self) -> bool:
        return self.kernel is not None

    def build(self, input_shape: tuple[int, ...]) -> None:
        """Create the weights for inputs of shape (batch, timesteps, features)."""
        if len(input_shape) != 3:
            raise ValueError(f"SimpleRNN expects a 3-D input shape (batch, timesteps, features), got {input_shape}.")
        d, h = int(input_shape[-1]), self.config.units
        c = self.config
        self.kernel = initializers.initialize(c.kernel_initializer, (d, h), self._rng)
        self.recurrent_kernel = initializers.initialize(c.recurrent_initializer, (h, h), self._rng)
        self.bias = initializers.initialize(c.bias_initializer, (h,), self._rng) if c.use_bias else None

    def get_weights(self) -> list[Array]:
        """[kernel (D, H), recurrent_kernel (H, H), bias (H,)] (no bias when use_bias=False)."""
        if not self.built:
            return []
        out = [self.kernel, self.recurrent_kernel]
        return out if self.bias is None else out + [self.bias]

    def set_weights(self, weights: list[Array]) -> None:
        """Set [kernel (D, H), recurrent_kernel (H, H), bias (H,)], e.g. from a Keras layer."""
        expected = 3 if self.config.use_bias else 2
        if len(weights) != expected:
            raise ValueError(
                f"Expected {expected} arrays [kernel, recurrent_kernel{', bias' if expected == 3 else ''}], "
                f"got {len(weights)}."
            )
        kernel, recurrent = (np.asarray(w) for w in weights[:2])
        h = self.config.units
        if kernel.ndim != 2 or kernel.shape[1] != h:
            raise ValueError(f"kernel must have shape (input_dim, {h}), got {kernel.shape}.")
        if recurrent.shape != (h, h):
            raise ValueError(f"recurrent_kernel must have shape ({h}, {h}), got {recurrent.shape}.")
        if self.built and kernel.shape != self.kernel.shape:
            raise ValueError(f"kernel must have shape {self.kernel.shape}, got {kernel.shape}.")
        self.kernel, self.recurrent_kernel = kernel.copy(), recurrent.copy()
        if expected == 3:
            bias = np.asarray(weights[2])
            if bias.shape != (h,):
                raise ValueError(f"bias must have shape ({h},), got {bias.shape}.")
            self.bias = bias.copy()

    # -- state -----------------------------------------------------------------

    def reset_state(self, states: Array | None = None) -> None:
        """Zero the carried state of a stateful layer (or set it to ``states`` (B, H))."""
        if states is not None:
            self.states = np.array(states, dtype=self.kernel.dtype if self.built else np.float32)
        elif self.states is not None:
            self.states = np.zeros_like(self.states)

    reset_states = reset_state  # Keras' compatibility alias

    # -- call ------------------------------------------------------------------

    def __call__(
        self,
        inputs: Array,
        mask: Array | None = None,
        initial_state: Array | None = None,
        training: bool = False,
    ) -> Array | tuple[Array, Array]:
        """Run the layer on ``inputs`` (B, T, D).

        Returns the output ((B, T, H) with return_sequences, else (B, H)), or
        the tuple (output, final_state (B, H)) with return_state, as Keras 3.
        """
        x = np.asarray(inputs)
        if x.ndim != 3:
            raise ValueError(f"inputs must be 3-D (batch, timesteps, features), got shape {x.shape}.")
        B, T, D = x.shape
        if T < 1:
            raise ValueError("inputs must have at least one time step.")
        if not self.built:
            self.build(x.shape)
        if D != self.kernel.shape[0]:
            raise ValueError(f"inputs have {D} features but the layer was built for {self.kernel.shape[0]}.")
        dtype = np.result_type(self.kernel.dtype, np.float32) if not np.issubdtype(x.dtype, np.floating) \
            else np.result_type(x.dtype, self.kernel.dtype)
        c, H = self.config, self.config.units
        x = x.astype(dtype, copy=False)
        kernel, recurrent = self.kernel.astype(dtype, copy=False), self.recurrent_kernel.astype(dtype, copy=False)
        bias = None if self.bias is None else self.bias.astype(dtype, copy=False)

        h0 = self._initial_state(initial_state, B, dtype)
        m = None
        if mask is not None:
            m = np.asarray(mask)
            if m.shape != (B, T):
                raise ValueError(f"mask must have shape (batch, timesteps) = {(B, T)}, got {m.shape}.")
            m = m.astype(bool).T                          # (T, B)
        x_tm = np.ascontiguousarray(x.transpose(1, 0, 2))  # (T, B, D) time-major
        if c.go_backwards:
            x_tm = x_tm[::-1]
            m = None if m is None else m[::-1]

        # Dropout masks: drawn once per call, the same at every step (inverted scaling).
        in_mask = rec_mask = None
        if training and c.dropout > 0:
            in_mask = self._dropout_mask((B, D), c.dropout, dtype)
            x_tm = x_tm * in_mask
        if training and c.recurrent_dropout > 0:
            rec_mask = self._dropout_mask((B, H), c.recurrent_dropout, dtype)
        self.last_dropout_masks = (in_mask, rec_mask)

        trace = forward(
            np.ascontiguousarray(x_tm), h0, kernel, recurrent, bias, self.activation,
            mask=m, recurrent_dropout=rec_mask, zero_output_for_mask=c.zero_output_for_mask,
        )
        self._trace = trace
        self._call_info = {"dtype": dtype, "input_dropout": in_mask, "kernel": kernel, "recurrent": recurrent}
        final_state = trace.h[-1].copy()
        if c.stateful:
            self.states = final_state.copy()

        output = trace.outputs.transpose(1, 0, 2).copy() if c.return_sequences else trace.outputs[-1].copy()
        return (output, final_state) if c.return_state else output

    def _initial_state(self, initial_state: Array | None, batch: int, dtype) -> Array:
        H = self.config.units
        if initial_state is not None:
            if isinstance(initial_state, (list, tuple)):
                if len(initial_state) != 1:
                    raise ValueError(f"SimpleRNN has one state; got {len(initial_state)} initial states.")
                initial_state = initial_state[0]
            h0 = np.asarray(initial_state, dtype=dtype)
            if h0.shape != (batch, H):
                raise ValueError(f"initial_state must have shape (batch, units) = {(batch, H)}, got {h0.shape}.")
            return h0
        if self.config.stateful:
            if self.states is None:
                self.states = np.zeros((batch, H), dtype=dtype)
            if self.states.shape[0] != batch:
                raise ValueError(
                    "If an RNN is stateful, the batch size of the input sequences must be the same "
                    f"as the batch size of the state. Expected batch size: {self.states.shape[0]}, "
                    f"received: {batch}. Call reset_state() after building a new layer, or keep the batch size."
                )
            return self.states.astype(dtype)
        return np.zeros((batch, H), dtype=dtype)

    def _dropout_mask(self, shape: tuple[int, int], rate: float, dtype) -> Array:
        keep = self._rng.random(shape) >= rate
        return (keep / (1.0 - rate)).astype(dtype)

    # -- backward --------------------------------------------------------------

    def backward(
        self,
        d_output: Array,
        d_state: Array | None = None,
        truncate: int | None = None,
    ) -> RNNGradients:
        """Backprop through time after the last call.

        d_output: dL/d(output) with the shape the call returned ((B, T, H) or (B, H)).
        d_state: dL/d(final state) (B, H), only with return_state (None = 0).
        truncate: keep only gradient paths of at most ``truncate`` steps back
            (see :func:`rnn_core.recurrence.backward`); None = full BPTT.
        """
        if self._trace is None:
            raise ValueError("backward() needs a forward call first.")
        if truncate is not None and (isinstance(truncate, bool) or int(truncate) != truncate or truncate < 1):
            raise ValueError(f"truncate must be a positive integer or None, got {truncate!r}.")
        c, trace, info = self.config, self._trace, self._call_info
        T, B, H = trace.z.shape
        dtype = info["dtype"]
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
        if d_state is not None:
            if not c.return_state:
                raise ValueError("d_state is only meaningful with return_state=True.")
            d_state = np.asarray(d_state, dtype=dtype)
            if d_state.shape != (B, H):
                raise ValueError(f"d_state must have shape {(B, H)}, got {d_state.shape}.")

        res = backward(trace, d_outputs, d_state, info["recurrent"], self.activation,
                       truncate=None if truncate is None else int(truncate))
        d_kernel, d_recurrent, d_bias, d_x = weight_gradients(trace, res.dz, info["kernel"], c.use_bias)
        if info["input_dropout"] is not None:
            d_x *= info["input_dropout"]
        if c.go_backwards:
            d_x = d_x[::-1]
        return RNNGradients(
            kernel=d_kernel,
            recurrent_kernel=d_recurrent,
            bias=d_bias,
            inputs=np.ascontiguousarray(d_x.transpose(1, 0, 2)),
            initial_state=res.d_h0,
            hidden=np.ascontiguousarray(res.hidden.transpose(1, 0, 2)),
        )

    # -- introspection used by the app --------------------------------------------

    @property
    def last_trace(self) -> Trace | None:
        """The forward trace of the last call (time-major, processing order)."""
        return self._trace

    def get_config(self) -> dict:
        return asdict(self.config)
