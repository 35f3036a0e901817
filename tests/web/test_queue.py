"""The queue at /desk: who sees it, views with counts, countdowns from the SLA engine, bulk
actions writing the same events as single ones; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.web.people import sign_in


async def _desk(web, path="/desk", **params) -> tuple[int, str]:
    async with web.client.get(path, params=params, allow_redirects=False) as resp:
        return resp.status, await resp.text()


async def test_the_queue_shows_unassigned_tickets_with_running_countdowns(web):
    t = await web.create(title="Edge <b>router</b> down", priority="P1")
    await sign_in(web.client, "alice")
    status, html = await _desk(web)
    assert status == 200
    assert f'data-ticket="{t["id"]}"' in html
    assert "Edge &lt;b&gt;router&lt;/b&gt; down" in html  # escaped
    assert re.search(r'data-view="unassigned"[^>]*>Unassigned <span class="count">1<', html)
    row = html.split(f'data-ticket="{t["id"]}"')[1].split("</tr>")[0]
    reaction = row.split('class="reaction"')[1]
    assert re.search(r'<span class="cd ?[a-z0-9 ]*" data-cd=\'\{.*"state": "running"', reaction)
    assert "15 m 00 s" in reaction  # P1 reaction target of the example: 15 minutes, 24x7


async def test_customers_get_403_and_readers_no_controls(web):
    await web.create()
    await sign_in(web.client, "acme-user")
    assert (await _desk(web))[0] == 403
    web.client.session.cookie_jar.clear()
    await sign_in(web.client, "carol")
    status, html = await _desk(web)
    assert status == 200 and "data-ticket=" in html
    assert 'type="checkbox"' not in html and "/desk/bulk" not in html


async def test_bulk_take_writes_one_assignment_per_ticket(web):
    keys = [(await web.create(title=f"t{i}"))["id"] for i in range(3)]
    csrf = await sign_in(web.client, "bob")
    data = [("csrf", csrf), ("action", "take")] + [("ticket", k) for k in keys]
    async with web.client.post("/desk/bulk", data=data, allow_redirects=False) as resp:
        assert resp.status == 303
    for k in keys:
        body = await web.get(k)
        assigned = [e for e in body["history"] if e["kind"] == "assigned"]
        assert [(e["actor"], e["data"]["assignee"]) for e in assigned] == [("bob", "bob")]
        assert body["status"] == "in_progress"


async def test_a_post_without_the_csrf_token_changes_nothing(web, snapshot):
    key = (await web.create())["id"]
    await sign_in(web.client, "bob")
    before = snapshot()
    async with web.client.post("/desk/bulk", data={"action": "take", "ticket": key}) as resp:
        assert resp.status == 403
    assert snapshot() == before


async def test_waiting_pauses_the_resolution_countdown(web):
    key = (await web.create())["id"]
    await web.assign(key, "alice")
    await web.move(key, "waiting")
    web.clock.advance(timedelta(minutes=10))
    await sign_in(web.client, "alice")
    _, html = await _desk(web, view="waiting")
    row = html.split(f'data-ticket="{key}"')[1].split("</tr>")[0]
    assert ">met<" in row and "paused ·" in row


async def test_a_bad_view_is_a_clear_400(web):
    await sign_in(web.client, "alice")
    status, html = await _desk(web, view="nope")
    assert status == 400 and "no view &#39;nope&#39;" in html
