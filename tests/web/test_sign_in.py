"""Signing in and out with accounts: cookies, CSRF, throttling, redirects, sessions ending;
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bridge.accounts import passwords, sessions
from tests.conftest import TOKENS, Api
from tests.web.people import PASSWORD, sign_in


async def _post_login(web: Api, name: str, password: str, **extra: str):
    async with web.client.post(
        "/login", data={"username": name, "password": password, **extra}, allow_redirects=False
    ) as resp:
        return resp.status, resp.headers.get("Location"), resp.headers.getall("Set-Cookie", [])


@pytest.mark.parametrize(
    ("name", "home"),
    [("alice", "/desk"), ("admin", "/desk"), ("carol", "/reports"), ("acme-user", "/portal")],
)
async def test_sign_in_sends_each_person_home_with_a_session_cookie(web, name, home):
    status, location, cookies = await _post_login(web, name, PASSWORD)
    assert (status, location) == (303, home)
    (cookie,) = cookies
    assert cookie.startswith("slabridge_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    async with web.client.get("/", allow_redirects=False) as resp:
        assert resp.headers["Location"] == home


async def test_a_newcomer_at_the_front_door_goes_to_the_sign_in_page(web):
    async with web.client.get("/", allow_redirects=False) as resp:
        assert (resp.status, resp.headers["Location"]) == (303, "/login")
    async with web.client.get("/login") as resp:
        assert resp.status == 200 and 'name="password"' in await resp.text()


async def test_wrong_password_and_unknown_name_get_the_same_answer(web):
    a = await _post_login(web, "alice", "not the password")
    b = await _post_login(web, "nobody-at-all", "not the password")
    assert a[0] == b[0] == 401 and not a[2] and not b[2]


def test_an_unknown_name_is_checked_against_a_real_hash(monkeypatch):
    seen = []
    real = passwords._HASHER

    class Spy:
        def hash(self, password: str) -> str:
            return real.hash(password)

        def verify(self, stored: str, password: str) -> bool:
            seen.append(stored)
            return real.verify(stored, password)

    monkeypatch.setattr(passwords, "_HASHER", Spy())
    assert passwords.verify(None, "whatever password") is False
    assert seen and seen[0].startswith("$argon2id$")


@pytest.mark.parametrize(
    "hostile",
    ["//evil.example/", "/\t/evil.example", "/\r/evil.example", "/\n/evil.example",
     "/\\evil.example", "https://evil.example/", "\\\\evil.example", "/ /evil", "javascript:x"],
)
async def test_next_accepts_only_a_plain_local_path(web, hostile):
    status, location, _ = await _post_login(web, "alice", PASSWORD, next=hostile)
    assert (status, location) == (303, "/desk")


async def test_next_keeps_a_local_path_with_its_query(web):
    _, location, _ = await _post_login(web, "carol", PASSWORD, next="/reports/acme/2026-10?x=1")
    assert location == "/reports/acme/2026-10?x=1"


async def test_the_eleventh_try_is_refused_even_with_the_right_password(web):
    for _ in range(sessions.MAX_FAILURES):
        assert (await _post_login(web, "alice", "wrong password"))[0] == 401
    status, _, cookies = await _post_login(web, "alice", PASSWORD)
    assert status == 429 and not cookies
    web.clock.advance(sessions.LOCK_FOR - timedelta(seconds=1))
    assert (await _post_login(web, "alice", PASSWORD))[0] == 429
    web.clock.advance(timedelta(seconds=2))
    assert (await _post_login(web, "alice", PASSWORD))[0] == 303


async def test_one_address_trying_many_names_is_locked_out(web):
    for i in range(sessions.MAX_FAILURES):
        await _post_login(web, f"guess{i}", "wrong password")
    assert (await _post_login(web, "bob", PASSWORD))[0] == 429


async def test_logout_needs_the_csrf_token_and_then_the_old_cookie_is_worthless(web, snapshot):
    csrf = await sign_in(web.client, "alice")
    cookie = web.client.session.cookie_jar.filter_cookies(web.client.make_url("/"))
    before = snapshot()
    async with web.client.post("/logout", data={}, allow_redirects=False) as resp:
        assert resp.status == 403
    assert snapshot() == before
    async with web.client.post("/logout", data={"csrf": "forged"}, allow_redirects=False) as r:
        assert r.status == 403
    async with web.client.post("/logout", data={"csrf": csrf}, allow_redirects=False) as resp:
        assert (resp.status, resp.headers["Location"]) == (303, "/login")
    web.client.session.cookie_jar.update_cookies(cookie)  # a copy kept by a thief
    async with web.client.get("/", allow_redirects=False) as resp:
        assert resp.headers["Location"] == "/login"


async def test_sessions_expire_when_idle_and_after_seven_days(web):
    await sign_in(web.client, "alice")
    web.clock.advance(sessions.IDLE - timedelta(minutes=1))
    async with web.client.get("/session") as resp:
        assert resp.status == 200  # and the idle timer starts again
    web.clock.advance(sessions.IDLE - timedelta(minutes=1))
    async with web.client.get("/session") as resp:
        assert resp.status == 200
    web.clock.advance(sessions.IDLE)
    async with web.client.get("/session") as resp:
        assert resp.status == 401
    await sign_in(web.client, "alice")
    for _ in range(20):  # busy all week: still ends at seven days
        web.clock.advance(timedelta(hours=11))
        async with web.client.get("/session") as resp:
            if resp.status == 401:
                break
    else:
        pytest.fail("the session outlived its absolute expiry")


@pytest.mark.parametrize("change", [{"password": "a brand new password"}, {"disabled": True}])
async def test_a_password_change_or_disabling_ends_the_users_sessions(web, change):
    await sign_in(web.client, "alice")
    await web.ok("PATCH", "/api/v1/users/alice", as_="admin", json=change)
    async with web.client.get("/session") as resp:
        assert resp.status == 401


async def test_a_config_token_is_no_login_cookie_and_never_set_as_one(web):
    cookies: list[str] = []
    for name in ("alice", "carol", "acme-user"):
        cookies += (await _post_login(web, name, PASSWORD))[2]
        csrf = (await (await web.client.get("/session")).json())["csrf"]
        async with web.client.post("/logout", data={"csrf": csrf}) as resp:
            cookies += resp.headers.getall("Set-Cookie", [])
    for token in TOKENS.values():  # a token typed as a password does not sign anyone in
        cookies += (await _post_login(web, "alice", token))[2]
    assert cookies
    for cookie in cookies:
        assert not any(t.token in cookie for t in web.cfg.api_tokens), cookie
    web.client.session.cookie_jar.clear()
    async with web.client.get(
        "/reports", allow_redirects=False, cookies={"slabridge_token": TOKENS["carol"]}
    ) as resp:
        assert resp.status == 303 and resp.headers["Location"].startswith("/login")


async def test_the_cookie_is_secure_behind_a_trusted_proxy_only(make_config, engines, clock,
                                                                  start_api):
    from tests.web.people import add_people

    def edit(d):
        d.setdefault("service", {})["trusted_proxies"] = ["127.0.0.0/8", "::1/128"]

    trusting = await start_api(make_config(edit), engines, clock)
    add_people(engines, trusting.cfg, "alice")
    async with trusting.client.post(
        "/login", data={"username": "alice", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"}, allow_redirects=False,
    ) as resp:
        assert "Secure" in resp.headers["Set-Cookie"]
    plain = await start_api()
    async with plain.client.post(
        "/login", data={"username": "alice", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"}, allow_redirects=False,
    ) as resp:
        assert "Secure" not in resp.headers["Set-Cookie"]


async def test_expired_sessions_are_cleared_at_the_next_sign_in(web, snapshot):
    await sign_in(web.client, "alice")
    web.clock.advance(sessions.IDLE)
    web.client.session.cookie_jar.clear()
    await sign_in(web.client, "bob")
    assert [s["user_id"] for s in snapshot()["sessions"]] == [
        u["id"] for u in snapshot()["users"] if u["name"] == "bob"]
