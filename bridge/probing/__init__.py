"""Probes inside the service, across nodes and sites.

- specs: each device's probe settings from the config, and the debounce policy
- alerts: a state change as a normalized Alert for the one intake
- records: device_states intervals (each site's and the decided state), latest samples
- quorum: each site's observations folded into the device's decided state
- leases: which node of a site probes which target
- health: a site whose own network fails is *probe impaired*, never the customer's outage
- service: the Prober wired into the app (was bridge/prober.py)
"""

from bridge.probing.alerts import PROBE_SOURCES, ProbeAlert, change_to_alert
from bridge.probing.records import (
    DECISION,
    SampleBuffer,
    attach_to_parent,
    flush_samples,
    is_firing,
    record_state,
    record_unknown_gap,
)
from bridge.probing.specs import device_specs, policy, without_icmp

__all__ = [
    "DECISION",
    "PROBE_SOURCES",
    "ProbeAlert",
    "SampleBuffer",
    "attach_to_parent",
    "change_to_alert",
    "device_specs",
    "flush_samples",
    "is_firing",
    "policy",
    "record_state",
    "record_unknown_gap",
    "without_icmp",
]
