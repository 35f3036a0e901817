"""Real Alertmanager (Debian package ``prometheus-alertmanager``) on 127.0.0.1:<free port>.

Clustering is disabled (``--cluster.listen-address=``): otherwise it gossips on 0.0.0.0:9094.
``Alertmanager(config)``: YAML text, a dict, or ``callable(port) -> either``; the default
config routes everything to a receiver with no integrations.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ._http import ConfigSpec, HttpPeer, async_wait_for, render_config, wait_for, write_yaml
from ._proc import PeerError, http_request, require_binary


def alertmanager_binary() -> str:
    return require_binary(
        ["/usr/bin/prometheus-alertmanager", "alertmanager", "prometheus-alertmanager"],
        "prometheus-alertmanager",
    )


def amtool_binary() -> str:
    return require_binary(["/usr/bin/amtool", "amtool"], "prometheus-alertmanager")


def null_config(port: int) -> dict[str, Any]:
    return {"route": {"receiver": "null"}, "receivers": [{"name": "null"}]}


def webhook_config(
    url: str, *, group_wait: str = "1s", group_interval: str = "1s",
    repeat_interval: str = "1h", group_by: Sequence[str] = ("alertname",),
    send_resolved: bool = True,
) -> dict[str, Any]:
    """A config sending every alert to one webhook (``url`` must be on 127.0.0.1)."""
    if not url.startswith(("http://127.", "http://localhost")):
        raise ValueError(f"webhook must be on loopback, got {url!r}")
    return {
        "route": {
            "receiver": "webhook",
            "group_by": list(group_by),
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
        },
        "receivers": [
            {
                "name": "webhook",
                "webhook_configs": [{"url": url, "send_resolved": send_resolved}],
            }
        ],
    }


class Alertmanager(HttpPeer):
    name = "alertmanager"
    tmp_prefix = "slabridge-am-"

    def __init__(
        self, config: ConfigSpec = None, *, extra_args: Sequence[str] = (),
        startup_timeout: float = 30.0,
    ) -> None:
        super().__init__(startup_timeout=startup_timeout)
        self.binary = alertmanager_binary()
        self.config_spec = config
        self.extra_args = list(extra_args)
        self.config: dict[str, Any] = {}

    @property
    def config_path(self):
        assert self.tmpdir is not None
        return self.tmpdir / "alertmanager.yml"

    def _write_files(self) -> None:
        self.config = render_config(self.config_spec, self.port, null_config)
        write_yaml(self.config_path, self.config)

    def _argv(self) -> list[str]:
        assert self.tmpdir is not None
        return [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.path={self.tmpdir / 'data'}",
            f"--web.listen-address={self.host}:{self.port}",
            f"--web.external-url={self.url}/",
            "--cluster.listen-address=",
            "--log.level=info",
            *self.extra_args,
        ]

    # -- API -------------------------------------------------------------------------------
    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """POST /api/v2/alerts. Each alert: {"labels": {...}, "annotations": {...},
        optional "startsAt"/"endsAt" (RFC3339), "generatorURL"}."""
        status, body = http_request(
            "POST", self.url + "/api/v2/alerts", json.dumps(alerts).encode()
        )
        if status != 200:
            raise PeerError(f"POST /api/v2/alerts: HTTP {status}: {body[:500]!r}")

    async def async_post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        import aiohttp

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
            async with s.post(self.url + "/api/v2/alerts", json=alerts) as resp:
                if resp.status != 200:
                    body = await resp.read()
                    raise PeerError(f"POST /api/v2/alerts: HTTP {resp.status}: {body[:500]!r}")

    def alerts(self) -> list[dict[str, Any]]:
        """GET /api/v2/alerts."""
        return self.get_json("/api/v2/alerts")

    async def async_alerts(self) -> list[dict[str, Any]]:
        return await self.async_get_json("/api/v2/alerts")

    def status(self) -> dict[str, Any]:
        return self.get_json("/api/v2/status")

    def reload(self) -> None:
        status, body = http_request("POST", self.url + "/-/reload")
        if status != 200:
            raise PeerError(f"reload failed: HTTP {status}: {body[:500]!r}")

    def wait_for(self, predicate, timeout: float = 20.0, what: str = "condition",
                 interval: float = 0.25) -> Any:
        return wait_for(predicate, None, timeout, what, interval)

    async def async_wait_for(self, predicate, timeout_s: float = 20.0, what: str = "condition",
                             interval: float = 0.25) -> Any:
        """``predicate`` is an async callable; polled without blocking the loop."""
        return await async_wait_for(predicate, None, timeout_s, what, interval)
