"""OpenAPI 3 description of the API, built from the same request models the handlers use."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from bridge.api import tickets as t

_ERROR = {"$ref": "#/components/schemas/Error"}
_METHODS = ("get", "put", "post", "delete", "patch")


def _op(summary: str, body: type[BaseModel] | None = None, ok: int = 200, **extra: Any) -> dict:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {
            str(ok): {"description": "success", "content": {"application/json": {}}},
            "400": {
                "description": "invalid request",
                "content": {"application/json": {"schema": _ERROR}},
            },
            "401": {"description": "missing or unknown token"},
            "403": {"description": "role not allowed"},
        },
        **extra,
    }
    if body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{body.__name__}"}}
            },
        }
    return op


_ID = [
    {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "example": "INC-000001",
    }
]
_TICKET_ERRORS = {
    "404": {"description": "no such ticket (or not yours)"},
    "409": {"description": "the lifecycle refuses this; `allowed` lists the possible statuses"},
}


def _ticket_op(summary: str, body: type[BaseModel]) -> dict:
    op = _op(summary, body, parameters=_ID)
    op["responses"].update(_TICKET_ERRORS)
    return op


PATHS: dict[str, dict[str, dict]] = {
    "/api/v1/tickets": {
        "post": _op("Create a ticket (customer, phone or email origin)", t.CreateTicket, ok=201),
        "get": _op(
            "List tickets in queue order (priority, major incidents first, then oldest)",
            parameters=[
                {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                for n in (*t.FILTERS, "limit", "offset")
            ],
        ),
    },
    "/api/v1/tickets/{id}": {"get": _op("A ticket with its whole history", parameters=_ID)},
    "/api/v1/tickets/{id}/assign": {
        "post": _ticket_op("Assign (a new ticket goes in progress)", t.Assign)
    },
    "/api/v1/tickets/{id}/transition": {
        "post": _ticket_op("Move through the lifecycle", t.Transition)
    },
    "/api/v1/tickets/{id}/comments": {
        "post": _ticket_op(
            "Add a comment: an engineer's is internal unless `visibility` is `customer`; "
            "a customer's is always to the customer (on a resolved ticket it reopens it)",
            t.Comment,
        )
    },
    "/api/v1/tickets/{id}/escalate": {
        "post": _ticket_op("Escalate to a higher support line", t.Escalate)
    },
    "/api/v1/tickets/{id}/priority": {"post": _ticket_op("Change the priority", t.ChangePriority)},
    "/healthz": {
        "get": {
            "summary": "Liveness",
            "security": [],
            "responses": {"200": {"description": "alive"}},
        }
    },
    "/readyz": {
        "get": {
            "summary": "Readiness (store reachable)",
            "security": [],
            "responses": {
                "200": {"description": "ready"},
                "503": {"description": "store unavailable"},
            },
        }
    },
    "/api/v1/openapi.json": {
        "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3"}}}
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics (text format, or OpenMetrics by Accept)",
            "security": [],
            "responses": {"200": {"description": "metrics"}},
        }
    },
}

MODELS: list[type[BaseModel]] = [
    t.CreateTicket,
    t.Assign,
    t.Transition,
    t.Comment,
    t.Escalate,
    t.ChangePriority,
]

EXTRA_PATHS: list[dict[str, dict[str, dict]]] = []
EXTRA_MODELS: list[type[BaseModel]] = []


def register(paths: dict[str, dict[str, dict]], models: list[type[BaseModel]] = ()) -> None:
    """Other route modules add their part of the description here."""
    EXTRA_PATHS.append(paths)
    EXTRA_MODELS.extend(models)


#: refusals any operation of a kind can answer (the framing middleware, the token check, the
#: router), added to every operation that does not describe them itself
_REFUSALS = {
    "token": {"401": "missing or unknown token"},
    "path": {"404": "no such resource (or not yours)"},
    "body": {
        "408": "the body did not arrive within service.request_timeout",
        "413": "body over the size limit",
        "415": "not JSON or a form, or compressed (any Content-Encoding but identity)",
    },
}


def _with_refusals(path: str, method: str, op: dict[str, Any]) -> dict[str, Any]:
    kinds = []
    if "security" not in op:  # the document's default: a bearer token
        kinds.append("token")
    if "{" in path:
        kinds.append("path")
    if method in ("post", "put", "patch"):
        kinds.append("body")
    responses = dict(op.get("responses", {}))
    for kind in kinds:
        for code, text in _REFUSALS[kind].items():
            responses.setdefault(
                code, {"description": text, "content": {"application/json": {"schema": _ERROR}}}
            )
    return {**op, "responses": responses}


def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"type": "string"},
                "problems": {"type": "array", "items": {"type": "object"}},
                "allowed": {"type": "array", "items": {"type": "string"}},
            },
        }
    }
    for model in [*MODELS, *EXTRA_MODELS]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas[name] = sub
        schemas[model.__name__] = schema
    paths: dict[str, dict] = {}
    for part in [PATHS, *EXTRA_PATHS]:
        for path, ops in part.items():
            paths.setdefault(path, {}).update(
                {m: _with_refusals(path, m, op) if m in _METHODS else op for m, op in ops.items()}
            )
    return {
        "openapi": "3.0.3",
        "info": {"title": "slabridge", "version": "1"},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


async def openapi_json(_request: web.Request) -> web.Response:
    return web.json_response(document())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/openapi.json", openapi_json)
