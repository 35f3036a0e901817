"""Which events tell the customer what: decided with the event, one notice per major incident
rather than one per alert, and messages in the contact's language with English as fallback."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bridge.notices import render
from bridge.notices.wiring import SENDER, SKIPPER
from tests.mail.conftest import device_down, fire, notices, outbox, rows, send_pass

BOTH_STORES = pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)


def kinds(engines) -> list[tuple[int, str, str]]:
    return [(n["ticket_id"], n["kind"], n["state"]) for n in rows(engines, notices)]


@BOTH_STORES
async def test_each_customer_facing_step_is_one_notice(mail_config, start_api, engines) -> None:
    api = await start_api(mail_config(None))
    [key] = (await fire(api, device_down()))["tickets"]
    manual = await api.create(customer="acme", title="Printer", priority="P3")
    await api.assign(key, "bob")
    await api.comment(key, "internal only")
    await api.move(key, "waiting", reason="Which port did you patch?")
    await api.move(key, "in_progress")
    await api.move(key, "resolved")
    await api.move(key, "closed")
    assert [k for t, k, _ in kinds(engines)] == [
        "proactive", "question", "resolved", "closed"
    ]
    assert all(t == 1 for t, _k, _s in kinds(engines))
    assert manual["id"] != key


@BOTH_STORES
async def test_without_a_mail_section_notices_are_settled_as_skipped_not_left_pending(
    make_config, start_api, engines
) -> None:
    cfg = make_config()
    assert cfg.mail is None
    api = await start_api(cfg)
    [key] = (await fire(api, device_down()))["tickets"]
    await api.assign(key, "bob")
    await api.move(key, "resolved")
    # decided with the events as always (batched and one-by-one intakes stay identical) ...
    assert [(k, s) for _t, k, s in kinds(engines)] == [
        ("proactive", "pending"),
        ("resolved", "pending"),
    ]
    # ... then the job of a node without mail settles them: nothing piles up, nothing is sent
    assert await api.app[SKIPPER].run_once() == 2
    assert [(k, s) for _t, k, s in kinds(engines)] == [
        ("proactive", "skipped"),
        ("resolved", "skipped"),
    ]
    assert await api.app[SKIPPER].run_once() == 0
    assert rows(engines, outbox) == []
    assert SENDER not in api.app


@BOTH_STORES
async def test_with_a_mail_section_nothing_is_skipped(mail_config, start_api, engines) -> None:
    api = await start_api(mail_config(None))
    await fire(api, device_down())
    assert SKIPPER not in api.app
    assert [(k, s) for _t, k, s in kinds(engines)] == [("proactive", "pending")]


@BOTH_STORES
async def test_a_flood_under_one_major_incident_is_one_notice(
    mail_config, start_api, engines
) -> None:
    api = await start_api(mail_config(None))
    flood = [device_down(f"f{n}", device="acme-web", alertname="HTTPDown") for n in range(50)]
    result = await fire(api, *flood)
    assert len(set(result["tickets"])) == 50
    assert [(k, s) for _t, k, s in kinds(engines) if s == "pending"] == [("major", "pending")]


@BOTH_STORES
async def test_alerts_in_separate_notifications_fold_into_the_major_notice_while_held(
    mail_config, start_api, engines, clock
) -> None:
    api = await start_api(mail_config(None, hold="60s"))
    for n in range(50):
        await fire(api, device_down(f"f{n}", device="acme-web", alertname="HTTPDown"))
        clock.advance(timedelta(seconds=1))
    clock.advance(timedelta(seconds=61))
    await send_pass(api)  # the server is unreachable: the messages wait in the outbox
    messages = rows(engines, outbox)
    assert len(messages) == 2  # the major incident's notice, to each of the two contacts
    assert {n["kind"] for n in rows(engines, notices) if n["state"] == "expanded"} == {"major"}


def test_every_template_string_is_translated_and_missing_ones_fall_back_to_english() -> None:
    here = Path(render.__file__).parent
    method = [("**.html", "jinja2"), ("**.txt", "jinja2")]
    ids = {m[2] for m in extract_from_dir(here / "templates", method_map=method)}
    for lang in ("pl", "cs", "it", "ru"):
        with (here / "locale" / f"{lang}.po").open("rb") as f:
            catalog = read_po(f)
        missing = sorted(i for i in ids if not (catalog.get(i) and catalog.get(i).string))
        assert missing == [], lang
        assert render.translations(lang).gettext("A string nobody translated") == (
            "A string nobody translated"
        )


@pytest.mark.parametrize(
    ("lang", "subject"),
    [("en", "Closed"), ("pl", "Zamknięte"), ("cs", "Uzavřeno"), ("it", "Chiuso"),
     ("ru", "Закрыто")],
)  # fmt: skip
def test_subjects_carry_the_tag_in_every_language(lang: str, subject: str) -> None:
    ctx = {"key": "INC-000123", "title": "<b>x</b>", "name": "N", "desk": "D", "language": lang,
           "close_reason": "no_answer"}  # fmt: skip
    out = render.render("closed", lang, ctx)
    assert out.subject == f"[INC-000123] {subject}: <b>x</b>"
    assert "&lt;b&gt;x&lt;/b&gt;" in out.html
