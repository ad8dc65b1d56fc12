"""The app's whole configuration as one frozen dataclass, and its presets."""

from __future__ import annotations

from dataclasses import dataclass, replace

from rnn_core import CELLS, RNN
from rnn_core.messages import N_

HEADS = ("none", "many-to-many", "many-to-one")
SOURCES = ("example", "upload", "typed")
# The cell selector's values are Keras' class names: they go into the URL (cell=LSTM) and never depend on
# the UI's language. The core's registry keys them by module-style names ("lstm").
LAYER_CLASSES: dict[str, type[RNN]] = {cls.__name__: cls for cls in CELLS.values()}
CELL_TYPES = tuple(LAYER_CLASSES)          # ("SimpleRNN", "LSTM", "GRU")


@dataclass(frozen=True)
class AppConfig:
    """Everything a view depends on; hashable, so it keys the caches."""

    cell: str = "SimpleRNN"                     # "SimpleRNN", "LSTM" or "GRU" (Keras' class name)
    units: int = 4                              # H
    activation: str = "tanh"
    use_bias: bool = True
    return_sequences: bool = True
    return_state: bool = False
    go_backwards: bool = False
    stateful: bool = False
    kernel_initializer: str = "glorot_uniform"
    recurrent_initializer: str = "orthogonal"
    seed: int = 0                               # weights, example data and probe directions
    recurrent_scale: float = 1.0                # U is multiplied by this after initialisation
    head: str = "many-to-many"                  # the tutorial's Dense softmax head, or none
    num_classes: int = 5
    source: str = "example"                     # "example", "upload" or "typed"
    example: str = "sine"
    steps: int = 12                             # T (examples only; an upload brings its own)
    batch: int = 1                              # B (examples only)
    normalization: str = "none"                 # "none", "z-score" or "min-max", per feature
    # The gated cells' own flags (a cell whose Keras layer lacks an argument ignores it).
    recurrent_activation: str = "sigmoid"       # LSTM and GRU gates
    unit_forget_bias: bool = True               # LSTM: forget-gate bias starts at 1
    reset_after: bool = True                    # GRU: reset gate after the recurrent matmul (Keras 3 default)
    # A layer the visitor brought (trained or uploaded; explorer/custom_layer.py): the digest of its weights.
    # Never in the URL; "" for the sidebar's seeded layer.
    layer_id: str = ""

    @property
    def layer_class(self) -> type[RNN]:
        return LAYER_CLASSES[self.cell]

    @property
    def kind(self) -> str:
        """The core's and the Keras bridge's name of the cell: "simple_rnn", "lstm" or "gru"."""
        return next(k for k, cls in CELLS.items() if cls is self.layer_class)

    def rnn_config(self):
        """The layer's constructor arguments as its config dataclass (what Keras would take, for this cell)."""
        config_class = self.layer_class.config_class
        values = dict(
            activation=self.activation, use_bias=self.use_bias,
            kernel_initializer=self.kernel_initializer, recurrent_initializer=self.recurrent_initializer,
            return_sequences=self.return_sequences, return_state=self.return_state,
            go_backwards=self.go_backwards, stateful=self.stateful, seed=self.seed,
            recurrent_activation=self.recurrent_activation, unit_forget_bias=self.unit_forget_bias,
            reset_after=self.reset_after,
        )
        return config_class(self.units, **{k: v for k, v in values.items() if k in config_class.__dataclass_fields__})

    def layer_call(self) -> str:
        """The Keras call with the flags that differ from Keras' defaults, e.g. "LSTM(4, return_sequences=True)"."""
        config, defaults = self.rnn_config(), type(self.rnn_config())(self.units)
        shown = ("activation", "recurrent_activation", "use_bias", "return_sequences", "return_state", "go_backwards",
                 "stateful", "unit_forget_bias", "reset_after")
        args = [f"{k}={getattr(config, k)!r}" for k in shown
                if hasattr(config, k) and getattr(config, k) != getattr(defaults, k)]
        return f"{self.cell}({', '.join([str(self.units)] + args)})"

    @property
    def state_names(self) -> tuple[str, ...]:
        """("h",) or ("h", "c"): what the layer carries from step to step (and returns with return_state)."""
        return self.layer_class(1).cell.state_names

    def with_sequences(self) -> AppConfig:
        """The same layer returning every step, used to draw h_t for all t whatever the flags say."""
        return replace(self, return_sequences=True, return_state=True)


DEFAULT = AppConfig()

# The presets' keys are ids in English (session state, tests); the sidebar shows them translated (format_func=_).
PRESETS: dict[str, AppConfig] = {
    N_("Small and readable"): DEFAULT,
    N_("Tutorial RNNLayer (128 units, 39 classes)"): AppConfig(
        units=128, head="many-to-many", num_classes=39, example="random normal", steps=50),
    N_("Vanishing gradients (scale 0.5)"): replace(DEFAULT, units=16, recurrent_scale=0.5, steps=60,
                                                  head="none", example="impulse"),
    N_("Exploding gradients (relu, scale 1.6)"): replace(DEFAULT, units=16, activation="relu",
                                                        recurrent_scale=1.6, steps=60, head="none", example="impulse"),
    N_("Why gates: SimpleRNN vs LSTM vs GRU (200 steps)"): replace(DEFAULT, units=16, steps=200,
                                                                    head="none", example="adding problem"),
    N_("LSTM: the tutorial model with LSTM cells"): AppConfig(
        cell="LSTM", units=128, head="many-to-many", num_classes=39, example="random normal", steps=50),
}

# Page-level choices a preset also makes (session-state keys of page widgets).
PRESET_EXTRAS: dict[str, dict] = {
    "Why gates: SimpleRNN vs LSTM vs GRU (200 steps)": {"flow_view": "compare cells", "carry_bias": 4.0},
}
