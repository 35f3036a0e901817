"""Jinja2 templates of bridge/web/templates, autoescaped: user text is always escaped."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from bridge.web.countdown import duration, label


def _hm(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bridge.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _hm
    env.filters["duration"] = duration
    env.globals["countdown_label"] = label
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def page(template: str, *, status: int = 200, **context: Any) -> web.Response:
    return web.Response(
        text=render(template, **context), status=status, content_type="text/html",
        headers={"Cache-Control": "no-store"},
    )
