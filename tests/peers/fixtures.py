"""pytest fixtures for real peers. In tests/conftest.py: ``from tests.peers.fixtures import *``.

Fixtures (all bind 127.0.0.1 only; each cleans up its processes and temp dirs):

- ``pg_cluster`` (session): a started :class:`PostgresCluster`.
- ``pg_url`` (function): SQLAlchemy URL of a fresh database ``test_<n>`` in ``pg_cluster``,
  dropped (WITH FORCE) after the test.
- ``prometheus_factory`` (function): ``start(config=None, *, rule_files=None,
  alertmanagers=(), extra_args=()) -> Prometheus``; all stopped after the test.
- ``prometheus`` (function): Prometheus scraping itself every second.
- ``promtool`` (session): path of promtool.
- ``alertmanager_factory`` (function): ``start(config=None, *, extra_args=()) -> Alertmanager``.
- ``alertmanager`` (function): Alertmanager with a do-nothing receiver.
- ``webhook_receiver`` (function, async): a started :class:`WebhookReceiver`.
- ``chromium_path`` (session): path of the system chromium.
- ``browser`` (function, Playwright sync API): a Browser, for plain ``def`` tests only.
- ``async_browser`` (function, Playwright async API): a Browser, for ``async def`` tests.
- ``mail_servers`` (function): started :class:`MailServers` (Dovecot IMAP+LMTP, Postfix SMTP).
- ``artifacts_dir`` (session): ``test-artifacts/`` at the repo root (created, gitignored).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from .alertmanager import Alertmanager
from .chromium import ARTIFACTS_DIR, AsyncBrowser, chromium_binary, sync_browser
from .mail import MailServers
from .postgres import PostgresCluster
from .prometheus import Prometheus, promtool_binary
from .webhook import WebhookReceiver

__all__ = [
    "alertmanager",
    "alertmanager_factory",
    "artifacts_dir",
    "async_browser",
    "browser",
    "chromium_path",
    "mail_servers",
    "pg_cluster",
    "pg_url",
    "prometheus",
    "prometheus_factory",
    "promtool",
    "webhook_receiver",
]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    with PostgresCluster() as cluster:
        yield cluster


@pytest.fixture
def pg_url(pg_cluster: PostgresCluster) -> Iterator[str]:
    name = pg_cluster.new_database_name()
    url = pg_cluster.create_database(name)
    try:
        yield url
    finally:
        pg_cluster.drop_database(name)


@pytest.fixture
def prometheus_factory() -> Iterator[Callable[..., Prometheus]]:
    started: list[Prometheus] = []

    def start(config=None, **kwargs) -> Prometheus:
        prom = Prometheus(config, **kwargs)
        prom.start()
        started.append(prom)
        return prom

    try:
        yield start
    finally:
        for prom in reversed(started):
            prom.stop()


@pytest.fixture
def prometheus(prometheus_factory: Callable[..., Prometheus]) -> Prometheus:
    return prometheus_factory()


@pytest.fixture(scope="session")
def promtool() -> str:
    return promtool_binary()


@pytest.fixture
def alertmanager_factory() -> Iterator[Callable[..., Alertmanager]]:
    started: list[Alertmanager] = []

    def start(config=None, **kwargs) -> Alertmanager:
        am = Alertmanager(config, **kwargs)
        am.start()
        started.append(am)
        return am

    try:
        yield start
    finally:
        for am in reversed(started):
            am.stop()


@pytest.fixture
def alertmanager(alertmanager_factory: Callable[..., Alertmanager]) -> Alertmanager:
    return alertmanager_factory()


@pytest_asyncio.fixture
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return chromium_binary()


@pytest.fixture
def browser():
    """Playwright sync-API Browser (system chromium), for ``def`` tests (not ``async def``).

    Function-scoped on purpose: while a sync Playwright is open it leaves its event loop
    marked as running in the main thread, so any later ``async def`` test would fail with
    "Runner.run() cannot be called from a running event loop". ~1 s per launch."""
    with sync_browser() as b:
        yield b


@pytest_asyncio.fixture
async def async_browser():
    """Playwright async-API Browser (system chromium) for ``async def`` tests."""
    async with AsyncBrowser() as b:
        yield b


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture
def mail_servers() -> Iterator[MailServers]:
    with MailServers() as servers:
        yield servers
