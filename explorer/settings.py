"""The app's whole configuration as one frozen dataclass, and its presets."""

from __future__ import annotations

from dataclasses import dataclass, replace

from rnn_core import SimpleRNNConfig

HEADS = ("none", "many-to-many", "many-to-one")
SOURCES = ("example", "upload", "typed")


@dataclass(frozen=True)
class AppConfig:
    """Everything a view depends on; hashable, so it keys the caches."""

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

    def rnn_config(self) -> SimpleRNNConfig:
        """The SimpleRNN arguments (the shapes page shows these flags as Keras would take them)."""
        return SimpleRNNConfig(
            self.units, activation=self.activation, use_bias=self.use_bias,
            kernel_initializer=self.kernel_initializer, recurrent_initializer=self.recurrent_initializer,
            return_sequences=self.return_sequences, return_state=self.return_state,
            go_backwards=self.go_backwards, stateful=self.stateful, seed=self.seed,
        )

    def with_sequences(self) -> "AppConfig":
        """The same layer returning every step, used to draw h_t for all t whatever the flags say."""
        return replace(self, return_sequences=True, return_state=True)


DEFAULT = AppConfig()

PRESETS: dict[str, AppConfig] = {
    "Small and readable": DEFAULT,
    "Tutorial RNNLayer (128 units, 39 classes)": AppConfig(
        units=128, head="many-to-many", num_classes=39, example="random normal", steps=50),
    "Vanishing gradients (scale 0.5)": replace(DEFAULT, units=16, recurrent_scale=0.5, steps=60, head="none",
                                              example="impulse"),
    "Exploding gradients (relu, scale 1.6)": replace(DEFAULT, units=16, activation="relu", recurrent_scale=1.6,
                                                    steps=60, head="none", example="impulse"),
}
