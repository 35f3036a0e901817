"""Charts reuse their figures and axes from one report to the next; the SVG must be byte for
byte what new axes give, whatever was drawn before."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

from reports import charts

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden"
CHARTS = (charts.availability_chart, charts.timeline_chart, charts.distribution_chart)


def _fresh(chart, report):
    charts._REUSE.cache = {}
    try:
        return chart(report)
    finally:
        charts._REUSE.cache = {}


def _variants() -> list[dict]:
    rnd = random.Random(5)
    out = []
    for path in sorted(GOLDEN.glob("*.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        out.append(report)
        for _ in range(4):
            v = copy.deepcopy(report)
            t = v["tables"]
            rows = t["availability"]["rows"]
            if rows:
                t["availability"]["rows"] = rnd.sample(rows, rnd.randint(1, len(rows)))
            for row in t["availability"]["rows"]:
                if rnd.random() < 0.3:
                    row["device"] = f"other-{rnd.randint(0, 9)}"
                if rnd.random() < 0.2:
                    row["availability_pct"] = None
            devices = {r["device"] for r in t["availability"]["rows"]}
            for name in ("outages", "maintenance"):
                t[name]["rows"] = [r for r in t[name]["rows"] if r["device"] in devices]
            tickets = t["tickets"]["rows"]
            t["tickets"]["rows"] = rnd.sample(tickets, rnd.randint(0, len(tickets)))
            v["policy"]["availability_target_pct"] = rnd.choice([99.5, 90.0, 99.99])
            out.append(v)
    rnd.shuffle(out)
    return out


def test_reused_axes_draw_what_new_axes_draw():
    variants = _variants()
    want = [[_fresh(chart, v) for chart in CHARTS] for v in variants]
    charts._REUSE.cache = {}
    got = [[chart(v) for chart in CHARTS] for v in variants]
    assert any(svg for row in got for svg in row)
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g == w, k
    assert [[chart(v) for chart in CHARTS] for v in variants[:3]] == want[:3]
