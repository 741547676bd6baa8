# syntax=docker/dockerfile:1
# qunguard worker image. Build stage: wheels for the package and every dependency (a compiler is
# there for any dependency without a wheel for this platform); runtime stage: those wheels only.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY topics ./topics
COPY streams ./streams
COPY agents ./agents
COPY config ./config
# The content engine's hot path compiled with mypyc (ops/compile.py), packed into the wheel.
COPY ops/compile.py ./ops/compile.py
RUN pip install "mypy>=2.4" && python ops/compile.py
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # the web port (/metrics, /readyz) must be reachable from outside the container; the
    # default outside a container is 127.0.0.1 (QUNGUARD_WEB_HOST, README "Configuration")
    QUNGUARD_WEB_HOST=0.0.0.0
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels qunguard
# Faust keeps its data directory in the working directory, so that must be writable.
RUN useradd --system --user-group --uid 10001 --home-dir /var/lib/qunguard --create-home qunguard
USER qunguard
WORKDIR /var/lib/qunguard
# Faust web server (health, /metrics) when QUNGUARD_WEB_PORT=6066.
EXPOSE 6066
ENTRYPOINT ["qunguard"]
CMD ["worker"]
