"""Webhook source types: one pure module per wire format, and the literal registry of them.

Each module exposes `parse(payload: object) -> list[Alert]` over already-decoded JSON, does no
I/O and reads no clock, and raises only `bridge.alert.ParseError` (path + short message) for
input it cannot accept. Adding a source is one module plus one line in `SOURCE_TYPES`; there is
no discovery by naming convention, so a misspelt type in the config fails at startup with the
list of known names instead of never loading.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from bridge.alert import Alert
from bridge.sources import alertmanager, generic, grafana, pagerduty, snmptrap, zabbix

Parser = Callable[[object], list[Alert]]
TruncatedCounter = Callable[[object], int]


@dataclass(frozen=True, slots=True)
class SourceType:
    """A registry entry.

    `truncated_count` is set for senders that cut long notifications and say how many alerts
    they left out; the ingest path reports that number and must never read the absent alerts
    as resolved.
    """

    name: str
    parse: Parser
    truncated_count: TruncatedCounter | None = None


SOURCE_TYPES: Mapping[str, SourceType] = MappingProxyType(
    {
        "alertmanager": SourceType(
            "alertmanager", alertmanager.parse, alertmanager.truncated_count
        ),
        "generic": SourceType("generic", generic.parse),
        "grafana": SourceType("grafana", grafana.parse, grafana.truncated_count),
        "pagerduty": SourceType("pagerduty", pagerduty.parse),
        # bridge.traps receives these over UDP and calls snmptrap.parse with the source's rules
        "snmptrap": SourceType("snmptrap", snmptrap.refuse_webhook),
        "zabbix": SourceType("zabbix", zabbix.parse),
    }
)


def get_source_type(type_name: str) -> SourceType:
    """The registry entry for `type_name`; LookupError naming the known types otherwise."""
    try:
        return SOURCE_TYPES[type_name]
    except KeyError:
        known = ", ".join(sorted(SOURCE_TYPES))
        raise LookupError(f'no webhook source type "{type_name}"; known: {known}') from None


def get_parser(type_name: str) -> Parser:
    """The parse function for `type_name`; LookupError naming the known types otherwise."""
    return get_source_type(type_name).parse


__all__ = [
    "SOURCE_TYPES",
    "Parser",
    "SourceType",
    "TruncatedCounter",
    "get_parser",
    "get_source_type",
]
