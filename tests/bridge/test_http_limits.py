"""What the server refuses at the HTTP level: compressed bodies (never inflated), requests whose
headers or body stall (closed, 408), methods a route does not serve (405 with `Allow`).
Runs on SQLite and PostgreSQL; the stalled-request tests talk over a real socket."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from typing import Any

import pytest

from tests.bridge.ingest_fixtures import AM_TOKEN, count_rows, fixture_bytes
from tests.bridge.raw_http import address, chunked, closed_by_server, head, read_reply

#: generous guard so a broken server cannot hang the suite; never a measured duration
GUARD = 15
FLATE = "deflate"



@pytest.fixture
async def impatient(start_api, make_config) -> Any:
    """The example's API with a request timeout of half a second."""

    def edit(data: dict[str, Any]) -> None:
        data["service"]["request_timeout"] = "0.5s"

    return await start_api(make_config(edit))


# -- compressed bodies ---------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "gzip, identity"])
async def test_a_compressed_webhook_is_refused_with_415_and_nothing_stored(api, encoding):
    body = gzip.compress(fixture_bytes("alertmanager", "prom-firing-single.json"))
    before = count_rows(api.engines)
    reply = await api.call(
        "POST",
        "/api/v1/alerts/prometheus",
        as_=AM_TOKEN,
        data=body,
        headers={"Content-Type": "application/json", "Content-Encoding": encoding},
    )
    assert reply.status == 415, reply
    assert "Content-Encoding" in reply.body["error"]
    assert count_rows(api.engines) == before


async def test_a_compression_bomb_is_refused_before_anything_inflates_it(api):
    bomb = gzip.compress(b"0" * (64 * 1024 * 1024))  # 64 MiB of zeros in about 64 KiB
    reply = await api.call(
        "POST",
        "/api/v1/alerts/prometheus",
        as_=None,
        data=bomb,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert reply.status == 415, reply
    assert (await api.call("GET", "/healthz", as_=None)).status == 200


@pytest.mark.parametrize(
    "path", ["/login", "/api/v1/tickets", "/api/v1/alerts/prometheus", "/api/v1/tickets/INC-1"]
)
async def test_a_broken_deflate_body_is_a_4xx_on_any_route(api, path):
    broken = zlib.compress(b'{"title": "x"}')[:-6] + b"garbage"
    reply = await api.call(
        "POST",
        path,
        data=broken,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": FLATE},
    )
    assert reply.status == 415, reply
    assert "Content-Encoding deflate" in reply.body["error"]


# -- requests that never finish ------------------------------------------------------------


async def test_a_connection_sending_half_its_headers_is_closed(impatient):
    reader, writer = await asyncio.open_connection(*address(impatient))
    try:
        writer.write(b"POST /api/v1/alerts/prometheus HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-")
        await writer.drain()
        assert await closed_by_server(reader, within=GUARD)
    finally:
        writer.close()


async def test_a_connection_that_never_sends_a_request_is_closed(impatient):
    reader, writer = await asyncio.open_connection(*address(impatient))
    try:
        assert await closed_by_server(reader, within=GUARD)
    finally:
        writer.close()


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
async def test_a_stalled_body_gets_408_and_the_connection_is_closed(impatient, framing):
    body = fixture_bytes("alertmanager", "prom-firing-single.json")
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {AM_TOKEN}"}
    if framing == "chunked":
        headers["Transfer-Encoding"] = "chunked"
        sent = chunked([body[:100]])[0]  # one chunk, then nothing: no closing chunk
    else:
        headers["Content-Length"] = str(len(body))
        sent = body[:100]
    before = count_rows(impatient.engines)
    reader, writer = await asyncio.open_connection(*address(impatient))
    try:
        writer.write(head("POST", "/api/v1/alerts/prometheus", headers) + sent)
        await writer.drain()
        async with asyncio.timeout(GUARD):
            reply = await read_reply(reader)
        assert reply.status == 408, reply
        assert "did not arrive" in reply.json()["error"]
        assert await closed_by_server(reader, within=GUARD)
    finally:
        writer.close()
    assert count_rows(impatient.engines) == before


async def test_a_slow_but_steady_body_within_the_timeout_is_accepted(api):
    # the default timeout (30 s) is far beyond the pauses of a sender writing in pieces
    body = fixture_bytes("alertmanager", "prom-firing-single.json")
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {AM_TOKEN}",
        "Transfer-Encoding": "chunked",
    }
    reader, writer = await asyncio.open_connection(*address(api))
    try:
        writer.write(head("POST", "/api/v1/alerts/prometheus", headers))
        for part in chunked([body[:300], body[300:600], body[600:]]):
            await asyncio.sleep(0.05)
            writer.write(part)
            await writer.drain()
        reply = await read_reply(reader)
    finally:
        writer.close()
    assert reply.status == 200, reply


# -- 405 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/tickets", {"GET", "HEAD", "POST"}),
        ("PUT", "/healthz", {"GET", "HEAD"}),
        ("GET", "/api/v1/alerts/prometheus", {"POST"}),
    ],
)
async def test_405_names_the_allowed_methods(api, method, path, allowed):
    reply = await api.call(method, path)
    assert reply.status == 405, reply
    assert {m.strip() for m in reply.headers["Allow"].split(",")} == allowed
    assert reply.body == {"error": "Method Not Allowed"}
