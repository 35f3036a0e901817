"""A month report another node has claimed is left to it until its claim expires; then this
node builds and keeps it (the other one died while building). Both stores, injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge import jobs
from bridge.api.sla import POLICIES
from bridge.nodes import claims
from tests.conftest import Api


async def test_a_month_claimed_by_another_node_waits_for_its_lease(api: Api) -> None:
    at = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 06:30 on the report day, local
    api.clock.set(at)
    lease = api.cfg.nodes.claim_lease
    await api.services.write(
        lambda conn: claims.claim(conn, jobs.REPORT_JOB, "acme:2026-10", "other", at, lease)
    )
    kept = await jobs.run_monthly_reports(api.services, api.app[POLICIES])
    assert kept == len(api.cfg.customers) - 1, "every customer but the claimed one"
    versions = await api.ok("GET", "/api/v1/reports/acme/2026-10/versions", as_="carol")
    assert versions["versions"] == []

    api.clock.advance(timedelta(seconds=lease + 1))  # the other node never finished
    assert await jobs.run_monthly_reports(api.services, api.app[POLICIES]) == 1
    versions = await api.ok("GET", "/api/v1/reports/acme/2026-10/versions", as_="carol")
    assert [v["version"] for v in versions["versions"]] == [1]
    assert await jobs.run_monthly_reports(api.services, api.app[POLICIES]) == 0
