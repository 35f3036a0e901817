"""Prometheus metrics on an explicit registry made in the app factory (never the global one).

- ``instruments``: what the request path and the probes update (:class:`Metrics`) and the
  fixed label vocabularies;
- ``exposition``: per-device families kept as text, formatted when a value changes;
- ``collectors``: ticket totals counted in the store, incrementally;
- ``availability``: month-to-date availability, cached between scrapes;
- ``sla_clocks``: the live SLA gauges, folding only the events written since the last scrape;
- ``route``: GET /metrics and the app key ``METRICS``.

Another part adds its own families with ``app[METRICS].register(collector)`` (a
prometheus_client ``Collector``; its ``collect()`` runs off the event loop at every scrape).
"""

from bridge.metrics.availability import AvailabilityCollector, MonthToDate
from bridge.metrics.collectors import TicketTotalsCollector
from bridge.metrics.exposition import DeviceCounters, DeviceGauges
from bridge.metrics.instruments import (
    ICMP_MODES,
    OUTCOMES,
    PROBE_CHECKS,
    PROBE_SOURCE,
    UNKNOWN_SOURCE,
    Metrics,
    probed_checks,
)
from bridge.metrics.route import (
    METRICS,
    SCRAPE_LOCK,
    add_routes,
    metrics_handler,
    register_store_collectors,
)

__all__ = [
    "ICMP_MODES",
    "METRICS",
    "OUTCOMES",
    "PROBE_CHECKS",
    "PROBE_SOURCE",
    "SCRAPE_LOCK",
    "UNKNOWN_SOURCE",
    "AvailabilityCollector",
    "DeviceCounters",
    "DeviceGauges",
    "Metrics",
    "MonthToDate",
    "TicketTotalsCollector",
    "add_routes",
    "metrics_handler",
    "probed_checks",
    "register_store_collectors",
]
