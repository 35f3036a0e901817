"""/api/v1/openapi.json describes exactly the routes the app serves: generic over the router,
so routes added later (through bridge.api.openapi.register) are held to the same rule."""

from __future__ import annotations

from typing import Any

from aiohttp import web

METHODS = {"get", "put", "post", "delete", "patch"}


def served(app: web.Application) -> set[tuple[str, str]]:
    out = set()
    for route in app.router.routes():
        method = route.method.upper()
        if method in ("HEAD", "OPTIONS"):
            continue  # aiohttp adds HEAD for every GET; nobody documents those
        assert route.resource is not None
        out.add((route.resource.canonical, method.lower()))
    return out


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, ops in doc["paths"].items()
        for method in ops
        if method in METHODS
    }


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def _document(api) -> dict[str, Any]:
    reply = await api.call("GET", "/api/v1/openapi.json", as_=None)
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    return reply.body


async def test_every_route_is_documented(api) -> None:
    doc = await _document(api)
    missing = served(api.app) - documented(doc)
    assert not missing, f"routes without documentation: {sorted(missing)}"


async def test_every_documented_operation_exists(api) -> None:
    doc = await _document(api)
    phantom = documented(doc) - served(api.app)
    assert not phantom, f"documented but not served: {sorted(phantom)}"


async def test_the_ticket_routes_are_among_them(api) -> None:
    doc = await _document(api)
    assert {
        ("/api/v1/tickets", "get"),
        ("/api/v1/tickets", "post"),
        ("/api/v1/tickets/{id}", "get"),
        ("/api/v1/tickets/{id}/transition", "post"),
    } <= documented(doc)


async def test_every_reference_resolves_and_bodies_forbid_unknown_fields(api) -> None:
    doc = await _document(api)
    assert doc["openapi"].startswith("3.")
    schemas = doc["components"]["schemas"]
    for ref in _refs(doc):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), (path, method)
            assert op.get("responses"), (path, method)
            body = op.get("requestBody")
            if body is None:
                continue
            schema_ref = body["content"]["application/json"].get("schema", {})
            if "$ref" not in schema_ref:
                continue  # a sender's own format (webhooks): described, not modelled
            ref = schema_ref["$ref"]
            schema = schemas[ref.removeprefix("#/components/schemas/")]
            # the API answers 400 on an unknown field; the description must say so
            assert schema.get("additionalProperties") is False, (path, method)


async def test_the_transition_body_lists_the_statuses(api) -> None:
    schemas = (await _document(api))["components"]["schemas"]
    to = schemas["Transition"]["properties"]["to"]
    status = schemas[to["$ref"].removeprefix("#/components/schemas/")] if "$ref" in to else to
    assert status["enum"] == ["new", "in_progress", "waiting", "resolved", "closed"]


async def test_health_checks_are_documented_as_open_and_answer_without_a_token(api) -> None:
    doc = await _document(api)
    for path in ("/healthz", "/readyz"):
        assert doc["paths"][path]["get"]["security"] == [], path
        assert (await api.call("GET", path, as_=None)).status == 200, path


async def test_every_operation_documents_the_refusals_it_can_answer(api) -> None:
    doc = await _document(api)
    missing = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method not in METHODS:
                continue
            expected = set()
            if "security" not in op:  # the bearer token of the document's default
                expected.add("401")
            if "{" in path:
                expected.add("404")
            if method in ("post", "put", "patch"):
                expected |= {"408", "413", "415"}
            missing += [(path, method, code) for code in expected - set(op["responses"])]
    assert not missing, missing
