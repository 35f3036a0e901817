"""GET /metrics: both exposition formats, the catalogue, store-backed families, bounded labels."""

from __future__ import annotations

import math
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from bridge.config import Config
from bridge.lifecycle import Origin, Priority, Status
from bridge.metrics import ICMP_MODES, OUTCOMES, PROBE_CHECKS, UNKNOWN_SOURCE, Metrics
from bridge.metrics.collectors import TicketTotalsCollector
from bridge.store.schema import device_states, tickets
from tests.bridge.ingest_fixtures import am_alert, am_payload, post
from tests.conftest import REPO, Api
from tests.peers.alertmanager import amtool_binary

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


def _value(text: str, name: str, **labels: str) -> float | None:
    for (n, lab), v in _samples(text).items():
        if n == name and all(dict(lab).get(k) == x for k, x in labels.items()):
            return v
    return None


async def _scrape(api: Api, accept: str | None = None) -> str:
    headers = {"Accept": accept} if accept else None
    reply = await api.call("GET", "/metrics", as_=None, headers=headers)
    assert reply.status == 200, reply
    return reply.body


# Formats ------------------------------------------------------------------------------------


async def test_it_serves_the_prometheus_text_format_by_default(api: Api) -> None:
    reply = await api.call("GET", "/metrics", as_=None)
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    names = {f.name for f in text_string_to_metric_families(reply.body)}
    assert {
        "slabridge_notifications_received",
        "slabridge_alerts_received",
        "slabridge_ingest_latency_seconds",
        "slabridge_store_errors",
        "slabridge_tickets_open",
        "slabridge_tickets_opened",
        "slabridge_tickets_closed",
        "slabridge_sla_tickets_at_risk",
        "slabridge_sla_tickets_breached",
        "slabridge_sla_time_to_breach_seconds",
        "slabridge_availability_month_to_date_ratio",
        "slabridge_device_up",
        "slabridge_probe_rtt_seconds",
        "slabridge_probe_loss_ratio",
        "slabridge_probe_cycle_duration_seconds",
        "slabridge_probe_last_cycle_timestamp_seconds",
        "slabridge_snmp_errors",
        "slabridge_scheduler_missed_runs",
        "slabridge_icmp_capability",
        "process_cpu_seconds",
        "python_info",
    } <= names


async def test_it_serves_openmetrics_when_asked(api: Api) -> None:
    reply = await api.call(
        "GET", "/metrics", as_=None, headers={"Accept": "application/openmetrics-text"}
    )
    assert reply.status == 200
    assert reply.headers["Content-Type"] == OPENMETRICS
    assert reply.body.endswith("# EOF\n")
    families = {f.name: f for f in openmetrics_families(reply.body)}  # strict parser
    assert families["slabridge_notifications_received"].type == "counter"
    assert families["slabridge_tickets_opened"].type == "counter"
    assert families["slabridge_sla_tickets_breached"].type == "gauge"
    sample = next(
        s
        for s in families["slabridge_notifications_received"].samples
        if s.labels == {"source": "prometheus", "outcome": "accepted"}
    )
    assert (sample.name, sample.value) == ("slabridge_notifications_received_total", 0)


# Catalogue ----------------------------------------------------------------------------------


async def test_webhooks_are_counted_by_source_and_outcome(api: Api) -> None:
    fp = "a1b2c3d4e5f60708"
    alert = am_alert(fp, {"customer": "acme"})
    assert (await post(api, "prometheus", am_payload(alert))).status == 200
    assert (await post(api, "prometheus", am_payload(alert))).status == 200  # redelivery
    bad = {"Authorization": "Bearer wrong-token-123"}
    assert (await post(api, "prometheus", am_payload(alert), headers=bad)).status == 401
    assert (await post(api, "nosuchsource", am_payload(alert), headers={})).status == 404

    text = await _scrape(api)
    n = "slabridge_notifications_received_total"
    assert _value(text, n, source="prometheus", outcome="accepted") == 1
    assert _value(text, n, source="prometheus", outcome="duplicate") == 1
    assert _value(text, n, source="prometheus", outcome="rejected-auth") == 1
    assert _value(text, n, source=UNKNOWN_SOURCE, outcome="rejected-invalid") == 1
    assert (
        _value(text, "slabridge_alerts_received_total", source="prometheus", outcome="accepted")
        == 1
    )
    assert _value(text, "slabridge_ingest_latency_seconds_count", source="prometheus") == 2
    assert _value(text, "slabridge_tickets_opened_total", customer="acme", origin="monitoring") == 1
    assert _value(
        text, "slabridge_tickets_open", customer="acme", priority="P1", status="new",
        origin="monitoring",
    ) == 1  # fmt: skip


async def test_ticket_totals_are_counted_in_the_store(api: Api) -> None:
    a = await api.create(priority="P2", origin="phone")
    await api.create(priority="P3", origin="phone")
    await api.create(customer="brno-bank", priority="P2", origin="email")
    await api.move(a["id"], "closed", close_reason="duplicate")

    text = await _scrape(api)
    opened, closed = "slabridge_tickets_opened_total", "slabridge_tickets_closed_total"
    assert _value(text, opened, customer="acme", origin="phone") == 2
    assert _value(text, closed, customer="acme", origin="phone") == 1
    assert _value(text, opened, customer="brno-bank", origin="email") == 1
    assert _value(text, closed, customer="brno-bank", origin="email") == 0
    # every configured customer × origin exists, at zero
    assert _value(text, opened, customer="ops", origin="probe") == 0
    # the open-ticket gauge agrees with the store
    open_total = sum(v for (n, _), v in _samples(text).items() if n == "slabridge_tickets_open")
    assert open_total == 2


def _full_totals(engine: sa.Engine) -> dict[tuple[str, str], tuple[int, int]]:
    closed = sa.func.sum(sa.case((tickets.c.status == Status.CLOSED.value, 1), else_=0))
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(tickets.c.customer_id, tickets.c.origin, sa.func.count(), closed).group_by(
                tickets.c.customer_id, tickets.c.origin
            )
        ).all()
    return {(c, o): (int(n), int(k or 0)) for c, o, n, k in rows}


async def test_ticket_totals_kept_between_scrapes_equal_a_full_count(api: Api) -> None:
    """Tickets up to a settled id are counted once; later ones and closes still show."""
    ticks = [0.0]
    engine = api.services.engines.read
    totals = TicketTotalsCollector(api.services.cfg, engine, settle=10, monotonic=lambda: ticks[0])
    made: list[str] = []
    for round_ in range(4):
        for origin in ("phone", "email"):
            made.append((await api.create(priority="P3", origin=origin))["id"])
        if round_ >= 1:  # close a ticket whose id has settled by now, and a fresh one
            await api.move(made[round_ - 1], "closed", close_reason="duplicate")
            await api.move(made[-1], "closed", close_reason="duplicate")
        counts = totals.counts()
        full = _full_totals(engine)
        assert {k: v for k, v in counts.items() if v != (0, 0)} == full
        ticks[0] += 11  # the ids seen so far settle before the next round
    assert full[("acme", "phone")] == (4, 2)


def _interval(dev: str, state: str, start: datetime, end: datetime | None) -> dict:
    return {
        "device_id": dev,
        "check": "icmp",
        "state": state,
        "started_at": start,
        "ended_at": end,
        "detail": {},
    }


async def test_month_to_date_availability_follows_states_and_the_clock(api: Api) -> None:
    ratio = "slabridge_availability_month_to_date_ratio"
    text = await _scrape(api)
    assert _value(text, ratio, customer="acme") is None  # no monitoring data yet: absent

    # October in Warsaw starts 2026-09-30 22:00 UTC; the clock is at 2026-10-05 07:00 UTC.
    month_start = datetime(2026, 9, 30, 22, 0, tzinfo=UTC)
    down_at = datetime(2026, 10, 5, 6, 0, tzinfo=UTC)
    with api.engines.write.begin() as conn:
        conn.execute(
            sa.insert(device_states),
            [
                _interval("acme-edge", "up", month_start - timedelta(days=3), down_at),
                _interval("acme-edge", "down", down_at, None),  # still down
            ],
        )
    api.clock.advance(timedelta(seconds=61))  # past the collector's refresh
    text = await _scrape(api)
    elapsed = (api.clock.now() - month_start).total_seconds()
    # acme-db and acme-web have no data (excluded); only acme-edge counts
    assert _value(text, ratio, customer="acme") == pytest.approx(104 * 3600 / elapsed)
    assert _value(text, ratio, customer="brno-bank") is None

    api.clock.advance(timedelta(hours=1))
    text = await _scrape(api)
    assert _value(text, ratio, customer="acme") == pytest.approx(104 * 3600 / (elapsed + 3600))


def test_probe_series_exist_only_for_configured_probes_and_start_unknown(cfg: Config) -> None:
    metrics = Metrics(cfg, wall_time=lambda: 1_790_000_000.0)
    text = metrics.exposition()[0].decode()
    up = {
        dict(lab)["device"] + "/" + dict(lab)["check"]: v
        for (n, lab), v in _samples(text).items()
        if n == "slabridge_device_up"
    }
    assert sorted(up) == ["acme-db/icmp", "acme-edge/icmp", "acme-web/icmp", "brno-core/icmp",
                          "brno-core/snmp"]  # fmt: skip
    assert all(math.isnan(v) for v in up.values())
    assert _value(text, "slabridge_snmp_errors_total", device="brno-core") == 0
    assert _value(text, "slabridge_snmp_errors_total", device="acme-edge") is None
    assert _value(text, "slabridge_probe_last_cycle_timestamp_seconds") == 0

    metrics.probe_sample("acme-edge", "icmp", up=True, rtt_ms=12.5, loss=0.0)
    metrics.probe_sample("brno-core", "icmp", up=False, rtt_ms=None, loss=1.0)
    metrics.probe_cycle(0.8)
    metrics.snmp_error("brno-core")
    metrics.missed_run()
    metrics.icmp_capability("dgram")
    text = metrics.exposition()[0].decode()
    assert _value(text, "slabridge_device_up", customer="acme", device="acme-edge") == 1
    assert _value(text, "slabridge_device_up", device="brno-core", check="icmp") == 0
    assert _value(text, "slabridge_probe_rtt_seconds", device="acme-edge") == 0.0125
    assert math.isnan(_value(text, "slabridge_probe_rtt_seconds", device="brno-core", check="icmp"))
    assert _value(text, "slabridge_probe_loss_ratio", device="brno-core", check="icmp") == 1
    assert _value(text, "slabridge_probe_cycle_duration_seconds_count") == 1
    assert _value(text, "slabridge_probe_last_cycle_timestamp_seconds") == 1_790_000_000
    assert _value(text, "slabridge_snmp_errors_total", device="brno-core") == 1
    assert _value(text, "slabridge_scheduler_missed_runs_total") == 1
    modes = {m: _value(text, "slabridge_icmp_capability", mode=m) for m in ICMP_MODES}
    assert modes == {"raw": 0, "dgram": 1, "none": 0}


def test_probe_methods_refuse_what_the_config_does_not_name(cfg: Config) -> None:
    metrics = Metrics(cfg)
    with pytest.raises(KeyError, match="no probed device 'printer-7' in the config"):
        metrics.probe_sample("printer-7", "icmp", up=True)
    with pytest.raises(KeyError, match="device 'acme-edge' has no 'snmp' probe in the config"):
        metrics.snmp_error("acme-edge")
    with pytest.raises(KeyError, match="unknown ICMP mode 'magic'"):
        metrics.icmp_capability("magic")
    metrics.icmp_capability(None)
    text = metrics.exposition()[0].decode()
    assert _value(text, "slabridge_icmp_capability", mode="none") == 1


# Cardinality --------------------------------------------------------------------------------


def _vocabulary(cfg: Config) -> set[str]:
    return (
        {s.name for s in cfg.sources}
        | {c.id for c in cfg.customers}
        | {d.id for d in cfg.devices}
        | {UNKNOWN_SOURCE, *OUTCOMES, *PROBE_CHECKS, *ICMP_MODES}
        | {p.value for p in Priority}
        | {s.value for s in Status}
        | {o.value for o in Origin}
    )


async def _flood(api: Api, tag: str) -> list[str]:
    """Webhooks full of unique values; returns the markers that must never show up."""
    markers = []
    for i in range(5):
        m = f"zz{tag}{i}{uuid.uuid4().hex[:10]}"
        markers.append(m)
        routed = am_alert(
            f"{m}fp", {"customer": "acme", "instance": f"{m}-host:9100", "job": m},
            alertname=f"{m}Alert", severity=f"{m}sev", summary=f"free text {m} ünïcödé",
        )  # fmt: skip
        unrouted = am_alert(f"{m}fp2", {"customer": f"{m}cust", "team": m}, alertname=m)
        await post(api, "prometheus", am_payload(routed, unrouted))
        generic = {"id": f"{m}/id", "status": "firing", "title": f"{m} title",
                   "severity": m, "labels": {"customer": "brno-bank", m: m}}  # fmt: skip
        await post(api, "generic", generic)
        await post(api, "prometheus", b"{not json " + m.encode())
        await post(api, f"{m}src", am_payload(routed), headers={})
        await post(api, "prometheus", am_payload(routed), headers={"Authorization": f"Bearer {m}"})
    return markers


async def test_no_label_value_comes_from_a_payload(api: Api) -> None:
    # and the node's name and site, given on the command line (`serve --node --site`)
    allowed = _vocabulary(api.cfg) | {api.services.node.name, api.services.node.site}
    markers = await _flood(api, "a")
    first = await _scrape(api)
    markers += await _flood(api, "b")
    texts = [await _scrape(api), await _scrape(api, "application/openmetrics-text")]

    assert _value(texts[0], "slabridge_notifications_received_total",
                  source=UNKNOWN_SOURCE, outcome="rejected-invalid") == 10  # fmt: skip
    assert _value(texts[0], "slabridge_tickets_opened_total", customer="acme",
                  origin="monitoring") == 10  # fmt: skip
    for text in texts:
        assert not [m for m in markers if m in text]
    families = list(text_string_to_metric_families(texts[0]))
    for family in families:
        if family.name == "python_info":  # the interpreter's version, fixed per process
            continue
        for s in family.samples:
            for name, value in s.labels.items():
                if name == "le":
                    float(value)
                    continue
                assert value in allowed, (s.name, name, value)
    # twice as many unique values, not one series more
    assert len(_samples(first)) == len(_samples(texts[0]))


# Prometheus configuration and rules ----------------------------------------------------------

PROM_DIR = REPO / "config" / "prometheus"


def _run(*argv: str) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def test_promtool_accepts_the_example_rules_and_config(promtool: str) -> None:
    assert "SUCCESS: 4 rules found" in _run(promtool, "check", "rules",
                                             str(PROM_DIR / "slabridge-rules.yml"))  # fmt: skip
    assert "SUCCESS" in _run(promtool, "check", "config", str(PROM_DIR / "prometheus.yml"))


def test_amtool_accepts_the_example_alertmanager_config() -> None:
    amtool = amtool_binary()
    assert "SUCCESS" in _run(amtool, "check-config", str(PROM_DIR / "alertmanager.yml"))


def _series(name: str, values: str, **labels: str) -> dict[str, str]:
    lab = {"job": "slabridge", "instance": "127.0.0.1:8080", **labels}
    inner = ",".join(f'{k}="{v}"' for k, v in lab.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def test_the_rules_route_to_ops_and_keep_the_affected_customer(
    promtool: str, tmp_path: Path
) -> None:
    """promtool test rules: label rewriting, the ops self-exclusion, and the stalled prober."""
    breach = {
        "interval": "1m",
        "input_series": [
            _series(
                "slabridge_sla_time_to_breach_seconds",
                "1200 840 600",
                customer="acme",
                priority="P1",
            ),  # fmt: skip
            # the ops team's own tickets never raise the alert about themselves
            _series(
                "slabridge_sla_time_to_breach_seconds", "60 60 60", customer="ops", priority="P2"
            ),  # fmt: skip
        ],
        "alert_rule_test": [
            {"eval_time": "0m", "alertname": "SlabridgeSLABreachSoon", "exp_alerts": []},
            {
                "eval_time": "1m",
                "alertname": "SlabridgeSLABreachSoon",
                "exp_alerts": [
                    {
                        "exp_labels": {
                            "customer": "ops",
                            "severity": "high",
                            "sla_customer": "acme",
                            "sla_priority": "P1",
                        },
                        "exp_annotations": {
                            "summary": "SlabridgeSLABreachSoon: acme P1 ticket breaches its "
                            "SLA in 14m 0s",
                            "description": "An open P1 ticket of customer acme has 14m 0s of "
                            "business time left on its reaction or resolution clock. See GET "
                            "/api/v1/tickets?customer=acme and the ticket's /sla explanation.",
                        },
                    }
                ],
            },
        ],
    }
    stalled = {
        "interval": "1m",
        # cycles every minute for 10 minutes (timestamp = eval time), then none
        "input_series": [
            _series("slabridge_probe_last_cycle_timestamp_seconds", "0+60x10 600x20"),
            _series(
                "slabridge_device_up", "1x30", customer="acme", device="acme-edge", check="icmp"
            ),  # fmt: skip
        ],
        "alert_rule_test": [
            {"eval_time": "10m", "alertname": "SlabridgeProbeStalled", "exp_alerts": []},
            {"eval_time": "15m", "alertname": "SlabridgeProbeStalled", "exp_alerts": []},
            {
                "eval_time": "17m",
                "alertname": "SlabridgeProbeStalled",
                "exp_alerts": [
                    {
                        "exp_labels": {
                            "customer": "ops",
                            "severity": "high",
                            "job": "slabridge",
                            "instance": "127.0.0.1:8080",
                        },
                        "exp_annotations": {
                            "summary": "SlabridgeProbeStalled: no probe cycle on "
                            "127.0.0.1:8080 for 7m 0s",
                            "description": "The probe scheduler has not finished a cycle. "
                            "Look for missed runs (slabridge_scheduler_missed_runs_total), ICMP "
                            'capability (slabridge_icmp_capability{mode="none"}) and '
                            "slabridge's log.",
                        },
                    }
                ],
            },
        ],
    }
    spec = {
        "rule_files": [str(PROM_DIR / "slabridge-rules.yml")],
        "evaluation_interval": "1m",
        "tests": [breach, stalled],
    }
    path = tmp_path / "rules_test.yml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    _run(promtool, "test", "rules", str(path))
