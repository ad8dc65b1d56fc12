"""What one page visit costs, before it runs: memory and time from batch x steps x units, and a budget.

A server is shared by a class: every visit is estimated first, and one past the budget does not run.
``estimate(page, batch, steps, units, features, keras)`` is a linear model in the sizes of the arrays
a page makes, with coefficients measured on this project's machine (2 cores, x86_64, OpenBLAS) by
``python -m bench.bench_budget`` (which prints the fit and the measured / estimated ratios):

* memory: ``fixed + a * (B*T*H*4 bytes) + b * (B*T*D*4 bytes) + c * (B*T*C*4 bytes)``: ``a`` counts how many
  float32 (B, T, H) arrays a page holds at its peak (pre-activations, states, outputs, copies for the
  charts, gradients), ``b`` the input copies, ``c`` the head's probabilities.
* time: ``fixed + s * T + f * B*T*H*(H + D) + ...``: ``s`` is the per-step overhead of Python (for Keras,
  eager TensorFlow ops per step, which dominate), ``f`` the matmul work; the gradient-flow page adds
  its Jacobian analysis (bounded in work by explorer/runs.py) as two more terms.

Plain Python and NumPy: no Streamlit here (explorer/budget_ui.py shows it in the app).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .messages import N_, Message

PAGES = ("hidden-states", "output-shapes", "gradient-flow", "keras-vs-numpy")
CELLS = ("simple_rnn", "lstm", "gru")

# Keras steps through time with Python-driven TensorFlow ops; past these lengths the Keras column is not
# run at all (the NumPy core runs the whole sequence), so the estimate leaves Keras out there too.
KERAS_MAX_STEPS = {"forward": 20_000, "gradients": 2_000}
KERAS_KIND = {"hidden-states": "forward", "output-shapes": "forward", "gradient-flow": "gradients",
              "keras-vs-numpy": "gradients"}

MiB = 2**20

# -- the budget -------------------------------------------------------------------------------------
# One server has 3 GiB. Measured (bench/load_test.py): Streamlit with TensorFlow imported and a Keras model
# built is ~0.9 GiB resident. The result caches keep at most CACHE_BYTES (explorer/cache.py), and at most
# RUN_SLOTS visits compute at once (the rest wait their turn: 2 cores do not run more at once any faster),
# each within RUN_BYTES: 0.9 + 0.75 + 2 x 0.5 = 2.65 GiB < 3 GiB, with room for the figures sent.
RUN_BYTES = 512 * MiB            # peak memory of one visit's computation
RUN_SECONDS = 8.0                # estimated computing time of one visit on this machine
RUN_SLOTS = 2                    # visits computing at the same time (the others queue)
CACHE_BYTES = 640 * MiB          # all cached results together (explorer/cache.py)
FIGURE_CACHE_BYTES = 128 * MiB   # all cached figures together (explorer/figures.py)

# -- per-cell factors (LSTM / GRU cores are being written; these follow from what they keep per step) ----
# SimpleRNN keeps per step z_t and h_t (2 x H) and does one (D+H) x H matmul. An LSTM keeps its four gate
# pre-activations (4 x H), c_t, tanh(c_t) and h_t (7 x H: 3.5x) and does a (D+H) x 4H matmul (4x); a GRU
# keeps three gate blocks, h_t and r_t*h_{t-1} (5 x H: 2.5x) and a (D+H) x 3H matmul (3x). Keras' cells
# loop with the same structure, so the same factors apply to its column.
CELL_MEMORY = {"simple_rnn": 1.0, "lstm": 3.5, "gru": 2.5}
CELL_TIME = {"simple_rnn": 1.0, "lstm": 4.0, "gru": 3.0}
# The gradient-flow analysis works on the whole carried state: S = H, or 2H for an LSTM's (h, c). Its sigma_max
# iterations cost S^2 per step and its dh_t/dh_k map S^3 (within MAP_FLOPS), so it is sized with S, not H.
STATE_FACTOR = {"simple_rnn": 1, "lstm": 2, "gru": 1}

# -- coefficients, from bench/bench_budget.py (2026-11-28, this machine) ----------------------------------
# Memory: fitted to the measured peaks (tracemalloc / resident set) of the NumPy path, within 0.8-1.2x of them
# on every measured size (docs/performance.md). The Keras column adds its own copies of the states and
# TensorFlow's tape; its resident-set deltas are noisy (TensorFlow's allocator reuses memory), so those columns
# are rounded up.
# Per step, the Keras column's eager ops and tape keep small tensors and their records (~8 KB a step forward,
# ~40 KB with the two gradient tapes); the first Keras run also grows TensorFlow's allocator once (~200 MiB, kept
# and reused: part of the server's baseline, see RUN_BYTES above).
# (fixed bytes, (B,T,H) float32 arrays, (B,T,D) float32 arrays, (B,T,C) float32 arrays, x analysis_bytes,
#  bytes per step)
MEMORY = {
    ("hidden-states", False): (2 * MiB, 6.0, 1.0, 1.0, 0.0, 0.0),
    ("hidden-states", True): (48 * MiB, 12.0, 2.0, 2.0, 0.0, 8e3),
    ("output-shapes", False): (2 * MiB, 6.5, 1.0, 4.0, 0.0, 0.0),
    ("output-shapes", True): (48 * MiB, 11.0, 2.0, 6.0, 0.0, 8e3),
    ("gradient-flow", False): (2 * MiB, 6.0, 1.0, 2.0, 1.0, 0.0),
    ("gradient-flow", True): (48 * MiB, 14.0, 2.0, 4.0, 1.0, 40e3),
    ("keras-vs-numpy", False): (0, 0.0, 0.0, 0.0, 0.0, 0.0),           # Keras off: the page shows code and stops
    ("keras-vs-numpy", True): (48 * MiB, 22.0, 2.0, 6.0, 0.0, 48e3),
}
# Time, on a quiet machine: the machine was shared with other jobs while the benchmark ran (load average 6-9 on
# 2 cores: every time 4-25x the quiet one), so the per-step costs are the quiet measurements of docs/performance.md
# "Performance" (NumPy forward+BPTT 5.4 ms and Keras eager 0.7 s at T=1000, H=128; the Jacobian analysis 0.55 s),
# scaled to what each page runs: the Keras column's forward runs its layer twice plus the head model (~0.8 ms per
# step), its gradients a tape over the model and a second one stepping the cell for dL/dh_t (~1.6 ms per step);
# output-shapes loops TimeDistributed over time in Python (~0.1 ms per step).
# (fixed s, s per step, s per B*T*H*(H+D) multiply-add, s per Lanczos sigma flop, s per map flop)
TIME = {
    ("hidden-states", False): (0.05, 4e-6, 1.5e-10, 0.0, 0.0),
    ("hidden-states", True): (0.6, 8e-4, 3e-9, 0.0, 0.0),
    # output-shapes also runs Bidirectional for 5 merge modes x 2 return_state (20 layer runs) and stacking (3):
    # 23 runs more than the 4 measured, at hidden-states' cost per run (4e-6 s per step, 1.5e-10 s per
    # multiply-add) added below; with Keras, 2 eager Bidirectional calls and the stacking check (6 more eager
    # layer runs, ~0.4 ms per step each).
    ("output-shapes", False): (0.05, 1e-4 + 23 * 4e-6, 3e-9 + 23 * 1.5e-10, 0.0, 0.0),
    ("output-shapes", True): (0.6, 9e-4 + 23 * 4e-6 + 6 * 4e-4, 3e-9 + 23 * 1.5e-10, 0.0, 0.0),
    ("gradient-flow", False): (0.05, 8e-6, 3e-10, 2.2e-10, 6.5e-11),
    ("gradient-flow", True): (0.6, 1.6e-3, 3e-9, 2.2e-10, 6.5e-11),
    ("keras-vs-numpy", False): (0.0, 0.0, 0.0, 0.0, 0.0),
    ("keras-vs-numpy", True): (0.8, 2.4e-3, 3e-9, 0.0, 0.0),
}
MAX_SIGMA_STEPS = 2_000          # as rnn_core/analysis/gradient_flow.py: sigma_max(J_t) on at most this many steps
ANALYSIS_CHUNK = 16 * MiB        # as rnn_core/analysis.CHUNK_BYTES
MAP_FLOPS = 5e9                  # as explorer/runs.py: the dh_t/dh_k map's work bound


@dataclass(frozen=True)
class Estimate:
    """What one visit of ``page`` would cost: peak bytes and seconds on this machine, and whether it fits."""

    page: str
    batch: int
    steps: int
    units: int
    features: int
    keras: bool                  # Keras asked for
    keras_runs: bool             # Keras actually runs (off past KERAS_MAX_STEPS)
    cell: str
    bytes: float
    seconds: float
    budget_bytes: float = RUN_BYTES
    budget_seconds: float = RUN_SECONDS

    @property
    def fits(self) -> bool:
        return self.bytes <= self.budget_bytes and self.seconds <= self.budget_seconds

    @property
    def over(self) -> list[str]:
        """Which limits it passes: 'memory', 'time' (empty when it fits); Messages, equal to those words."""
        return [Message(name) for name, v, b in ((N_("memory"), self.bytes, self.budget_bytes),
                                                  (N_("time"), self.seconds, self.budget_seconds)) if v > b]

    def text(self) -> Message:
        """e.g. "about 120 MiB and 2.5 s" (a Message: the app shows it translated)."""
        return Message(N_("about {memory} and {time}"),
                       {"memory": fmt_bytes(self.bytes), "time": fmt_seconds(self.seconds)})


def fmt_bytes(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / MiB:.0f} MiB"


def fmt_seconds(s: float) -> str:
    return f"{s:.1f} s" if s < 60 else f"{s / 60:.1f} min"


def budget_text() -> Message:
    """The budget in one sentence, for the sidebar and the docs (a Message: the app shows it translated)."""
    return Message(N_("Each view may use up to {memory} of memory and about {seconds:g} s of computing on this "
                      "server; larger configurations are offered the nearest one that fits."),
                   {"memory": fmt_bytes(RUN_BYTES), "seconds": RUN_SECONDS})


def _check(page: str, cell: str) -> None:
    if page not in PAGES:
        raise ValueError(f"page must be one of {PAGES}, got {page!r}.")
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}.")


def keras_runs(page: str, steps: int, keras: bool) -> bool:
    """Whether the Keras column runs: asked for, and the sequence within its limit on that page."""
    return bool(keras) and steps <= KERAS_MAX_STEPS[KERAS_KIND[page]]


def analysis_bytes(steps: int, units: int) -> float:
    """Peak bytes of the gradient-flow analysis (rnn_core.analysis.gradient_flow.state_flow) for a state of size ``units``
    (S: H, or 2H for an LSTM), from the shapes it makes (float64): the batched Lanczos for sigma_max(J_t) on up
    to MAX_SIGMA_STEPS steps keeps a basis (N, 40, S) and its temporaries, built CHUNK_BYTES at a time; the
    ds_t/ds_k map forms dense J_t a chunk at a time and keeps every product on its grid of P points,
    P(P+1)/2 matrices S x S, twice (M and M^T M)."""  # noqa: E501 - rewrapping would change the docstring
    S = units
    points = int(max(8, min(32, math.sqrt(MAP_FLOPS / S**3))))
    window = int(min(steps, max(points, MAP_FLOPS // (2 * S**3))))
    grid = min(window, points)
    pairs = grid * (grid + 1) / 2
    sigma_steps = min(steps, MAX_SIGMA_STEPS)
    lanczos = 3.0 * min(ANALYSIS_CHUNK, 8.0 * sigma_steps * S * 48)        # basis and two temporaries
    dense = min(ANALYSIS_CHUNK, 8.0 * window * S * S)
    return lanczos + dense + 8.0 * (S * S * (2 * pairs + grid) + pairs * S * 26)


def memory_terms(page: str, batch: int, steps: int, units: int, features: int, keras: bool,
                 classes: int = 5, cell: str = "simple_rnn") -> list[float]:
    """The sizes the memory model multiplies: [1, B*T*H*4, B*T*D*4, B*T*C*4, analysis bytes, T] (bytes; steps)."""
    B, T = batch, steps
    analysis = analysis_bytes(T, units * STATE_FACTOR[cell]) if page == "gradient-flow" else 0.0
    return [1.0, 4.0 * B * T * units, 4.0 * B * T * features, 4.0 * B * T * classes, analysis, float(T)]


def time_terms(page: str, batch: int, steps: int, units: int, features: int, keras: bool,
               cell: str = "simple_rnn") -> list[float]:
    """The work the time model multiplies: [1, T, B*T*H*(H+D), Lanczos flops for sigma_max(J_t), map flops]."""
    B, T, H = batch, steps, units
    S = H * STATE_FACTOR[cell]
    analysis = page == "gradient-flow"
    sigma = min(T, MAX_SIGMA_STEPS) * S * S * 40 * 2 if analysis else 0.0     # 40 Lanczos steps, J and J^T
    jmap = min(MAP_FLOPS, 2.0 * T * S**3) if analysis else 0.0
    return [1.0, float(T), float(B) * T * H * (H + features), float(sigma), float(jmap)]


def estimate(page: str, batch: int, steps: int, units: int, features: int = 1, keras: bool = False,
             cell: str = "simple_rnn", classes: int = 5) -> Estimate:
    """Peak memory (bytes) and time (s) of one visit of ``page`` with this configuration, before running it.

    Args:
        page: one of PAGES (the URL path without the slash).
        batch, steps, units, features: B, T, H and D of the input and layer.
        keras: whether the Keras column is asked for (it runs only within KERAS_MAX_STEPS).
        cell: "simple_rnn", "lstm" or "gru" (scaled by CELL_MEMORY / CELL_TIME).
        classes: C of the Dense head (its probabilities are (B, T, C)).
    """
    _check(page, cell)
    if min(batch, steps, units, features) < 1:
        raise ValueError(f"batch, steps, units and features must be >= 1, got {(batch, steps, units, features)}.")
    runs = keras_runs(page, steps, keras)
    mem = MEMORY[(page, runs)]
    tim = TIME[(page, runs)]
    m_terms = memory_terms(page, batch, steps, units, features, runs, classes, cell)
    t_terms = time_terms(page, batch, steps, units, features, runs, cell)
    cm, ct = CELL_MEMORY[cell], CELL_TIME[cell]
    nbytes = (mem[0] + cm * mem[1] * m_terms[1] + mem[2] * m_terms[2] + mem[3] * m_terms[3] + mem[4] * m_terms[4]
              + cm * mem[5] * m_terms[5])
    # The cell's factor scales the layer runs (per step, per multiply-add); the analysis terms are sized with S.
    seconds = tim[0] + ct * (tim[1] * t_terms[1] + tim[2] * t_terms[2]) + tim[3] * t_terms[3] + tim[4] * t_terms[4]
    return Estimate(page, batch, steps, units, features, bool(keras), runs, cell, float(nbytes), float(seconds))


@dataclass(frozen=True)
class Suggestion:
    """The nearest configuration that fits, and what was changed to get there."""

    batch: int
    steps: int
    units: int
    estimate: Estimate
    changes: tuple[Message, ...]     # e.g. ("batch 16 → 1", "steps 100,000 → 20,000"), shown translated


def _nice_below(n: int, floor: int) -> list[int]:
    """Round numbers (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k) below n, largest first, down to floor."""
    out = set()
    for k in range(0, int(math.log10(max(n, 1))) + 2):
        for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8):
            v = int(m * 10**k)
            if floor <= v < n:
                out.add(v)
    return sorted(out, reverse=True)


_CHANGES = {"batch": N_("batch {old} → {new}"), "steps": N_("steps {old:,} → {new:,}"),
            "units": N_("units {old} → {new}")}


def _change(what: str, old: int, new: int) -> Message:
    return Message(_CHANGES[what], {"old": old, "new": new})


UNITS_LADDER = (256, 192, 128, 96, 64, 48, 32, 24, 16, 12, 8, 6, 4, 3, 2, 1)


def nearest_fitting(page: str, batch: int, steps: int, units: int, features: int = 1, keras: bool = False,
                    cell: str = "simple_rnn", classes: int = 5, min_steps: int = 2) -> Suggestion | None:
    """The nearest configuration within the budget, or None when even the smallest does not fit.

    What a teacher expects to keep is the model (units, cell, Keras on or off) and as much of the
    sequence as possible. So, in this order:
    1. batch first: every page draws one sequence of the batch at a time; batch only multiplies the work.
       The largest batch that fits (down to 1).
    2. then steps, at batch 1: the largest round number of steps that fits (a shorter sequence shows the same
       mechanism; the URL stays readable).
    3. units last, only when even ``min_steps`` steps do not fit: the largest that fits on the ladder
       256, 192, 128, 96, 64, ...
    Keras on/off is never changed: the page says when Keras is what costs the time.
    Returns the configuration unchanged (no changes) when it already fits.
    """
    def est(b: int, t: int, h: int) -> Estimate:
        return estimate(page, b, t, h, features, keras, cell, classes)

    first = est(batch, steps, units)
    if first.fits:
        return Suggestion(batch, steps, units, first, ())
    changes = []
    for b in range(batch - 1, 0, -1):
        if est(b, steps, units).fits:
            return Suggestion(b, steps, units, est(b, steps, units), (_change("batch", batch, b),))
    if batch > 1:
        changes.append(_change("batch", batch, 1))
    for t in _nice_below(steps, min_steps):
        if est(1, t, units).fits:
            return Suggestion(1, t, units, est(1, t, units), (*changes, _change("steps", steps, t)))
    t = min(steps, max(min_steps, 100))
    if t != steps:
        changes.append(_change("steps", steps, t))
    for h in UNITS_LADDER:
        if h < units and est(1, t, h).fits:
            return Suggestion(1, t, h, est(1, t, h), (*changes, _change("units", units, h)))
    return None
