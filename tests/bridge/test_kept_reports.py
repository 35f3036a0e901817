"""Monthly reports are kept once on the report day, regenerated on request, and each kept
version stays frozen with the policy it was computed with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import holidays
import pytest

from bridge import jobs, report_archive
from bridge.api.sla import POLICIES
from tests.conftest import Api, StartApi


async def _run_schedule(api: Api) -> int:
    return await jobs.run_monthly_reports(api.services, api.app[POLICIES])


async def test_the_schedule_keeps_last_month_once_when_the_report_day_has_come(
    api: Api,
) -> None:
    ticket = await api.create(priority="P2", origin="phone")
    # 05:00 in Warsaw and Prague on 1 November: before the report hour (06:00)
    api.clock.set(datetime(2026, 11, 1, 4, 0, tzinfo=UTC))
    september_and_before = await _run_schedule(api)
    assert september_and_before == 0

    api.clock.set(datetime(2026, 11, 1, 5, 30, tzinfo=UTC))  # 06:30 local
    assert await _run_schedule(api) == len(api.cfg.customers)
    assert await _run_schedule(api) == 0  # kept once; a restart does not keep it again

    versions = await api.ok("GET", "/api/v1/reports/acme/2026-10/versions", as_="carol")
    assert [(v["version"], v["generated_by"]) for v in versions["versions"]] == [(1, "schedule")]
    kept = await api.ok("GET", "/api/v1/reports/acme/2026-10/versions/1", as_="carol")
    assert kept["policy"]["name"] == "gold"
    assert kept["policy_hash"] == versions["versions"][0]["policy_hash"]
    ids = [row["ticket"] for row in kept["report"]["tables"]["tickets"]["rows"]]
    assert ids == [ticket["id"]]


async def test_a_regenerated_report_is_a_new_version_and_the_old_one_keeps_its_policy(
    api: Api, start_api: StartApi, make_config: Any
) -> None:
    await api.create(priority="P1", origin="phone")
    api.clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    first = await api.ok("POST", "/api/v1/reports/acme/2026-10/versions", 201, as_="carol")
    assert first["version"] == 1

    refused = await api.call("POST", "/api/v1/reports/acme/2026-10/versions", as_="alice")
    assert refused.status == 403
    foreign = await api.call("GET", "/api/v1/reports/acme/2026-10/versions", as_="brno-portal")
    assert foreign.status == 404

    await api.stop()

    def tighter(data: dict[str, Any]) -> None:
        data["sla_policies"]["gold"]["priorities"]["P1"]["reaction"] = "5m"

    changed = await start_api(cfg_=make_config(tighter))
    second = await changed.ok("POST", "/api/v1/reports/acme/2026-10/versions", 201, as_="carol")
    assert second["version"] == 2
    assert second["policy_hash"] != first["policy_hash"]

    old = await changed.ok("GET", "/api/v1/reports/acme/2026-10/versions/1", as_="carol")
    new = await changed.ok("GET", "/api/v1/reports/acme/2026-10/versions/2", as_="carol")
    assert old["policy"]["policy"]["priorities"]["P1"]["reaction"] == 15 * 60
    assert new["policy"]["policy"]["priorities"]["P1"]["reaction"] == 5 * 60
    assert old["report"] != new["report"]
    missing = await changed.call("GET", "/api/v1/reports/acme/2026-10/versions/9", as_="carol")
    assert missing.status == 404


async def test_new_holiday_tables_give_a_regenerated_report_a_new_policy_hash(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    first = await api.ok("POST", "/api/v1/reports/acme/2026-10/versions", 201, as_="carol")
    kept = await api.ok("GET", "/api/v1/reports/acme/2026-10/versions/1", as_="carol")
    assert kept["policy"]["holidays_version"] == holidays.__version__
    assert kept["report"]["policy"]["holidays_version"] == holidays.__version__
    monkeypatch.setattr(report_archive, "HOLIDAYS_VERSION", "9999.1")  # an upgrade
    second = await api.ok("POST", "/api/v1/reports/acme/2026-10/versions", 201, as_="carol")
    assert second["policy_hash"] != first["policy_hash"]
    kept = await api.ok("GET", "/api/v1/reports/acme/2026-10/versions/2", as_="carol")
    assert kept["policy"]["holidays_version"] == "9999.1"
