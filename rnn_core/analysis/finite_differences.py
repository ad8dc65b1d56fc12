"""Check one gradient entry yourself: backward() against a central finite difference, in float64.

    numeric = (L(w + h) - L(w - h)) / 2h,   L = <d_output, output> + sum_k <d_state_k, final state k>

for one entry w of a weight, an input x_t, a hidden state h_t or a cell state c_t. The layer is
cloned into float64 from ``get_config()`` and ``get_weights()`` (any SimpleRNN, LSTM or GRU: made
here, trained, or a Keras layer of an uploaded model) and called for inference.

States are perturbed *inside* the forward pass: :func:`reference_run` steps the cell's
``explain_step`` (one step's arithmetic) in a plain Python loop with Keras' masking rule, and adds
the perturbation at step t:

* h_t: the state step t hands on (at a taken step also the output o_t = h_t);
* c_t at a taken step: c_t itself, then h_t = o_t act(c_t + delta) of the same step is recomputed
  from it; at a masked step c_t is c_{t-1} carried, and only the carried state changes.

This is an independent reference for ``RNNGradients.hidden`` and ``.cell``: it does not use the
backward loop, nor ``recurrence.forward``. tests/test_state_gradients.py uses it too.

The step: h = cbrt(eps) max(1, |w|) balances the O(h^2) truncation error of a central difference
against its float64 round-off of about eps |L| / h, both near eps^(2/3) ~ 4e-11 relative.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..layers.rnn import CELLS, RNN
from ..messages import N_, Message, UserError

Array = np.ndarray

#: What can be checked: the layer's weights, its input, and its states after each step.
TARGETS = ("kernel", "recurrent_kernel", "bias", "inputs", "hidden", "cell")
WEIGHT_TARGETS = ("kernel", "recurrent_kernel", "bias")
STATE_TARGETS = {"hidden": "h", "cell": "c"}
#: The names of each index's numbers, as the app shows them.
INDEX_NAMES = {"kernel": ("row", "column"), "recurrent_kernel": ("row", "column"), "bias": ("entry",),
               "inputs": ("sequence", "step", "feature"), "hidden": ("sequence", "step", "unit"),
               "cell": ("sequence", "step", "unit")}
KERAS_CLASSES = {"SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"}
EPS = float(np.finfo(np.float64).eps)
AGREE_BELOW = 1e-6          # relative error under which the two are said to agree (the tests' FD_TOL)

# -- the budget: a check is a few forward passes, so it must stay near a second ------------------------------
# Measured here (2 cores shared with other jobs, 1 BLAS thread, float64; check_entry timed against this model):
# a float64 forward pass of the layer costs about LAYER_S_PER_STEP per step (LSTM; SimpleRNN ~5e-6) plus
# LAYER_S_PER_MAC per multiply-add of its matmuls, B*T*G*H*(H+D); the reference loop (explain_step in Python,
# one sequence) REFERENCE_S_PER_STEP per step (LSTM; SimpleRNN ~1.3e-5) plus the same per multiply-add.
# Checks measured / estimated: LSTM (32, 200, 16, 128) kernel 0.68 / 0.77 s; LSTM (1, 2000, 8, 128) c_t
# 0.43 / 0.44 s; LSTM (1, 200, 8, 512) kernel 0.38 / 0.36 s.
LAYER_S_PER_STEP = 1.5e-5
LAYER_S_PER_MAC = 4e-10
REFERENCE_S_PER_STEP = 4e-5
CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class EntryCheck:
    """One gradient entry two ways: backward() and a central finite difference, in float64."""

    target: str                  # "kernel", "recurrent_kernel", "bias", "inputs", "hidden" or "cell"
    index: tuple[int, ...]       # the entry (see check_entry)
    analytic: float              # dL/d(entry) from backward()
    numeric: float               # (L(+h) - L(-h)) / 2h
    relative_error: float        # |analytic - numeric| / max(|analytic|, |numeric|) (0 when both are 0)
    step_size: float             # h
    explanation: Message         # one sentence: why they agree (or why they cannot be told apart here)

    @property
    def agree(self) -> bool:
        return self.relative_error < AGREE_BELOW


# -- the reference: one sequence, step by step -------------------------------------------------------------------


def reference_run(cell, weights: list[Array], x: Array, initial_state, mask: Array | None = None,
                  zero_output_for_mask: bool = False, perturb: tuple[str, int, int, float] | None = None
                  ) -> tuple[Array, tuple[Array, ...]]:
    """One sequence through ``cell`` step by step (``cell.explain_step``), Keras' masking rule, float64.

    x (T, D) and mask (T,) in processing order (reversed for go_backwards); initial_state: one (H,) per
    state name. ``perturb = (state, t, unit, delta)`` adds delta inside the forward pass at step t
    ("h" or "c", see the module's docstring). Returns (outputs o_t (T, H), final states).

        s_t = step(s_{t-1}) if m_t else s_{t-1};   o_t = h_t if m_t else (0 if zero_output_for_mask else o_{t-1})
    """
    names = cell.state_names
    states = {n: np.asarray(s, np.float64) for n, s in zip(names, initial_state, strict=True)}
    T = len(x)
    outputs = np.zeros((T, cell.units))
    prev_out = np.zeros(cell.units)
    for t in range(T):
        values = cell.explain_step(x[t], tuple(states[n] for n in names), weights)
        taken = mask is None or bool(mask[t])
        new = {n: values[n] for n in names} if taken else dict(states)
        if perturb is not None and perturb[1] == t:
            name, _, unit, delta = perturb
            new[name] = new[name].copy()
            new[name][unit] += delta
            if name == "c" and taken:          # h_t = o_t act(c_t) of this step, from the perturbed c_t
                new["h"] = values["o"] * cell.activation(new["c"])
        states = new
        prev_out = states["h"] if taken else (np.zeros(cell.units) if zero_output_for_mask else prev_out)
        outputs[t] = prev_out
    return outputs, tuple(states[n] for n in names)


def sequence_loss(outputs: Array, finals: tuple[Array, ...], d_output: Array, d_states=()) -> float:
    """L = <d_output, output> + sum_k <d_state_k, final state k> for one sequence.

    d_output (T, H) when the layer returns every step, else (H,) for the last output.
    """
    out = outputs if np.ndim(d_output) == 2 else outputs[-1]
    loss = float(np.sum(np.asarray(d_output, np.float64) * out))
    for d, s in zip(d_states, finals):
        if d is not None:
            loss += float(np.sum(np.asarray(d, np.float64) * s))
    return loss


# -- the check ---------------------------------------------------------------------------------------------


def float64_twin(layer) -> RNN:
    """A float64 rnn_core layer with ``layer``'s configuration and weights (any object with get_config/get_weights).

    Not stateful (the state a call starts from is passed as initial_state); called for inference.
    """
    kind = _kind(layer)
    weights = [np.asarray(w, np.float64) for w in layer.get_weights()]
    if not weights:
        raise UserError(N_("The layer has no weights yet: call it once (or build it) before checking a gradient."))
    cls = CELLS[kind]
    fields = {f.name for f in dataclasses.fields(cls.config_class)}
    config = {k: v for k, v in layer.get_config().items()
              if k in fields and (v is None or isinstance(v, (bool, int, float, str)))}
    config.update(stateful=False)
    units = config.pop("units")
    twin = cls(units, **config)
    twin.build((1, 1, weights[0].shape[0]))
    twin.set_weights(weights)
    return twin


def _kind(layer) -> str:
    cell_name = getattr(getattr(layer, "cell", None), "name", None)
    if isinstance(layer, RNN) and cell_name in CELLS:
        return cell_name
    kind = KERAS_CLASSES.get(type(layer).__name__)
    if kind is None:
        raise UserError(N_("Only a SimpleRNN, LSTM or GRU layer can be checked; got {kind}."),
                        kind=type(layer).__name__)
    return kind


def targets_of(layer) -> tuple[str, ...]:
    """The targets ``layer`` has: its weights (bias only with use_bias), inputs, hidden, and cell for an LSTM."""
    twin = float64_twin(layer)
    out = [t for t in WEIGHT_TARGETS if getattr(twin, t) is not None] + ["inputs", "hidden"]
    return tuple(out + (["cell"] if "c" in twin.cell.state_names else []))


def target_shape(layer, target: str, x_shape: tuple[int, int, int]) -> tuple[int, ...]:
    """The shape ``index`` runs over for ``target``: a weight's, (B, T, D) for inputs, (B, T, H) for a state."""
    B, T, D = x_shape
    if target in WEIGHT_TARGETS:
        return tuple(np.shape(getattr(float64_twin(layer), target)))
    return (B, T, D) if target == "inputs" else (B, T, int(layer.units))


def index_names(target: str, shape: tuple[int, ...]) -> tuple[str, ...]:
    """What each number of an index means: INDEX_NAMES, or (row, column) for a GRU's (2, 3H) bias."""
    names = INDEX_NAMES[target]
    return names if len(names) == len(shape) else ("row", "column")


def check_cost(blocks: int, batch: int, steps: int, features: int, units: int, target: str) -> float:
    """Estimated seconds of :func:`check_entry` on this machine, for a cell of ``blocks`` gate blocks.

    A weight needs every sequence, an input or a state only its own. The analytic pass (forward and
    backward) costs about two forward passes; each side of the difference one forward pass, of the layer
    (weights, inputs) or of the reference loop (states).
    """
    rows = batch if target in WEIGHT_TARGETS else 1
    macs = rows * steps * blocks * units * (units + features)
    forward = LAYER_S_PER_STEP * steps + LAYER_S_PER_MAC * macs
    side = REFERENCE_S_PER_STEP * steps + LAYER_S_PER_MAC * macs / rows if target in STATE_TARGETS else forward
    return 2 * forward + 2 * side


def check_entry(layer, x: Array, d_output: Array, d_states=(), *, target: str, index, mask: Array | None = None,
                initial_state=None, step_size: float | None = None) -> EntryCheck:
    """dL/d(one entry) by backward() and by a central finite difference, both in float64.

    Args:
        layer: a SimpleRNN, LSTM or GRU (rnn_core, or a Keras layer), with weights.
        x: (B, T, D) the input, in the order given.
        d_output: dL/d(output), the shape the layer returns ((B, T, H) or (B, H)).
        d_states: dL/d(final state) for each returned state ((B, H) each, or None), only with return_state.
        target: "kernel", "recurrent_kernel", "bias", "inputs", "hidden" (h_t) or "cell" (c_t, LSTM).
        index: the entry: (row, col) for kernel and recurrent_kernel; (i,) for bias ((row, col) for a GRU's
            (2, 3H) bias); (b, t, d) for inputs (time in the order given); (b, t, unit) for hidden and cell
            (time in the returned order: reversed with go_backwards, as RNNGradients.hidden).
        mask: (B, T) booleans or None. initial_state: the states the call starts from ((B, H) each), or None
            for zeros (pass a stateful layer's states from before its call).
        step_size: h; by default cbrt(eps) * max(1, |entry|).

    Example:
        >>> layer = LSTM(3, return_sequences=True, seed=0)
        >>> x = np.ones((2, 4, 2)); _ = layer(x)
        >>> check_entry(layer, x, np.ones((2, 4, 3)), target="cell", index=(0, 3, 1)).agree
        True
    """
    if target not in TARGETS:
        raise UserError(N_("Unknown target '{target}': choose one of {targets}."), target=target,
                        targets=", ".join(TARGETS))
    twin = float64_twin(layer)
    cell = twin.cell
    if target == "cell" and "c" not in cell.state_names:
        raise UserError(N_("A {cell} has no cell state `c_t` (only an LSTM has one): check `h_t` instead."),
                        cell=type(twin).__name__)
    B, T, D, H = *_input_shape(x, twin), twin.units
    index = _index(target, index, twin, (B, T, D, H))
    seconds = check_cost(cell.n_blocks, B, T, D, H, target)
    if seconds > CHECK_SECONDS:                                        # refused before any array is copied
        raise UserError(N_("Checking one entry of {target} here takes about {seconds:.1f} s (a few forward passes "
                           "of {work:,} state values); the limit is {limit:g} s. Use fewer sequences, steps or "
                           "units."), target=target, seconds=seconds, limit=CHECK_SECONDS,
                        work=(B if target in WEIGHT_TARGETS else 1) * T * H)
    x = np.asarray(x, np.float64)
    names = cell.state_names
    c = twin.config
    out_shape = (B, T, H) if c.return_sequences else (B, H)
    d_output = np.asarray(d_output, np.float64)
    if d_output.shape != out_shape:
        raise UserError(N_("`d_output` must have the shape of the layer's output, {want}; got {shape}."),
                        want=out_shape, shape=d_output.shape)
    d_states = _state_gradients(d_states, twin, B)
    mask = _mask(mask, B, T)
    states0 = _initial_states(initial_state, names, B, H)

    # Weights need every sequence; an input or a state of sequence b only that sequence (the others do not move).
    rows = slice(None) if target in WEIGHT_TARGETS else slice(index[0], index[0] + 1)
    xs, ms = x[rows].copy(), None if mask is None else mask[rows]      # our own copy: its entries are perturbed
    s0 = [s[rows] for s in states0]
    d_out, d_st = d_output[rows], tuple(None if d is None else d[rows] for d in d_states)

    result = twin(xs, mask=ms, initial_state=s0)
    grads = twin.backward(d_out, *d_st) if c.return_state else twin.backward(d_out)
    scale = _loss_scale(result, c.return_state, d_out, d_st)         # sum of |terms| of L: its round-off

    if target in WEIGHT_TARGETS or target == "inputs":
        array = getattr(twin, target) if target in WEIGHT_TARGETS else xs
        entry = index if target in WEIGHT_TARGETS else (0, *index[1:])
        analytic = float(np.asarray(getattr(grads, target))[entry])

        def loss_at(delta: float) -> float:
            old = array[entry]
            array[entry] = old + delta
            try:
                r = twin(xs, mask=ms, initial_state=s0)
            finally:
                array[entry] = old
            outs = r if c.return_state else (r,)
            return float(np.sum(outs[0] * d_out) + sum(np.sum(s * d) for s, d in zip(outs[1:], d_st)
                                                       if d is not None))
        value = float(array[entry])
    else:
        _, t, unit = index
        state = STATE_TARGETS[target]
        analytic = float((grads.hidden if state == "h" else grads.cell)[0, t, unit])
        tr = twin.last_trace                                           # processing order
        x_seq = tr.x[:, 0]
        m_seq = None if tr.mask is None else tr.mask[:, 0, 0] > 0
        start = [s[0] for s in s0]
        d_seq = d_out[0]
        d_fin = tuple(None if d is None else d[0] for d in d_st)
        weights = twin.get_weights()
        value = float(tr.states[state][t + 1, 0, unit])

        def loss_at(delta: float) -> float:
            outputs, finals = reference_run(cell, weights, x_seq, start, m_seq, c.zero_output_for_mask,
                                            (state, t, unit, delta))
            return sequence_loss(outputs, finals, d_seq, d_fin)

    h = step_size if step_size is not None else EPS ** (1 / 3) * max(1.0, abs(value))
    h = float((value + h) - value) or float(h)                         # a step the float64 grid can represent
    numeric = (loss_at(h) - loss_at(-h)) / (2 * h)
    denom = max(abs(analytic), abs(numeric))
    rel = abs(analytic - numeric) / denom if denom > 0 else 0.0
    return EntryCheck(target, tuple(index), analytic, numeric, rel, h,
                      _explain(rel, h, max(abs(analytic), abs(numeric)), EPS * scale / h))


def _explain(rel: float, h: float, size: float, floor: float) -> Message:
    """One sentence: why the two agree, or why a finite difference cannot tell here.

    ``floor`` = eps * (sum of |terms| of L) / h: what float64 round-off alone puts into the numeric value.
    """
    if size <= 10 * floor:
        return Message(N_("This gradient ({size:.1e}) is below what a finite difference resolves here: the float64 "
                          "round-off of the loss divided by `2h` is about {floor:.1e}, so the numeric value is noise "
                          "and only a larger gradient can be compared."), {"size": size, "floor": floor})
    if rel < AGREE_BELOW:
        digits = 16 if rel == 0 else min(16, int(math.floor(-math.log10(rel))))
        return Message(N_("They agree to {digits} significant digits, as they should: a central difference has "
                          "`O(h²)` truncation error and float64 round-off of about `eps/h`, and "
                          "`h = cbrt(eps) · max(1, |value|)` = {h:.1e} makes both about `1e-10` relative."),
                       {"digits": digits, "h": h})
    return Message(N_("They differ by {rel:.1e} relative, far more than the `O(h²)` truncation error and `eps/h` "
                      "round-off of a central difference with `h` = {h:.1e}: the analytic gradient misses a path, "
                      "or the function is not smooth here (an activation's kink)."), {"rel": rel, "h": h})


def _loss_scale(result, return_state: bool, d_out: Array, d_st) -> float:
    outs = result if return_state else (result,)
    total = float(np.sum(np.abs(outs[0] * d_out)))
    for s, d in zip(outs[1:], d_st):
        if d is not None:
            total += float(np.sum(np.abs(s * d)))
    return max(total, 1.0)


def _input_shape(x, twin: RNN) -> tuple[int, int, int]:
    D, shape = twin.kernel.shape[0], np.shape(x)
    if len(shape) != 3 or shape[-1] != D or min(shape) < 1:
        raise UserError(N_("`x` must have shape (batch, steps, {features}); got {shape}."), features=D, shape=shape)
    return shape


def _state_gradients(d_states, twin: RNN, B: int) -> tuple:
    names, H = twin.cell.state_names, twin.units
    d_states = tuple(d_states or ())
    want = ", ".join(f"d{n}_T {(B, H)}" for n in names)
    shapes = [None if d is None else np.shape(d) for d in d_states]
    if d_states and (not twin.config.return_state or len(d_states) > len(names)
                     or any(s is not None and s != (B, H) for s in shapes)):
        raise UserError(N_("`d_states` must be one (batch, units) array per returned state ({want}), and only "
                           "with `return_state`; got {got}."), want=want, got=shapes)
    return tuple(None if d is None else np.asarray(d, np.float64) for d in d_states)


def _mask(mask, B: int, T: int) -> Array | None:
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.shape != (B, T):
        raise UserError(N_("`mask` must have shape (batch, steps) = {want}; got {shape}."), want=(B, T), shape=m.shape)
    return m.astype(bool)


def _initial_states(initial_state, names, B: int, H: int) -> list[Array]:
    if initial_state is None:
        return [np.zeros((B, H)) for _ in names]
    states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
    shapes = [np.shape(s) for s in states]
    if len(states) != len(names) or any(s != (B, H) for s in shapes):
        raise UserError(N_("`initial_state` must be one (batch, units) = {want} array per state ({names}); got {got}."),
                        want=(B, H), names=", ".join(names), got=shapes)
    return [np.asarray(s, np.float64) for s in states]


def _index(target: str, index, twin: RNN, sizes: tuple[int, int, int, int]) -> tuple[int, ...]:
    """The entry as a tuple of ints, checked against the target's shape."""
    B, T, D, H = sizes
    shape = np.shape(getattr(twin, target)) if target in WEIGHT_TARGETS else (B, T, D if target == "inputs" else H)
    try:
        idx = tuple(int(i) for i in (index if isinstance(index, (tuple, list, np.ndarray)) else (index,)))
    except (TypeError, ValueError):
        idx = None
    if idx is None or len(idx) != len(shape):
        names = index_names(target, shape)
        raise UserError(N_("An entry of {target} is picked by {n} numbers ({names}); got {index}."),
                        target=target, n=len(shape), names=", ".join(names), index=index)
    if any(not 0 <= i < n for i, n in zip(idx, shape)):
        raise UserError(N_("Index {index} is outside {target}, whose shape is {shape}."), index=idx, target=target,
                        shape=tuple(shape))
    return idx
