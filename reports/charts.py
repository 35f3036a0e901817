"""Charts of a report as inline SVG (matplotlib, Agg backend), drawn from the report dict only.

Deterministic output: a fixed ``svg.hashsalt``, no date metadata, text kept as text
(``svg.fonttype: none``, which is also what makes a page of them fast and small).
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import AutoLocator, ScalarFormatter  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

__all__ = [
    "availability_chart", "charts", "distribution_chart", "timeline_chart", "workload_chart",
]

_RC = {
    "svg.hashsalt": "slabridge",
    "svg.fonttype": "none",
    "font.size": 8,
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_DIGITS = re.compile(r"(\d\.\d)\d+")
_METADATA = re.compile(r"<metadata>.*?</metadata>", re.DOTALL)
_BETWEEN = re.compile(r">\s+<")
_STYLE = re.compile(r'style="([^"]*)"')
RED, GREY, BLUE, GREEN = "#c0392b", "#95a5a6", "#2c6fbb", "#27ae60"


def _svg(fig: Figure, kind: str) -> str:
    """The figure as compact inline SVG. matplotlib repeats a whole ``style`` attribute on
    every element (a 200-byte font stack on each label, a fill on each scatter point): each
    distinct style becomes a class of the chart's own ``<style>`` (names prefixed by
    ``kind``, so the charts of one page never share one). Coordinates keep a tenth of a
    point, which no screen or printer shows; metadata and indentation go."""
    buf = io.StringIO()
    with plt.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "slabridge"})
    text = buf.getvalue()
    start = text.find("<svg")
    text = text[start:] if start >= 0 else text
    text = _BETWEEN.sub("><", _METADATA.sub("", _DIGITS.sub(r"\1", text)))
    classes: dict[str, str] = {}

    def to_class(m: re.Match[str]) -> str:
        name = classes.get(m.group(1))
        if name is None:
            name = classes[m.group(1)] = f"{kind}{len(classes)}"
        return f'class="{name}"'

    text = _STYLE.sub(to_class, text)
    rules = "".join(f".{name}{{{style}}}" for style, name in classes.items())
    return text.replace("</style>", rules + "</style>", 1)


def _figure(width: float, height: float) -> Figure:
    with plt.rc_context(_RC):
        fig = Figure(figsize=(width, height))
        # Fixed margins in inches (constrained layout costs 4x the drawing time).
        fig.subplots_adjust(left=1.0 / width, right=1 - 0.15 / width,
                            top=1 - 0.3 / height, bottom=0.5 / height)
        return fig


# Figures and axes are reused from one report to the next (per thread, per chart and size):
# building axes and their ticks costs about as much as drawing them. Before reuse every
# artist drawn from data is removed and the data limits, autoscaling and category units are
# reset to those of new axes, so the SVG is byte for byte the one fresh axes would give
# (tests/reports/test_charts.py checks it).
_REUSE = threading.local()
_REUSE_MAX = 16


def _axes(kind: str, height: float, make: Callable[[Figure], Any]) -> tuple[Figure, Any]:
    cache = getattr(_REUSE, "cache", None)
    if cache is None:
        cache = _REUSE.cache = {}
    key = (kind, height)
    hit = cache.get(key)
    if hit is None:
        if len(cache) >= _REUSE_MAX:
            cache.pop(next(iter(cache)))
        fig = _figure(6.5, height)
        hit = cache[key] = (fig, make(fig))
        return hit
    fig, axes = hit
    for ax in fig.axes:
        for artist in (*ax.patches, *ax.lines, *ax.collections, *ax.texts):
            artist.remove()
        ax.dataLim.set_points(Bbox.null().get_points())
        ax.ignore_existing_data_limits = True
        ax.set_autoscalex_on(True)
        ax.set_autoscaley_on(True)
        for axis in (ax.xaxis, ax.yaxis):
            if axis.units is not None:
                axis.units = None
                axis._converter = None  # the state of new axes (no warning)
                axis.set_major_locator(AutoLocator())
                axis.set_major_formatter(ScalarFormatter())
                axis.isDefault_majloc = axis.isDefault_majfmt = True
    return fig, axes


def availability_chart(report: dict[str, Any]) -> str | None:
    """Horizontal bars: availability per device, the target as a line."""
    rows = [r for r in report["tables"]["availability"]["rows"]
            if r["availability_pct"] is not None]
    if not rows:
        return None
    with plt.rc_context(_RC):
        fig, ax = _axes("availability", 0.6 + 0.28 * len(rows), lambda f: f.add_subplot())
        names = [r["device"] for r in rows][::-1]
        values = [r["availability_pct"] for r in rows][::-1]
        colors = [GREEN if r["met"] else RED for r in rows][::-1]
        target = report["policy"]["availability_target_pct"]
        ax.barh(names, values, color=colors, height=0.6)
        low = min(min(values), target)
        ax.set_xlim(max(0.0, low - max(0.05, (100 - low) * 0.25)), 100.0)
        ax.axvline(target, color="#333", linestyle="--", linewidth=1)
        ax.set_xlabel(f"availability % (target {target:g} %, dashed)")
        return _svg(fig, "ca")


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def timeline_chart(report: dict[str, Any]) -> str | None:
    """Per device, the outages (red) and maintenance (grey) over the month, local days."""
    devices = [r["device"] for r in report["tables"]["availability"]["rows"]]
    if not devices:
        return None
    period = report["period"]
    t0, t1 = _epoch(period["start"]), _epoch(period["end"])
    hours = (t1 - t0) / 3600
    with plt.rc_context(_RC):
        fig, ax = _axes("timeline", 0.7 + 0.3 * len(devices), lambda f: f.add_subplot())
        pos = {d: len(devices) - 1 - i for i, d in enumerate(devices)}
        for table, color in (("maintenance", GREY), ("outages", RED)):
            spans: dict[str, list[tuple[float, float]]] = {}
            for r in report["tables"][table]["rows"]:
                a = (_epoch(r["start"]) - t0) / 3600
                b = (_epoch(r["end"]) - t0) / 3600
                spans.setdefault(r["device"], []).append((a, max(b - a, hours / 400)))
            for dev, s in spans.items():
                ax.broken_barh(s, (pos[dev] - 0.3, 0.6), facecolors=color)
        ax.set_yticks(list(pos.values()), list(pos.keys()))
        ax.set_ylim(-0.6, len(devices) - 0.4)
        ax.set_xlim(0, hours)
        # Ticks at local midnights: days are 23 or 25 hours long around DST changes.
        zone = ZoneInfo(period["tz"])
        day = datetime.fromisoformat(period["start"]).astimezone(zone)
        ticks, labels = [], []
        while day.timestamp() < t1:
            if day.day == 1 or day.day % 5 == 0:
                ticks.append((day.timestamp() - t0) / 3600)
                labels.append(str(day.day))
            day = datetime.combine(day.date() + timedelta(days=1), day.time(), zone)
        ax.set_xticks(ticks, labels)
        ax.set_xlabel(f"day of {period['label']} ({period['tz']}); red: outage, grey: maintenance")
        return _svg(fig, "ct")


def distribution_chart(report: dict[str, Any]) -> str | None:
    """Reaction and resolution of each ticket as a share of its target, per priority."""
    rows = report["tables"]["tickets"]["rows"]
    if not rows:
        return None
    priorities = sorted({r["priority"] for r in rows})
    with plt.rc_context(_RC):
        fig, axes = _axes("distribution", 2.4, lambda f: f.subplots(1, 2, sharey=True))
        for ax, clock in zip(axes, ("reaction", "resolution"), strict=True):
            # One marker line per colour, unclipped: the SVG then holds one short element
            # per ticket instead of a clip group and a style per point.
            points: dict[str, tuple[list[float], list[float]]] = {
                BLUE: ([], []), RED: ([], []), GREY: ([], [])}
            for i, p in enumerate(priorities):
                sel = [r for r in rows if r["priority"] == p]
                for k, r in enumerate(sel):
                    state = r[f"{clock}_state"]
                    xs, ys = points[RED if state == "breached" else
                                    BLUE if state == "met" else GREY]
                    xs.append(i + ((k % 7) - 3) * 0.05)
                    ys.append(100.0 * r[clock] / r[f"{clock}_target"])
            for color, (xs, ys) in points.items():
                if xs:
                    ax.plot(xs, ys, "o", color=color, markersize=3.5, clip_on=False)
            ax.axhline(100, color="#333", linestyle="--", linewidth=1)
            ax.set_xticks(range(len(priorities)), priorities)
            ax.set_xlim(-0.6, len(priorities) - 0.4)
            ax.set_title(f"{clock} (% of target)")
        axes[0].set_ylabel("% of target; red breached, grey open")
        return _svg(fig, "cd")


def workload_chart(report: dict[str, Any]) -> str | None:
    """Tickets entered per local hour of the week as a heatmap (darker: more), the opening
    hours of the workload calendar outlined over it."""
    rows = report["tables"]["workload"]["rows"]
    if not any(r["total"] for r in rows):
        return None
    grid = [[r[f"h{h:02d}"] for h in range(24)] for r in rows]
    peak = max(max(g) for g in grid)
    with plt.rc_context(_RC):
        fig, ax = _axes("workload", 2.2, lambda f: f.add_subplot())
        ax.pcolormesh(range(25), range(8), grid, cmap="Blues", vmin=0, vmax=peak,
                      edgecolors="#ffffff", linewidth=0.3, rasterized=True)
        for day, shares in enumerate(report["workload"]["open"]):
            hour = 0
            while hour < 24:
                if shares[hour] > 0:
                    end = hour
                    while end < 24 and shares[end] > 0:
                        end += 1
                    start = hour + 1 - shares[hour]
                    stop = end - 1 + shares[end - 1]
                    ax.add_patch(Rectangle((start, day), stop - start, 1, fill=False,
                                           edgecolor=RED, linewidth=1))
                    hour = end
                else:
                    hour += 1
        ax.set_xlim(0, 24)
        ax.set_ylim(7, 0)
        ax.set_yticks([d + 0.5 for d in range(7)], [r["day"] for r in rows])
        ax.set_xticks(range(0, 25, 3))
        w = report["workload"]
        ax.set_xlabel(f"hour entered ({w['tz']}); darkest = {peak} tickets; red: opening "
                      f"hours of {w['calendar']}")
        return _svg(fig, "cw")


def charts(report: dict[str, Any]) -> dict[str, str | None]:
    """All charts of a report (a customer's or the desk's), by name."""
    tables = report["tables"]
    return {
        "availability": availability_chart(report) if "availability" in tables else None,
        "timeline": timeline_chart(report) if "availability" in tables else None,
        "distribution": distribution_chart(report) if "tickets" in tables else None,
        "workload": workload_chart(report),
    }
