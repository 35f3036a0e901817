"""Jinja2 templates of bridge/web/templates, autoescaped: user text is always escaped."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape


def _hm(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def duration(seconds: int | float | None) -> str:
    """`1 d 2 h`, `3 h 05 m`, `4 m 09 s`; negative values are shown as overdue by the caller."""
    if seconds is None:
        return ""
    s = abs(int(seconds))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if d:
        return f"{d} d {h} h"
    if h:
        return f"{h} h {m:02d} m"
    return f"{m} m {s:02d} s"


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
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def page(template: str, *, status: int = 200, **context: Any) -> web.Response:
    return web.Response(
        text=render(template, **context), status=status, content_type="text/html",
        headers={"Cache-Control": "no-store"},
    )
