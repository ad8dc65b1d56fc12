"""Home: what the app is for, and one sentence per page."""

import streamlit as st

from explorer.widgets import current_config

cfg = current_config()
st.title("RNN Explorer")
st.markdown(
    "Pick a Keras `SimpleRNN`, `LSTM` or `GRU` in the sidebar, toggle its flags and see what the network computes, "
    "step by step. "
    "Every number comes twice: from a **readable NumPy core** (`rnn_core/`, a few hundred lines of plain NumPy) and "
    "from the **real Keras layer** with the very same weights, so you can check one against the other."
)
st.markdown(
    "The starting point is the tutorial model `RNNLayer`: `SimpleRNN(128, activation='tanh', "
    "return_sequences=True)` followed by `TimeDistributed(Dense(39, activation='softmax'))`, a frame classifier. "
    "Pick the preset **Tutorial RNNLayer** in the sidebar to load it; the app opens on a small readable version."
)

st.subheader("Pages")
st.page_link("pages/hidden-states.py", label="Unrolled hidden states", icon="🧮")
st.caption("What does the network compute at each step? h_t (and an LSTM's c_t) over time, every gate, and one "
           "step's arithmetic with real numbers.")
st.page_link("pages/output-shapes.py", label="Output shapes", icon="📐")
st.caption("What do return_sequences and return_state give me? The exact structure and shapes, all four settings, "
           "Bidirectional's merge modes, and stacking two layers.")
st.page_link("pages/gradient-flow.py", label="Gradient flow (BPTT)", icon="📉")
st.caption("How far back does the gradient reach, and why? Vanishing and exploding gradients, measured, and why "
           "gates keep the gradient alive.")
st.page_link("pages/keras-vs-numpy.py", label="Keras vs NumPy", icon="⚖️")
st.caption("Is the NumPy core really the same as Keras? Every weight, output and gradient, compared.")
st.page_link("pages/training.py", label="Training", icon="🏋️")
st.caption("What does training do? Train the tutorial model in NumPy and in Keras step for step, watch the loss, "
           "the gradient's reach and the hidden states change, and see why gates learn long delays.")

st.subheader("Things to try")
st.markdown(
    "- [Watch gradients vanish](gradient-flow?head=none&units=16&steps=60&example=impulse&recurrent_scale=0.5): "
    "with the recurrent weights scaled by 0.5 the gradient halves at every step back.\n"
    "- [Watch them explode](gradient-flow?head=none&units=16&steps=60&example=impulse&activation=relu"
    "&recurrent_scale=1.6): relu and a scale of 1.6; then try *gradient clipping* on that page.\n"
    "- [Why gates: SimpleRNN vs LSTM vs GRU](gradient-flow?flow_view=compare+cells&head=none&units=16&steps=200"
    "&example=adding+problem&carry_bias=4.0): the same 200-step input through all three cells; move the carry-gate "
    "bias and watch the LSTM's and GRU's gradients stop vanishing.\n"
    "- [Inside an LSTM](hidden-states?cell=LSTM&units=6): the cell state c_t and the four gates at every step.\n"
    "- [An LSTM with return_state](output-shapes?cell=LSTM&return_state=true): three results (output, h, c), "
    "and Bidirectional's five.\n"
    "- [return_sequences=False with return_state=True](output-shapes?return_sequences=false&return_state=true): "
    "the many-to-one output and the state are the same numbers.\n"
    "- [Read the input backwards](hidden-states?go_backwards=true): which input does cell 0 see?\n"
    "- Upload your own sequence in the sidebar (*Input sequence → upload a file*), or type one."
)

st.info(f"Current layer: `{cfg.layer_call()}` on a {cfg.example!r} sequence of "
        f"{cfg.steps} steps. The whole configuration is in the URL: copy it to share this exact view.",
        icon=":material/link:")
