"""RNN Explorer: streamlit run app.py

The entry point declares the pages and draws the shared controls; each page
reads the configuration, calls the core and renders.
"""

import streamlit as st

from explorer import controls, custom_layer, i18n, run_log, styles, warmup
from explorer.i18n import _
from explorer.widgets import show_input_error

# Emoji icons only: Streamlit draws them as local SVG favicons, while a :material/...: icon would be
# fetched from a font CDN, and the app must work offline.
st.set_page_config(page_title="RNN Explorer", page_icon="🔁", layout="wide")
styles.inject()                         # the colours and focus rings that meet WCAG 2.1 AA in both themes

link = st.query_params.to_dict()        # as opened: drawing the widgets resets values out of their range
controls.init_language()                # before the first _(): the link's ?lang=, else the browser's language
if i18n.current_language() == "ko":
    # Korean wraps between words (어절), not inside them: "다대다" must not break into "다대" / "다".
    st.html("<style>[data-testid='stAppViewContainer'] * { word-break: keep-all; overflow-wrap: break-word; }</style>")
# Each page's URL is its file name (/hidden-states, ...): see explorer/routing.py for why. Titles are
# translated; the URLs are not.
PAGES = [
    st.Page("pages/home.py", title=_("Home"), icon="🏠", default=True),   # served at /
    st.Page("pages/hidden-states.py", title=_("Unrolled hidden states"), icon="🧮"),
    st.Page("pages/output-shapes.py", title=_("Output shapes"), icon="📐"),
    st.Page("pages/gradient-flow.py", title=_("Gradient flow (BPTT)"), icon="📉"),
    st.Page("pages/keras-vs-numpy.py", title=_("Keras vs NumPy"), icon="⚖️"),
    st.Page("pages/training.py", title=_("Training"), icon="🏋️"),
    st.Page("pages/trained-network.py", title=_("Inside a trained network"), icon="🔬"),
    st.Page("pages/attention.py", title=_("Attention"), icon="🎯"),
]

warmup.limit_blas_threads()             # once per process: one BLAS thread, visitors run side by side
page = st.navigation(PAGES)
config = controls.sidebar()
# A layer the visitor trained or uploaded replaces the sidebar's (for this session only, never the URL).
config = custom_layer.apply(config, st.session_state.get(custom_layer.KEY))
controls.show_url_corrections(link)
if st.session_state.get("keras", True):
    warmup.start_tensorflow_import()    # once per process, in the background: Keras pages then find it imported
st.session_state["app_config"] = config
show_input_error(config)
try:
    with run_log.timed(page.title):    # off unless RNN_EXPLORER_RUN_LOG is set (load test)
        page.run()
finally:
    warmup.quiet_keras_cleanup()       # once Keras is in (any page may import it): no gc.collect() after each run
