"""Shared fixtures: a real Tansu broker and a real redis-server on free loopback ports, started by
the suite itself and stopped afterwards (never a server left running on the machine)."""

from __future__ import annotations

import gc
import itertools
import os
from pathlib import Path

import pytest

from agents.dev.embedded import Service, redis, tansu

ROOT = Path(__file__).resolve().parents[1]
# The labelled development corpus lives outside the repo, in shared/ beside the clone (as in CI).
CORPUS = Path(os.environ.get("QUNGUARD_CORPUS", ROOT.parent / "shared" / "corpus"))
_ids = itertools.count()
# tests/<folder>/… gets the folder's marker: integration talks to a real redis-server, e2e to the
# broker (and Redis); unit/ starts nothing. So `-m "not e2e"` starts no broker and
# `-m "not e2e and not integration"` starts no service at all.
FOLDER_MARKERS = {"integration": "integration", "e2e": "e2e"}


def pytest_configure(config: pytest.Config) -> None:
    """A compiled hot-path module older than its source would test old code (ops/compile.py)."""
    import streams.content.detector  # noqa: F401  (imports the whole hot path)
    from agents.bench.build import stale_modules

    old = stale_modules()
    if old:
        pytest.exit(f"{', '.join(old)} changed since compiled: run `make compiled` (or `make test`)", 2)


BROKER_FIXTURES = frozenset({"broker", "bootstrap"})
REDIS_FIXTURES = frozenset({"redis_service", "redis_url"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).resolve().parent
    for item in items:
        folder = Path(item.fspath).resolve().relative_to(tests_dir).parts[0]
        marker = FOLDER_MARKERS.get(folder)
        if marker is not None:
            item.add_marker(marker)
        uses = set(getattr(item, "fixturenames", ()))
        broker, redis_server = bool(uses & BROKER_FIXTURES), bool(uses & REDIS_FIXTURES)
        if (folder == "unit" and (broker or redis_server)) or (folder == "integration" and broker):
            raise pytest.UsageError(f"{item.nodeid} uses a service its folder does not start: move it")


@pytest.fixture(scope="session")
def services_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def broker(services_dir: Path):
    """A Tansu broker for the whole session; yields its `Service` (use `.port`, `.pause()` …)."""
    service = tansu(services_dir).start()
    yield service
    gc.collect()  # destroy leftover Kafka clients while the broker is still up, not at exit
    service.stop()


@pytest.fixture(scope="session")
def bootstrap(broker: Service) -> str:
    return f"127.0.0.1:{broker.port}"


@pytest.fixture(scope="session")
def redis_service(services_dir: Path):
    service = redis(services_dir).start()
    yield service
    service.stop()


@pytest.fixture
def redis_url(redis_service: Service) -> str:
    """A Redis URL on a fresh database number per test, flushed before use."""
    import redis as redis_py

    db = next(_ids) % 16
    url = f"redis://127.0.0.1:{redis_service.port}/{db}"
    redis_py.Redis.from_url(url).flushdb()
    return url


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic names, consumer groups and app ids within one broker."""
    return f"t{next(_ids)}"
