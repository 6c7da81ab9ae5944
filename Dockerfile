# syntax=docker/dockerfile:1
# gankit inference service, CPU. Builds, runs and the CUDA variant: docs/container.md.
#
#   docker build -t gankit-serve .                                   # model mounted at run time
#   docker run --rm -p 8000:8000 -e GANKIT_API_KEY=... -v "$PWD/runs/my-run:/models/run:ro" gankit-serve
#
#   docker build --target baked --build-context model=runs/my-run -t gankit-serve:my-run .   # model baked in

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- build: a venv with gankit and CPU torch
FROM ${PYTHON_IMAGE} AS build
ARG TORCH_VERSION=2.14.1
ARG TORCHVISION_VERSION=0.29.1
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# CPU wheels first, from the PyTorch CPU index: gankit's own install then finds torch satisfied and
# pulls no CUDA libraries from PyPI.
RUN pip install --index-url "${TORCH_INDEX}" "torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}"
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gankit ./gankit
RUN pip install "/src[serve,export]" \
 && python -c "import torch, gankit, fastapi, onnxruntime; assert torch.version.cuda is None, torch.version.cuda"

# ---------------------------------------------------------------- runtime: no build files, a non-root user
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GANKIT_CACHE=/home/gankit/.cache/gankit \
    MPLCONFIGDIR=/home/gankit/.cache/matplotlib
RUN groupadd --gid 10001 gankit \
 && useradd --uid 10001 --gid gankit --create-home --shell /usr/sbin/nologin gankit \
 && mkdir -p /models/run /home/gankit/.cache \
 && chown -R gankit:gankit /models /home/gankit/.cache
COPY --from=build /opt/venv /opt/venv
WORKDIR /home/gankit
USER 10001:10001
EXPOSE 8000
# /healthz answers without the API key; python, since the slim image has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
# 0.0.0.0: inside a container the loopback default is unreachable from the published port.
# Pass the key with `-e GANKIT_API_KEY=...`: every /v1 request then needs `Authorization: Bearer <key>`.
CMD ["gankit", "serve", "/models/run", "--host", "0.0.0.0", "--port", "8000", "--api-key-env", "GANKIT_API_KEY"]

# ---------------------------------------------------------------- baked: the model copied into the image
# The run folder (or `gankit export` directory) comes from a named build context (BuildKit), not a stage,
# so the main context keeps excluding runs/: docker build --target baked --build-context model=runs/my-run .
FROM runtime AS baked
# hadolint ignore=DL3022
COPY --from=model --chown=gankit:gankit . /models/run

# ---------------------------------------------------------------- the default target: mount the model
FROM runtime AS serve
