"""Hypothesis against every webhook endpoint: generated and mutated payloads never get a 500.

Each answer is JSON: 200 with the outcome counts for a valid notification, or a 4xx naming the
problem, in which case the store is unchanged (row counts of tickets, ticket_events, alerts and
alert_keys before and after). Credentials are valid (so bodies reach the parsers) unless a test
says otherwise. One app per test function on SQLite (a file in tmp_path; values only one store
would refuse run on both stores); the HTTP and parser
layers under test do not depend on the backend, which test_webhooks_http covers on both.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.app import StoreOptions, build_app, open_store
from bridge.clock import ManualClock
from bridge.store import Engines
from tests.bridge.ingest_fixtures import PAYLOADS, count_rows, source_headers
from tests.conftest import START

SOURCES = {
    "prometheus": "alertmanager",
    "grafana": "grafana",
    "pagerduty": "pagerduty",
    "zabbix": "zabbix",
    "generic": "generic",
}
#: every recorded payload of each type, broken ones included (they are mutation seeds too)
SEEDS: dict[str, list[Any]] = {
    source: [json.loads(p.read_bytes()) for p in sorted((PAYLOADS / kind).glob("*.json"))]
    for source, kind in SOURCES.items()
}

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


@dataclass
class Harness:
    loop: asyncio.AbstractEventLoop
    client: TestClient
    engines: Engines
    clock: ManualClock

    def post(self, source: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any, str]:
        async def go() -> tuple[int, Any, str]:
            async with self.client.post(
                f"/api/v1/alerts/{source}", data=body, headers=headers
            ) as resp:
                text = await resp.text()
                return resp.status, json.loads(text), resp.content_type

        return self.loop.run_until_complete(go())


@contextmanager
def _harness(url: str, cfg: Any) -> Iterator[Harness]:
    loop = asyncio.new_event_loop()
    engines = open_store(StoreOptions(url))
    clock = ManualClock(START)

    async def start() -> TestClient:
        app = build_app(cfg, engines, clock=clock, run_scheduler=False)
        client = TestClient(TestServer(app))
        await client.start_server()
        return client

    client = loop.run_until_complete(start())
    try:
        yield Harness(loop, client, engines, clock)
    finally:
        loop.run_until_complete(client.close())
        loop.close()
        engines.dispose()


@pytest.fixture
def harness(tmp_path: Path, cfg: Any) -> Iterator[Harness]:
    with _harness(f"sqlite:///{tmp_path / 'fuzz.db'}", cfg) as h:
        yield h


@pytest.fixture
def both_stores(store_url: str, cfg: Any) -> Iterator[Harness]:
    """The same harness on SQLite and on PostgreSQL, for values one store takes and the other
    would refuse (NUL, NaN, lone surrogates)."""
    with _harness(store_url, cfg) as h:
        yield h


def check(
    h: Harness,
    source: str,
    body: bytes,
    content_type: str | None = "application/json",
    auth: bool = True,
) -> int:
    headers = source_headers(source, body, h.clock.now()) if auth else {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    before = count_rows(h.engines)
    status, reply, ctype = h.post(source, body, headers)
    assert ctype == "application/json"
    assert isinstance(reply, dict)
    if status == 200:
        assert set(reply) == {"accepted", "duplicate", "unrouted", "tickets"}, reply
    else:
        assert 400 <= status < 500, (status, reply)
        assert isinstance(reply.get("error"), str) and reply["error"], reply
        assert count_rows(h.engines) == before, (status, reply)
    return status


# -- strategies -------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "firing",
            "resolved",
            "0001-01-01T00:00:00Z",
            "2026-10-05T07:00:00Z",
            "trigger",
            "resolve",
            "4",
            "1",
            "acme",
            "127.0.10.1:9100",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _set(root: Any, path: tuple, value: Any, drop: bool) -> Any:
    if not path:
        return value
    parent = root
    for key in path[:-1]:
        parent = parent[key]
    if drop:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return root


@st.composite
def mutated(draw: st.DrawFn, source: str) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from(SEEDS[source])))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["drop", "replace", "retype", "duplicate"]))
        if op == "drop" and path:
            doc = _set(doc, path, None, drop=True)
        elif op == "duplicate" and path and isinstance(doc, dict):
            doc = _set(doc, path, [draw(json_values)] * 2, drop=False)
        elif op == "retype":
            doc = _set(doc, path, draw(scalars), drop=False)
        else:
            doc = _set(doc, path, draw(json_values), drop=False)
    return doc


source_names = st.sampled_from(sorted(SOURCES))


# -- tests ------------------------------------------------------------------------------------


@SETTINGS
@given(data=st.data())
def test_mutated_recorded_payloads(harness, data):
    source = data.draw(source_names)
    doc = data.draw(mutated(source))
    check(harness, source, json.dumps(doc).encode())


@SETTINGS
@given(source=source_names, doc=json_values)
def test_random_json(harness, source, doc):
    assert check(harness, source, json.dumps(doc).encode()) in (400, 200)


@settings(SETTINGS, max_examples=60)
@given(source=source_names, body=st.binary(max_size=300))
def test_random_bytes(harness, source, body):
    assert check(harness, source, body) in (200, 400)


@settings(SETTINGS, max_examples=40)
@given(
    source=source_names,
    ctype=st.sampled_from(
        [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/xml",
            "text/json",
        ]
    ),
)
def test_wrong_content_type(harness, source, ctype):
    body = json.dumps(SEEDS[source][-1]).encode()
    assert check(harness, source, body, content_type=ctype) == 415


@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_without_credentials(harness, data):
    source = data.draw(source_names)
    doc = data.draw(st.one_of(mutated(source), json_values))
    assert check(harness, source, json.dumps(doc).encode(), auth=False) in (400, 401)


def test_recorded_payloads_as_sent(harness):
    """Every recorded payload: valid ones are 200, broken-*.json are 400, none stores junk."""
    for source, kind in SOURCES.items():
        for path in sorted((PAYLOADS / kind).glob("*.json")):
            status = check(harness, source, path.read_bytes())
            expected = 400 if path.name.startswith("broken-") else 200
            assert status == expected, (source, path.name, status)


def test_huge_body_over_the_limit(harness):
    limit = 1024 * 1024
    doc = copy.deepcopy(SEEDS["prometheus"][0])
    doc["commonAnnotations"] = {"pad": "x" * limit}
    for source in SOURCES:
        assert check(harness, source, json.dumps(doc).encode()) == 413
    # exactly at the limit is read (and judged on its content)
    body = b" " * (limit - 2) + b"{}"
    assert check(harness, "generic", body) == 400


def test_unknown_source_is_json_404(harness):
    status, reply, ctype = harness.post("nope", b"{}", {"Content-Type": "application/json"})
    assert (status, ctype) == (404, "application/json") and reply["error"]


#: JSON text the store cannot hold as is, or the parser cannot take at all
NASTY = [
    '"\\u0000"', '"a\\u0000b"', '"\\ud800"', '"\\udfff\\ud800x"', '"\\ud83d\\ude00"',
    "NaN", "Infinity", "-Infinity", "1e999", "9" * 5000, "[" * 2000 + "]" * 2000,
    "[" * 70 + "]" * 70,
]


def _string_leaves(doc: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(doc, str):
        return [path]
    if isinstance(doc, dict):
        items: Any = doc.items()
    else:
        items = enumerate(doc) if isinstance(doc, list) else ()
    return [p for k, v in items for p in _string_leaves(v, (*path, k))]


@settings(SETTINGS, max_examples=60)
@given(data=st.data())
def test_values_the_store_cannot_hold_never_make_a_500_on_either_store(both_stores, data):
    source = data.draw(source_names)
    seed = copy.deepcopy(data.draw(st.sampled_from(SEEDS[source])))
    leaves = _string_leaves(seed)
    if not leaves:
        return
    target = data.draw(st.sampled_from(leaves))
    node = seed
    for key in target[:-1]:
        node = node[key]
    if not target:
        seed = "__NASTY__"
    else:
        node[target[-1]] = "__NASTY__"
    body = json.dumps(seed).replace('"__NASTY__"', data.draw(st.sampled_from(NASTY))).encode()
    check(both_stores, source, body)
