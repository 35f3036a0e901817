"""Exposition text kept per series for the per-device families, so a scrape joins text that
changed instead of formatting tens of thousands of samples (see :class:`DeviceGauges`)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence

from prometheus_client.utils import floatToGoString


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class DeviceGauges:
    """A gauge family with a fixed set of series, kept as exposition text.

    With 10,000 devices the per-device families are most of a scrape, and formatting them
    in prometheus_client's encoder cost about twice a plain one-label gauge's samples (three
    labels each) on every scrape, holding the GIL while webhooks wait (bench/scrape.py).
    Here a series' line is formatted when its value changes and a family's text is joined
    only when something changed since the last scrape. Series are declared up front
    (:meth:`add`); setting an undeclared one raises ``KeyError``."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        self.name = name
        self.labelnames = tuple(labelnames)
        help_text = documentation.replace("\\", "\\\\").replace("\n", "\\n")
        if '"' in help_text:
            raise ValueError(f"{name}: no quotes in help text (OpenMetrics would escape them)")
        self._header = f"# HELP {name} {help_text}\n# TYPE {name} gauge\n"
        self._prefix: dict[tuple[str, ...], str] = {}
        self._lines: dict[tuple[str, ...], str] = {}
        self._values: dict[tuple[str, ...], float] = {}
        self._text: bytes | None = None
        self._lock = threading.Lock()

    def add(
        self, key: tuple[str, ...], labelvalues: Sequence[str], value: float = math.nan
    ) -> None:
        labels = ",".join(
            f'{n}="{_escape(v)}"' for n, v in zip(self.labelnames, labelvalues, strict=True)
        )
        with self._lock:
            self._prefix[key] = f"{self.name}{{{labels}}} "
            self._set(key, value)

    def set(self, key: tuple[str, ...], value: float) -> None:
        with self._lock:
            if key not in self._prefix:
                raise KeyError(f"no series {key} in {self.name}")
            self._set(key, value)

    def _set(self, key: tuple[str, ...], value: float) -> None:
        self._values[key] = value
        self._lines[key] = self._prefix[key] + floatToGoString(value) + "\n"
        self._text = None

    def get(self, key: tuple[str, ...]) -> float:
        return self._values[key]

    def text(self) -> bytes:
        with self._lock:
            if self._text is None:
                if not self._lines:
                    self._text = b""
                else:
                    self._text = (self._header + "".join(self._lines.values())).encode()
            return self._text


class DeviceCounters:
    """A counter family with a fixed set of series, kept as exposition text.

    Written as prometheus_client writes a labelled ``Counter`` (with its ``*_created``
    series): in the text format a ``<name>_total`` counter family and a ``<name>_created``
    gauge family, in OpenMetrics one ``<name>`` counter family. With 1,000 SNMP devices
    its 2,000 samples were half of what the encoder formatted at every scrape; the value
    rarely moves, so a line is formatted when it does. Undeclared series raise ``KeyError``.
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        *,
        wall_time: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.labelnames = tuple(labelnames)
        self._wall_time = wall_time
        help_text = documentation.replace("\\", "\\\\").replace("\n", "\\n")
        if '"' in help_text:
            raise ValueError(f"{name}: no quotes in help text (OpenMetrics would escape them)")
        self._headers = (
            f"# HELP {name}_total {help_text}\n# TYPE {name}_total counter\n",
            f"# HELP {name}_created {help_text}\n# TYPE {name}_created gauge\n",
            f"# HELP {name} {help_text}\n# TYPE {name} counter\n",
        )
        self._labels: dict[tuple[str, ...], str] = {}
        self._totals: dict[tuple[str, ...], str] = {}  # the _total line
        self._created: dict[tuple[str, ...], str] = {}  # the _created line
        self._values: dict[tuple[str, ...], float] = {}
        self._text: dict[bool, bytes] = {}  # openmetrics? → text, until something changes
        self._lock = threading.Lock()

    def add(self, key: tuple[str, ...], labelvalues: Sequence[str]) -> None:
        labels = ",".join(
            f'{n}="{_escape(v)}"' for n, v in zip(self.labelnames, labelvalues, strict=True)
        )
        created = floatToGoString(self._wall_time())
        with self._lock:
            self._labels[key] = labels
            self._created[key] = f"{self.name}_created{{{labels}}} {created}\n"
            self._values[key] = 0.0
            self._totals[key] = f"{self.name}_total{{{labels}}} {floatToGoString(0.0)}\n"
            self._text.clear()

    def inc(self, key: tuple[str, ...], amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("counters can only be incremented by non-negative amounts")
        with self._lock:
            if key not in self._labels:
                raise KeyError(f"no series {key} in {self.name}")
            value = self._values[key] + amount
            self._values[key] = value
            self._totals[key] = (
                f"{self.name}_total{{{self._labels[key]}}} {floatToGoString(value)}\n"
            )
            self._text.clear()

    def get(self, key: tuple[str, ...]) -> float:
        return self._values[key]

    def text(self, openmetrics: bool = False) -> bytes:
        with self._lock:
            text = self._text.get(openmetrics)
            if text is None:
                if not self._labels:
                    text = b""
                elif openmetrics:
                    body = "".join(self._totals[k] + self._created[k] for k in self._labels)
                    text = (self._headers[2] + body).encode()
                else:
                    text = (
                        self._headers[0]
                        + "".join(self._totals.values())
                        + self._headers[1]
                        + "".join(self._created.values())
                    ).encode()
                self._text[openmetrics] = text
            return text
