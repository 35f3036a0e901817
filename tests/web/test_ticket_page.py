"""The ticket page: attributes, history, comments internal or to the customer, allowed actions
only, both SLA clocks explained, and a stale page refused with who changed the ticket when."""

from __future__ import annotations

from datetime import timedelta

from tests.web.people import sign_in


async def _page(web, key: str) -> tuple[int, str]:
    async with web.client.get(f"/desk/tickets/{key}") as resp:
        return resp.status, await resp.text()


async def _act(web, key: str, csrf: str, **form: str) -> tuple[int, str]:
    async with web.client.post(f"/desk/tickets/{key}", data={"csrf": csrf, **form}) as resp:
        return resp.status, await resp.text()


async def test_the_page_shows_attributes_clocks_and_history(web):
    t = await web.create(title="Disk <full>", device="acme-edge", priority="P2")
    web.clock.advance(timedelta(minutes=5))
    await web.assign(t["id"], "alice")
    await sign_in(web.client, "alice")
    status, html = await _page(web, t["id"])
    assert status == 200
    assert "Disk &lt;full&gt;" in html and "acme-edge" in html and t["contract"] in html
    clocks = html.split('id="clocks"')[1].split("</section>")[0]
    assert "Reaction: <span" in clocks and ">met<" in clocks
    assert "5 m 00 s counted of a 30 m 00 s target" in clocks
    assert "created #1 → assigned #2" in clocks
    history = html.split('id="history"')[1]
    assert history.count("<li ") == 3  # created, assigned, accepted
    assert 'data-action="take"' not in html  # alice holds it already
    assert 'data-action="resume"' not in html and 'data-action="waiting"' in html


async def test_comments_are_internal_or_to_the_customer_and_only_l1_talks_to_customers(web):
    key = (await web.create())["id"]
    csrf = await sign_in(web.client, "alice")
    assert (await _act(web, key, csrf, action="comment", note="Called them",
                       visibility="customer"))[0] == 200
    assert (await _act(web, key, csrf, action="comment", note="Looks like BGP",
                       visibility="internal"))[0] == 200
    web.client.session.cookie_jar.clear()
    csrf = await sign_in(web.client, "dave")  # L2
    status, html = await _act(web, key, csrf, action="comment", note="hi", visibility="customer")
    assert status == 409 and "only L1 talks to the customer" in html
    history = [e for e in (await web.get(key))["history"] if e["kind"] == "commented"]
    assert [(e["actor"], e["data"]["visibility"]) for e in history] == [
        ("alice", "customer"), ("alice", "internal")]
    _, page = await _page(web, key)
    assert 'value="customer"' not in page.split('id="actions"')[1].split("</section>")[0]


async def test_a_stale_page_names_who_changed_the_ticket_and_when(web, snapshot):
    key = (await web.create())["id"]
    csrf = await sign_in(web.client, "alice")
    _, html = await _page(web, key)
    rendered = html.split('name="version" value="')[1].split('"')[0]
    web.clock.advance(timedelta(minutes=3))
    await web.assign(key, "bob", as_="bob")  # a colleague, meanwhile
    before = snapshot()
    status, html = await _act(web, key, csrf, action="take", version=rendered)
    assert status == 409
    assert "changed by bob at 2026-10-05 07:03:00 UTC — reload" in html
    after = snapshot()
    after.pop("sessions"), before.pop("sessions")  # only the session's idle timer moved
    assert after == before


async def test_readers_see_no_actions_and_cannot_post(web):
    key = (await web.create())["id"]
    csrf = await sign_in(web.client, "carol")
    status, html = await _page(web, key)
    assert status == 200 and 'id="actions"' not in html
    assert (await _act(web, key, csrf, action="take"))[0] == 403


async def test_an_unknown_ticket_is_a_404_page(web):
    await sign_in(web.client, "alice")
    assert (await _page(web, "INC-999999"))[0] == 404
    assert (await _page(web, "nonsense"))[0] == 404
