# syntax=docker/dockerfile:1
# The fin_assets user-code image: the code location served by `dagster api grpc` (the Helm
# chart's user deployment), also the image of every run and step pod (K8sRunLauncher,
# k8s_job_executor). Build from the repository root: docker build -t fin-assets:<git sha> .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1
RUN python -m pip install --no-cache-dir uv==0.9.5 \
    && python -m venv /opt/venv
WORKDIR /src
# Dependencies first (cached while only the code changes): every extra but dev, every version
# pinned by requirements.lock (the resolved set of pyproject.toml).
COPY pyproject.toml setup.py README.md requirements.lock ./
RUN uv pip install --python /opt/venv/bin/python -c requirements.lock -r pyproject.toml \
        --extra aws --extra snowflake --extra spark --extra k8s --extra streaming
COPY fin_assets ./fin_assets
COPY spark_resources ./spark_resources
RUN uv pip install --python /opt/venv/bin/python --no-deps .

FROM ${PYTHON_IMAGE}
# Java 17 for PySpark; tini reaps the JVM children and forwards signals to dagster.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless tini \
    && rm -rf /var/lib/apt/lists/* \
    && ln -s "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")" /opt/java \
    && groupadd --system --gid 10001 fin \
    && useradd --system --uid 10001 --gid fin --home-dir /home/fin --create-home \
        --shell /usr/sbin/nologin fin
COPY --from=build /opt/venv /opt/venv
# State and caches under /tmp: the pods mount a writable emptyDir there and nothing else is
# writable (read-only root filesystem).
ENV PATH=/opt/venv/bin:$PATH \
    JAVA_HOME=/opt/java \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    XDG_CACHE_HOME=/tmp/.cache \
    FIN_HOME=/tmp/fin_assets
WORKDIR /home/fin
USER 10001:10001
EXPOSE 3030
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["dagster", "api", "grpc", "-m", "fin_assets.definitions", "-h", "0.0.0.0", "-p", "3030"]
