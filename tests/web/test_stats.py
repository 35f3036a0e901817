"""/desk/stats groups the monthly reports' own ticket figures by engineer."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bridge.commands.demo_data import fill
from bridge.web.stats import months_between
from tests.web.people import sign_in


@pytest.fixture
async def demo(web):
    with web.engines.write.begin() as conn:
        fill(conn, web.cfg, 2026, 10)
    web.clock.set(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    return web


async def test_per_engineer_figures_match_the_monthly_reports(demo):
    reports = [await demo.ok("GET", f"/api/v1/reports/{c.id}/2026-10", as_="carol")
               for c in demo.cfg.customers]
    expected: dict[str, list[int]] = {}
    for report in reports:
        for row in report["tables"]["engineers"]["rows"]:
            if row["engineer"] != "(unassigned)":
                got = expected.setdefault(row["engineer"], [0, 0])
                got[0] += row["tickets"]
                got[1] += row["breaches"]
    assert expected
    await sign_in(demo.client, "alice")
    async with demo.client.get("/desk/stats", params={"from": "2026-10"}) as resp:
        assert resp.status == 200
        html = await resp.text()
    for name, (taken, breaches) in expected.items():
        row = html.split(f'data-engineer="{name}"')[1].split("</tr>")[0]
        cells = re.findall(r"<td>([^<]*)</td>", row)
        assert (int(cells[1]), int(cells[6])) == (taken, breaches)


async def test_a_bad_period_is_a_clear_400(web):
    await sign_in(web.client, "alice")
    async with web.client.get("/desk/stats", params={"from": "2026-13"}) as resp:
        assert resp.status == 400 and "not a month" in await resp.text()
    async with web.client.get("/desk/stats", params={"from": "2026-10", "to": "2026-09"}) as r:
        assert r.status == 400


def test_months_between_counts_inclusively_across_a_year():
    assert months_between("2026-11", "2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]
