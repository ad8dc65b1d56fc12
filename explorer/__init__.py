"""UI helpers of the RNN Explorer app: configuration, runs, figures and Streamlit controls.

``settings``, ``runs`` and ``figures`` are plain Python (tested without Streamlit);
``controls`` and ``cache`` are the only modules that import Streamlit.
"""
