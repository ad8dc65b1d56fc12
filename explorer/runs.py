"""What the pages compute: one NumPy run and one Keras run of the same layer, plus gradient analysis.

Plain functions on arrays and an AppConfig; no Streamlit here (``cache.py``
wraps these in st.cache_data). The Keras functions import TensorFlow through
``rnn_core.keras_bridge`` only when they are called.

Results are cached for every visitor, so the prose they carry (what the loss is, how the Jacobians were
measured) is a :class:`rnn_core.messages.Message`: its English text with a template and fields, which the
page shows in the visitor's language with ``explorer.i18n.text``.
"""

from __future__ import annotations

import functools
import time
from dataclasses import asdict, dataclass, replace

import numpy as np

from rnn_core.analysis.gradient_flow import StateFlow, fit_decay, pascanu_report, recurrent_contributions, state_flow
from rnn_core.analysis.gradient_flow import compare_cells as analysis_compare_cells
from rnn_core.layers import initializers
from rnn_core.layers.dense import Dense
from rnn_core.messages import N_, Message, UserError
from rnn_core.training.clipping import clip_gradients, global_norm, l2_norm
from rnn_core.training.model import RNNClassifier

from . import custom_layer
from .settings import CELL_TYPES, AppConfig

Array = np.ndarray
WEIGHT_NAMES = ("kernel", "recurrent_kernel", "bias")


def _overflow_is_data(fn):
    """The app shows inf/nan as such (exploding settings are part of the lesson): no RuntimeWarnings."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return fn(*args, **kwargs)
    return wrapper


def make_weights(cfg: AppConfig, input_dim: int) -> list[Array]:
    """Seeded weights of the chosen cell in Keras' layout, the recurrent kernel U scaled by cfg.recurrent_scale.

    The layer draws them itself (its initializers, seed cfg.seed; LSTM's unit_forget_bias), so they are what
    rnn_core.LSTM(..., seed=cfg.seed) would build. A layer the visitor brought (cfg.layer_id) brings its own.
    """
    if cfg.layer_id:
        return custom_layer.weights(cfg.layer_id)
    layer = cfg.layer_class(**asdict(cfg.rnn_config()))
    layer.build((1, 1, input_dim))
    weights = [np.asarray(w, np.float32) for w in layer.get_weights()]
    weights[1] = (weights[1] * cfg.recurrent_scale).astype(np.float32)
    return weights


def make_head_weights(cfg: AppConfig) -> list[Array]:
    if cfg.layer_id and (custom := custom_layer.head_weights(cfg.layer_id)) is not None:
        return custom
    rng = np.random.default_rng(cfg.seed + 1)
    return [initializers.initialize("glorot_uniform", (cfg.units, cfg.num_classes), rng),
            np.zeros(cfg.num_classes, np.float32)]


def cell_of(cfg: AppConfig):
    """The chosen cell object: its state and gate names, its step in LaTeX, explain_step for one step's numbers."""
    return cfg.layer_class(**asdict(cfg.rnn_config())).cell


def _layer(cfg: AppConfig, weights: list[Array]):
    layer = cfg.layer_class(**asdict(cfg.rnn_config()))
    layer.build((1, 1, weights[0].shape[0]))
    layer.set_weights(weights)
    return layer


def structure_of(result, one_per_line: bool = False) -> str:
    """'array (2, 4)' or 'tuple(array (2, 12, 4), array (2, 4))': what a call returned.

    one_per_line: each part of a tuple on its own line, aligned under the first (for a narrow box).
    """
    if isinstance(result, (tuple, list)):
        kind = type(result).__name__
        sep = ",\n" + " " * (len(kind) + 1) if one_per_line else ", "
        return f"{kind}(" + sep.join(structure_of(r) for r in result) + ")"
    return f"array {tuple(np.shape(result))}"


@dataclass
class ForwardRun:
    """One forward pass; every sequence is (B, T, H) in processing order whatever the flags."""

    output: object                 # exactly what the layer returned (array, or the tuple (output, *states))
    sequences: dict[str, Array]    # "h" (and "c" for LSTM) after each step, then each gate (NumPy only)
    final_states: tuple            # (h_T,) or (h_T, c_T), each (B, H)
    probs: Array | None            # head output, (B, T, C) or (B, C), or None without head
    seconds: float
    engine: str                    # "NumPy" or "Keras"

    @property
    def states(self) -> Array:
        """h_t for every step, (B, T, H)."""
        return self.sequences["h"]

    @property
    def final_state(self) -> Array:
        return self.final_states[0]


@_overflow_is_data
def numpy_forward(cfg: AppConfig, weights: list[Array], x: Array, initial_states: tuple | None = None,
                  head_weights: list[Array] | None = None, mask: Array | None = None) -> ForwardRun:
    """``initial_states``: one (B, H) per state, or None for zeros. ``mask`` (B, T) bool: padded steps of a
    ragged batch (False) carry the state on, as Keras' masking."""
    start = time.perf_counter()
    layer = _layer(cfg, weights)
    output = layer(x, mask=mask, initial_state=None if initial_states is None else list(initial_states))
    sequences = layer.last_sequences()
    trace = layer.last_trace
    finals = tuple(trace.states[name][-1].copy() for name in layer.cell.state_names)
    probs = None
    if cfg.head != "none":
        # The head reads the sequence the RNN produced (processing order), as the tutorial model does.
        head = Dense(cfg.num_classes, activation="softmax")
        head.set_weights(head_weights if head_weights is not None else make_head_weights(cfg))
        probs = head(_sequence_or_last(cfg, _returned_sequence(trace)))
    return ForwardRun(output, sequences, finals, probs, time.perf_counter() - start, "NumPy")


def _returned_sequence(trace) -> Array:
    """The outputs o_t the layer returns (B, T, H): h_t, except that a masked step repeats (or zeroes) o_{t-1}."""
    return np.ascontiguousarray(trace.outputs.transpose(1, 0, 2))


def _sequence_or_last(cfg: AppConfig, states: Array) -> Array:
    return states if cfg.head == "many-to-many" else states[:, -1]


def _model(cfg: AppConfig, weights: list[Array], head_weights: list[Array] | None) -> RNNClassifier:
    rnn_kwargs = {k: v for k, v in asdict(cfg.rnn_config()).items()
                  if k not in ("units", "return_sequences", "return_state", "stateful", "seed")}
    model = RNNClassifier(cfg.units, cfg.num_classes, many_to_many=cfg.head == "many-to-many", cell=cfg.kind,
                          **rnn_kwargs)
    model.build((1, 1, weights[0].shape[0]))
    model.set_weights(list(weights) + list(head_weights if head_weights is not None else make_head_weights(cfg)))
    return model


@dataclass
class KerasTwins:
    """The Keras side of one configuration, built once (the app keeps it with st.cache_resource)."""

    layer: object            # keras.layers.SimpleRNN / LSTM / GRU with the user's flags
    full: object             # the same weights, return_sequences=True and return_state=True: h_t for every t
    model: object | None     # the tutorial's RNNLayer with the Dense head, or None without a head


def build_keras(cfg: AppConfig, weights: list[Array], input_shape: tuple[int, int, int],
                head_weights: list[Array] | None = None) -> KerasTwins:
    from rnn_core import keras_bridge as kb

    layer = kb.build_layer(cfg.kind, _no_state(cfg.rnn_config()), input_shape, weights)
    full = kb.build_layer(cfg.kind, _no_state(cfg.with_sequences().rnn_config()), input_shape, weights)
    model = None
    if cfg.head != "none":
        rnn_kwargs = {k: v for k, v in asdict(cfg.rnn_config()).items()
                      if k not in ("units", "return_sequences", "return_state", "stateful", "seed")}
        model = kb.build_tutorial_model(cfg.units, cfg.num_classes, cfg.head == "many-to-many",
                                        input_shape=input_shape, cell=cfg.kind,
                                        weights=list(weights) + list(head_weights or make_head_weights(cfg)),
                                        **rnn_kwargs)
    return KerasTwins(layer, full, model)


def keras_forward(cfg: AppConfig, twins: KerasTwins, x: Array, initial_states: tuple | None = None,
                  mask: Array | None = None) -> ForwardRun:
    """Run the Keras twins on x: the user's output structure, and h_t for every step (``mask`` as in numpy_forward)."""
    from rnn_core import keras_bridge as kb

    start = time.perf_counter()
    init = None if initial_states is None else list(initial_states)
    output = kb.run_layer(twins.layer, x, mask=mask, initial_state=init)
    seq, *finals = kb.run_layer(twins.full, x, mask=mask, initial_state=init)
    probs = None
    if twins.model is not None:
        # With a carried state or a mask, the head reads the masked RNN's outputs (the model's call takes neither).
        probs = kb.run_model(twins.model, x) if init is None and mask is None else \
            np.asarray(twins.model.fc(_sequence_or_last(cfg, seq)))
    return ForwardRun(output, {"h": seq}, tuple(finals), probs, time.perf_counter() - start, "Keras")


def _no_state(rnn_cfg):
    # The app carries a stateful layer's state itself and passes it as initial_state, on both sides.
    return replace(rnn_cfg, stateful=False)


# -- Bidirectional and stacking (the output-shapes page) -------------------------------------

BIDIRECTIONAL_MODES = ("concat", "sum", "mul", "ave", None)


def _bidirectional_weights(cfg: AppConfig, input_dim: int) -> list[Array]:
    """Forward weights, then the backward copy's own (seed + 7), in keras.layers.Bidirectional's order."""
    return make_weights(cfg, input_dim) + make_weights(replace(cfg, seed=cfg.seed + 7), input_dim)


def _bidirectional(cfg: AppConfig, mode, return_state: bool, input_dim: int):
    from rnn_core import Bidirectional

    bi = Bidirectional(cfg.layer_class(**asdict(replace(_no_state(cfg.rnn_config()), return_state=return_state,
                                                         go_backwards=False))), merge_mode=mode)
    bi.build((1, 1, input_dim))
    bi.set_weights(_bidirectional_weights(cfg, input_dim))
    return bi


@_overflow_is_data
def bidirectional_structures(cfg: AppConfig, x: Array) -> dict:
    """(merge_mode, return_state) -> the structure the NumPy Bidirectional returned, for every merge mode (one
    result held at a time)."""
    return {(str(mode), rst): structure_of(_bidirectional(cfg, mode, rst, x.shape[-1])(x))
            for mode in BIDIRECTIONAL_MODES for rst in (False, True)}


@_overflow_is_data
def keras_bidirectional_check(cfg: AppConfig, x: Array, difference, tolerance) -> dict:
    """keras.layers.Bidirectional with the same weights, merge_mode=None (both directions' outputs as they are,
    which every merge mode combines) with and without return_state: how many structures agree, the largest
    ``difference(ours, theirs)`` and its ``tolerance(theirs)``. Keras steps eagerly (~0.4 ms a step per
    direction), so the page compares these two calls; tests/test_bidirectional.py compares every merge mode."""
    from rnn_core import keras_bridge as kb

    weights = _bidirectional_weights(cfg, x.shape[-1])
    equal, diff, tol = 0, 0.0, 0.0
    for mode in (None,):
        for rst in (False, True):
            ours = _bidirectional(cfg, mode, rst, x.shape[-1])(x)
            theirs = kb.run_bidirectional(cfg.kind, replace(_no_state(cfg.rnn_config()), return_state=rst,
                                                            go_backwards=False), mode, x, weights)
            if structure_of(ours) != structure_of(theirs):
                diff = float("inf")
                continue
            equal += 1
            pairs = list(zip(ours, theirs, strict=True)) if isinstance(ours, tuple) else [(ours, theirs)]
            diff = max([diff] + [difference(a, b) for a, b in pairs])
            tol = max([tol] + [tolerance(b) for _, b in pairs])
    return {"structures_equal": equal, "diff": diff, "tolerance": tol or 1e-5}


@_overflow_is_data
def stacking(cfg: AppConfig, x: Array) -> dict[str, str]:
    """Two layers of the chosen cell on top of each other: the shapes with return_sequences=True below, and the
    NumPy core's error when the lower layer returns only (B, H)."""
    base = replace(_no_state(cfg.rnn_config()), return_state=False)
    B, T, D = x.shape
    H = cfg.units
    first = cfg.layer_class(**asdict(replace(base, return_sequences=True)))
    second = cfg.layer_class(**asdict(replace(base, return_sequences=False)))
    y = first(x)
    z = second(y)
    flow = (f"x = ...                                     # {x.shape} (B, T, D)\n"
            f"y = {cfg.cell}({H}, return_sequences=True)(x)   # {y.shape} (B, T, H)\n"
            f"z = {cfg.cell}({H})(y)                          # {z.shape} (B, H)")
    lower = cfg.layer_class(**asdict(replace(base, return_sequences=False)))
    upper = cfg.layer_class(name="upper", **asdict(replace(base, return_sequences=False)))   # as keras_stacking_error
    try:
        upper(lower(x))
        error = Message(N_("(no error)"))
    except ValueError as err:
        error = err.message if isinstance(err, UserError) else str(err)   # a Message: shown with i18n.text
    return {"flow": flow, "numpy_error": error}


def keras_stacking_error(cfg: AppConfig, input_shape: tuple[int, int, int]) -> str | None:
    from rnn_core import keras_bridge as kb

    base = replace(_no_state(cfg.rnn_config()), return_state=False, return_sequences=False)
    return kb.stacking_error(cfg.kind, base, base, tuple(input_shape))


# -- gradients -----------------------------------------------------------------------------


@dataclass
class GradientRun:
    loss: float
    loss_text: Message             # what the loss is, in words (shown with i18n.text)
    hidden: Array                  # (B, T, H) total dL/dh_t, processing order
    cell: Array | None             # (B, T, H) total dL/dc_t for LSTM, else None
    weights: dict[str, Array]      # dL/dW etc. after truncation, before clipping
    clipped: dict[str, Array]      # after clipping (same as weights when no clipping)
    contributions: Array | None    # (T,) ||dL/dU from step t||_F (NumPy only)
    seconds: float
    engine: str


def probe_directions(cfg: AppConfig, shape: tuple[int, ...]) -> Array:
    """Fixed random unit vectors g_t: without a head the loss is L = sum_t <g_t, h_t> (so dL/dh_t = g_t directly)."""
    g = np.random.default_rng(cfg.seed + 2).standard_normal(shape)
    return (g / np.linalg.norm(g, axis=-1, keepdims=True)).astype(np.float32)


def loss_text(cfg: AppConfig, loss_on: str) -> Message:
    """What the loss is, in words: a Message (English as a str; the page shows it translated)."""
    if cfg.head == "none":
        where = Message(N_("h_T (last step)") if loss_on == "last" else N_("every h_t"))
        return Message(N_("L = sum of <g, h> over {where}, g fixed random unit vectors (no head): dL/dh gets "
                          "exactly g there"), {"where": where})
    what = Message(N_("every step (many-to-many)") if cfg.head == "many-to-many" else
                   N_("the last step (many-to-one)"))
    return Message(N_("sparse categorical cross-entropy of the softmax head on {what}"), {"what": what})


def _probe_output_gradient(cfg: AppConfig, x_shape: tuple[int, int, int], loss_on: str) -> Array:
    B, T, _ = x_shape
    g = probe_directions(cfg, (B, T, cfg.units))
    if loss_on == "last":
        g[:, :-1] = 0.0
    return g


@dataclass
class NumpyGradients:
    """The NumPy gradient run and the layer it ran (its trace feeds the Jacobian analysis)."""

    run: GradientRun
    layer: object


@_overflow_is_data
def numpy_gradients(cfg: AppConfig, weights: list[Array], x: Array, labels: Array, loss_on: str = "every",
                    truncate: int | None = None, clip: dict | None = None,
                    head_weights: list[Array] | None = None, mask: Array | None = None) -> GradientRun:
    """Gradients through the NumPy core, on the sequence-returning layer (or the head model); ``mask`` (B, T)."""
    return numpy_gradients_and_layer(cfg, weights, x, labels, loss_on, truncate, clip, head_weights, mask).run


@_overflow_is_data
def numpy_gradients_and_layer(cfg, weights, x, labels, loss_on="every", truncate=None, clip=None, head_weights=None,
                     mask=None) -> NumpyGradients:
    start = time.perf_counter()
    if cfg.head == "none":
        layer = _layer(cfg.with_sequences(), weights)
        out = layer(x, mask=mask)[0]
        d_out = _probe_output_gradient(cfg, x.shape, loss_on)
        loss = float(np.sum(out * d_out))
        grads = layer.backward(d_out, truncate=truncate)
        rnn = layer
    else:
        model = _model(cfg, weights, head_weights)
        loss, _ = model.loss(x, labels if cfg.head == "many-to-many" else labels[:, -1], mask=mask)
        grads = model.backward(truncate=truncate).rnn
        rnn = model.rnn
    named = dict(zip(WEIGHT_NAMES, grads.weights(), strict=False))
    clipped = dict(zip(named, clip_gradients(list(named.values()), **(clip or {})), strict=False))
    contributions = _recurrent_contributions(rnn, grads)
    run = GradientRun(loss, loss_text(cfg, loss_on), grads.hidden, grads.cell, named, clipped, contributions,
                      time.perf_counter() - start, "NumPy")
    return NumpyGradients(run, rnn)


def check_inputs(cfg: AppConfig, weights: list[Array], x: Array, labels: Array, loss_on: str = "every",
                 mask: Array | None = None, head_weights: list[Array] | None = None) -> tuple[object, Array]:
    """The layer of the gradient run and dL/d(its output): what the Check it yourself panel differentiates.

    Without a head the loss is the page's probe <G, output>; with one, dL/d(output) is the head's gradient at
    this point, so the panel checks the recurrent layer's BPTT of the page's very loss (to first order).
    """
    if cfg.head == "none":
        return _layer(cfg.with_sequences(), weights), _probe_output_gradient(cfg, x.shape, loss_on)
    model = _model(cfg, weights, head_weights)
    model.loss(x, labels if cfg.head == "many-to-many" else labels[:, -1], mask=mask)
    d_output = model.backward().head.inputs
    layer = model.rnn
    layer._trace = layer.last_backward = None      # the panel runs its own float64 copy: keep no trace here
    return layer, d_output


def _recurrent_contributions(layer, grads) -> Array | None:
    """||dL/dU from step t||_F for each t: the recurrent operand h_{t-1} against dL/d(h_{t-1} U) of that step."""
    res = getattr(layer, "last_backward", None)
    if res is None:
        return None
    trace = layer.last_trace
    operand = layer.cell.recurrent_operand(trace.h[:-1], trace.recurrent_dropout, trace)
    if isinstance(operand, list):          # a different operand per gate block: add the blocks' squared norms
        H = layer.units
        parts = [recurrent_contributions(op, res.d_rec[..., k * H:(k + 1) * H]) for k, op in enumerate(operand)]
        return np.sqrt(np.sum(np.square(parts), axis=0))
    return recurrent_contributions(operand, res.d_rec)


def keras_gradients(cfg: AppConfig, twins: KerasTwins, x: Array, labels: Array,
                    loss_on: str = "every", mask: Array | None = None) -> GradientRun:
    """The same gradients by tf.GradientTape (full BPTT; truncation and clipping are NumPy-side features)."""
    from rnn_core import keras_bridge as kb

    start = time.perf_counter()
    if twins.model is None:
        d_out = _probe_output_gradient(cfg, x.shape, loss_on)
        res = kb.layer_gradients(twins.full, x, d_out, mask=mask)
        loss = float(np.sum(res["output"][0] * d_out))
        named = {n: res[n] for n in WEIGHT_NAMES if res.get(n) is not None}
    else:
        res = kb.model_gradients(twins.model, x, labels if cfg.head == "many-to-many" else labels[:, -1], mask=mask)
        loss = res["loss"]
        n_rnn = 3 if cfg.use_bias else 2
        named = dict(zip(WEIGHT_NAMES[:n_rnn], res["weights"][:n_rnn], strict=True))
    return GradientRun(loss, loss_text(cfg, loss_on), res["hidden"], res.get("cell"), named, named, None,
                       time.perf_counter() - start, "Keras")


# -- analysis --------------------------------------------------------------------------------


@dataclass
class FlowAnalysis:
    hidden_norms: Array            # (T,) ||dL/dh_t|| for sequence 0
    cell_norms: Array | None       # (T,) ||dL/dc_t|| for an LSTM's sequence 0, else None
    decay: object                  # DecayFit or None
    flow: StateFlow                # sigma_max of each step's state Jacobian, the ds_t/ds_k map, carry-gate products
    pascanu: object | None         # PascanuReport for a cell without a carry gate (SimpleRNN), else None
    norms_before: dict[str, float]
    norms_after: dict[str, float]
    seconds: float

    @property
    def sigma_method(self) -> Message:
        """How the per-step sigma_max were measured (shown with i18n.text)."""
        f = self.flow
        every = len(f.sigma_steps) == len(self.hidden_norms)
        where = Message(N_("all steps")) if every else Message(
            N_("{shown:,} evenly spaced steps of {total:,}"),
            {"shown": len(f.sigma_steps), "total": len(self.hidden_norms)})
        return Message(N_("Lanczos ({lanczos} steps, batched), {where}"), {"lanczos": f.lanczos_steps, "where": where})

    @property
    def state(self) -> str:
        """The state's name in formulas: h, or s = (h, c) for an LSTM."""
        return "h" if self.flow.state_names == ("h",) else "s"


@_overflow_is_data
def forward_layer(cfg: AppConfig, weights: list[Array], x: Array, mask: Array | None = None):
    """The layer (returning every step) after one forward call on x: its trace is what the Jacobians need."""
    layer = _layer(cfg.with_sequences(), weights)
    layer(x, mask=mask)
    return layer


@_overflow_is_data
def analyse_flow(cfg: AppConfig, run: GradientRun, layer, max_points: int = 32) -> FlowAnalysis:
    """Norms, per-step Jacobian norms of the whole state, the ds_t/ds_k map, the carry gate's products and (for a
    cell without a carry gate) Pascanu's bounds, for sequence 0.

    Long sequences are bounded in work (rnn_core.analysis.gradient_flow.state_flow): sigma_max on
    an even subsample of steps, and the map over the last window of steps that fits
    its flop budget, both stated on the charts. ``run`` is the gradient run; ``layer`` the same layer after a
    forward call on the same input (forward_layer): the step Jacobians depend on the forward pass only.
    """
    start = time.perf_counter()
    hidden_norms = np.linalg.norm(run.hidden[0].astype(np.float64), axis=-1)
    cell_norms = None if run.cell is None else np.linalg.norm(run.cell[0].astype(np.float64), axis=-1)
    flow = state_flow(layer, b=0, max_points=max_points)
    report = pascanu_report(layer.recurrent_kernel, layer.activation) if flow.carry is None else None
    before = {k: l2_norm(v) for k, v in run.weights.items()}
    before["global"] = global_norm(list(run.weights.values()))
    after = {k: l2_norm(v) for k, v in run.clipped.items()}
    after["global"] = global_norm(list(run.clipped.values()))
    return FlowAnalysis(hidden_norms, cell_norms, fit_decay(hidden_norms), flow, report, before, after,
                        time.perf_counter() - start)


@_overflow_is_data
def compare_cells(cfg: AppConfig, x: Array, carry_bias: float = 1.0) -> list:
    """||dL/dh_t|| of SimpleRNN, LSTM and GRU on the same input (sequence 0), a loss on the last step only, the
    same units, seed and Keras' default initializers, the gated cells' carry-gate bias set to ``carry_bias``:
    rnn_core.analysis.gradient_flow.compare_cells."""
    return analysis_compare_cells(x[:1], units=cfg.units, seed=cfg.seed, cells=CELL_TYPES, carry_bias=carry_bias)
