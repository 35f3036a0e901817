"""The customer loop against a real `slabridge serve`, real Postfix and Dovecot, and Chromium:
an Alertmanager notification opens a ticket, the customer's mailbox holds the proactive
notice, the verification notice's "Still broken" link reopens the ticket, the next one's
"It works" closes it with a rating; a reply by mail and a SIGKILL between commit and flag.

SYNC test on purpose: the ``browser`` fixture is Playwright's sync API.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from tests.bridge.ingest_fixtures import AM_TOKEN, am_payload
from tests.conftest import EXAMPLE_CONFIG, REPO, TOKENS
from tests.mail.conftest import device_down, mail_section
from tests.peers.mail import SUPPORT, MailServers
from tests.peers.ports import free_tcp_port

pytestmark = pytest.mark.peers
ALICE = "alice@example.test"
LAUNCH = "import sys; from bridge import cli; sys.exit(cli.main(sys.argv[1:]))"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Serve:
    def __init__(self, tmp: Path, servers: MailServers) -> None:
        self.port = free_tcp_port()
        self.base = f"http://127.0.0.1:{self.port}"
        doc = yaml.safe_load(EXAMPLE_CONFIG.read_text())
        doc["mail"] = mail_section(
            servers, base_url=self.base, send_interval="0.2s", retry_initial="1s"
        )
        doc["mail"]["imap"][0]["poll_interval"] = "1s"
        acme = next(c for c in doc["customers"] if c["id"] == "acme")
        acme["contacts"] = [{"name": "Alice Admin", "email": ALICE}]
        self.config = tmp / "slabridge.yaml"
        self.config.write_text(yaml.safe_dump(doc, allow_unicode=True))
        self.data = tmp / "var"
        self.data.mkdir()
        self.log = tmp / "serve.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLABRIDGE_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "serve", "--config", str(self.config), "--no-probes",
             "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", str(self.data)],
            cwd=REPO, env=env, stdout=self.log.open("a"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                with _OPENER.open(f"{self.base}/healthz", timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(self.log.read_text()) from None
                time.sleep(0.2)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)

    def call(self, method: str, path: str, body: Any = None, token: str = "") -> Any:
        req = urllib.request.Request(
            self.base + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {token or TOKENS['alice']}"},
        )  # fmt: skip
        with _OPENER.open(req, timeout=10) as resp:
            return json.loads(resp.read())


@pytest.fixture
def serve(tmp_path: Path, mail_servers: MailServers) -> Iterator[Serve]:
    s = Serve(tmp_path, mail_servers)
    s.start()
    try:
        yield s
    finally:
        s.stop()


def _links(msg: Any) -> dict[str, str]:
    text = msg.get_body(("plain",)).get_content()
    return {
        "works": re.search(r"It works: (\S+)", text).group(1),
        "broken": re.search(r"Still broken: (\S+)", text).group(1),
    }


def test_the_whole_customer_loop(
    serve: Serve, mail_servers: MailServers, browser, artifacts_dir: Path
) -> None:
    body = am_payload(device_down("loop1", alertname="EdgeDown"))
    serve.call("POST", "/api/v1/alerts/prometheus", body, token=AM_TOKEN)
    [proactive] = mail_servers.wait_for(ALICE, 1, timeout=5)
    assert proactive["Subject"].startswith("[INC-000001] We noticed a problem: ")
    serve.call("POST", "/api/v1/tickets/INC-000001/assign", {"assignee": "bob"})
    serve.call("POST", "/api/v1/tickets/INC-000001/transition", {"to": "resolved"})
    inbox = mail_servers.wait_for(ALICE, 2, timeout=10)
    assert inbox[1]["Subject"].startswith("[INC-000001] Resolved, please verify: ")
    page = browser.new_page()
    page.goto(_links(inbox[1])["broken"])
    assert page.locator("h2").inner_text() == "Is it working again?"
    page.fill("textarea[name=comment]", "The edge still drops <every> tenth packet.")
    page.click("button[type=submit]")
    assert "We are working on it again" in page.locator("#message").inner_text()
    ticket = serve.call("GET", "/api/v1/tickets/INC-000001")
    assert (ticket["status"], ticket["assignee"]) == ("in_progress", "bob")
    assert any(e["data"].get("reason") == "reopened by the customer" for e in ticket["history"])
    serve.call("POST", "/api/v1/tickets/INC-000001/transition", {"to": "resolved"})
    inbox = mail_servers.wait_for(ALICE, 3, timeout=10)
    page.set_viewport_size({"width": 420, "height": 760})  # a phone
    page.goto(_links(inbox[2])["works"])
    page.check("input[name=rating][value='4']")
    page.fill("textarea[name=comment]", "Thanks, fast work.")
    page.screenshot(path=str(artifacts_dir / "verify-page.png"), full_page=True)
    page.click("button[type=submit]")
    assert "The ticket is closed" in page.locator("#message").inner_text()
    ticket = serve.call("GET", "/api/v1/tickets/INC-000001")
    assert (ticket["status"], ticket["close_reason"]) == ("closed", "verified")
    assert ticket["history"][-1]["data"]["rating"] == 4
    closed = mail_servers.wait_for(ALICE, 4, timeout=10)[3]
    assert closed["Subject"].startswith("[INC-000001] Closed: ")
    assert "You confirmed that it works." in closed.get_body(("plain",)).get_content()
    _the_month_report_learned_the_loop(serve)


def _the_month_report_learned_the_loop(serve: Serve) -> None:
    """The month's report, as the report API builds it, counts the loop: a reopen, so no
    first-time fix; verification "reopened" (the first fix did not hold, even though the
    second was confirmed); satisfaction 4.0 from one rating; the proactive notice's time."""
    month = datetime.now(ZoneInfo("Europe/Warsaw")).strftime("%Y-%m")
    report = serve.call("GET", f"/api/v1/reports/acme/{month}")
    [row] = [r for r in report["tables"]["tickets"]["rows"] if r["ticket"] == "INC-000001"]
    assert (row["reopened"], row["verification"], row["rating"]) == (1, "reopened", 4)
    assert row["origin"] == "proactive" and row["notice"] is not None and row["notice"] >= 0
    [loop] = report["tables"]["loop"]["rows"]
    assert (loop["resolved"], loop["reopens"], loop["first_time_fix_pct"]) == (1, 1, 0.0)
    assert (loop["satisfaction"], loop["ratings"]) == (4.0, 1)
    assert loop["notice_median"] == loop["notice_worst"] == row["notice"]
    [bob] = [r for r in report["tables"]["engineers"]["rows"] if r["engineer"] == "bob"]
    assert (bob["satisfaction"], bob["ratings"]) == (4.0, 1)


def test_a_mail_read_before_a_sigkill_is_not_handled_twice_after_restart(
    serve: Serve, mail_servers: MailServers
) -> None:
    first = (Path(__file__).parent / "fixtures" / "delivered-lmtp.sent.eml").read_bytes()
    serve.stop()
    doc = yaml.safe_load(serve.config.read_text())
    doc["customers"][0]["contacts"].append({"name": "Dave", "email": "dave@example.test"})
    serve.config.write_text(yaml.safe_dump(doc, allow_unicode=True))
    serve.start()
    mail_servers.deliver(first, SUPPORT, "dave@example.test")
    deadline = time.monotonic() + 15
    while not serve.call("GET", "/api/v1/tickets")["tickets"]:
        assert time.monotonic() < deadline, serve.log.read_text()[-2000:]
        time.sleep(0.2)
    serve.kill()  # whether or not the \\Seen flag made it, a restart must not open it again
    with _imap_unflag(mail_servers):
        pass
    serve.start()
    marker = first.replace(b"Message-ID: <", b"Message-ID: <marker.")
    mail_servers.deliver(marker, SUPPORT, "dave@example.test")
    # mails are read in arrival order: once the marker is a ticket, the first was seen again
    deadline = time.monotonic() + 15
    while len(tickets := serve.call("GET", "/api/v1/tickets")["tickets"]) < 2:
        assert time.monotonic() < deadline, serve.log.read_text()[-2000:]
        time.sleep(0.2)
    assert len(tickets) == 2


class _imap_unflag:
    """Clear \\Seen on every message of the support mailbox: the state a crash between the
    commit and the flag leaves behind."""

    def __init__(self, servers: MailServers) -> None:
        self.servers = servers

    def __enter__(self) -> None:
        import imaplib

        with imaplib.IMAP4("127.0.0.1", self.servers.imap_port) as imap:
            imap.login(SUPPORT, "secret")
            imap.select("INBOX")
            imap.store("1:*", "-FLAGS", r"(\Seen)")

    def __exit__(self, *exc: object) -> None:
        return None
