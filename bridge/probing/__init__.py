"""Probes inside the service, across nodes and sites.

- records: a state change as an Alert, device_states intervals, samples (was bridge/probing.py)
- quorum: each site's observations folded into the device's decided state
- leases: which node of a site probes which target
- health: a site whose own network fails is *probe impaired*, never the customer's outage
- service: the Prober wired into the app (was bridge/prober.py)
"""

from bridge.probing.records import (
    DECISION,
    PROBE_SOURCES,
    ProbeAlert,
    SampleBuffer,
    attach_to_parent,
    change_to_alert,
    device_specs,
    flush_samples,
    is_firing,
    policy,
    record_state,
    record_unknown_gap,
    without_icmp,
)

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
