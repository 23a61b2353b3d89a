"""The user-code image: its build steps, and its start command serving the code location."""

import os
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from fin_assets.testing.ports import free_port
from fin_assets.testing.signals import default_sigint
from fin_assets_tests.deploy.dockerfile import DOCKERFILE, REPOSITORY, stages
from fin_assets_tests.deploy.pod_environment import pod_environment

VENV_BIN = Path(sys.executable).parent
EXPECTED_JOBS = {"symbol_history_job", "portfolio_job", "reference_job", "vendor_pull_job"}
# Kubernetes' default terminationGracePeriodSeconds: SIGTERM, then SIGKILL this much later.
STOP_SECONDS = 30


def image_environment(home: Path) -> dict[str, str]:
    """The final stage's ENV with its paths mapped onto this machine, plus what the cluster adds.

    The image's /opt/venv is this project's virtualenv, FIN_HOME and the cache folder are in a
    temporary folder; JAVA_HOME stays the machine's (loading the definitions starts no JVM). The
    cluster adds the production switches (FIN_ENV=prod: Snowflake, vendors, EMR, a pod per step)
    and their settings (pod_environment).
    """
    env = dict(stages()[-1].env)
    assert env.pop("PATH") == "/opt/venv/bin:$PATH"
    assert env.pop("JAVA_HOME") == "/opt/java"
    assert env.pop("FIN_HOME") == "/tmp/fin_assets"
    assert env.pop("XDG_CACHE_HOME") == "/tmp/.cache"
    return {
        # Not the test process's own instance (an earlier test's DAGSTER_HOME, its database
        # dropped since): the pod's instance comes from the cluster.
        **{
            key: value
            for key, value in os.environ.items()
            if not key.startswith("FIN_") and key != "DAGSTER_HOME"
        },
        **env,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "FIN_HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        **pod_environment(),
    }


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_image_is_python_311_slim_with_java_non_root_from_the_lock() -> None:
    build, runtime = stages()
    assert build.base == runtime.base == "python:3.11-slim-bookworm"
    assert any("uv pip install" in run and "-c requirements.lock" in run for run in build.runs)
    assert any("openjdk-17-jre-headless" in run for run in runtime.runs)
    assert runtime.user == "10001:10001"
    assert runtime.entrypoint == ["/usr/bin/tini", "--"]
    assert runtime.cmd[:5] == ["dagster", "api", "grpc", "-m", "fin_assets.definitions"]


def test_image_installs_every_runtime_extra() -> None:
    """The code location imports what the extras bring (Snowflake, Spark, AWS, k8s, MSK IAM)."""
    extras = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    (install,) = [run for run in stages()[0].runs if "-r pyproject.toml" in run]
    arguments = install.split()
    installed = {arguments[i + 1] for i, word in enumerate(arguments) if word == "--extra"}
    assert installed == set(extras) - {"dev", "all"}  # `all` is every extra, dev included


def test_dockerignore_sends_only_the_package_and_its_lock() -> None:
    lines = (REPOSITORY / ".dockerignore").read_text().splitlines()
    allowed = {line[1:] for line in lines if line.startswith("!")}
    assert "*" in lines
    assert allowed == {
        "pyproject.toml",
        "setup.py",
        "README.md",
        "requirements.lock",
        "fin_assets/",
        "spark_resources/",
    }
    for name in allowed:
        assert (REPOSITORY / name).exists(), name
        assert name.rstrip("/") in DOCKERFILE.read_text()


@pytest.fixture
def grpc_server(tmp_path: Path) -> Iterator[int]:
    """The image's CMD (on a free local port) started with the image's environment, its output
    in a file; stopped with SIGTERM, as Kubernetes stops a pod, which it must obey within
    STOP_SECONDS."""
    command = stages()[-1].cmd
    port = free_port()
    command = [*command[: command.index("-h")], "-h", "127.0.0.1", "-p", str(port)]
    env = image_environment(tmp_path)
    log = tmp_path / "grpc_server.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            command,
            env=env,
            cwd=tmp_path,
            stdout=sink,
            stderr=sink,
            preexec_fn=default_sigint,
        )
    try:
        # The server binds its port once the definitions are loaded; it exits if they fail to.
        deadline = time.monotonic() + 300
        while server.poll() is None and time.monotonic() < deadline and not listening(port):
            time.sleep(1)
        if server.poll() is not None:
            pytest.fail(f"the gRPC server exited with {server.returncode}:\n{log.read_text()}")
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            pytest.fail(f"the gRPC server ignored SIGTERM for {STOP_SECONDS} s:\n{log.read_text()}")


@pytest.mark.slow
def test_image_command_serves_the_code_location(grpc_server: int, tmp_path: Path) -> None:
    result = subprocess.run(
        ["dagster", "job", "list", "--grpc-host", "127.0.0.1", "--grpc-port", str(grpc_server)],
        env=image_environment(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    listed = {line.split(":", 1)[1].strip() for line in result.stdout.splitlines() if ":" in line}
    assert listed >= EXPECTED_JOBS, result.stdout
