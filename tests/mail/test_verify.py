"""The verification links: GET only shows, POST acts once while the ticket is still in the
resolution the link names; tampered, expired and other tickets' links change nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bridge.notices import links
from tests.mail.conftest import KEY, device_down, fire

pytestmark = pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)


async def _resolved(api, fingerprint: str = "f1") -> tuple[str, int, datetime]:
    [key] = (await fire(api, device_down(fingerprint, alertname=f"A{fingerprint}")))["tickets"]
    await api.assign(key, "bob")
    await api.move(key, "resolved")
    ticket = await api.get(key)
    seq = ticket["history"][-1]["seq"]
    return key, seq, datetime.fromisoformat(ticket["close_deadline"])


def _link(key: str, seq: int, expires: datetime, answer: str = "works") -> str:
    v = links.Verification(int(key[4:]), seq, "alice@example.test", answer, expires)
    return "/verify/" + links.sign(KEY, v)


async def test_get_only_shows_and_post_closes_with_a_rating(
    mail_config, start_api, snapshot
) -> None:
    api = await start_api(mail_config(None))
    key, seq, deadline = await _resolved(api)
    url = _link(key, seq, deadline)
    before = snapshot()
    page = await api.client.get(url)
    assert page.status == 200 and "Is it working again?" in await page.text()
    assert snapshot() == before
    done = await api.client.post(url, data={"rating": "4", "comment": "<b>thanks</b>"})
    text = await done.text()
    assert done.status == 200 and "Thank you. The ticket is closed." in text
    ticket = await api.get(key)
    assert (ticket["status"], ticket["close_reason"]) == ("closed", "verified")
    closing = [e for e in ticket["history"] if e["kind"] == "status_changed"][-1]
    assert closing["data"]["reason"] == "confirmed by the customer"
    note = ticket["history"][-1]
    assert (note["data"]["rating"], note["data"]["text"]) == (4, "<b>thanks</b>")
    again = await api.client.post(url, data={"rating": "1"})
    assert "The ticket is now: closed" in await again.text()
    assert len((await api.get(key))["history"]) == len(ticket["history"])


async def test_still_broken_reopens_keeps_the_assignee_and_keeps_the_text(
    mail_config, start_api
) -> None:
    api = await start_api(mail_config(None))
    key, seq, deadline = await _resolved(api)
    resp = await api.client.post(_link(key, seq, deadline, "broken"), data={"comment": "no <i>"})
    assert "We are working on it again" in await resp.text()
    ticket = await api.get(key)
    assert (ticket["status"], ticket["assignee"]) == ("in_progress", "bob")
    reopen = [e for e in ticket["history"] if e["kind"] == "status_changed"][-1]
    assert (reopen["data"]["rule"], reopen["data"]["reason"]) == (
        "reopen", "reopened by the customer"
    )
    assert reopen["actor"] == "customer:alice@example.test"
    assert ticket["history"][-1]["data"]["text"] == "no <i>"


async def test_bad_links_answer_400_and_change_nothing(
    mail_config, start_api, snapshot, clock
) -> None:
    api = await start_api(mail_config(None))
    key_a, seq_a, deadline_a = await _resolved(api, "a")
    key_b, _seq_b, _deadline_b = await _resolved(api, "b")
    good = _link(key_a, seq_a, deadline_a)
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    other_key = links.sign("another-key-0123456789", links.Verification(
        int(key_b[4:]), seq_a, "alice@example.test", "works", deadline_a))  # fmt: skip
    before = snapshot()
    for url in (tampered, "/verify/not-a-token", "/verify/" + other_key):
        for method in ("GET", "POST"):
            resp = await api.client.request(method, url)
            assert resp.status == 400, (method, url)
            assert "This link is not valid" in await resp.text()
    clock.set(deadline_a + timedelta(seconds=1))
    resp = await api.client.post(good)
    assert resp.status == 400 and "expired" in await resp.text()
    assert snapshot() == before


async def test_a_link_from_an_earlier_resolution_shows_the_current_state(
    mail_config, start_api
) -> None:
    api = await start_api(mail_config(None))
    key, seq, deadline = await _resolved(api)
    await api.move(key, "in_progress")
    await api.move(key, "resolved")
    old = _link(key, seq, deadline)
    page = await api.client.get(old)
    assert "The ticket is now: resolved" in await page.text()
    await api.client.post(old)
    assert (await api.get(key))["status"] == "resolved"


async def test_the_page_speaks_the_contacts_language_and_escapes_the_title(
    mail_config, start_api
) -> None:
    contacts = [{"name": "Ola", "email": "alice@example.test", "language": "pl"}]
    api = await start_api(mail_config(None, contacts=contacts))
    key, seq, deadline = await _resolved(api, "<script>")
    text = await (await api.client.get(_link(key, seq, deadline))).text()
    assert "Czy znów działa?" in text
    assert "<script>" not in text and "&lt;script&gt;" in text
