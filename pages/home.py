"""Home: what the app is for, and one sentence per page."""

import streamlit as st

from explorer.i18n import DEFAULT_LANGUAGE, _, current_language
from explorer.routing import run_through_app
from explorer.widgets import current_config

run_through_app()     # served at / by app.py; run alone (AppTest's reruns of the default page), through app.py
cfg = current_config()


def link(query: str) -> str:
    """A "things to try" link: its URL values are the same in every language; the language comes along."""
    lang = current_language()
    return query if lang == DEFAULT_LANGUAGE else f"{query}&lang={lang}"


st.title("RNN Explorer")
st.markdown(_(
    "Pick a Keras `SimpleRNN`, `LSTM` or `GRU` in the sidebar, toggle its flags and see what the network computes, "
    "step by step. "
    "Every number comes twice: from a **readable NumPy core** (`rnn_core/`, a few hundred lines of plain NumPy) and "
    "from the **real Keras layer** with the very same weights, so you can check one against the other."
))
st.markdown(_(
    "The starting point is the tutorial model `RNNLayer`: `SimpleRNN(128, activation='tanh', "
    "return_sequences=True)` followed by `TimeDistributed(Dense(39, activation='softmax'))`, a frame classifier. "
    "Pick the preset **Tutorial RNNLayer** in the sidebar to load it; the app opens on a small readable version."
))

st.subheader(_("Pages"))
st.page_link("pages/hidden-states.py", label=_("Unrolled hidden states"), icon="🧮")
st.caption(_("What does the network compute at each step? h_t (and an LSTM's c_t) over time, every gate, and one "
             "step's arithmetic with real numbers."))
st.page_link("pages/output-shapes.py", label=_("Output shapes"), icon="📐")
st.caption(_("What do `return_sequences` and `return_state` give me? The exact structure and shapes, all four "
             "settings, `Bidirectional`'s merge modes, and stacking two layers."))
st.page_link("pages/gradient-flow.py", label=_("Gradient flow (BPTT)"), icon="📉")
st.caption(_("How far back does the gradient reach, and why? Vanishing and exploding gradients, measured, and why "
             "gates keep the gradient alive."))
st.page_link("pages/keras-vs-numpy.py", label=_("Keras vs NumPy"), icon="⚖️")
st.caption(_("Is the NumPy core really the same as Keras? Every weight, output and gradient, compared."))
st.page_link("pages/training.py", label=_("Training"), icon="🏋️")
st.caption(_("What does training do? Train the tutorial model in NumPy and in Keras step for step, watch the loss, "
             "the gradient's reach and the hidden states change, and see why gates learn long delays."))
st.page_link("pages/trained-network.py", label=_("Inside a trained network"), icon="🔬")
st.caption(_("What has a trained network learned? Units that track meaning (the depth of nested brackets), "
             "LSTMVis-style select and match, the states' fixed points, and saturated gates."))
st.page_link("pages/attention.py", label=_("Attention"), icon="🎯")
st.caption(_("Attention, the next chapter: an encoder-decoder learns to align (reverse, sort, dates), with and "
             "without attention, and why attention gives far inputs a short gradient path."))

st.subheader(_("Things to try"))
TRY = [
    (_("[Watch gradients vanish]({url}): with the recurrent weights scaled by 0.5 the gradient halves at every step "
       "back."), "gradient-flow?head=none&units=16&steps=60&example=impulse&recurrent_scale=0.5"),
    (_("[Watch them explode]({url}): `relu` and a scale of 1.6; then try *gradient clipping* on that page."),
     "gradient-flow?head=none&units=16&steps=60&example=impulse&activation=relu&recurrent_scale=1.6"),
    (_("[Why gates: SimpleRNN vs LSTM vs GRU]({url}): the same 200-step input through all three cells; move the "
       "carry-gate bias and watch the LSTM's and GRU's gradients stop vanishing."),
     "gradient-flow?flow_view=compare+cells&head=none&units=16&steps=200&example=adding+problem&carry_bias=4.0"),
    (_("[Inside an LSTM]({url}): the cell state c_t and the four gates at every step."),
     "hidden-states?cell=LSTM&units=6"),
    (_("[An LSTM with return_state]({url}): three results `(output, h, c)`, and `Bidirectional`'s five."),
     "output-shapes?cell=LSTM&return_state=true"),
    (_("[return_sequences=False with return_state=True]({url}): the many-to-one output and the state are the same "
       "numbers."), "output-shapes?return_sequences=false&return_state=true"),
    (_("[Read the input backwards]({url}): which input does cell 0 see?"), "hidden-states?go_backwards=true"),
]
st.markdown("\n".join(f"- {text.format(url=link(url))}" for text, url in TRY) + "\n- "
            + _("Upload your own sequence in the sidebar (*Input sequence → upload a file*), or type one."))

if cfg.source == "typed":
    current = _("Current layer: `{layer}` on the typed numbers.").format(layer=cfg.layer_call())
elif cfg.source == "upload":
    current = _("Current layer: `{layer}` on your uploaded sequence.").format(layer=cfg.layer_call())
else:
    current = _("Current layer: `{layer}` on a {example!r} sequence of {steps} steps.").format(
        layer=cfg.layer_call(), example=_(cfg.example), steps=cfg.steps)
st.info(current + " " + _("The whole configuration is in the URL: copy it to share this exact view."),
        icon=":material/link:")
