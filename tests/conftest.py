"""Shared fixtures: the example config and its variants, a manual clock, a store on SQLite and on
a real PostgreSQL, and a running API with one persona per demo token.

Fixtures (reuse them; every API test runs twice, once per backend):

- ``example_yaml`` (session): the text of config/example.yaml.
- ``cfg``: the example config, loaded with ``load_config`` (env without SLABRIDGE_* variables).
- ``make_config``: ``make_config(edit=None, *, text=None, env=None) -> Config``; ``edit`` gets
  the example as a dict to change in place (dumped back to YAML and parsed with
  ``parse_config``); ``text`` parses YAML text as is.
- ``config_variant``: same arguments, returns the YAML text instead (for files / the CLI).
- ``clock``: a ``ManualClock`` at ``START`` (Monday 2026-10-05 07:00 UTC); move it with
  ``clock.advance(...)`` / ``clock.set(...)``, never sleep.
- ``store_url``: parametrized ``sqlite`` (a file in tmp_path) and ``postgres`` (``pg_url``, a
  fresh database in the session's temporary cluster).
- ``engines``: ``open_store(StoreOptions(store_url))``, migrated, disposed after the test.
- ``snapshot``: ``snapshot() -> dict[table, list[row]]`` of every table, to prove a refused
  request changed nothing.
- ``start_api``: ``await start_api(cfg=None, engines=None, clock=None) -> Api``: a new app
  (``build_app(..., run_scheduler=False)``, startup done) and test client; call ``await
  api.stop()`` to shut it down (restart tests), else it stops at teardown.
- ``api``: ``await start_api()`` with the example config, the clock and the store.

``Api`` talks as a persona: ``await api.call("POST", path, as_="alice", json=...) -> Reply``
(``as_=None`` sends no token) and has shortcuts for the ticket commands that assert success.
"""

from __future__ import annotations

import copy
import json as jsonlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient

from bridge.api.tickets import SERVICES
from bridge.app import StoreOptions, build_app, open_store
from bridge.clock import ManualClock
from bridge.config import Config, load_config, parse_config
from bridge.service import Services
from bridge.store import Engines
from bridge.store.schema import metadata
from tests.peers.fixtures import *  # noqa: F403 - pg_cluster, pg_url and the other peers
from tests.probe_helpers import snmpd  # noqa: F401 - a real snmpd, for tests/probes and e2e

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = REPO / "config" / "example.yaml"
#: A Monday morning: 09:00 in Warsaw and Prague, inside every business calendar of the example.
START = datetime(2026, 10, 5, 7, 0, 0, tzinfo=UTC)

#: persona → demo token of config/example.yaml
TOKENS = {
    "admin": "demo-admin-token",
    "alice": "demo-engineer-token",  # engineer
    "bob": "demo-engineer2-token",  # engineer
    "carol": "demo-manager-token",  # account_manager
    "acme-portal": "demo-acme-token",  # customer acme
    "brno-portal": "demo-brno-token",  # customer brno-bank
}


def _env() -> dict[str, str]:
    # The example's only reference has a default; a developer's SLABRIDGE_* must not leak in.
    return {k: v for k, v in os.environ.items() if not k.startswith("SLABRIDGE_")}


@pytest.fixture(scope="session")
def example_yaml() -> str:
    return EXAMPLE_CONFIG.read_text(encoding="utf-8")


@pytest.fixture
def cfg() -> Config:
    return load_config(EXAMPLE_CONFIG, env=_env())


Edit = Callable[[dict[str, Any]], None]


@pytest.fixture
def config_variant(example_yaml: str) -> Callable[..., str]:
    """``config_variant(edit) -> str``: the example changed by ``edit`` (a dict mutator)."""

    def build(edit: Edit | None = None) -> str:
        if edit is None:
            return example_yaml
        data = copy.deepcopy(yaml.safe_load(example_yaml))
        edit(data)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

    return build


@pytest.fixture
def make_config(config_variant: Callable[..., str]) -> Callable[..., Config]:
    def build(
        edit: Edit | None = None, *, text: str | None = None, env: dict[str, str] | None = None
    ) -> Config:
        source = text if text is not None else config_variant(edit)
        return parse_config(source, "variant.yaml", env=_env() if env is None else env)

    return build


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'slabridge.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engines(store_url: str) -> Iterator[Engines]:
    engines = open_store(StoreOptions(store_url))
    try:
        yield engines
    finally:
        engines.dispose()


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def take_snapshot(engines: Engines) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in primary-key order."""
    out: dict[str, list[dict[str, Any]]] = {}
    with engines.read.connect() as conn:
        for table in metadata.sorted_tables:
            order = list(table.primary_key.columns)
            rows = conn.execute(sa.select(table).order_by(*order)).mappings()
            out[table.name] = [{k: _plain(v) for k, v in r.items()} for r in rows]
    return out


@pytest.fixture
def snapshot(engines: Engines) -> Callable[[], dict[str, list[dict[str, Any]]]]:
    return lambda: take_snapshot(engines)


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    def __repr__(self) -> str:  # shown by pytest when an assertion on it fails
        return f"Reply({self.status}, {jsonlib.dumps(self.body)[:600]})"


class Api:
    """A started app with its test client; talks as one of the TOKENS personas."""

    def __init__(
        self, client: TestClient, cfg: Config, engines: Engines, clock: ManualClock
    ) -> None:
        self.client = client
        self.cfg = cfg
        self.engines = engines
        self.clock = clock

    @property
    def app(self) -> web.Application:
        return self.client.app  # type: ignore[return-value]

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    async def stop(self) -> None:
        """Shut the app down (cleanup contexts run: the writer stops)."""
        await self.client.close()

    async def call(
        self,
        method: str,
        path: str,
        *,
        as_: str | None = "alice",
        json: Any = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Reply:
        hdrs = dict(headers or {})
        if as_ is not None:
            hdrs.setdefault("Authorization", f"Bearer {TOKENS.get(as_, as_)}")
        kwargs: dict[str, Any] = {"headers": hdrs, "params": params}
        if json is not None:
            kwargs["json"] = json
        if data is not None:
            kwargs["data"] = data
        async with self.client.request(method, path, **kwargs) as resp:
            text = await resp.text()
            try:
                body = jsonlib.loads(text) if text else None
            except ValueError:
                body = text
            return Reply(resp.status, body, dict(resp.headers))

    async def ok(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        reply = await self.call(method, path, **kwargs)
        assert reply.status == expect, reply
        return reply.body

    # Shortcuts for the ticket commands; each asserts success and returns the ticket JSON.

    async def create(self, *, as_: str = "alice", **fields: Any) -> dict[str, Any]:
        body = {"customer": "acme", "title": "Edge router unreachable", **fields}
        if as_ in ("acme-portal", "brno-portal") and "customer" not in fields:
            body.pop("customer")
        return await self.ok("POST", "/api/v1/tickets", 201, as_=as_, json=body)

    async def get(self, key: str, *, as_: str = "alice") -> dict[str, Any]:
        return await self.ok("GET", f"/api/v1/tickets/{key}", as_=as_)

    async def list(self, *, as_: str = "alice", **params: str) -> list[dict[str, Any]]:
        body = await self.ok("GET", "/api/v1/tickets", as_=as_, params=params)
        return body["tickets"]

    async def assign(self, key: str, assignee: str = "alice", *, as_: str = "alice") -> dict:
        return await self.ok(
            "POST", f"/api/v1/tickets/{key}/assign", as_=as_, json={"assignee": assignee}
        )

    async def move(self, key: str, to: str, *, as_: str = "alice", **extra: Any) -> dict:
        return await self.ok(
            "POST", f"/api/v1/tickets/{key}/transition", as_=as_, json={"to": to, **extra}
        )

    async def comment(self, key: str, text: str, *, as_: str = "alice") -> dict:
        return await self.ok(
            "POST", f"/api/v1/tickets/{key}/comments", as_=as_, json={"text": text}
        )

    async def escalate(self, key: str, to: str, reason: str = "", *, as_: str = "alice") -> dict:
        return await self.ok(
            "POST", f"/api/v1/tickets/{key}/escalate", as_=as_, json={"to": to, "reason": reason}
        )

    async def priority(
        self, key: str, priority: str, reason: str = "", *, as_: str = "alice"
    ) -> dict:
        return await self.ok(
            "POST",
            f"/api/v1/tickets/{key}/priority",
            as_=as_,
            json={"priority": priority, "reason": reason},
        )


StartApi = Callable[..., Awaitable[Api]]


@pytest.fixture
async def start_api(
    cfg: Config, engines: Engines, clock: ManualClock, aiohttp_client: Any
) -> AsyncIterator[StartApi]:
    # aiohttp_client comes last so it is torn down first: apps stop before the store goes.
    async def start(
        cfg_: Config | None = None,
        engines_: Engines | None = None,
        clock_: ManualClock | None = None,
    ) -> Api:
        c, e, k = cfg_ or cfg, engines_ or engines, clock_ or clock
        app = build_app(c, e, clock=k, run_scheduler=False)
        client = await aiohttp_client(app)  # runs the startup: writer, maintenance, auto-close
        return Api(client, c, e, k)

    yield start


@pytest.fixture
async def api(start_api: StartApi) -> Api:
    return await start_api()
