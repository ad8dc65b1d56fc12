"""Output shapes: what do return_sequences and return_state give me?"""

from dataclasses import replace

import streamlit as st

from explorer import cache, i18n
from explorer.i18n import N_, _
from explorer.runs import BIDIRECTIONAL_MODES, structure_of
from explorer.widgets import (
    engine_header,
    keras_enabled,
    keras_spinner,
    max_difference,
    page_setup,
    parity_badge,
    tolerance_for,
    working,
)

cfg, seq = page_setup("output-shapes")   # under Streamlit's legacy pages/ router this runs app.py instead
x = seq.inputs
B, T, D = x.shape
H = cfg.units

st.title(_("Output shapes"))
st.caption(_("What do `return_sequences` and `return_state` give me? Input x: {shape} = (batch B, time T, "
             "features D); the layer has H = {H} units.").format(shape=x.shape, H=H))


STATE_WORDS = {"h": N_("final hidden state h_T"), "c": N_("final cell state c_T")}   # translated when shown
names = cfg.state_names


def describe(result, return_sequences: bool, return_state: bool) -> str:
    """The call and what it returned, written as a Python session would show it."""
    call = f"out = {cfg.cell}("
    lines = [f"{call}{H}, return_sequences={return_sequences},",     # two lines: the box is half the page wide
             " " * len(call) + f"return_state={return_state})(x)"]
    which = _("every h_t") if return_sequences else _("last h only")
    if return_state:
        output, *states = result
        parts = ", ".join(["output"] + [f"state_{n}" for n in names])
        kind = _("{type} of {n}: ({parts})").format(type=type(result).__name__, n=len(result), parts=parts)
        lines += [f"type(out)       # {kind}",
                  f"out[0].shape    # {output.shape}  {which}"]
        lines += [f"out[{k + 1}].shape    # {state.shape}  {_(STATE_WORDS[n]) if n in STATE_WORDS else n}"
                  for k, (n, state) in enumerate(zip(names, states, strict=True))]
    else:
        lines += [f"type(out)       # {type(result).__name__}",
                  f"out.shape       # {result.shape}  {which}"]
    return "\n".join(lines)


with working(_("Running the layer with each of the four settings…")):
    runs_np = {(rs, rst): cache.numpy_forward(replace(cfg, return_sequences=rs, return_state=rst), x, None,
                                              seq.mask).output
               for rs in (False, True) for rst in (False, True)}
current = (cfg.return_sequences, cfg.return_state)

st.subheader(_("With your flags"))
col_np, col_k = st.columns(2, gap="medium")
with col_np:
    engine_header("NumPy", f"rnn_core.{cfg.cell}")
    st.code(describe(runs_np[current], *current), language="python", wrap_lines=True)
with col_k:
    if keras_enabled(T):
        engine_header("Keras", f"keras.layers.{cfg.cell} (Keras 3)")
        with keras_spinner():
            keras_out = cache.keras_forward(cfg, x, None, seq.mask).output
        st.code(describe(keras_out, *current), language="python", wrap_lines=True)
        same_structure = structure_of(keras_out) == structure_of(runs_np[current])
        mine = runs_np[current] if isinstance(runs_np[current], tuple) else (runs_np[current],)
        theirs = keras_out if isinstance(keras_out, tuple) else (keras_out,)
        diff = max(max_difference(a, b) for a, b in zip(mine, theirs, strict=False)) if same_structure else float("inf")
        parity_badge(diff, max(tolerance_for(t) for t in theirs), _("same structure; max |NumPy − Keras|")
                     if same_structure else _("different structure!"))
    else:
        st.info(_("Keras is off (see the sidebar). Keras 3 returns a tuple `(output, *states)` with "
                  "`return_state=True`; `tf.keras` 2 returned a list."))

st.subheader(_("All four settings"))
st.caption(_("The highlighted box is your current setting. Rows: `return_sequences`; columns: `return_state`."))
for rs in (False, True):
    cols = st.columns(2)
    for col, rst in zip(cols, (False, True), strict=True):
        with col.container(border=True):
            here = (rs, rst) == current
            kind = _("many-to-many (a value per step)") if rs else _("many-to-one (one value per sequence)")
            st.markdown(("**:green[" + _("← your setting") + "]** " if here else "")
                        + f"`return_sequences={rs}`, `return_state={rst}` — {kind}")
            st.code(structure_of(runs_np[(rs, rst)], one_per_line=True), language="text")

st.subheader(_("Which numbers are the same"))
out_last, state_last, *more_last = runs_np[(False, True)]
out_seq, state_seq, *more_seq = runs_np[(True, True)]
c1, c2 = st.columns(2)
c1.metric(_("return_sequences=False: max |output − h_T|"), f"{max_difference(out_last, state_last):.1g}",
          help=_("Without masking the last output is the final hidden state itself."))
c2.metric(_("return_sequences=True: max |output[:, -1] − h_T|"), f"{max_difference(out_seq[:, -1], state_seq):.1g}",
          help=_("The hidden state is the last step of the returned sequence."))
if more_last:
    st.caption(_("So the returned h_T adds no new numbers, but the {cell}'s cell state c_T (`out[2]`, shape "
                 "{shape}) does: it is not in the output. Pass (h_T, c_T) as `initial_state` to another "
                 "{cell} (an encoder–decoder, for example) to continue from where this one stopped.")
               .format(cell=cfg.cell, shape=more_last[0].shape))
else:
    st.caption(_("So `return_state` adds no new numbers for {cell}: it hands you the final h_T separately, which is "
                 "what you feed as `initial_state` to another RNN (an encoder–decoder, for example). For LSTM the "
                 "state also carries the cell state c_T, which the output does not contain.").format(cell=cfg.cell))

st.subheader(_("Bidirectional: two layers, one reading backwards, merged"))
st.caption(_("{call} runs a copy of the layer with `go_backwards=True` and its own weights; with `return_sequences` "
             "its outputs are flipped back to input order before merging. With `return_state` it returns the "
             "output, then the forward states, then the backward states. Each row below is a `merge_mode`, each "
             "column a value of `return_state`: what the NumPy layer returned.")
           .format(call=f"`Bidirectional({cfg.cell}({H}, ...), merge_mode=...)`"))
structures = cache.bidirectional_structures(cfg, x)
grid = [{"merge_mode": str(mode), "return_state=False": structures[(str(mode), False)],
         "return_state=True": structures[(str(mode), True)]} for mode in BIDIRECTIONAL_MODES]
st.dataframe(grid, hide_index=True, width="stretch")
if keras_enabled(T):
    with keras_spinner():
        same = cache.keras_bidirectional_check(cfg, x)
    parity_badge(same["diff"], same["tolerance"],
                 _("Keras' Bidirectional, merge_mode=None with and without return_state: same structures "
                   "({equal} of 2); max |NumPy − Keras|").format(equal=same["structures_equal"]))
    st.caption(_("`merge_mode=None` returns both directions as they are; every other mode combines exactly these "
                 "(the test suite compares each mode with Keras)."))

st.subheader(_("Stacking two recurrent layers"))
st.caption(_("A recurrent layer reads (batch, timesteps, features). The layer below must therefore return the whole "
             "sequence: `return_sequences=True`."))
stack = cache.stacking(cfg, x)
c1, c2 = st.columns(2, gap="medium")
with c1.container(border=True):
    st.markdown(_("**first layer `return_sequences=True`**: the shapes flow"))
    st.code(stack["flow"], language="python", wrap_lines=True)
with c2.container(border=True):
    st.markdown(_("**first layer `return_sequences=False`**: the second layer gets (B, H)"))
    st.markdown(_("NumPy core (`rnn_core`):"))
    st.code(i18n.text(stack["numpy_error"], markdown=False), language="text", wrap_lines=True)   # shown as it is
    if keras_enabled(T):
        with keras_spinner():
            keras_error = cache.keras_stacking_error(cfg, x.shape)
        st.markdown(_("Keras' own message, verbatim:"))
        st.code(keras_error or _("(no error)"), language="text", wrap_lines=True)

st.subheader(_("Many-to-one vs many-to-many with the Dense head"))
C = cfg.num_classes
states = out_seq
(head_kernel, head_bias), many_to_many, many_to_one, td_np = cache.dense_heads(cfg, states)   # cached: shared
c1, c2 = st.columns(2)
with c1.container(border=True):
    st.markdown(_("**many-to-many** (the tutorial): {layer} → `TimeDistributed(Dense(C, softmax))`")
                .format(layer=f"`{cfg.cell}(return_sequences=True)`"))
    st.code(f"probs.shape  # {many_to_many.shape} = (B, T, C): " + _("a class per frame"), language="python",
            wrap_lines=True)
with c2.container(border=True):
    st.markdown(_("**many-to-one**: {layer} → `Dense(C, softmax)`")
                .format(layer=f"`{cfg.cell}(return_sequences=False)`"))
    st.code(f"probs.shape  # {many_to_one.shape} = (B, C): " + _("a class per sequence"), language="python",
            wrap_lines=True)

st.subheader(_("TimeDistributed(Dense) is a Dense on the 3-D tensor"))
st.markdown(_("A `Dense` layer multiplies the **last axis** by its kernel, so on (B, T, H) it applies the same W at "
              "every step: exactly what `TimeDistributed(Dense)` does by looping over time."))
dense_np = many_to_many
col_np, col_k = st.columns(2, gap="medium")
with col_np:
    engine_header("NumPy")
    st.code(f"per_step = stack([dense(h[:, t]) for t in range(T)], axis=1)   # {td_np.shape}\n"
            f"whole    = dense(h)                                            # {dense_np.shape}",
            language="python", wrap_lines=True)
    # The label names the two variables of the code above (per_step, whole): code, the same in every language.
    st.metric("max |per_step − whole|", f"{max_difference(td_np, dense_np):.2g}",
              help=_("Not exactly 0: a (B, H) and a (B, T, H) matmul may sum in a different order (`float32` "
                     "rounding)."))
with col_k:
    if keras_enabled(T):
        engine_header("Keras")
        with keras_spinner():
            td_k, dense_k = cache.keras_timedistributed_vs_dense(states, head_kernel, head_bias)
        st.code(f"TimeDistributed(Dense({C}))(h).shape   # {td_k.shape}\n"
                f"Dense({C})(h).shape                    # {dense_k.shape}", language="python", wrap_lines=True)
        st.metric("max |TimeDistributed − Dense|", f"{max_difference(td_k, dense_k):.2g}")
        parity_badge(max_difference(dense_np, dense_k), tolerance_for(dense_k), "NumPy Dense vs Keras Dense")
