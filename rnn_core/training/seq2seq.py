"""An encoder-decoder in NumPy on the project's layers, trained with teacher forcing, decoding greedily.

The model, as its Keras twin (``rnn_core.keras_bridge.build_seq2seq_model``) builds it with keras.layers:

    x (B, Ts, V_in) one-hot source            y_in (B, Tt, V_out) one-hot <s> y_1 .. y_{L}
          |                                          |
    encoder = RNN(H, return_sequences, return_state)   (or Bidirectional(RNN(H)): states concatenated)
    e (B, Ts, He), final states s  ------------->  decoder = RNN(Hd, return_sequences, return_state,
                                                             initial_state = s)           Hd = He
                                                   d (B, Tt, Hd)
    attention (None | "dot" = Luong's Attention() | "additive" = Bahdanau's AdditiveAttention()):
        c = Attention([d, e])                      (B, Tt, He)  each decoder step reads every encoder state
        f = concat([d, c])                         (B, Tt, 2 Hd)     without attention f = d
    p = Dense(V_out, softmax)(f)                   (B, Tt, V_out)

He = H, or 2H with a Bidirectional encoder (the forward and backward final states are concatenated, so the
decoder has 2H units: exact on both sides, no extra weights). One-hot inputs, no Embedding (no NumPy twin).

Weights (``get_weights()``, the order of the Keras twin's ``model.get_weights()``):
    encoder [kernel (V_in, G H), recurrent_kernel (H, G H), bias]  (Bidirectional: forward's 3, backward's 3)
    decoder [kernel (V_out, G Hd), recurrent_kernel (Hd, G Hd), bias]
    AdditiveAttention: [scale (Hd,)]           (Luong's Attention() has no weights)
    output Dense [kernel (F, V_out), bias (V_out,)]     F = 2 Hd with attention, Hd without
G = 1 (SimpleRNN), 4 (LSTM), 3 (GRU); the bias shapes are Keras' (GRU: (2, 3H)).

Training (:func:`train_step`, one Keras ``train_on_batch``): teacher forcing (the decoder reads the true
previous token), loss = sparse categorical cross-entropy over every (sequence, step), BPTT through decoder,
attention and encoder, then the optimizer's update in place. Inference (:meth:`Seq2Seq.predict_greedy`): the
decoder runs one step at a time (the RNN layer called with T=1 and the states of the step before), reading
the argmax of its last output.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..layers.attention import AdditiveAttention, Attention
from ..layers.bidirectional import Bidirectional
from ..layers.dense import Dense, softmax
from ..layers.rnn import CELLS
from ..messages import N_, UserError
from .losses import sparse_categorical_crossentropy
from .optimizers import Adam, Optimizer
from .seq2seq_tasks import END, START, _whole

Array = np.ndarray

ATTENTION_KINDS = (None, "dot", "additive")
#: Adam's learning rate for these models. Measured (bench/bench_seq2seq.py --train, one core): reverse 5-8
#: digits, LSTM 64 units, dot attention, batches of 32: >= 95% held-out sequence accuracy after 150 steps (~1 s).
DEFAULT_LEARNING_RATE = 0.01
MAX_UNITS = 1024
MAX_VOCABULARY = 1000
MAX_DECODE_STEPS = 200


@dataclass(frozen=True)
class Seq2SeqConfig:
    """The encoder-decoder's shape; the names of the Keras twin's arguments."""

    vocab_in: int                     # V_in: source vocabulary (one-hot features of the encoder input)
    vocab_out: int                    # V_out: target vocabulary (decoder input one-hot, softmax outputs)
    units: int = 64                   # H: encoder units (per direction)
    cell: str = "lstm"                # "simple_rnn", "lstm" or "gru", encoder and decoder alike
    attention: str | None = "dot"     # None, "dot" (Luong, keras.layers.Attention) or "additive" (Bahdanau)
    bidirectional: bool = False       # Bidirectional encoder; the decoder then has 2H units
    seed: int | None = 0              # initial weights

    def __post_init__(self) -> None:
        _whole("vocab_in", self.vocab_in, 2, MAX_VOCABULARY)
        _whole("vocab_out", self.vocab_out, 2, MAX_VOCABULARY)
        _whole("units", self.units, 1, MAX_UNITS)
        if self.cell not in CELLS:
            raise UserError(N_("cell must be one of {cells}; got {cell!r}."), cells=", ".join(CELLS), cell=self.cell)
        if self.attention not in ATTENTION_KINDS:
            raise UserError(N_("attention must be None, 'dot' or 'additive'; got {attention!r}."),
                            attention=self.attention)
        if not isinstance(self.bidirectional, (bool, np.bool_)):
            raise ValueError(f"bidirectional must be True or False, got {self.bidirectional!r}.")

    @property
    def decoder_units(self) -> int:
        """Hd = He: H, or 2H after a Bidirectional encoder (its two final states concatenated)."""
        return 2 * self.units if self.bidirectional else self.units


@dataclass
class Seq2SeqGradients:
    """Gradients of a scalar loss after :meth:`Seq2Seq.backward`."""

    encoder: object                   # RNNGradients, or BidirectionalGradients
    decoder: object                   # RNNGradients
    attention: object | None          # AttentionGradients, or None without attention
    dense: object                     # DenseGradients
    inputs: Array                     # (B, Ts, V_in) dL/dx through every path
    decoder_inputs: Array             # (B, Tt, V_out) dL/dy_in

    def weights(self) -> list[Array]:
        """In the order of Seq2Seq.get_weights()."""
        out = list(self.encoder.weights()) + list(self.decoder.weights())
        if self.attention is not None:
            out += list(self.attention.weights)
        return out + [self.dense.kernel, self.dense.bias]


@dataclass(frozen=True)
class DecoderStep:
    """One decoder step of one sequence, with the numbers (for the page's "arithmetic" table).

    Dot (Luong):       score_j = q . k_j                      = sum_d q_d k_jd
    Additive (Bahdanau): score_j = sum_d w_d tanh(q_d + k_jd)   (``tanh`` holds tanh(q_d + k_jd), (Tv, Hd))
    weights = softmax(scores); context = sum_j weights_j v_j (here v_j = k_j, the encoder states);
    features = [q, context]; probs = softmax(features W + b).
    """

    step: int
    sample: int
    query: Array                      # (Hd,) the decoder output d_t
    keys: Array                       # (Ts, He) the encoder outputs e_j (also the values)
    scores: Array | None              # (Ts,) before the softmax; None without attention
    weights: Array | None             # (Ts,) the attention weights, summing to 1
    context: Array | None             # (He,)
    tanh: Array | None                # (Ts, Hd) additive attention's tanh(q + k_j); else None
    scale: Array | None               # (Hd,) additive attention's w; else None
    features: Array                   # (F,) what the output Dense reads
    logits: Array                     # (V_out,) features W + b
    probs: Array                      # (V_out,) softmax(logits)


class Seq2Seq:
    """An encoder-decoder of rnn_core layers; see the module docstring for the architecture.

    Args:
        vocab_in, vocab_out: source and target vocabulary sizes (one-hot widths).
        units: encoder units H (per direction); the decoder has H, or 2H with ``bidirectional``. Default 64.
        cell: "simple_rnn", "lstm" (default) or "gru", for the encoder and the decoder.
        attention: None, "dot" (Luong, default) or "additive" (Bahdanau).
        bidirectional: a Bidirectional encoder. Default False.
        seed: initial weights (the layers' own initializers, as Keras'). Default 0.

    Example:
        >>> model = Seq2Seq(13, 13, 32, cell="lstm", attention="dot")
        >>> probs = model.forward(x, y_in)                 # (B, Tt, 13), teacher forcing
        >>> tokens, attention = model.predict_greedy(x, max_len=9)
    """

    def __init__(self, vocab_in: int, vocab_out: int, units: int = 64, cell: str = "lstm",
                 attention: str | None = "dot", bidirectional: bool = False, seed: int | None = 0) -> None:
        self.config = c = Seq2SeqConfig(vocab_in, vocab_out, units, cell, attention, bidirectional, seed)

        def s(k):
            return None if seed is None else seed + k

        layer = CELLS[cell]
        encoder = layer(units, return_sequences=True, return_state=True, seed=s(0), name="encoder")
        self.encoder = Bidirectional(encoder) if bidirectional else encoder        # backward direction: seed + 1
        self.decoder = layer(c.decoder_units, return_sequences=True, return_state=True, seed=s(2), name="decoder")
        self.attention: Attention | None = None
        if attention == "dot":
            self.attention = Attention(name="attention")                   # Luong: q . k, no weights
        elif attention == "additive":
            self.attention = AdditiveAttention(seed=s(3), name="additive_attention")   # Bahdanau: w (Hd,)
        self.dense = Dense(vocab_out, activation="softmax", seed=s(4))
        Hd = c.decoder_units
        self.encoder.build((1, 1, vocab_in))
        self.decoder.build((1, 1, vocab_out))
        if self.attention is not None:
            self.attention.build((1, 1, Hd), (1, 1, Hd))
        self.dense.build(2 * Hd if self.attention is not None else Hd)
        self.n_states = len(self.decoder.cell.state_names)       # 1, or 2 for LSTM (h, c)
        self.last_attention: Array | None = None                  # (B, Tq, Tv) of the last call
        self.last_greedy_probs: Array | None = None               # (B, max_len, V_out) of the last predict_greedy
        self._cache: dict | None = None
        self._d_probs: Array | None = None

    # -- weights ---------------------------------------------------------------------------------

    def get_weights(self) -> list[Array]:
        """Every weight, in the Keras twin's model.get_weights() order (the live arrays, trained in place)."""
        out = list(self.encoder.get_weights()) + list(self.decoder.get_weights())
        if self.attention is not None:
            out += self.attention.get_weights()
        return out + self.dense.get_weights()

    def _layer_sizes(self) -> list[tuple[object, int]]:
        parts = [(self.encoder, len(self.encoder.get_weights())), (self.decoder, len(self.decoder.get_weights()))]
        if self.attention is not None:
            parts.append((self.attention, len(self.attention.get_weights())))
        return parts + [(self.dense, len(self.dense.get_weights()))]

    def set_weights(self, weights: list[Array]) -> None:
        """Set every weight in get_weights() order (copies); every shape is checked against the current one."""
        weights = list(weights)
        mine = self.get_weights()
        if len(weights) != len(mine):
            raise ValueError(f"The model has {len(mine)} weight arrays, got {len(weights)}.")
        for i, (w, m) in enumerate(zip(weights, mine, strict=True)):
            if np.shape(w) != m.shape:
                raise ValueError(f"weight {i}: expected shape {m.shape}, got {np.shape(w)}.")
        start = 0
        for layer, n in self._layer_sizes():
            layer.set_weights([np.array(w) for w in weights[start:start + n]])
            start += n

    def count_params(self) -> int:
        return int(sum(w.size for w in self.get_weights()))

    # -- forward ---------------------------------------------------------------------------------

    def _check(self, x: Array, y_in: Array | None = None) -> tuple[Array, Array | None]:
        x = np.asarray(x)
        c = self.config
        if x.ndim != 3 or x.shape[-1] != c.vocab_in or x.shape[1] < 1:
            raise ValueError(f"x must be one-hot of shape (batch, steps, {c.vocab_in}); got {x.shape}.")
        if y_in is not None:
            y_in = np.asarray(y_in)
            if y_in.ndim != 3 or y_in.shape[-1] != c.vocab_out or y_in.shape[0] != x.shape[0] or y_in.shape[1] < 1:
                raise ValueError(f"y_in must be one-hot of shape ({x.shape[0]}, steps, {c.vocab_out}); "
                                 f"got {y_in.shape}.")
        return x, y_in

    def encode(self, x: Array, training: bool = False) -> tuple[Array, list[Array]]:
        """Encoder outputs e (B, Ts, He) and the decoder's initial states (Bidirectional: [fwd, bwd] joined)."""
        out = self.encoder(x, training=training)
        e, states = out[0], list(out[1:])
        if self.config.bidirectional:
            n = len(states) // 2
            states = [np.concatenate([states[k], states[n + k]], axis=-1) for k in range(n)]
        return e, states

    def _head(self, d: Array, e: Array) -> tuple[Array, Array | None]:
        """Attention over e for every decoder output d, then the output Dense: probs and attention weights."""
        if self.attention is None:
            return self.dense(d), None
        context, weights = self.attention([d, e], return_attention_scores=True)   # (B, Tq, He), (B, Tq, Tv)
        return self.dense(np.concatenate([d, context], axis=-1)), weights

    def forward(self, x: Array, y_in: Array, training: bool = False) -> Array:
        """Teacher-forced pass: x (B, Ts, V_in), y_in (B, Tt, V_out) one-hot -> probs (B, Tt, V_out)."""
        x, y_in = self._check(x, y_in)
        e, states = self.encode(x, training)
        d, *_ = self.decoder(y_in, initial_state=states, training=training)
        probs, weights = self._head(d, e)
        self.last_attention = weights
        self._cache = {"e": e, "d": d, "x_shape": x.shape}
        return probs

    __call__ = forward

    def loss(self, probs: Array, y_out: Array) -> float:
        """Sparse categorical cross-entropy (Keras', mean over every position); keeps dL/dprobs for backward()."""
        value, self._d_probs = sparse_categorical_crossentropy(probs, np.asarray(y_out))
        return value

    # -- backward --------------------------------------------------------------------------------

    def backward(self, d_probs: Array | None = None) -> Seq2SeqGradients:
        """Gradients of the last loss (or of <d_probs, probs>) for every weight and both inputs."""
        if self._cache is None:
            raise ValueError("backward() needs a forward() first.")
        d_probs = self._d_probs if d_probs is None else d_probs
        if d_probs is None:
            raise ValueError("backward() needs d_probs or a loss() first.")
        cache, Hd = self._cache, self.config.decoder_units
        g_dense = self.dense.backward(d_probs)                      # p = softmax(f W + b)
        g_att = None
        if self.attention is None:
            d_d, d_e = g_dense.inputs, None
        else:
            d_f = g_dense.inputs                                    # f = [d, c]
            g_att = self.attention.backward(d_f[..., Hd:])          # c = Attention([d, e])
            d_d = d_f[..., :Hd] + g_att.query                       # d reaches p directly and as the query
            d_e = g_att.value                                       # e is key and value
        g_dec = self.decoder.backward(d_d)                          # the decoder's final states feed nothing
        d_s0 = g_dec.initial_state if self.n_states > 1 else (g_dec.initial_state,)
        if d_e is None:
            d_e = np.zeros(cache["e"].shape, cache["e"].dtype)      # without attention only the states link them
        if self.config.bidirectional:
            H = self.config.units                                   # s0 = [s_fwd, s_bwd]: split the gradient
            d_states = tuple(d[:, :H] for d in d_s0) + tuple(d[:, H:] for d in d_s0)
        else:
            d_states = tuple(d_s0)
        g_enc = self.encoder.backward(d_e, *d_states)
        return Seq2SeqGradients(g_enc, g_dec, g_att, g_dense, g_enc.inputs, g_dec.inputs)

    # -- inference -------------------------------------------------------------------------------

    def predict_greedy(self, x: Array, max_len: int, start_token: int = START) -> tuple[Array, Array | None]:
        """Greedy decoding: feed the argmax back, one decoder step at a time.

        Each step calls the decoder RNN on (B, 1, V_out) with the states of the step before, attends over all
        encoder outputs and picks the most likely token. Returns tokens (B, max_len) and the attention weights
        (B, max_len, Ts) (None without attention); ``last_greedy_probs`` keeps the probabilities
        (B, max_len, V_out). Every step runs for every sequence (cut at </s> afterwards).
        """
        x, _ = self._check(x)
        max_len = _whole("max_len", max_len, 1, MAX_DECODE_STEPS)
        start_token = _whole("start_token", start_token, 0, self.config.vocab_out - 1)
        e, states = self.encode(x)
        B, V = x.shape[0], self.config.vocab_out
        eye = np.eye(V, dtype=self.decoder.kernel.dtype)
        prev = np.full(B, start_token)
        tokens = np.empty((B, max_len), np.int64)
        probs_all, weights_all = [], []
        for t in range(max_len):
            d, *states = self.decoder(eye[prev][:, None, :], initial_state=states)      # (B, 1, Hd)
            probs, weights = self._head(d, e)
            prev = tokens[:, t] = probs[:, 0].argmax(axis=-1)
            probs_all.append(probs[:, 0])
            if weights is not None:
                weights_all.append(weights[:, 0])
        self._cache = None                                       # the layers' caches now hold single steps
        self.last_greedy_probs = np.stack(probs_all, axis=1)
        self.last_attention = np.stack(weights_all, axis=1) if weights_all else None
        return tokens, self.last_attention

    def explain_step(self, x: Array, y_in: Array, step: int, sample: int = 0) -> DecoderStep:
        """The numbers of one decoder step of one sequence under teacher forcing (see :class:`DecoderStep`)."""
        x, y_in = self._check(x, y_in)
        step = _whole("step", step, 0, y_in.shape[1] - 1)
        sample = _whole("sample", sample, 0, x.shape[0] - 1)
        self.forward(x[sample:sample + 1], y_in[sample:sample + 1])
        q, keys = self._cache["d"][0, step], self._cache["e"][0]
        scores = weights = context = tanh = scale = None
        if self.attention is not None:
            if self.config.attention == "dot":
                scores = keys @ q                                               # q . k_j
            else:
                tanh = np.tanh(q[None, :] + keys)                               # (Ts, Hd)
                scale = None if self.attention.scale is None else self.attention.scale.astype(tanh.dtype)
                scores = (tanh if scale is None else tanh * scale).sum(axis=-1)  # sum_d w_d tanh(q_d + k_jd)
            weights = softmax(scores)
            context = weights @ keys                                            # sum_j a_j v_j
            features = np.concatenate([q, context])
        else:
            features = q
        logits = features @ self.dense.kernel.astype(features.dtype) + self.dense.bias.astype(features.dtype)
        return DecoderStep(step, sample, q, keys, scores, weights, context, tanh, scale, features, logits,
                           softmax(logits))


# -- training ----------------------------------------------------------------------------------------

def _check_targets(model: Seq2Seq, y_in: Array, y_out) -> Array:
    y_out = np.asarray(y_out)
    if y_out.shape != y_in.shape[:2] or y_out.dtype.kind not in "iu":
        raise ValueError(f"y_out must be integer ids of shape {y_in.shape[:2]}; got {y_out.dtype} {y_out.shape}.")
    if y_out.size and (y_out.min() < 0 or y_out.max() >= model.config.vocab_out):
        raise ValueError(f"y_out ids must be in [0, {model.config.vocab_out}).")
    return y_out


def default_optimizer() -> Adam:
    """Adam(DEFAULT_LEARNING_RATE): Keras' Adam, ten times Keras' default step, which these small models take."""
    return Adam(DEFAULT_LEARNING_RATE)


def train_step(model: Seq2Seq, optimizer: Optimizer, x: Array, y_in: Array, y_out: Array) -> float:
    """One Keras ``train_on_batch([x, y_in], y_out)``: the loss before the update; the weights change in place."""
    x, y_in = model._check(x, y_in)
    y_out = _check_targets(model, y_in, y_out)
    value = model.loss(model.forward(x, y_in, training=True), y_out)
    grads = model.backward().weights()                             # dL/dw in get_weights() order
    optimizer.update(optimizer.clip(grads), model.get_weights())
    return value


def sequence_accuracy(model: Seq2Seq, x: Array, y_out: Array, start_token: int = START,
                      end_token: int = END) -> float:
    """Share of sequences whose greedy decoding equals the target up to and including its first </s>."""
    return float(np.mean(sequence_hits(model, x, y_out, start_token, end_token)))


def sequence_hits(model: Seq2Seq, x: Array, y_out: Array, start_token: int = START, end_token: int = END) -> Array:
    """(B,) bools: the greedy decoding equals the target up to and including its first </s>."""
    y_out = np.asarray(y_out)
    tokens, _ = model.predict_greedy(x, y_out.shape[1], start_token)
    is_end = y_out == end_token
    last = np.where(is_end.any(axis=1), is_end.argmax(axis=1), y_out.shape[1] - 1)    # position of </s>
    counted = np.arange(y_out.shape[1])[None, :] <= last[:, None]
    return ((tokens == y_out) | ~counted).all(axis=1)


def input_gradient_norms(model: Seq2Seq, x: Array, y_in: Array, y_out: Array, output_step: int) -> Array:
    """||dL_b/dx_{b,t}|| for each sequence b and encoder input step t: how strongly one output reaches each input.

    L_b = -log p_b(y_out[b, output_step]) at decoder step ``output_step`` under teacher forcing; x_t is the
    one-hot input vector (the gradient has an entry for every token). Returns (B, Ts) (average over axis 0 for
    one curve). Without attention the gradient must travel through the encoder's final state and back
    through every encoder step; with attention it also reaches each e_t directly.
    """
    x, y_in = model._check(x, y_in)
    y_out = _check_targets(model, y_in, y_out)
    output_step = _whole("output_step", output_step, 0, y_in.shape[1] - 1)
    probs = model.forward(x, y_in)
    B = x.shape[0]
    d_probs = np.zeros_like(probs)
    picked = probs[np.arange(B), output_step, y_out[:, output_step]]
    d_probs[np.arange(B), output_step, y_out[:, output_step]] = -1.0 / picked       # d(-log p)/dp
    g = model.backward(d_probs)
    return np.sqrt(np.square(g.inputs, dtype=np.float64).sum(axis=-1))


@dataclass(frozen=True)
class Seq2SeqProgress:
    """What a fit callback receives after every step."""

    epoch: int
    batch: int
    step: int                           # steps done, this one included
    loss: float                         # this batch, before its update
    seconds: float                      # training time so far (evaluation excluded)
    held_out_accuracy: float | None     # sequence accuracy, when evaluated after this step


@dataclass
class Seq2SeqHistory:
    batch_loss: list[float] = field(default_factory=list)
    epoch_loss: list[float] = field(default_factory=list)           # mean of the epoch's batch losses (by size)
    evaluations: list[tuple[int, float, float]] = field(default_factory=list)   # (step, seconds, accuracy)
    seconds: float = 0.0                                            # training time (evaluation excluded)
    stopped: bool = False                                           # the callback or target_accuracy stopped it

    @property
    def steps(self) -> int:
        return len(self.batch_loss)


def fit(model: Seq2Seq, optimizer: Optimizer, x: Array, y_in: Array, y_out: Array, *, epochs: int = 1,
        batch_size: int = 32, shuffle: bool = True, seed: int | None = 0, seconds: float | None = None,
        validation: tuple[Array, Array] | None = None, validate_every: int = 50,
        target_accuracy: float | None = None,
        callback: Callable[[Seq2SeqProgress], bool | None] | None = None) -> Seq2SeqHistory:
    """Train for ``epochs`` passes in batches (or until ``seconds`` of training time).

    ``validation = (x, y_out)``: sequence accuracy by greedy decoding every ``validate_every`` steps and after
    the last; training stops once it reaches ``target_accuracy``. ``callback(progress)`` after every step;
    returning False stops.
    """
    x, y_in = model._check(x, y_in)
    y_out = _check_targets(model, y_in, y_out)
    epochs = _whole("epochs", epochs, 1, 100_000)
    batch_size = _whole("batch_size", batch_size, 1, 4096)
    validate_every = _whole("validate_every", validate_every, 1, 1_000_000)
    rng = np.random.default_rng(seed)
    history = Seq2SeqHistory()
    n = len(x)

    def evaluate(step: int) -> float:
        acc = sequence_accuracy(model, validation[0], validation[1])
        history.evaluations.append((step, history.seconds, acc))
        return acc

    for epoch in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        total = 0.0
        for batch, start in enumerate(range(0, n, batch_size)):
            idx = order[start:start + batch_size]
            t0 = time.perf_counter()
            loss = train_step(model, optimizer, x[idx], y_in[idx], y_out[idx])
            history.seconds += time.perf_counter() - t0
            history.batch_loss.append(loss)
            total += loss * len(idx)
            step = history.steps
            out_of_time = seconds is not None and history.seconds >= seconds
            last = out_of_time or (epoch == epochs - 1 and start + batch_size >= n)
            acc = None
            if validation is not None and (step % validate_every == 0 or last):
                acc = evaluate(step)
            progress = Seq2SeqProgress(epoch, batch, step, loss, history.seconds, acc)
            reached = acc is not None and target_accuracy is not None and acc >= target_accuracy
            if (callback is not None and callback(progress) is False) or reached:
                history.stopped = True
            if history.stopped or out_of_time:
                if validation is not None and acc is None:
                    evaluate(step)
                history.epoch_loss.append(total / min(n, start + len(idx)))
                return history
        history.epoch_loss.append(total / n)
    return history


__all__ = ["ATTENTION_KINDS", "DEFAULT_LEARNING_RATE", "DecoderStep", "Seq2Seq", "Seq2SeqConfig", "Seq2SeqGradients",
           "Seq2SeqHistory", "Seq2SeqProgress", "default_optimizer", "fit", "input_gradient_norms", "sequence_accuracy",
           "sequence_hits", "train_step"]
