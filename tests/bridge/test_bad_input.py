"""Input the store cannot hold, or that the parser cannot take, is a clear 4xx or is cleaned:
never a 500, and SQLite and PostgreSQL answer alike (every test runs on both stores)."""

from __future__ import annotations

import logging

import pytest

from bridge.api.tickets import SERVICES
from tests.bridge.ingest_fixtures import PD_ACME_KEY, am_alert, am_payload, post

ALICE_TICKET = {"customer": "acme", "title": "Database answers slowly", "priority": "P2",
                "origin": "phone"}


@pytest.mark.parametrize("path", ["/api/v1/tickets", "/api/v1/alerts/generic"])
async def test_json_nested_too_deep_is_400_and_stores_nothing(api, snapshot, path):
    before = snapshot()
    body = b"[" * 5000 + b"]" * 5000
    reply = await api.call(
        "POST", path, data=body, headers={"Content-Type": "application/json"},
        as_="alice" if path.endswith("tickets") else "demo-generic-token",
    )
    assert reply.status == 400, reply
    assert "nested" in reply.body["error"]
    assert snapshot() == before


async def test_an_integer_too_long_to_read_is_400(api, snapshot):
    before = snapshot()
    body = b'{"customer": "acme", "title": "x", "priority": "P2", "n": ' + b"9" * 5000 + b"}"
    reply = await api.call("POST", "/api/v1/tickets", data=body,
                           headers={"Content-Type": "application/json"})
    assert reply.status == 400, reply
    assert "integer" in reply.body["error"]
    assert snapshot() == before


async def test_lone_surrogates_and_nul_are_cleaned_not_refused(api):
    alert = am_alert("fp-dirty", {"device": "acme-db", "note": "half \ud800 pair"},
                     summary="Disk\u0000full \ud800")
    body = am_payload(alert)
    reply = await post(api, "prometheus", body)
    assert reply.status == 200, reply
    ticket = await api.get(reply.body["tickets"][0])
    assert ticket["title"] == "Disk\ufffdfull \ufffd"


async def test_cesu8_bytes_are_cleaned_on_the_ticket_api(api):
    body = (b'{"customer": "acme", "title": "caf\xed\xa0\x80 \\u0000 done", "priority": "P2",'
            b' "origin": "phone"}')
    reply = await api.call("POST", "/api/v1/tickets", data=body,
                           headers={"Content-Type": "application/json"})
    assert reply.status == 201, reply
    assert reply.body["title"] == "caf\ufffd \ufffd done"


async def test_nan_and_infinity_in_pagerduty_details_are_kept_as_null(api):
    body = (b'{"routing_key": "' + PD_ACME_KEY.encode() + b'", "event_action": "trigger",'
            b' "dedup_key": "nan-1", "payload": {"summary": "web down", "source": "127.0.10.3",'
            b' "severity": "error", "custom_details": {"a": NaN, "b": Infinity,'
            b' "c": -Infinity, "d": "\\u0000"}}}')
    reply = await post(api, "pagerduty", body)
    assert reply.status == 200, reply


@pytest.mark.parametrize("key", ["INC-\u00b2", "INC-\u0663\u0664", "INC-99999999999999999999999"])
async def test_odd_ticket_ids_are_404(api, key):
    reply = await api.call("GET", f"/api/v1/tickets/{key}")
    assert reply.status == 404, reply
    reply = await api.call("POST", f"/api/v1/tickets/{key}/comments", json={"text": "x"})
    assert reply.status == 404, reply


@pytest.mark.parametrize(
    "params",
    [{"offset": "9" * 30}, {"limit": "9" * 30}, {"offset": "-" + "9" * 30}, {"limit": "abc"}],
)
async def test_paging_beyond_64_bits_is_a_clear_answer(api, params):
    reply = await api.call("GET", "/api/v1/tickets", params=params)
    assert reply.status in (200, 400), reply
    if reply.status == 400:
        assert "error" in reply.body


async def test_a_report_version_beyond_64_bits_is_404(api):
    reply = await api.call(
        "GET", "/api/v1/reports/acme/2026-10/versions/" + "9" * 30, as_="carol"
    )
    assert reply.status == 404, reply


async def test_an_authorization_header_with_raw_bytes_is_401(api):
    reply = await api.call(
        "GET", "/api/v1/tickets", as_=None,
        headers={"Authorization": "Bearer \u00ff\u00fe"},
    )
    assert reply.status == 401, reply
    reply = await post(api, "prometheus", am_payload(am_alert("x", {"device": "acme-db"})),
                       headers={"Authorization": "Bearer \u00ff\u00fe\u0100"})
    assert reply.status == 401, reply


async def test_an_unexpected_error_is_one_log_record_with_its_request_id(api, monkeypatch, caplog):
    async def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(type(api.app[SERVICES]), "list_tickets", broken)
    with caplog.at_level(logging.DEBUG):
        reply = await api.call("GET", "/api/v1/tickets")
    assert reply.status == 500 and reply.body["error"] == "internal error", reply
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert reply.body["request_id"] in errors[0].getMessage()
    assert errors[0].exc_info is not None and errors[0].exc_info[0] is RuntimeError
