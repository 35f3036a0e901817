"""What probes/ needs from the config: each device's probe settings and the debounce policy.

probes/ knows nothing of the config or of tickets; this is the one translation of a device's
`probe` section into its `DeviceSpec`.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bridge.config import Config
from probes.spec import DeviceSpec, IcmpSettings, SnmpSettings, ThresholdSpec
from probes.state import Policy


def policy(cfg: Config) -> Policy:
    p = cfg.probing
    return Policy(
        down_after=p.down_after,
        up_after=p.up_after,
        flap_changes=p.flap_changes,
        flap_window=timedelta(seconds=p.flap_window),
    )


def device_specs(cfg: Config) -> list[DeviceSpec]:
    """The probe settings of every configured device that has any."""
    out = []
    for d in cfg.devices:
        probe = d.probe
        if probe is None or (probe.icmp is None and probe.snmp is None):
            continue
        icmp = None
        if probe.icmp is not None:
            i = probe.icmp
            icmp = IcmpSettings(
                interval=i.interval,
                count=i.count,
                timeout=i.timeout,
                degraded_loss=i.degraded_loss,
                degraded_rtt_ms=i.degraded_rtt_ms,
            )
        snmp = None
        if probe.snmp is not None:
            s = probe.snmp
            thresholds = []
            for t in s.thresholds:
                if t.above is not None:
                    thresholds.append(ThresholdSpec(t.name, t.oid.lstrip("."), ">", t.above))
                if t.below is not None:
                    thresholds.append(ThresholdSpec(t.name, t.oid.lstrip("."), "<", t.below))
            snmp = SnmpSettings(
                version="2c" if s.version == "v2c" else "3",
                port=s.port,
                community=s.community,
                user=s.user,
                auth_protocol=s.auth_protocol.lower(),
                auth_key=s.auth_key,
                priv_protocol=s.priv_protocol.lower(),
                priv_key=s.priv_key,
                timeout=s.timeout,
                retries=s.retries,
                interval=s.interval,
                interfaces=tuple(s.interfaces),
                thresholds=tuple(thresholds),
            )
        parent = d.depends_on
        out.append(DeviceSpec(id=d.id, address=d.ip, parent=parent, icmp=icmp, snmp=snmp))
    # a parent without probes of its own cannot gate its children
    probed = {s.id for s in out}
    return [s if s.parent in probed or s.parent is None else _orphan(s) for s in out]


def without_icmp(specs: list[DeviceSpec]) -> list[DeviceSpec]:
    """The specs with their ICMP checks dropped (no ICMP on this host); SNMP checks stay."""
    kept = [dataclasses.replace(s, icmp=None) for s in specs if s.snmp is not None]
    ids = {s.id for s in kept}
    return [s if s.parent is None or s.parent in ids else _orphan(s) for s in kept]


def _orphan(spec: DeviceSpec) -> DeviceSpec:
    return DeviceSpec(id=spec.id, address=spec.address, parent=None, icmp=spec.icmp, snmp=spec.snmp)


def site_specs(cfg: Config, every: list[DeviceSpec], site: str) -> list[DeviceSpec]:
    """The specs of the devices this site probes (`probe.sites` unset: every site)."""
    sites = {d.id: d.probe.sites if d.probe else None for d in cfg.devices}
    kept = [s for s in every if sites.get(s.id) is None or site in (sites.get(s.id) or [])]
    ids = {s.id for s in kept}
    return [
        s if s.parent is None or s.parent in ids else dataclasses.replace(s, parent=None)
        for s in kept
    ]
