"""/desk/events streams ticket changes, whoever made them, to every open desk."""

from __future__ import annotations

from tests.web.people import sign_in
from tests.web.streams import next_ticket_event


async def test_changes_by_api_and_webhook_reach_an_open_desk(web):
    await sign_in(web.client, "bob")
    async with web.client.get("/desk/events") as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        assert (await resp.content.readline()).startswith(b"retry:")
        assert await resp.content.readline() == b"event: hello\n"
        created = await web.create(title="Live one")
        message = await next_ticket_event(resp)
        assert (message["id"], message["kind"], message["actor"]) == (
            created["id"], "created", "alice")
        await web.assign(created["id"], "alice")
        kinds = [(await next_ticket_event(resp))["kind"] for _ in range(2)]
        assert kinds == ["assigned", "status_changed"]


async def test_the_stream_is_for_the_desk_only(web):
    async with web.client.get("/desk/events", allow_redirects=False) as resp:
        assert resp.status == 303
    await sign_in(web.client, "acme-user")
    async with web.client.get("/desk/events") as resp:
        assert resp.status == 403


async def test_an_admin_session_needs_the_csrf_header_for_the_user_api(web):
    csrf = await sign_in(web.client, "admin")
    body = {"name": "newbie", "role": "engineer", "password": "newbie password"}
    async with web.client.post("/api/v1/users", json=body) as resp:
        assert resp.status == 403 and "CSRF" in (await resp.json())["error"]
    async with web.client.post("/api/v1/users", json=body,
                               headers={"X-CSRF-Token": csrf}) as resp:
        assert resp.status == 201
