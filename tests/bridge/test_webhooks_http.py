"""Issue 3 through the HTTP endpoint: webhooks open proactive tickets, routed, deduplicated,
idempotent, authenticated, nothing lost. Every test runs on SQLite and on a real PostgreSQL
(the conftest ``store_url`` parametrization); time moves only through the injected clock.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bridge import tickets as tk
from tests.bridge.ingest_fixtures import (
    AM_TOKEN,
    PD_ACME_KEY,
    PD_FIXTURE_KEY,
    am_alert,
    am_payload,
    basic,
    count_rows,
    encode,
    fixture_bytes,
    grafana_headers,
    metric,
    post,
)
from tests.conftest import START


async def fire(api: Any, fingerprint: str, labels: dict[str, str], **kw: Any) -> Any:
    reply = await post(api, "prometheus", am_payload(am_alert(fingerprint, labels, **kw)))
    assert reply.status == 200, reply
    return reply.body


async def only_ticket(api: Any, body: dict) -> dict:
    assert len(body["tickets"]) == 1, body
    return await api.get(body["tickets"][0])


# -- opening, routing, priority ------------------------------------------------------------


async def test_firing_notification_opens_one_proactive_ticket(api):
    body = await fire(api, "aaaa000000000001", {"device": "acme-db"})
    assert body == {"accepted": 1, "duplicate": 0, "unrouted": 0, "tickets": ["INC-000001"]}
    t = await only_ticket(api, body)
    assert (t["customer"], t["device"], t["device_ip"]) == ("acme", "acme-db", "127.0.10.2")
    assert t["contract"] == "PL-2026-0042"
    assert t["origin"] == "monitoring"
    assert t["status"] == "new"
    assert t["priority"] == "P1"  # critical through gold's severity_map
    assert t["entered_at"] == START.isoformat()
    assert [e["kind"] for e in t["history"]] == ["created"]
    assert t["history"][0]["actor"] == "monitoring"
    assert t["alerts"] == [
        {
            "source": "prometheus",
            "identity": "aaaa000000000001",
            "status": "firing",
            "count": 1,
            "first_seen": START.isoformat(),
            "last_seen": START.isoformat(),
        }
    ]
    assert len(await api.list()) == 1


@pytest.mark.parametrize(
    ("labels", "customer", "device"),
    [
        ({"device": "acme-edge"}, "acme", "acme-edge"),
        ({"instance": "127.0.20.1:9100"}, "brno-bank", "brno-core"),
        ({"instance": "127.0.10.3"}, "acme", "acme-web"),
        ({"customer": "brno-bank"}, "brno-bank", None),
        ({"contract": "PL-2026-0042"}, "acme", None),
        # the first rule naming a customer decides; a device of another customer is dropped
        ({"device": "brno-core", "customer": "acme"}, "brno-bank", "brno-core"),
        ({"customer": "acme", "instance": "127.0.10.1:9100"}, "acme", "acme-edge"),
        ({"customer": "acme", "instance": "127.0.20.1:9100"}, "brno-bank", "brno-core"),
    ],
)
async def test_routing_by_label(api, labels, customer, device):
    body = await fire(api, "bbbb000000000001", labels)
    t = await only_ticket(api, body)
    assert (t["customer"], t["device"]) == (customer, device)


async def test_pagerduty_routing_key_map_and_source_ip(api):
    event = {
        "routing_key": PD_ACME_KEY,
        "event_action": "trigger",
        "dedup_key": "acme/web/http",
        "payload": {"summary": "web down", "source": "127.0.10.3", "severity": "error"},
    }
    reply = await post(api, "pagerduty", event)
    assert reply.status == 200, reply
    t = await only_ticket(api, reply.body)
    assert (t["customer"], t["device"], t["priority"]) == ("acme", "acme-web", "P2")
    # an unknown routing key and an unknown source IP route nowhere: kept, not dropped
    lost = {"summary": "web down", "source": "127.0.99.1", "severity": "error"}
    reply = await post(
        api, "pagerduty", {**event, "routing_key": "X" * 32, "dedup_key": "k2", "payload": lost}
    )
    assert reply.body["unrouted"] == 1 and reply.body["tickets"] == []


@pytest.mark.parametrize(
    ("customer_labels", "severity", "priority"),
    [
        ({"device": "acme-db"}, "critical", "P1"),
        ({"device": "acme-db"}, "WARNING", "P3"),
        ({"device": "acme-db"}, "info", "P4"),
        ({"device": "acme-db"}, "no-such-severity", "P3"),  # gold's default_priority
        ({"device": "acme-db"}, None, "P3"),
        ({"device": "brno-core"}, "major", "P2"),  # silver uses the built-in map
    ],
)
async def test_severity_maps_to_priority_through_the_customers_policy(
    api, customer_labels, severity, priority
):
    t = await only_ticket(
        api, await fire(api, "cccc000000000001", customer_labels, severity=severity)
    )
    assert t["priority"] == priority


# -- dedup and idempotency -------------------------------------------------------------------


async def test_byte_identical_redelivery_adds_nothing(api, snapshot):
    body = encode(am_payload(am_alert("dddd000000000001", {"device": "acme-db"})))
    first = await post(api, "prometheus", body)
    assert first.body["accepted"] == 1
    key = first.body["tickets"][0]
    before = await api.get(key)
    rows_before = snapshot()
    again = await post(api, "prometheus", body)
    assert again.status == 200
    assert again.body == {"accepted": 0, "duplicate": 1, "unrouted": 0, "tickets": [key]}
    after = await api.get(key)
    assert after["history"] == before["history"]
    rows_after = snapshot()
    # only the hot row's counter moved; no ticket, event or wide alert row was added
    for table in ("tickets", "ticket_events", "alerts"):
        assert rows_after[table] == rows_before[table], table
    assert rows_after["alert_keys"][0]["count"] == 2
    assert len(await api.list()) == 1


async def test_repeats_bump_count_and_last_seen(api):
    body = encode(am_payload(am_alert("eeee000000000001", {"device": "acme-edge"})))
    key = (await post(api, "prometheus", body)).body["tickets"][0]
    for _ in range(3):
        api.clock.advance(timedelta(minutes=5))
        assert (await post(api, "prometheus", body)).body["duplicate"] == 1
    t = await api.get(key)
    (a,) = t["alerts"]
    assert a["count"] == 4
    assert a["first_seen"] == START.isoformat()
    assert a["last_seen"] == (START + timedelta(minutes=15)).isoformat()
    assert len(t["history"]) == 1


async def test_grouped_notification_one_ticket_per_alert_and_partial_resolve(api):
    fps = ["f000000000000001", "f000000000000002", "f000000000000003"]
    devices = ["acme-edge", "acme-db", "acme-web"]
    alerts = [am_alert(fp, {"device": d}) for fp, d in zip(fps, devices, strict=True)]
    body = (await post(api, "prometheus", am_payload(*alerts))).body
    assert body["accepted"] == 3 and len(body["tickets"]) == 3
    # r2 back: top-level still firing, one alert resolved; the others are repeats
    alerts[1] = am_alert(fps[1], {"device": devices[1]}, status="resolved")
    body = (await post(api, "prometheus", am_payload(*alerts))).body
    assert (body["accepted"], body["duplicate"]) == (1, 2)
    kinds = {
        t["device"]: [e["kind"] for e in (await api.get(t["id"]))["history"]]
        for t in await api.list()
    }
    assert kinds == {
        "acme-edge": ["created"],
        "acme-db": ["created", "recovery"],
        "acme-web": ["created"],
    }


# -- recovery, reopen, relation ---------------------------------------------------------------


async def test_recovery_on_a_leave_customer_keeps_the_status(api):
    key = (await fire(api, "1111000000000001", {"device": "acme-db"}))["tickets"][0]
    await api.assign(key)
    api.clock.advance(600)
    body = await fire(api, "1111000000000001", {"device": "acme-db"}, status="resolved")
    assert body["accepted"] == 1 and body["tickets"] == [key]
    t = await api.get(key)
    assert t["status"] == "in_progress"  # acme: recovery: leave
    recovery = t["history"][-1]
    assert recovery["kind"] == "recovery"
    assert recovery["at"] == (START + timedelta(seconds=600)).isoformat()
    assert recovery["data"]["identity"] == "1111000000000001"
    assert t["alerts"][0]["status"] == "resolved"
    # the resolved notification redelivered adds nothing
    again = await fire(api, "1111000000000001", {"device": "acme-db"}, status="resolved")
    assert again["duplicate"] == 1
    assert (await api.get(key))["history"] == t["history"]


async def test_recovery_resolves_for_a_resolve_customer_and_refire_reopens(api):
    labels = {"device": "brno-core"}
    key = (await fire(api, "2222000000000001", labels))["tickets"][0]
    await api.assign(key)
    api.clock.advance(300)
    await fire(api, "2222000000000001", labels, status="resolved")
    t = await api.get(key)
    assert t["status"] == "resolved"  # brno-bank: recovery: resolve
    assert [e["kind"] for e in t["history"]][-2:] == ["recovery", "status_changed"]
    assert t["close_deadline"] is not None
    # fires again inside the verification window: the same ticket goes back in progress
    api.clock.advance(300)
    body = await fire(api, "2222000000000001", labels, starts="2026-10-05T07:09:00Z")
    assert body["tickets"] == [key] and body["accepted"] == 1
    t = await api.get(key)
    assert t["status"] == "in_progress"
    assert t["resolved_at"] is None and t["close_deadline"] is None
    reopen = t["history"][-2]
    assert reopen["kind"] == "status_changed"
    assert (reopen["data"]["from"], reopen["data"]["to"]) == ("resolved", "in_progress")
    assert t["history"][-1]["kind"] == "alert_attached"
    assert len(await api.list()) == 1


async def test_new_ticket_after_close_links_to_the_old_one(api):
    labels = {"device": "brno-core"}
    old = (await fire(api, "3333000000000001", labels))["tickets"][0]
    await api.assign(old)
    await fire(api, "3333000000000001", labels, status="resolved")
    assert (await api.get(old))["status"] == "resolved"
    api.clock.advance(timedelta(hours=25))  # past brno-bank's verification window (24 h)
    closed = await api.services.write(lambda c: tk.close_due(c, now=api.clock.now()))
    assert closed == [api.services.keys.parse(old)]
    assert (await api.get(old))["status"] == "closed"
    body = await fire(api, "3333000000000001", labels, starts="2026-10-06T08:00:00Z")
    (new,) = body["tickets"]
    assert new != old
    t = await api.get(new)
    assert t["related"] == old
    assert t["status"] == "new"
    assert t["entered_at"] == api.clock.now().isoformat()
    assert "linked" in [e["kind"] for e in t["history"]]
    assert (await api.get(old))["status"] == "closed"  # closed is final
    # the next repeat lands on the new ticket only
    again = await fire(api, "3333000000000001", labels, starts="2026-10-06T08:00:00Z")
    assert again["tickets"] == [new] and again["duplicate"] == 1


async def test_alert_dismissed_as_false_alarm_does_not_reopen_on_repeat(api):
    body = encode(am_payload(am_alert("4444000000000001", {"device": "acme-web"})))
    key = (await post(api, "prometheus", body)).body["tickets"][0]
    await api.move(key, "closed", close_reason="false_alarm")
    again = await post(api, "prometheus", body)
    assert again.body["duplicate"] == 1
    assert [t["id"] for t in await api.list()] == [key]


# -- unrouted -------------------------------------------------------------------------------


async def test_unrouted_alert_is_kept_listed_counted_and_routable(api):
    labels = {"instance": "127.0.99.9:9100", "customer": "nobody"}
    before = await metric(
        api, "slabridge_alerts_received_total", source="prometheus", outcome="unrouted"
    )
    body = await fire(api, "5555000000000001", labels)
    assert body == {"accepted": 0, "duplicate": 0, "unrouted": 1, "tickets": []}
    assert await api.list() == []
    after = await metric(
        api, "slabridge_alerts_received_total", source="prometheus", outcome="unrouted"
    )
    assert after == before + 1
    assert (
        await metric(
            api, "slabridge_notifications_received_total", source="prometheus", outcome="unrouted"
        )
        >= 1
    )
    listed = (await api.ok("GET", "/api/v1/unrouted"))["alerts"]
    assert [(a["source"], a["identity"], a["count"]) for a in listed] == [
        ("prometheus", "5555000000000001", 1)
    ]
    assert listed[0]["first_seen"] == START.isoformat()
    assert listed[0]["labels"]["instance"] == "127.0.99.9:9100"
    # a repeat while unrouted is counted, still no ticket
    api.clock.advance(60)
    assert (await fire(api, "5555000000000001", labels))["unrouted"] == 1
    # routing needs an admin
    route = {
        "source": "prometheus",
        "identity": "5555000000000001",
        "customer": "acme",
        "device": "acme-db",
    }
    denied = await api.call("POST", "/api/v1/unrouted/route", as_="alice", json=route)
    assert denied.status == 403
    api.clock.advance(timedelta(hours=2))
    routed = await api.ok("POST", "/api/v1/unrouted/route", 201, as_="admin", json=route)
    t = await api.get(routed["ticket"])
    assert (t["customer"], t["device"], t["origin"]) == ("acme", "acme-db", "monitoring")
    assert t["entered_at"] == START.isoformat()  # the first receipt, not the routing time
    assert t["history"][-1]["kind"] == "commented"
    assert t["history"][-1]["at"] == api.clock.now().isoformat()
    assert (await api.ok("GET", "/api/v1/unrouted"))["alerts"] == []
    # routing twice: no such unrouted alert any more
    twice = await api.call("POST", "/api/v1/unrouted/route", as_="admin", json=route)
    assert twice.status == 404
    # the next repeat lands on the routed ticket
    again = await fire(api, "5555000000000001", labels)
    assert again["duplicate"] == 1 and again["tickets"] == [routed["ticket"]]


async def test_routing_an_unrouted_alert_refuses_unknown_customer_or_foreign_device(api):
    await fire(api, "6666000000000001", {"customer": "nobody"})
    base = {"source": "prometheus", "identity": "6666000000000001"}
    r = await api.call(
        "POST", "/api/v1/unrouted/route", as_="admin", json={**base, "customer": "nobody"}
    )
    assert r.status == 400
    r = await api.call(
        "POST",
        "/api/v1/unrouted/route",
        as_="admin",
        json={**base, "customer": "acme", "device": "brno-core"},
    )
    assert r.status == 400
    assert len((await api.ok("GET", "/api/v1/unrouted"))["alerts"]) == 1


# -- major incidents ------------------------------------------------------------------------


def _major_cfg(make_config: Any, threshold: int = 3) -> Any:
    def edit(d: dict) -> None:
        d["major_incidents"] = {"threshold": threshold, "window": "10m", "group_by": ["alertname"]}

    return make_config(edit)


async def test_major_incident_opens_at_threshold_and_resolves_children(start_api, make_config):
    api = await start_api(_major_cfg(make_config))
    keys = []
    for i, dev in enumerate(["acme-edge", "acme-db"]):
        body = await fire(
            api, f"7777{i:012d}", {"device": dev}, alertname="LinkDown", severity="warning"
        )
        keys += body["tickets"]
        api.clock.advance(60)
    # below the threshold: no major yet
    assert all(t["kind"] == "incident" and t["parent"] is None for t in await api.list())
    # another alert name does not count
    await fire(api, "7777999999999999", {"device": "acme-web"}, alertname="DiskFull")
    body = await fire(
        api, "777700000000000a", {"device": "acme-web"}, alertname="LinkDown", severity="critical"
    )
    keys += body["tickets"]
    majors = await api.list(kind="major")
    assert len(majors) == 1
    major = majors[0]
    assert major["customer"] == "acme"
    assert major["priority"] == "P1"  # the most urgent member
    assert major["entered_at"] == START.isoformat()  # the earliest member
    for key in keys:
        assert (await api.get(key))["parent"] == major["id"]
    # the queue lists the major before its children
    queue = await api.list(customer="acme")
    assert queue[0]["id"] == major["id"]
    # a further alert of the flood hangs under the existing major; no second major
    body = await fire(api, "777700000000000b", {"customer": "acme"}, alertname="LinkDown")
    child = await api.get(body["tickets"][0])
    assert child["parent"] == major["id"]
    assert len(await api.list(kind="major")) == 1
    # resolving the major resolves the children
    await api.assign(major["id"])
    await api.move(major["id"], "resolved")
    for key in [*keys, child["id"]]:
        t = await api.get(key)
        assert t["status"] == "resolved", key
        assert t["history"][-1]["actor"] == "major-incident"
    other = [t for t in await api.list() if t["title"].startswith("DiskFull")]
    assert other and other[0]["status"] == "new"


async def test_major_incident_window(start_api, make_config):
    api = await start_api(_major_cfg(make_config))
    for i, dev in enumerate(["acme-edge", "acme-db", "acme-web"]):
        await fire(api, f"8888{i:012d}", {"device": dev}, alertname="LinkDown")
        api.clock.advance(timedelta(minutes=6))  # 0, 6, 12 min: never 3 within 10 min
    assert await api.list(kind="major") == []


# -- authentication --------------------------------------------------------------------------


def _am_body() -> bytes:
    return encode(am_payload(am_alert("9999000000000001", {"device": "acme-db"})))


@pytest.mark.parametrize(
    ("source", "headers"),
    [
        ("prometheus", {}),
        ("prometheus", {"Authorization": "Bearer wrong-token"}),
        ("prometheus", {"Authorization": f"Basic {AM_TOKEN}"}),
        ("prometheus", {"Authorization": "Bearer"}),
        ("zabbix", {"Authorization": basic("zabbix", "wrong")}),
        ("zabbix", {"Authorization": "Basic !!notbase64"}),
        ("zabbix", {}),
        ("generic", {"Authorization": f"Bearer {AM_TOKEN}"}),  # another source's token
        (
            "grafana",
            {
                "X-Grafana-Alert-Signature": "0" * 64,
                "X-Grafana-Alerting-Signature-Timestamp": "1791183600",
            },
        ),
        ("grafana", {}),
    ],
)
async def test_auth_failures_are_401_store_nothing_and_are_counted(api, engines, source, headers):
    before_rows = count_rows(engines)
    before = await metric(
        api, "slabridge_notifications_received_total", source=source, outcome="rejected-auth"
    )
    body = (
        fixture_bytes("grafana", "v1-firing-single.json") if source == "grafana" else (_am_body())
    )
    reply = await post(api, source, body, headers=headers)
    assert reply.status == 401, reply
    assert "error" in reply.body
    assert reply.headers.get("WWW-Authenticate")
    assert count_rows(engines) == before_rows
    after = await metric(
        api, "slabridge_notifications_received_total", source=source, outcome="rejected-auth"
    )
    assert after == before + 1


async def test_grafana_hmac_timestamp_window(api, engines):
    body = fixture_bytes("grafana", "v1-firing-single.json")
    empty = count_rows(engines)
    # signed 6 minutes ago (max_age 5m): stale, even though the signature is right
    stale = grafana_headers(body, api.clock.now() - timedelta(minutes=6))
    assert (await post(api, "grafana", body, headers=stale)).status == 401
    # from the future as well
    future = grafana_headers(body, api.clock.now() + timedelta(minutes=6))
    assert (await post(api, "grafana", body, headers=future)).status == 401
    # a valid signature over another body
    other = grafana_headers(body + b" ", api.clock.now())
    assert (await post(api, "grafana", body, headers=other)).status == 401
    assert count_rows(engines) == empty
    # signed 4 minutes ago: fine
    ok = grafana_headers(body, api.clock.now() - timedelta(minutes=4))
    reply = await post(api, "grafana", body, headers=ok)
    assert reply.status == 200 and reply.body["accepted"] == 1
    assert (
        await metric(
            api, "slabridge_notifications_received_total", source="grafana", outcome="rejected-auth"
        )
        == 3
    )


# -- every source type from a recorded payload ------------------------------------------------


@pytest.mark.parametrize(
    ("source", "kind", "name", "customer", "priority"),
    [
        ("prometheus", "alertmanager", "prom-firing-single.json", "acme", "P1"),
        ("grafana", "grafana", "v1-firing-single.json", "acme", "P1"),
        ("pagerduty", "pagerduty", "v2-trigger.json", "acme", "P1"),
        ("zabbix", "zabbix", "v1-problem.json", "acme", "P2"),
        ("generic", "generic", "single-firing.json", "acme", "P1"),
    ],
)
async def test_every_source_type_opens_a_ticket_from_a_recorded_payload(
    start_api, make_config, source, kind, name, customer, priority
):
    def edit(d: dict) -> None:
        pd = next(s for s in d["sources"] if s["name"] == "pagerduty")
        pd["routing"][0]["map"][PD_FIXTURE_KEY] = "acme"

    api = await start_api(make_config(edit))
    body = fixture_bytes(kind, name)
    reply = await post(api, source, body)
    assert reply.status == 200, reply
    assert reply.body["accepted"] == 1, reply
    t = await only_ticket(api, reply.body)
    assert t["customer"] == customer
    assert t["origin"] == "monitoring"
    assert t["priority"] == priority
    assert t["alerts"][0]["source"] == source
    # and the recorded body redelivered is a duplicate
    again = await post(api, source, body)
    assert again.status == 200 and again.body["duplicate"] == 1 and again.body["accepted"] == 0
    assert len((await api.get(t["id"]))["history"]) == len(t["history"])


async def test_recorded_fire_then_resolve_pairs(start_api, make_config):
    def edit(d: dict) -> None:
        pd = next(s for s in d["sources"] if s["name"] == "pagerduty")
        pd["routing"][0]["map"][PD_FIXTURE_KEY] = "acme"

    api = await start_api(make_config(edit))
    pairs = [
        ("prometheus", "alertmanager", "prom-firing-single.json", "prom-resolved-single.json"),
        ("grafana", "grafana", "v1-firing-single.json", "v1-resolved-single.json"),
        ("pagerduty", "pagerduty", "v2-trigger.json", "v2-resolve.json"),
        ("zabbix", "zabbix", "v1-problem.json", "v1-recovery.json"),
        ("generic", "generic", "single-firing.json", "single-resolved.json"),
    ]
    for source, kind, fire_name, resolve_name in pairs:
        opened = await post(api, source, fixture_bytes(kind, fire_name))
        assert opened.status == 200, (source, opened)
        (key,) = opened.body["tickets"]
        api.clock.advance(60)
        resolved = await post(api, source, fixture_bytes(kind, resolve_name))
        assert resolved.status == 200, (source, resolved)
        assert resolved.body["tickets"] == [key], (source, resolved)
        kinds = [e["kind"] for e in (await api.get(key))["history"]]
        assert kinds == ["created", "recovery"], (source, kinds)


# -- refused input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "body", "content_type", "status"),
    [
        ("prometheus", b"{not json", "application/json", 400),
        ("prometheus", b"\xff\xfe", "application/json", 400),
        ("prometheus", b'{"version": "4"}', "application/json", 400),
        ("prometheus", encode(am_payload(am_alert("x", {}))), "text/plain", 415),
        ("prometheus", b"[" + b" " * (1024 * 1024) + b"]", "application/json", 413),
        ("no-such-source", b"{}", "application/json", 404),
    ],
)
async def test_bad_requests_are_json_4xx_and_store_nothing(
    api, engines, source, body, content_type, status
):
    before = count_rows(engines)
    headers = {"Authorization": f"Bearer {AM_TOKEN}", "Content-Type": content_type}
    reply = await post(api, source, body, headers=headers)
    assert reply.status == status, reply
    assert isinstance(reply.body, dict) and reply.body["error"]
    assert count_rows(engines) == before


async def test_invalid_payload_names_the_path(api):
    payload = am_payload(am_alert("abcd000000000001", {"device": "acme-db"}))
    del payload["alerts"][0]["fingerprint"]
    reply = await post(api, "prometheus", payload)
    assert reply.status == 400
    assert reply.body["path"] == "alerts[0].fingerprint"
    assert (
        await metric(
            api,
            "slabridge_notifications_received_total",
            source="prometheus",
            outcome="rejected-invalid",
        )
        == 1
    )


async def test_oversized_fields_are_refused_or_truncated_not_500(api, engines):
    """Column widths (identity 256, severity 64, alertname 256) hold on PostgreSQL too."""
    before = count_rows(engines)
    long_id = am_alert("f" * 300, {"device": "acme-db"})
    reply = await post(api, "prometheus", am_payload(long_id))
    assert reply.status == 400, reply
    assert "256" in reply.body["problem"]
    assert count_rows(engines) == before
    wide = am_alert(
        "abcd000000000002", {"device": "acme-db"}, severity="s" * 100, alertname="A" * 400
    )
    reply = await post(api, "prometheus", am_payload(wide))
    assert reply.status == 200, reply
    t = await only_ticket(api, reply.body)
    assert t["priority"] == "P3"
