# concord: the API with the bundled model and the seed corpus baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CONCORD_HOST=0.0.0.0 CONCORD_PORT=8000 HF_HUB_OFFLINE=1
WORKDIR /app

# torch first and pinned, CPU build: otherwise a dependency pulls a CUDA build.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY index ./index
COPY service ./service
COPY scripts ./scripts
RUN pip install --no-cache-dir .
COPY seeds ./seeds
# Convert the model and build the index at image build time: start-up is then a load.
RUN concord build

EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz')"
CMD ["concord", "serve"]
