"""Real Prometheus (Debian package ``prometheus``) on 127.0.0.1:<free port>.

``Prometheus(config)`` where config is YAML text, a dict, or ``callable(port) -> either``
(for a self-scrape job the port is needed before start).

Timing (Prometheus 2.42 as packaged in Debian 12): ready in ~0.1 s, but service discovery
hands targets (scrape targets and Alertmanagers alike) to their managers only every 5 s, so
the first scrape / first alert delivery happens ~5 s after start. There is no flag for that
in 2.42. Default config: scrape itself every
second. ``rule_files`` ({name: yaml text}) are written beside the config and added to its
``rule_files``; ``alertmanagers`` (["127.0.0.1:PORT", ...]) become ``alerting`` targets.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._http import ConfigSpec, HttpPeer, async_wait_for, render_config, wait_for, write_yaml
from ._proc import PeerError, http_request, require_binary


def prometheus_binary() -> str:
    return require_binary(["/usr/bin/prometheus", "prometheus"], "prometheus")


def promtool_binary() -> str:
    """Path of ``promtool`` (``promtool check rules FILE``, ``promtool test rules FILE``)."""
    return require_binary(["/usr/bin/promtool", "promtool"], "prometheus")


def self_scrape_config(port: int, interval: str = "1s") -> dict[str, Any]:
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval,
                   "scrape_timeout": interval},
        "scrape_configs": [
            {"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
        ],
    }


class Prometheus(HttpPeer):
    name = "prometheus"
    tmp_prefix = "slabridge-prom-"

    def __init__(
        self,
        config: ConfigSpec = None,
        *,
        rule_files: Mapping[str, str] | None = None,
        alertmanagers: Sequence[str] = (),
        extra_args: Sequence[str] = (),
        resend_delay: str = "1s",
        startup_timeout: float = 30.0,
    ) -> None:
        super().__init__(startup_timeout=startup_timeout)
        self.resend_delay = resend_delay
        self.binary = prometheus_binary()
        self.promtool = promtool_binary()
        self.config_spec = config
        self.rule_files = dict(rule_files or {})
        self.alertmanagers = list(alertmanagers)
        self.extra_args = list(extra_args)
        self.config: dict[str, Any] = {}

    def _write_files(self) -> None:
        assert self.tmpdir is not None
        cfg = render_config(self.config_spec, self.port, self_scrape_config)
        if self.rule_files:
            rules_dir = self.tmpdir / "rules"
            rules_dir.mkdir(exist_ok=True)
            paths = []
            for name, text in self.rule_files.items():
                p = rules_dir / name
                p.write_text(text)
                paths.append(str(p))
            cfg["rule_files"] = list(cfg.get("rule_files") or []) + paths
        if self.alertmanagers:
            alerting = cfg.setdefault("alerting", {})
            ams = alerting.setdefault("alertmanagers", [])
            ams.append({"static_configs": [{"targets": self.alertmanagers}]})
        _check_loopback_targets(cfg)
        self.config = cfg
        write_yaml(self.config_path, cfg)

    @property
    def config_path(self):
        assert self.tmpdir is not None
        return self.tmpdir / "prometheus.yml"

    def _argv(self) -> list[str]:
        assert self.tmpdir is not None
        return [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.tmpdir / 'data'}",
            f"--web.listen-address={self.host}:{self.port}",
            # else generator/global URLs carry the machine's hostname
            f"--web.external-url={self.url}/",
            "--web.enable-lifecycle",
            # Default 1m: an alert that fired before Alertmanager discovery finished (~5s,
            # see below) would otherwise reach Alertmanager only a minute later.
            f"--rules.alert.resend-delay={self.resend_delay}",
            "--log.level=info",
            *self.extra_args,
        ]

    # -- API -------------------------------------------------------------------------------
    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; the ``data.result`` list (vector/matrix results)."""
        data = self.get_json("/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        return _result(data, expr)

    async def async_query(self, expr: str) -> list[dict[str, Any]]:
        data = await self.async_get_json(
            "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        )
        return _result(data, expr)

    def targets(self, state: str = "active") -> list[dict[str, Any]]:
        """Scrape targets (``activeTargets`` by default) from /api/v1/targets."""
        data = self.get_json("/api/v1/targets?" + urllib.parse.urlencode({"state": state}))
        return data["data"][f"{state}Targets"]

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts as Prometheus sees them (/api/v1/alerts): pending and firing."""
        return self.get_json("/api/v1/alerts")["data"]["alerts"]

    def rules(self) -> list[dict[str, Any]]:
        return self.get_json("/api/v1/rules")["data"]["groups"]

    def reload(self) -> None:
        """Re-read the config file (needs --web.enable-lifecycle, which is always on)."""
        status, body = http_request("POST", self.url + "/-/reload")
        if status != 200:
            raise PeerError(f"reload failed: HTTP {status}: {body[:500]!r}")

    def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition",
        interval: float = 0.25,
    ) -> Any:
        """Poll ``predicate()`` (e.g. ``lambda: prom.query('up')``) until truthy; return it."""
        return wait_for(predicate, None, timeout, what, interval)

    async def async_wait_for(
        self, predicate, timeout_s: float = 20.0, what: str = "condition",
        interval: float = 0.25,
    ) -> Any:
        """``predicate`` is an async callable; polled without blocking the loop."""
        return await async_wait_for(predicate, None, timeout_s, what, interval)

    def wait_for_target_up(self, job: str, timeout: float = 20.0) -> dict[str, Any]:
        def up() -> dict[str, Any] | None:
            for t in self.targets():
                if t["labels"].get("job") == job and t["health"] == "up":
                    return t
            return None

        return self.wait_for(up, timeout, f"target of job {job!r} up")


def _result(data: dict[str, Any], expr: str) -> list[dict[str, Any]]:
    if data.get("status") != "success":
        raise PeerError(f"query {expr!r} failed: {json.dumps(data)[:500]}")
    result = data["data"]["result"]
    return result if isinstance(result, list) else [result]


def _check_loopback_targets(cfg: Any) -> None:
    """Refuse configs that would make Prometheus talk to anything but loopback."""
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "targets" and isinstance(value, list):
                    for t in value:
                        host = str(t).rsplit(":", 1)[0]
                        if not (host.startswith("127.") or host == "localhost"):
                            raise ValueError(f"non-loopback target {t!r} in Prometheus config")
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(cfg)
