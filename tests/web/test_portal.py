"""The customer portal: two customers who never see each other's anything (404), the ticket
page with only what is meant for the customer, reply, "It works" with a rating, "Still
broken", a ticket opened with an urgency their policy maps, the status section, reports, CSRF
on every POST, and the live nudge. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bridge import tickets as tk
from bridge.lifecycle import Origin, Priority
from bridge.store.schema import device_states
from tests.web.people import add_customer_user, add_people, sign_in
from tests.web.streams import next_ticket_event


@pytest.fixture
async def portal(web):
    """The web app with a second customer's user, brno-user (customer brno-bank)."""
    add_customer_user(web.engines, web.cfg, "brno-user", "brno-bank")
    return web


async def _get(api, path: str) -> tuple[int, str]:
    async with api.client.get(path, allow_redirects=False) as resp:
        return resp.status, await resp.text()


async def _post(api, path: str, **form: str) -> tuple[int, str, str]:
    async with api.client.post(path, data=form, allow_redirects=False) as resp:
        return resp.status, await resp.text(), resp.headers.get("Location", "")


def _without_sessions(snap: dict) -> dict:
    snap.pop("sessions", None)  # a session's idle timer may move; nothing else may
    return snap


async def _resolved(api, **fields) -> str:
    key = (await api.create(**fields))["id"]
    await api.assign(key, "alice")
    await api.move(key, "resolved", reason="replaced the PSU; internal: spare from stock B")
    return key


async def test_each_customer_sees_its_own_tickets_open_and_closed(portal):
    mine = await portal.create(title="Edge <b>down</b>")
    done = await portal.create(title="Old printer")
    await portal.move(done["id"], "closed", close_reason="duplicate")
    theirs = await portal.create(customer="brno-bank", title="Core switch hot")
    await sign_in(portal.client, "acme-user")
    status, html = await _get(portal, "/portal")
    assert status == 200
    assert "Edge &lt;b&gt;down&lt;/b&gt;" in html and "<b>down</b>" not in html
    assert f'data-ticket="{mine["id"]}"' in html and f'data-ticket="{done["id"]}"' in html
    assert "Core switch hot" not in html and theirs["id"] not in html
    row = html.split(f'data-ticket="{done["id"]}"')[1].split("</tr>")[0]
    assert "closed (duplicate)" in row

    portal.client.session.cookie_jar.clear()
    await sign_in(portal.client, "brno-user")
    _, html = await _get(portal, "/portal")
    assert "Core switch hot" in html and "Edge &lt;b&gt;" not in html


async def test_another_customers_ticket_and_report_are_404_and_nothing_changes(portal, snapshot):
    brno = await _resolved(portal, customer="brno-bank", title="Core switch hot")
    csrf = await sign_in(portal.client, "acme-user")
    before = _without_sessions(snapshot())
    status, html = await _get(portal, f"/portal/tickets/{brno}")
    missing_status, missing = await _get(portal, "/portal/tickets/INC-999999")
    assert (status, missing_status) == (404, 404)
    assert "Core switch hot" not in html
    assert html.replace(brno, "KEY") == missing.replace("INC-999999", "KEY")
    assert (await _get(portal, "/portal/tickets/INC-x"))[0] == 404
    for action, form in [
        ("reply", {"text": "hi"}),
        ("works", {"rating": "5"}),
        ("broken", {"text": "no"}),
    ]:
        status, _, _ = await _post(portal, f"/portal/tickets/{brno}/{action}", csrf=csrf, **form)
        assert status == 404, action
    status, _ = await _get(portal, "/reports/brno-bank/2026-10")
    assert status == 404
    assert (await _get(portal, "/reports/acme/2026-10"))[0] == 200
    assert _without_sessions(snapshot()) == before


async def test_every_post_needs_the_csrf_token(portal, snapshot):
    key = await _resolved(portal)
    await sign_in(portal.client, "acme-user")
    before = _without_sessions(snapshot())
    for path, form in [
        (f"/portal/tickets/{key}/reply", {"text": "hi"}),
        (f"/portal/tickets/{key}/works", {"rating": "5"}),
        (f"/portal/tickets/{key}/broken", {"text": "no"}),
        ("/portal/tickets", {"title": "x", "urgency": "normal"}),
    ]:
        status, html, _ = await _post(portal, path, **form)
        assert status == 403 and "Form expired" in html, path
        status, _, _ = await _post(portal, path, csrf="forged", **form)
        assert status == 403, path
    assert _without_sessions(snapshot()) == before


async def test_staff_are_sent_home_and_nobody_to_sign_in(portal):
    assert (await _get(portal, "/portal"))[0] == 303
    await sign_in(portal.client, "alice")
    async with portal.client.get("/portal", allow_redirects=False) as resp:
        assert (resp.status, resp.headers["Location"]) == (303, "/desk")
    csrf = (await (await portal.client.get("/session")).json())["csrf"]
    key = (await portal.create())["id"]
    status, _, _ = await _post(portal, f"/portal/tickets/{key}/reply", csrf=csrf, text="hi")
    assert status == 403


async def test_a_customer_opens_a_ticket_with_an_urgency_mapped_by_their_policy(portal):
    csrf = await sign_in(portal.client, "acme-user")
    status, html = await _get(portal, "/portal/new")
    assert status == 200
    assert 'value="critical"' in html and "Critical</strong> — P2" in html
    assert "brno-core" not in html  # only their devices to choose from
    status, _, where = await _post(
        portal,
        "/portal/tickets",
        csrf=csrf,
        title="DB slow",
        description="since 9:00 <script>",
        device="acme-db",
        urgency="critical",
    )
    assert status == 303 and where.startswith("/portal/tickets/INC-")
    key = where.rsplit("/", 1)[1]
    ticket = await portal.get(key)
    assert (ticket["priority"], ticket["origin"], ticket["device"], ticket["customer"]) == (
        "P2",
        "customer",
        "acme-db",
        "acme",
    )
    assert ticket["history"][0]["actor"] == "acme-user"
    _, page = await _get(portal, where)
    assert "since 9:00 &lt;script&gt;" in page and "<script>" not in page.split("<main>")[1]
    _, listing = await _get(portal, "/portal")
    assert f'data-ticket="{key}"' in listing

    for form, problem in [
        ({"title": "x", "urgency": "panic"}, "Choose how urgent it is"),
        ({"title": "", "urgency": "low"}, "Give the ticket a title"),
        ({"title": "x", "urgency": "low", "device": "brno-core"}, "not one of yours"),
    ]:
        status, html, _ = await _post(portal, "/portal/tickets", csrf=csrf, **form)
        assert status == 400 and problem in html, form
    assert len(await portal.list()) == 1


async def test_a_policy_that_allows_it_gives_a_customer_p1(make_config, start_api):
    def edit(data):
        data["sla_policies"]["gold"]["urgency_map"] = {"critical": "P1", "low": "P3"}

    api = await start_api(make_config(edit))
    add_people(api.engines, api.cfg, "acme-user")
    csrf = await sign_in(api.client, "acme-user")
    for urgency, priority in [("critical", "P1"), ("high", "P2"), ("low", "P3")]:
        status, _, where = await _post(
            api, "/portal/tickets", csrf=csrf, title=urgency, urgency=urgency
        )
        assert status == 303
        assert (await api.get(where.rsplit("/", 1)[1]))["priority"] == priority


async def test_the_ticket_page_shows_only_what_is_meant_for_the_customer(portal):
    key = (await portal.create(title="VPN flaps"))["id"]
    await portal.assign(key, "alice")
    await portal.comment(key, "their firewall config is a mess")
    await portal.escalate(key, "L2", "needs a capture by dave")
    await portal.ok(
        "POST",
        f"/api/v1/tickets/{key}/comments",
        json={"text": "We are looking at the tunnel <now>", "visibility": "customer"},
    )
    await portal.move(key, "waiting", reason="Please send the tunnel log")
    csrf = await sign_in(portal.client, "acme-user")
    status, html = await _get(portal, f"/portal/tickets/{key}")
    assert status == 200
    # the session's random CSRF token may happen to spell "L2"
    shown = html.replace(csrf, "")
    for secret in ("firewall config", "capture by dave", "L2", "escalated", "assigned"):
        assert secret not in shown, secret
    history = html.split('id="history"')[1]
    assert "We are looking at the tunnel &lt;now&gt;" in history
    assert "We need something from you</strong>: Please send the tunnel log" in history
    assert 'id="status"><span class="badge waiting">waiting for you' in html
    assert 'action="/portal/tickets/' + key + '/reply"' in html


async def test_a_reply_is_the_customers_comment_seen_by_the_desk(portal, snapshot):
    key = (await portal.create())["id"]
    csrf = await sign_in(portal.client, "acme-user")
    status, _, where = await _post(
        portal, f"/portal/tickets/{key}/reply", csrf=csrf, text="  Port 3 blinks amber  "
    )
    assert (status, where) == (303, f"/portal/tickets/{key}")
    last = (await portal.get(key))["history"][-1]
    assert (last["kind"], last["actor"], last["data"]) == (
        "commented",
        "acme-user",
        {"text": "Port 3 blinks amber", "visibility": "customer", "by_customer": True},
    )
    _, html = await _get(portal, where)
    assert "<strong>You</strong>:" in html and "Port 3 blinks amber" in html
    before = _without_sessions(snapshot())
    status, html, _ = await _post(portal, f"/portal/tickets/{key}/reply", csrf=csrf, text=" ")
    assert status == 400 and "Write something" in html
    assert _without_sessions(snapshot()) == before


async def test_it_works_with_a_rating_closes_a_resolved_ticket_as_confirmed(portal):
    key = await _resolved(portal)
    csrf = await sign_in(portal.client, "acme-user")
    _, html = await _get(portal, f"/portal/tickets/{key}")
    assert "spare from stock" not in html  # the engineer's resolve note is internal
    assert 'data-action="works"' in html and 'data-action="broken"' in html
    assert 'data-action="reply"' not in html
    seq = html.split('name="resolution" value="')[1].split('"')[0]
    status, html, _ = await _post(
        portal, f"/portal/tickets/{key}/works", csrf=csrf, rating="6", resolution=seq
    )
    assert status == 400 and "from 1 to 5" in html
    status, _, _ = await _post(
        portal,
        f"/portal/tickets/{key}/works",
        csrf=csrf,
        rating="4",
        comment="Quick, thanks",
        resolution=seq,
    )
    assert status == 303
    ticket = await portal.get(key)
    assert (ticket["status"], ticket["close_reason"]) == ("closed", "verified")
    closed, note = ticket["history"][-2:]
    assert (closed["actor"], closed["data"]["reason"]) == ("acme-user", "confirmed by the customer")
    assert note["data"] == {
        "visibility": "customer",
        "by_customer": True,
        "text": "Quick, thanks",
        "rating": 4,
        "verification": "confirmed",
    }
    _, html = await _get(portal, f"/portal/tickets/{key}")
    assert "confirmed it works" in html and 'aria-label="4 of 5"' in html
    assert 'data-action="works"' not in html and "This ticket is closed" in html


async def test_still_broken_reopens_it_keeping_the_engineer(portal, snapshot):
    key = await _resolved(portal)
    csrf = await sign_in(portal.client, "acme-user")
    _, html = await _get(portal, f"/portal/tickets/{key}")
    seq = html.split('name="resolution" value="')[1].split('"')[0]
    before = _without_sessions(snapshot())
    status, html, _ = await _post(
        portal, f"/portal/tickets/{key}/broken", csrf=csrf, text="", resolution=seq
    )
    assert status == 400 and "what is still broken" in html
    assert _without_sessions(snapshot()) == before
    status, _, _ = await _post(
        portal, f"/portal/tickets/{key}/broken", csrf=csrf, text="Still no link", resolution=seq
    )
    assert status == 303
    ticket = await portal.get(key)
    assert (ticket["status"], ticket["assignee"]) == ("in_progress", "alice")
    _, html = await _get(portal, f"/portal/tickets/{key}")
    assert "<strong>Reopened</strong>: reopened by the customer" in html
    assert "said it is still broken" in html and "Still no link" in html

    # the old page's answer is for a resolution that is over: refused, nothing written
    await portal.move(key, "resolved")
    before = _without_sessions(snapshot())
    status, html, _ = await _post(
        portal, f"/portal/tickets/{key}/works", csrf=csrf, rating="5", resolution=seq
    )
    assert status == 409 and "moved on since you loaded the page" in html
    assert _without_sessions(snapshot()) == before


async def test_the_status_section_shows_devices_incidents_availability_and_reports(portal):
    t0 = datetime(2026, 9, 30, 22, 0, tzinfo=UTC)  # 1 October, 00:00 in Warsaw
    down = datetime(2026, 10, 5, 6, 0, tzinfo=UTC)
    with portal.engines.write.begin() as conn:
        conn.execute(
            sa.insert(device_states),
            [
                {
                    "device_id": "acme-edge",
                    "check": "icmp",
                    "state": "up",
                    "started_at": t0,
                    "ended_at": down,
                    "detail": {},
                },
                {
                    "device_id": "acme-edge",
                    "check": "icmp",
                    "state": "down",
                    "started_at": down,
                    "ended_at": None,
                    "detail": {},
                },
                {
                    "device_id": "brno-core",
                    "check": "icmp",
                    "state": "down",
                    "started_at": down,
                    "ended_at": None,
                    "detail": {},
                },
            ],
        )
    for customer in ("acme", "brno-bank"):
        with portal.engines.write.begin() as conn:
            tk.create(
                conn,
                portal.cfg,
                customer_id=customer,
                title=f"{customer} site dark",
                origin=Origin.MONITORING,
                priority=Priority.P1,
                at=down,
                actor="intake",
                now=down,
                kind="major",
            )
    await sign_in(portal.client, "acme-user")
    status, html = await _get(portal, "/portal")
    assert status == 200
    devices = html.split('id="devices"')[1].split("</table>")[0]
    edge = devices.split('data-device="acme-edge"')[1].split("</tr>")[0]
    assert "dev-down" in edge and "icmp: down since 2026-10-05 08:00 CEST" in edge
    assert 'data-device="acme-web"' in devices and "brno-core" not in devices
    assert "acme site dark" in html and "brno-bank site dark" not in html
    avail = html.split('id="availability"')[1].split("</table>")[0]
    row = avail.split('data-device="acme-edge"')[1].split("</tr>")[0]
    # down for the last hour of 4 d 9 h: the monthly report's own figure, below the target
    assert "99.048 %" in row and "99.9 %" in row and "below target" in row
    reports = html.split('id="reports"')[1]
    assert 'href="/reports/acme/2026-10"' in reports and 'href="/reports/acme/2026-09"' in reports
    assert "brno" not in reports


async def test_the_ticket_list_pages(portal):
    for i in range(27):
        await portal.create(title=f"Ticket number {i:02d}")
    await sign_in(portal.client, "acme-user")
    _, first = await _get(portal, "/portal")
    _, second = await _get(portal, "/portal?page=2")
    assert first.count("<tr data-ticket=") == 25 and second.count("<tr data-ticket=") == 2
    assert "Ticket number 26" in first and "Ticket number 00" in second
    assert 'rel="next"' in first and 'rel="prev"' in second
    assert (await _get(portal, "/portal?page=abc"))[0] == 200


async def test_the_live_nudge_names_only_the_customers_own_ticket_and_nothing_else(portal):
    await sign_in(portal.client, "acme-user")
    async with portal.client.get("/portal/events") as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        assert (await resp.content.readline()).startswith(b"retry:")
        assert await resp.content.readline() == b"event: hello\n"
        await portal.create(customer="brno-bank", title="not yours")
        mine = await portal.create(title="yours")
        await portal.comment(mine["id"], "internal words")
        assert await next_ticket_event(resp) == {"id": mine["id"]}  # brno's never came
        assert await next_ticket_event(resp) == {"id": mine["id"]}  # no kind, no text


async def test_a_closed_ticket_takes_no_reply(portal, snapshot):
    key = (await portal.create())["id"]
    await portal.move(key, "closed", close_reason="false_alarm")
    csrf = await sign_in(portal.client, "acme-user")
    _, html = await _get(portal, f"/portal/tickets/{key}")
    assert "closed (false alarm)" in html and 'data-action="reply"' not in html
    before = _without_sessions(snapshot())
    status, html, _ = await _post(portal, f"/portal/tickets/{key}/reply", csrf=csrf, text="hi")
    assert status == 409 and "a closed ticket is final" in html
    assert _without_sessions(snapshot()) == before


async def test_an_account_whose_customer_left_the_config_gets_a_page_not_a_500(
    web, make_config, start_api
):
    add_customer_user(web.engines, web.cfg, "ops-user", "ops")

    def edit(data):
        data["customers"] = [c for c in data["customers"] if c["id"] != "ops"]

    api = await start_api(make_config(edit))
    await sign_in(api.client, "ops-user")
    status, html = await _get(api, "/portal")
    assert status == 404 and "is not served here any more" in html
    assert (await _get(api, "/portal/new"))[0] == 200
