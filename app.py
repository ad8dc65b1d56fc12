"""RNN Explorer: streamlit run app.py

The entry point declares the pages and draws the shared controls; each page
reads the configuration, calls the core and renders.
"""

import streamlit as st

from explorer import controls
from explorer.widgets import show_input_error

# Emoji icons only: Streamlit draws them as local SVG favicons, while a :material/...: icon would be
# fetched from a font CDN, and the app must work offline.
st.set_page_config(page_title="RNN Explorer", page_icon="🔁", layout="wide")

PAGES = [
    st.Page("pages/home_page.py", title="Home", icon="🏠", default=True),   # served at /
    st.Page("pages/hidden_states_page.py", title="Unrolled hidden states", icon="🧮",
            url_path="hidden-states"),
    st.Page("pages/output_shapes_page.py", title="Output shapes", icon="📐",
            url_path="output-shapes"),
    st.Page("pages/gradient_flow_page.py", title="Gradient flow (BPTT)", icon="📉",
            url_path="gradient-flow"),
    st.Page("pages/parity_page.py", title="Keras vs NumPy", icon="⚖️", url_path="keras-vs-numpy"),
]

page = st.navigation(PAGES)
config = controls.sidebar()
st.session_state["app_config"] = config
show_input_error(config)
page.run()
