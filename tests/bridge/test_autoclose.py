"""Auto-close: a resolved ticket nobody answers closes at the end of its customer's verification
window, dated at the deadline (not when the job happened to run); a reopen cancels it."""

from __future__ import annotations

from datetime import timedelta

from bridge import tickets as tk
from bridge.jobs import run_auto_close


async def _resolved(api, customer: str = "acme") -> tuple[str, dict]:
    key = (await api.create(customer=customer))["id"]
    await api.assign(key, "alice")
    return key, await api.move(key, "resolved")


async def test_it_closes_after_the_window_at_the_deadline(api) -> None:
    key, resolved = await _resolved(api)
    resolved_at = api.clock.now()
    deadline = resolved_at + timedelta(hours=24)  # acme: verification_window 24h
    assert resolved["close_deadline"] == deadline.isoformat()

    api.clock.set(deadline - timedelta(seconds=1))
    assert await run_auto_close(api.services) == []
    assert (await api.get(key))["status"] == "resolved"

    api.clock.set(deadline + timedelta(hours=5, minutes=7))  # the job runs late
    closed_ids = await run_auto_close(api.services)
    assert [api.services.keys.format(i) for i in closed_ids] == [key]
    ticket = await api.get(key)
    assert ticket["status"] == "closed"
    assert ticket["close_reason"] == "no_answer"
    assert ticket["closed_at"] == deadline.isoformat()
    assert ticket["close_deadline"] is None
    last = ticket["history"][-1]
    assert last["kind"] == "status_changed"
    assert last["at"] == deadline.isoformat()
    assert last["actor"] == "auto-close"
    assert last["data"] == {
        "from": "resolved",
        "to": "closed",
        "rule": "close",
        "reason": "no answer within the verification window",
        "close_reason": "no_answer",
    }
    # Running again finds nothing to do.
    assert await run_auto_close(api.services) == []
    assert len((await api.get(key))["history"]) == len(ticket["history"])


async def test_the_window_is_the_customers(api) -> None:
    """brno-bank has no verification_window: the 24 h default; a variant gives acme 2 h."""
    key, resolved = await _resolved(api, "brno-bank")
    assert resolved["close_deadline"] == (api.clock.now() + timedelta(hours=24)).isoformat()


async def test_a_shorter_window_from_the_config(make_config, start_api) -> None:
    cfg = make_config(lambda d: d["customers"][0].update(verification_window="2h"))
    api = await start_api(cfg)
    key, resolved = await _resolved(api)
    deadline = api.clock.now() + timedelta(hours=2)
    assert resolved["close_deadline"] == deadline.isoformat()
    api.clock.advance(timedelta(hours=3))
    await run_auto_close(api.services)
    assert (await api.get(key))["closed_at"] == deadline.isoformat()


async def test_a_reopen_before_the_deadline_cancels_the_close(api) -> None:
    key, _ = await _resolved(api)
    api.clock.advance(timedelta(hours=23))
    reopened = await api.move(key, "in_progress", reason="still broken")
    assert reopened["close_deadline"] is None
    api.clock.advance(timedelta(hours=2))
    assert await run_auto_close(api.services) == []
    assert (await api.get(key))["status"] == "in_progress"
    # Resolving again starts a new window from the new resolution.
    again = await api.move(key, "resolved")
    new_deadline = api.clock.now() + timedelta(hours=24)
    assert again["close_deadline"] == new_deadline.isoformat()
    api.clock.set(new_deadline)
    assert len(await run_auto_close(api.services)) == 1
    assert (await api.get(key))["closed_at"] == new_deadline.isoformat()


async def test_a_verified_close_before_the_deadline_leaves_nothing_to_do(api) -> None:
    key, _ = await _resolved(api)
    api.clock.advance(timedelta(hours=1))
    closed = await api.move(key, "closed")
    assert (closed["close_reason"], closed["closed_at"]) == (
        "verified",
        api.clock.now().isoformat(),
    )
    api.clock.advance(timedelta(days=2))
    assert await run_auto_close(api.services) == []


async def test_close_due_closes_several_in_deadline_order(api) -> None:
    first, _ = await _resolved(api, "brno-bank")
    api.clock.advance(timedelta(minutes=10))
    second, _ = await _resolved(api, "acme")
    api.clock.advance(timedelta(days=3))
    now = api.clock.now()

    def run(conn):
        return tk.close_due(conn, now=now, actor="test")

    ids = await api.services.write(run)
    assert [api.services.keys.format(i) for i in ids] == [first, second]
    for key in (first, second):
        ticket = await api.get(key)
        assert ticket["history"][-1]["actor"] == "test"
        assert ticket["closed_at"] == ticket["history"][-1]["at"]
