# RNN Explorer: one Streamlit server (one replica). Build: docker build -t rnn-explorer .
# Run:  docker run -p 8501:8501 --memory 3g rnn-explorer      Several replicas: deploy/README.md
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    OPENBLAS_NUM_THREADS=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin app
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

# Only what the app runs (root-owned, read-only for the app user); tests and benchmarks stay out.
COPY app.py ./
COPY .streamlit/config.toml .streamlit/config.toml
COPY explorer/ explorer/
COPY pages/ pages/
COPY rnn_core/ rnn_core/
COPY locales/ locales/
COPY static/ static/

USER app
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status != 200)"]
CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true", \
     "--server.fileWatcherType=none", "--browser.gatherUsageStats=false"]
