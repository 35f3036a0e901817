"""Every failure becomes a JSON answer naming the problem; only a bug becomes a 500."""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bridge.config.loader import render_path
from bridge.lifecycle import TransitionRefused
from bridge.store import StoreError
from bridge.tickets import Conflict, EventInvalid, Invalid, NotFound

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def error_response(status: int, message: str, /, **extra: Any) -> web.Response:
    # positional-only: a 409 carries the ticket's own `status` among the extra fields
    body = {"error": message, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return web.json_response(body, status=status, headers=headers)


def validation_problems(err: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    out = []
    for e in err.errors():
        loc = [p for p in e["loc"] if p not in ("str", "int", "float", "bool")]
        path = render_path([prefix, *loc] if prefix else loc) if loc or prefix else ""
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "missing":
            msg = "field required"
        elif e["type"] == "extra_forbidden":
            msg = "unknown field"
        out.append({"path": path, "message": msg})
    return out


async def read_body(request: web.Request, limit: int) -> bytes:
    """The raw body, whole however it was framed (several segments, chunks), or a 4xx when it
    is not JSON-typed or over the limit."""
    ctype = request.content_type
    if ctype not in ("application/json", "") and not ctype.endswith("+json"):
        raise ApiError(415, f"content type must be application/json, not {ctype}")
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"body is larger than the limit of {limit} bytes")
    try:
        # read() waits for the end of the body; content.read(n) returns what has arrived so far
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, f"body is larger than the limit of {limit} bytes") from None
    if len(body) > limit:
        raise ApiError(413, f"body is larger than the limit of {limit} bytes")
    return body


#: Deeper JSON than any sender writes; refused before it can exhaust the parser's stack.
MAX_DEPTH = 64


def decode_json(body: bytes) -> Any:
    """JSON with what the store cannot hold cleaned: NUL and lone surrogates become U+FFFD,
    NaN and ±Infinity become null. What cannot be parsed at all is a 400 naming why."""
    try:
        data = json.loads(body, parse_constant=_no_constant, parse_float=_finite)
    except UnicodeDecodeError as err:
        raise ApiError(400, "body is not UTF-8") from err
    except json.JSONDecodeError as err:
        raise ApiError(
            400, f"malformed JSON: {err.msg} at line {err.lineno} column {err.colno}"
        ) from err
    except RecursionError as err:
        raise ApiError(400, f"JSON nested too deep (at most {MAX_DEPTH} levels)") from err
    except ValueError as err:  # int() refuses literals over sys.get_int_max_str_digits()
        raise ApiError(400, f"JSON integer literal too long: {err}") from err
    if _text_is_clean(body):
        # the common case: `storable` would return it unchanged, once it is known shallow
        if isinstance(data, dict | list) and _too_deep(data, 0):
            raise ApiError(400, f"JSON nested too deep (at most {MAX_DEPTH} levels)")
        return data
    return storable(data)


def _no_constant(_name: str) -> None:
    return None  # NaN, Infinity and -Infinity: the store holds no such number


def _finite(literal: str) -> float | None:
    value = float(literal)  # 1e999 is infinite
    return value if math.isfinite(value) else None


#: What can put a NUL or a lone surrogate into decoded text: a \u escape, a UTF-8 surrogate
#: (CESU-8: json decodes with surrogatepass), a NUL byte (a UTF-16 or UTF-32 body).
_UNCLEAN = (b"\\u", b"\xed", b"\x00")


def _text_is_clean(body: bytes) -> bool:
    """Whether every string json decodes from `body` is one `_text` leaves as it is."""
    return not any(mark in body for mark in _UNCLEAN)


_CONTAINERS = (dict, list)


def _too_deep(value: dict | list, depth: int) -> bool:
    """`storable`'s depth check alone, visiting containers only."""
    if depth >= MAX_DEPTH:
        return True
    for v in value.values() if isinstance(value, dict) else value:
        if isinstance(v, _CONTAINERS) and _too_deep(v, depth + 1):
            return True
    return False


def storable(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            raise ApiError(400, f"JSON nested too deep (at most {MAX_DEPTH} levels)")
        if isinstance(value, list):
            return [storable(v, depth + 1) for v in value]
        return {_text(k): storable(v, depth + 1) for k, v in value.items()}
    return value


def _text(value: str) -> str:
    if value.isascii():
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # a valid surrogate pair (CESU-8) joins into its character; a lone half becomes U+FFFD
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value.replace("\x00", "\ufffd")


async def read_json(request: web.Request, limit: int) -> Any:
    """The body as JSON, or a 4xx that says what is wrong with it."""
    return decode_json(await read_body(request, limit))


async def read_model(request: web.Request, model: type[M], limit: int = 65536) -> M:
    data = await read_json(request, limit)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ApiError(400, "invalid request", problems=validation_problems(err)) from err


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as err:
        return error_response(err.status, err.message, **err.extra)
    except NotFound:
        return error_response(404, "no such ticket")
    except TransitionRefused as err:
        return error_response(
            409,
            err.why,
            status=err.current.value,
            requested=err.target.value,
            allowed=[s.value for s in err.allowed],
        )
    except EventInvalid as err:
        # an event the log refuses (unknown status, empty assignee, ...): nothing was stored
        path = err.field or ""
        return error_response(
            400, "invalid request", problems=[{"path": path, "message": str(err)}]
        )
    except Invalid as err:
        return error_response(409, str(err))
    except Conflict as err:
        return error_response(409, f"{err}; read the ticket again and retry")
    except StoreError as err:
        log.error("store error on %s %s: %s", request.method, request.path, err)
        return error_response(503, "the store is unavailable; retry later")
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            return error_response(exc.status, exc.reason or "error")
        raise
    except Exception:
        request_id = uuid.uuid4().hex[:12]
        log.exception(
            "unexpected error on %s %s (request %s)", request.method, request.path, request_id
        )
        return error_response(500, "internal error", request_id=request_id)
