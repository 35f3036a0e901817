"""API tokens from the config, with roles; compared in constant time."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from aiohttp import web

from bridge.api.errors import ApiError
from bridge.config import Config, Role


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: Role
    customer: str | None = None

    def sees_customer(self, customer_id: str) -> bool:
        return self.role != Role.CUSTOMER or self.customer == customer_id


class TokenBook:
    def __init__(self, cfg: Config) -> None:
        self._tokens = [
            (t.token.encode(), Principal(t.name, t.role, t.customer)) for t in cfg.api_tokens
        ]

    def lookup(self, presented: str) -> Principal | None:
        given = presented.encode("utf-8", "surrogatepass")  # odd header bytes never raise
        found = None
        for token, principal in self._tokens:
            # no early exit: the time taken does not depend on which token matched
            if hmac.compare_digest(token, given):
                found = principal
        return found


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def principal(request: web.Request, book: TokenBook, *roles: Role) -> Principal:
    """The caller, who must hold one of `roles`: no token → 401, another role → 403."""
    token = bearer(request)
    if token is None:
        raise ApiError(401, "missing bearer token")
    who = book.lookup(token)
    if who is None:
        raise ApiError(401, "unknown token")
    if roles and who.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise ApiError(403, f"role {who.role.value} may not do this (needs: {allowed})")
    return who
