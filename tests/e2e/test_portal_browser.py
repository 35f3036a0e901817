"""A customer uses the portal in real headless Chromium, against a real ``slabridge serve``
subprocess on a free loopback port, on SQLite and on PostgreSQL: signs in, opens a ticket with
the form, finds it listed, sees the engineer's answer arrive without a reload (and never the
internal note), replies, and confirms the fix with a rating. Screenshots go to docs/.

SYNC tests on purpose: the ``browser`` fixture is Playwright's sync API, which must not run
inside an event loop (see tests/peers/fixtures.py).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import sla
from bridge.store.schema import device_states
from tests.conftest import EXAMPLE_CONFIG, REPO
from tests.e2e.desk_server import STORES, Server, desk_server, shot
from tests.web.people import PASSWORD

pytestmark = pytest.mark.peers


def _device_history(engines, now: datetime) -> None:
    """A month of ping states for ACME: the edge router was down for 12 minutes this morning,
    the web server is degraded now, the database answered all along."""
    start = sla.Month.containing(now, "Europe/Warsaw").start
    start = max(start, now - timedelta(days=20))
    blip = now - timedelta(hours=2)
    rows = [
        ("acme-edge", "up", start, blip),
        ("acme-edge", "down", blip, blip + timedelta(minutes=12)),
        ("acme-edge", "up", blip + timedelta(minutes=12), None),
        ("acme-db", "up", start, None),
        ("acme-web", "up", start, now - timedelta(hours=1)),
        ("acme-web", "degraded", now - timedelta(hours=1), None),
    ]
    with engines.write.begin() as conn:
        conn.execute(
            sa.insert(device_states),
            [
                {
                    "device_id": d,
                    "check": "icmp",
                    "state": s,
                    "started_at": a,
                    "ended_at": b,
                    "detail": {},
                }
                for d, s, a, b in rows
            ],
        )


@pytest.fixture(params=STORES)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    with desk_server(request, tmp_path, lambda e: _device_history(e, datetime.now(UTC))) as running:
        yield running


def test_a_customer_opens_a_ticket_follows_it_live_replies_and_confirms(
    browser, server, artifacts_dir
):
    # an older ticket of theirs, and one of another customer that must never show
    _, older = server.api(
        "POST", "/api/v1/tickets", {"customer": "acme", "title": "Backup job slow"}
    )
    server.api("POST", "/api/v1/tickets", {"customer": "brno-bank", "title": "Core switch hot"})

    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(f"{server.base}/login")
    page.fill("input[name=username]", "acme-user")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.base}/portal")
    assert "Core switch hot" not in page.inner_text("body")
    assert page.locator(f"tr[data-ticket='{older['id']}']").count() == 1

    page.click("nav.portal-nav >> text=Open a ticket")
    page.wait_for_url(f"{server.base}/portal/new")
    page.fill("input[name=title]", "Database answers slowly")
    page.fill("textarea[name=description]", "Queries take 10 s since 08:00; <nothing> changed.")
    page.select_option("select[name=device]", "acme-db")
    page.check("input[name=urgency][value=high]")
    page.click("button[data-action=open]")
    page.wait_for_url(f"{server.base}/portal/tickets/INC-*")
    key = page.url.rsplit("/", 1)[1]
    assert page.inner_text("#priority") == "P2"  # high, as the gold policy maps it
    assert "<nothing> changed" in page.inner_text("#summary")

    page.goto(f"{server.base}/portal")
    listed = page.locator(f"tr[data-ticket='{key}']")
    assert "Database answers slowly" in listed.inner_text()
    assert "received" in listed.locator(".status").inner_text()
    assert "below target" in page.inner_text("#availability")  # the edge router's 12 minutes
    shot(page, artifacts_dir, "portal.png")

    page.click(f"a[href='/portal/tickets/{key}']")
    page.wait_for_url(f"{server.base}/portal/tickets/{key}")
    page.wait_for_function("document.documentElement.dataset.liveReady === '1'")
    # the desk answers while the page is open: it updates itself, without the internal note
    assert server.api("POST", f"/api/v1/tickets/{key}/assign", {"assignee": "alice"})[0] == 200
    server.api(
        "POST", f"/api/v1/tickets/{key}/comments", {"text": "slow query log shows a lock on orders"}
    )
    server.api(
        "POST",
        f"/api/v1/tickets/{key}/comments",
        {"text": "We found a long lock and are clearing it.", "visibility": "customer"},
    )
    page.wait_for_selector("#history li:has-text('We found a long lock')", timeout=10_000)
    page.wait_for_selector("#status:has-text('being worked on')")
    assert "lock on orders" not in page.inner_text("body")

    page.fill("form.reply textarea[name=text]", "Thanks, it is better already.")
    page.click("button[data-action=reply]")
    page.wait_for_url(f"{server.base}/portal/tickets/{key}")
    mine = page.locator("#history li.from-you")
    assert "Thanks, it is better already." in mine.inner_text()
    _, ticket = server.api("GET", f"/api/v1/tickets/{key}")
    assert ticket["history"][-1]["data"]["by_customer"] is True

    server.api("POST", f"/api/v1/tickets/{key}/transition", {"to": "resolved"})
    page.wait_for_selector("button[data-action=works]", timeout=10_000)  # forms swapped live
    page.check("input[name=rating][value='5']")
    page.fill("form.works textarea[name=comment]", "Fast again, thank you.")
    shot(page, artifacts_dir, "portal-ticket.png")
    page.click("button[data-action=works]")
    page.wait_for_selector("#status:has-text('closed (confirmed)')")
    _, ticket = server.api("GET", f"/api/v1/tickets/{key}")
    assert (ticket["status"], ticket["close_reason"]) == ("closed", "verified")
    assert ticket["history"][-1]["data"]["rating"] == 5

    # another customer's ticket is not there for this customer, by link or by guess
    _, theirs = server.api("GET", "/api/v1/tickets?customer=brno-bank")
    foreign = theirs["tickets"][0]["id"]
    assert page.goto(f"{server.base}/portal/tickets/{foreign}").status == 404
    ctx.close()


def test_the_cli_made_customer_user_signs_in_to_the_portal(browser, server):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bridge.cli",
            "user",
            "add",
            "brno-ops",
            "--role",
            "customer",
            "--customer",
            "brno-bank",
            "--password-stdin",
            "--config",
            str(EXAMPLE_CONFIG),
            *server.store_args,
        ],
        input="brno ops password\n",
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    page = browser.new_context().new_page()
    page.goto(f"{server.base}/login")
    page.fill("input[name=username]", "brno-ops")
    page.fill("input[name=password]", "brno ops password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.base}/portal")
    assert "Brněnská banka" in page.inner_text("h1")
    assert "acme" not in page.inner_text("#devices").lower()
