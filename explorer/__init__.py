"""UI helpers of the RNN Explorer app: configuration, runs, figures and Streamlit controls.

``settings``, ``runs``, ``figures``, ``memo`` (the byte-bounded cache), ``cache``, ``warmup`` and ``inert`` (a
visitor's text shown as literal text, never as Markdown or HTML) are plain Python (tested without Streamlit);
``controls``, ``widgets``, ``budget_ui`` and ``routing`` draw with Streamlit.
"""
