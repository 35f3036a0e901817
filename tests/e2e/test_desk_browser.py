"""Engineers, a manager and a customer use the desk in real headless Chromium, against a real
``slabridge serve`` subprocess on a free loopback port, on SQLite and on PostgreSQL.

SYNC tests on purpose: the ``browser`` fixture is Playwright's sync API, which must not run
inside an event loop (see tests/peers/fixtures.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.web.countdown import Countdown, label
from tests.e2e.desk_server import STORES, Server, desk_server, shot, sign_in

pytestmark = pytest.mark.peers


@pytest.fixture(params=STORES)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    with desk_server(request, tmp_path) as running:
        yield running


def row(page, title: str):
    return page.locator("tr[data-ticket]", has_text=title)


def test_an_engineer_works_a_new_alert_live_and_a_colleague_sees_it(
    browser, server, artifacts_dir
):
    a_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    b_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    alice = sign_in(a_ctx, server, "alice")
    alice.wait_for_url(f"{server.base}/desk")
    bob = sign_in(b_ctx, server, "bob")
    bob.wait_for_url(f"{server.base}/desk")
    bob.goto(f"{server.base}/desk?view=all")
    for p in (alice, bob):
        p.wait_for_selector("#live:has-text('on')")

    assert server.alert("Edge router does not answer") == 200
    ticket = row(alice, "Edge router does not answer")
    ticket.wait_for(timeout=2000)  # in Unassigned without a reload
    assert "1" in alice.locator("a[data-view=unassigned] .count").inner_text()
    assert ticket.locator(".reaction .cd").inner_text().endswith(" s")  # ticking
    key = ticket.get_attribute("data-ticket")

    server.alert("Database replica lagging", instance="127.0.10.2:9100")
    row(alice, "Database replica lagging").wait_for(timeout=2000)
    shot(alice, artifacts_dir, "desk-queue.png")

    alice.keyboard.press("j")
    while row(alice, "Edge router").get_attribute("class") != "current":
        alice.keyboard.press("j")
    with alice.expect_response(f"{server.base}/desk/bulk") as took:
        alice.keyboard.press("t")
    assert took.value.json() == {"done": 1, "failed": []}
    alice.goto(f"{server.base}/desk?view=mine")
    taken = row(alice, "Edge router does not answer")
    assert taken.locator(".assignee").inner_text() == "alice"
    assert taken.locator(".reaction .cd").inner_text() == "met"
    # bob's page shows the take without a reload
    bob.wait_for_function(
        f"document.querySelector('tr[data-ticket=\"{key}\"] .assignee')"
        ".textContent.trim() === 'alice'", timeout=2000)

    alice.goto(f"{server.base}/desk/tickets/{key}")
    alice.select_option("form.act:has(button[data-action=assign]) select", "alice")
    alice.click("button[data-action=waiting]")
    alice.wait_for_selector("#status:has-text('waiting')")
    assert "paused" in alice.locator("#cd-resolution").inner_text()
    alice.fill("form.act:has(button[data-action=comment]) textarea", "Asked ACME for logs")
    alice.click("button[data-action=comment]")
    alice.wait_for_selector("#history li[data-kind=commented]")
    shot(alice, artifacts_dir, "desk-ticket.png")
    alice.click("button[data-action=resolve]")
    alice.wait_for_selector("#status:has-text('resolved')")
    status, body = server.api("GET", f"/api/v1/tickets/{key}")
    assert (status, body["status"]) == (200, "resolved")
    a_ctx.close()
    b_ctx.close()


def test_roles_csrf_logout_and_disable(browser, server):
    _, t = server.api("POST", "/api/v1/tickets", {"customer": "acme", "title": "Slow VPN"})
    key = t["id"]
    customer = sign_in(browser.new_context(), server, "acme-user")
    customer.wait_for_url(f"{server.base}/portal")
    assert "Slow VPN" in customer.inner_text("body")
    assert customer.goto(f"{server.base}/desk").status == 403

    manager = sign_in(browser.new_context(), server, "carol")
    manager.wait_for_url(f"{server.base}/reports")
    manager.goto(f"{server.base}/desk?view=all")
    assert row(manager, "Slow VPN").count() == 1
    assert manager.locator("#bulk-form, input[type=checkbox]").count() == 0
    manager.goto(f"{server.base}/desk/tickets/{key}")
    assert manager.locator("#actions").count() == 0

    ctx = browser.new_context()
    bob = sign_in(ctx, server, "bob")
    bob.wait_for_url(f"{server.base}/desk")
    forged = bob.request.post(f"{server.base}/desk/tickets/{key}", form={"action": "take"})
    assert forged.status == 403
    assert server.api("GET", f"/api/v1/tickets/{key}")[1]["assignee"] is None
    kept = ctx.cookies()
    bob.click("text=Sign out")
    bob.wait_for_url(f"{server.base}/login")
    thief = browser.new_context()
    thief.add_cookies(kept)
    page = thief.new_page()
    page.goto(f"{server.base}/desk")
    assert page.url.startswith(f"{server.base}/login")

    ctx2 = browser.new_context()
    bob2 = sign_in(ctx2, server, "bob")
    bob2.wait_for_url(f"{server.base}/desk")
    done = server.cli("user", "disable", "bob")
    assert done.returncode == 0, done.stderr
    bob2.goto(f"{server.base}/desk")
    assert bob2.url.startswith(f"{server.base}/login")


def test_eleven_wrong_passwords_lock_the_account_and_next_stays_local(browser, server):
    page = sign_in(browser.new_context(), server, "bob", next_url="//elsewhere.example/")
    page.wait_for_url(f"{server.base}/desk")

    ctx = browser.new_context()
    page = ctx.new_page()
    for _ in range(10):
        page.goto(f"{server.base}/login")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", "not her password")
        page.click("button[type=submit]")
        page.wait_for_selector("p.error")
    page = sign_in(ctx, server, "alice")
    page.wait_for_selector("p.error")
    assert "Too many failed sign-ins" in page.inner_text("p.error")
    assert page.url.endswith("/login")


def test_keyboard_and_bulk_take(browser, server):
    keys = [server.api("POST", "/api/v1/tickets", {"customer": "acme", "title": f"Bulk {i}"})[1]
            ["id"] for i in range(3)]
    page = sign_in(browser.new_context(), server, "alice")
    page.wait_for_url(f"{server.base}/desk")
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    # the browser's countdown arithmetic is the server's (bridge.web.countdown)
    data = json.loads(page.locator(".cd[data-cd]").first.get_attribute("data-cd"))
    cd = Countdown(data["name"], data["state"], data["target"], data["remaining"], data["base"],
                   tuple(tuple(w) for w in data["windows"]), None)
    for later in (0, 61, 3600, 7 * 3600, 30 * 3600):
        t = data["base"] + later
        assert page.evaluate("([cd, t]) => window.slabridgeDesk.label(cd, t)",
                             [data, t]) == list(label(cd, t))
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    current = page.locator("tr.current").get_attribute("data-ticket")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.base}/desk/tickets/{current}")
    page.goto(f"{server.base}/desk")
    page.wait_for_selector("#live:has-text('on')")
    for key in keys:
        page.check(f"input[name=ticket][value='{key}']")
    page.select_option("select[name=action]", "take")
    with page.expect_response(f"{server.base}/desk/bulk") as answer:
        page.click("#bulk-form .bulk button[type=submit]")
    assert answer.value.status == 303, answer.value.text()
    page.wait_for_url(f"{server.base}/desk?view=unassigned")
    for key in keys:
        history = server.api("GET", f"/api/v1/tickets/{key}")[1]["history"]
        assigned = [e for e in history if e["kind"] == "assigned"]
        assert [(e["actor"], e["data"]["assignee"]) for e in assigned] == [("alice", "alice")]
