"""Routing an alert to a customer and a device by the source's rules; pure, no I/O."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from bridge.alert import Alert
from bridge.config import Config
from bridge.config.models import RouteRule
from bridge.lifecycle import Priority


@dataclass(frozen=True, slots=True)
class Route:
    customer_id: str | None
    device_id: str | None = None


def host_of(value: str) -> str | None:
    """The IP in an `instance`-style value: "127.0.0.1:9100", "[::1]:9100" or a bare address."""
    text = value.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


class Router:
    def __init__(self, cfg: Config) -> None:
        self._cfg = cfg
        self._devices = {d.id: d for d in cfg.devices}
        self._by_ip = {d.ip: d for d in cfg.devices}
        self._customers = {c.id: c for c in cfg.customers}
        self._by_contract = {c.contract: c for c in cfg.customers}

    def _candidate(self, rule: RouteRule, value: str) -> Route | None:
        if rule.to == "device":
            d = self._devices.get(value)
            return Route(d.customer, d.id) if d else None
        if rule.to == "ip":
            host = host_of(value)
            d = self._by_ip.get(host) if host else None
            return Route(d.customer, d.id) if d else None
        if rule.to == "customer":
            cid = rule.map.get(value) if rule.map is not None else value
            return Route(cid) if cid in self._customers else None
        c = self._by_contract.get(value)
        return Route(c.id) if c else None

    def route(self, alert: Alert, rules: list[RouteRule]) -> Route:
        """The first rule that names a customer decides; a device must belong to that customer."""
        found: list[Route] = []
        for rule in rules:
            value = alert.labels.get(rule.label)
            if value:
                cand = self._candidate(rule, str(value))
                if cand is not None:
                    found.append(cand)
        if not found:
            return Route(None)
        customer = found[0].customer_id
        device = next(
            (r.device_id for r in found if r.device_id and r.customer_id == customer), None
        )
        return Route(customer, device)

    def priority(self, customer_id: str, severity: str | None) -> Priority:
        customer = self._customers[customer_id]
        policy = self._cfg.sla_policies[customer.sla_policy]
        if severity:
            found = policy.severity_map.get(severity.strip().lower())
            if found is not None:
                return found
        return policy.default_priority
