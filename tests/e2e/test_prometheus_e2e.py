"""Real Prometheus scrapes a real `slabridge serve`; its breach rule closes the loop.

One stack for the module (slabridge, then Alertmanager, then Prometheus, all on loopback),
built from the shipped examples: config/example.yaml plus a test customer with targets of a
few seconds, config/prometheus/alertmanager.yml and prometheus.yml pointed at the free ports
and shortened to 1 s intervals, and config/prometheus/slabridge-rules.yml as shipped except
the breach threshold, a literal in the rule (the documented way to tune it).

(a) Prometheus sees the target up, and `sum(slabridge_tickets_open)` equals the API's count.
(b) A test-customer P1 ticket (reaction 20 s, resolution 40 s) comes within the threshold;
    SlabridgeSLABreachSoon fires, Alertmanager posts it to slabridge's `prometheus` source
    with the bearer token, and slabridge opens a monitoring ticket for the `ops` customer.

Waits are bounded polls. Prometheus 2.42 hands targets and Alertmanagers to its managers only
every 5 s (tests/peers/prometheus.py), so the first scrape and delivery come ~5 s after start.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.e2e import ENGINEER, REPO, SlabridgeServer, example_config
from tests.peers.alertmanager import Alertmanager
from tests.peers.prometheus import Prometheus

pytestmark = pytest.mark.peers

PROM_DIR = REPO / "config" / "prometheus"
SHIPPED_THRESHOLD = ") < 900\n"
TEST_THRESHOLD = ") < 30\n"  # seconds: every clock of the test customer starts under it
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _fast_customer(data: dict[str, Any]) -> None:
    data["sla_policies"]["fast"] = {
        "priorities": {
            p: {"reaction": f"{20 * k}s", "resolution": f"{40 * k}s", "calendar": "always"}
            for k, p in enumerate(("P1", "P2", "P3", "P4"), start=1)
        }
    }
    data["customers"].append(
        {
            "id": "sla-test",
            "name": "SLA loop test",
            "contract": "TEST-SLA-1",
            "timezone": "UTC",
            "sla_policy": "fast",
        }  # fmt: skip
    )


def _alertmanager_config(slabridge: SlabridgeServer) -> dict[str, Any]:
    cfg = yaml.safe_load((PROM_DIR / "alertmanager.yml").read_text())
    cfg["route"].update(group_wait="1s", group_interval="1s")
    hook = cfg["receivers"][0]["webhook_configs"][0]
    assert hook["url"].startswith("http://127.0.0.1:8080/")
    hook["url"] = hook["url"].replace("127.0.0.1:8080", f"127.0.0.1:{slabridge.port}")
    return cfg


def _prometheus_config(slabridge: SlabridgeServer) -> dict[str, Any]:
    cfg = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())
    cfg["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    # the launcher writes the rule file and the Alertmanager target itself
    cfg.pop("rule_files")
    cfg.pop("alerting")
    (job,) = cfg["scrape_configs"]
    job["scrape_timeout"] = "1s"
    job["static_configs"] = [{"targets": [f"127.0.0.1:{slabridge.port}"]}]
    return cfg


def _rules() -> str:
    text = (PROM_DIR / "slabridge-rules.yml").read_text()
    assert text.count(SHIPPED_THRESHOLD) == 1, "the breach threshold literal moved"
    return text.replace(SHIPPED_THRESHOLD, TEST_THRESHOLD)


@dataclass
class Stack:
    slabridge: SlabridgeServer
    alertmanager: Alertmanager
    prometheus: Prometheus

    def api(self, method: str, path: str, body: Any = None) -> Any:
        req = urllib.request.Request(
            self.slabridge.url + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={**ENGINEER, "Content-Type": "application/json"},
        )
        with _OPENER.open(req, timeout=10) as resp:
            return json.loads(resp.read())

    def tickets(self, **params: str) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in {"limit": "1000", **params}.items())
        return self.api("GET", f"/api/v1/tickets?{query}")["tickets"]

    def diagnostics(self) -> str:
        return (
            f"\n--- slabridge ---\n{self.slabridge.log_tail(30)}"
            f"\n--- alertmanager ---\n{self.alertmanager.log_tail(15)}"
            f"\n--- prometheus ---\n{self.prometheus.log_tail(15)}"
        )


def poll(fetch: Callable[[], Any], ok: Callable[[Any], bool], within: float, what: str,
         stack: Stack) -> Any:  # fmt: skip
    deadline = time.monotonic() + within
    last: Any = None
    while True:
        last = fetch()
        if ok(last):
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {within}s; last: {last!r}"
                                 + stack.diagnostics())  # fmt: skip
        time.sleep(0.25)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with SlabridgeServer(example_config(_fast_customer)) as slabridge:
        with Alertmanager(_alertmanager_config(slabridge)) as am:
            prom = Prometheus(
                _prometheus_config(slabridge),
                rule_files={"slabridge-rules.yml": _rules()},
                alertmanagers=[am.address],
            )
            with prom:
                yield Stack(slabridge, am, prom)


def _open_sum(prom: Prometheus) -> float | None:
    result = prom.query("sum(slabridge_tickets_open)")
    return float(result[0]["value"][1]) if result else None


def test_prometheus_scrapes_slabridge_and_counts_its_open_tickets(stack: Stack) -> None:
    stack.api(
        "POST", "/api/v1/tickets", {"customer": "acme", "title": "VPN down", "priority": "P2"}
    )
    stack.api("POST", "/api/v1/tickets", {"customer": "brno-bank", "title": "Slow core switch"})
    gone = stack.api("POST", "/api/v1/tickets", {"customer": "acme", "title": "Dup of VPN"})
    stack.api("POST", f"/api/v1/tickets/{gone['id']}/transition",
              {"to": "closed", "close_reason": "duplicate"})  # fmt: skip

    target = stack.prometheus.wait_for_target_up("slabridge", timeout=20)
    assert target["scrapeUrl"] == f"{stack.slabridge.url}/metrics"
    up = stack.prometheus.query('up{job="slabridge"}')
    assert [r["value"][1] for r in up] == ["1"]

    open_tickets = [t for t in stack.tickets() if t["status"] != "closed"]
    assert len(open_tickets) == 2
    poll(lambda: _open_sum(stack.prometheus), lambda v: v == len(open_tickets), 10,
         "sum(slabridge_tickets_open) equal to the API's open tickets", stack)  # fmt: skip
    opened = stack.prometheus.query("sum(slabridge_tickets_opened_total)")
    closed = stack.prometheus.query("sum(slabridge_tickets_closed_total)")
    assert (opened[0]["value"][1], closed[0]["value"][1]) == ("3", "1")


def test_an_imminent_breach_opens_an_ops_ticket_through_prometheus_and_alertmanager(
    stack: Stack,
) -> None:
    t = stack.api("POST", "/api/v1/tickets",
                  {"customer": "sla-test", "title": "Printer on fire", "priority": "P1",
                   "origin": "phone"})  # fmt: skip
    assert t["priority"] == "P1"

    def ops_tickets() -> list[dict[str, Any]]:
        return stack.tickets(customer="ops", origin="monitoring")

    # fires within ~1 s of the next scrape; Alertmanager: group_wait 1 s
    (ops,) = poll(ops_tickets, bool, 30, "an ops ticket from SlabridgeSLABreachSoon", stack)
    assert ops["title"].startswith("SlabridgeSLABreachSoon: sla-test P1 ticket breaches its SLA")
    assert "label alertname=SlabridgeSLABreachSoon" in ops["description"]
    assert "label sla_customer=sla-test" in ops["description"]
    assert ops["origin"] == "monitoring"
    assert ops["priority"] == "P2"  # severity high in the ops customer's policy
    firing = [a for a in stack.prometheus.alerts() if a["labels"]["alertname"] ==
              "SlabridgeSLABreachSoon"]  # fmt: skip
    assert {a["labels"]["sla_customer"] for a in firing} <= {"sla-test"}
