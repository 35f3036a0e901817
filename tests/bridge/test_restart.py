"""Restart: everything lives in the store. A new app on the same store sees every ticket and
history as it was, and applies the auto-close deadlines that passed while it was stopped."""

from __future__ import annotations

from datetime import timedelta

from bridge.app import StoreOptions, open_store


async def test_a_new_app_on_the_same_store_carries_on(start_api, store_url, clock) -> None:
    first = await start_api()
    open_key = (await first.create(title="still open", priority="P1"))["id"]
    await first.assign(open_key, "alice")
    await first.move(open_key, "waiting")
    await first.create(title="untouched", customer="brno-bank")
    done_key = (await first.create(title="fixed"))["id"]
    await first.assign(done_key, "bob")
    resolved = await first.move(done_key, "resolved")
    deadline = clock.now() + timedelta(hours=24)
    assert resolved["close_deadline"] == deadline.isoformat()
    before = {t["id"]: await first.get(t["id"]) for t in await first.list()}
    assert len(before) == 3
    await first.stop()

    # Stopped for two days; the deadline passed meanwhile. A new process opens the store anew.
    clock.advance(timedelta(days=2))
    engines = open_store(StoreOptions(store_url))
    try:
        second = await start_api(engines_=engines)
        after = {t["id"]: await second.get(t["id"]) for t in await second.list()}
        assert set(after) == set(before)
        for key in before:
            if key != done_key:
                assert after[key] == before[key]
        closed = after[done_key]
        assert closed["status"] == "closed"
        assert closed["close_reason"] == "no_answer"
        assert closed["closed_at"] == deadline.isoformat()
        assert closed["history"][:-1] == before[done_key]["history"]
        last = closed["history"][-1]
        assert (last["kind"], last["at"], last["actor"]) == (
            "status_changed",
            deadline.isoformat(),
            "auto-close",
        )
        # The queue carries on: numbering continues, the waiting ticket can be resumed.
        assert (await second.create(title="after restart"))["id"] == "INC-000004"
        resumed = await second.move(open_key, "in_progress")
        assert resumed["status"] == "in_progress"
        await second.stop()
    finally:
        engines.dispose()


async def test_a_deadline_still_ahead_is_kept_across_a_restart(start_api, clock) -> None:
    first = await start_api()
    key = (await first.create())["id"]
    await first.assign(key, "alice")
    deadline = clock.now() + timedelta(hours=24)
    await first.move(key, "resolved")
    await first.stop()
    clock.advance(timedelta(hours=1))
    second = await start_api()
    ticket = await second.get(key)
    assert (ticket["status"], ticket["close_deadline"]) == ("resolved", deadline.isoformat())


async def test_the_config_maintenance_is_synced_at_start(start_api, make_config, snapshot) -> None:
    await start_api()
    rows = snapshot()["maintenance"]
    assert [(r["device_id"], r["origin"], r["reason"]) for r in rows] == [
        ("acme-db", "config", "database engine upgrade, agreed with the customer")
    ]
    assert rows[0]["starts_at"] == "2026-10-03T20:00:00+00:00"
    # A restart with one window more replaces the config's windows, not adds to them.
    cfg = make_config(
        lambda d: d["maintenance"].append(
            {
                "customer": "brno-bank",
                "start": "2026-10-10T01:00:00+02:00",
                "end": "2026-10-10T03:00:00+02:00",
            }
        )
    )
    await start_api(cfg)
    rows = snapshot()["maintenance"]
    assert [(r["device_id"], r["customer_id"]) for r in rows] == [
        ("acme-db", None),
        (None, "brno-bank"),
    ]
