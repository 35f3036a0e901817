"""Webhook bodies through a real socket, however the sender frames them: a body that arrives in
several writes, or as chunks, is read whole up to the limit, for every source type (HMAC
included, whose signature covers every byte). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.bridge.ingest_fixtures import fixture_bytes, source_headers
from tests.bridge.raw_http import address, chunked, exchange, head, pieces

#: each source of config/example.yaml with a recorded payload it accepts
SOURCES = {
    "prometheus": ("alertmanager", "prom-firing-single.json"),
    "grafana": ("grafana", "v1-firing-single.json"),
    "pagerduty": ("pagerduty", "v2-trigger.json"),
    "zabbix": ("zabbix", "v1-problem.json"),
    "generic": ("generic", "single-firing.json"),
}
FRAMINGS = ("content-length", "chunked")
WRITES = 4


def padded(body: bytes, size: int) -> bytes:
    """The same JSON document, `size` bytes long (trailing whitespace is valid JSON)."""
    return body + b" " * (size - len(body))


def writes(api: Any, source: str, body: bytes, framing: str) -> list[bytes]:
    headers = {"Content-Type": "application/json", **source_headers(source, body, api.clock.now())}
    parts = pieces(body, WRITES)
    if framing == "content-length":
        headers["Content-Length"] = str(len(body))
        return [head("POST", f"/api/v1/alerts/{source}", headers), *parts]
    headers["Transfer-Encoding"] = "chunked"
    if framing == "chunked-and-content-length":
        headers["Content-Length"] = str(len(body))
    return [head("POST", f"/api/v1/alerts/{source}", headers), *chunked(parts)]



@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("source", sorted(SOURCES))
async def test_a_body_arriving_in_pieces_is_read_whole(api, source, framing):
    body = fixture_bytes(*SOURCES[source])
    limit = api.cfg.service.body_limit
    answers = []
    for size in (1024, 64 * 1024, limit):
        data = padded(body, max(size, len(body)))
        reply = await exchange(*address(api), writes(api, source, data, framing))
        answers.append((len(data), reply.status, reply.json()))
    assert [status for _, status, _ in answers] == [200, 200, 200], answers
    for _, _, reply in answers:  # the one alert of the payload, seen every time
        assert reply["accepted"] + reply["duplicate"] + reply["unrouted"] == 1, reply


async def test_chunked_with_a_content_length_is_refused_not_guessed(api, caplog):
    # both framings at once is how requests are smuggled past a proxy
    body = fixture_bytes(*SOURCES["prometheus"])
    head_only = writes(api, "prometheus", body, "chunked-and-content-length")[:1]
    with caplog.at_level(logging.INFO):
        reply = await exchange(*address(api), head_only)
    assert reply.status == 400, reply
    assert b"Transfer-Encoding" in reply.body
    # one line naming the problem, not a traceback per malformed request
    assert [r.levelname for r in caplog.records if r.name == "aiohttp.server"] == ["WARNING"]
    assert "Transfer-Encoding" in caplog.text and "Traceback" not in caplog.text


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_a_body_over_the_limit_is_413_whatever_the_framing(api, framing):
    body = fixture_bytes(*SOURCES["grafana"])
    data = padded(body, api.cfg.service.body_limit + 1)
    reply = await exchange(*address(api), writes(api, "grafana", data, framing))
    assert reply.status == 413, reply
    assert "limit" in reply.json()["error"]
