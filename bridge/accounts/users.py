"""User accounts in the store: engineers, account managers, admins and customer users.

Names are the actor and assignee written into ticket events, so a name never changes and a
user is disabled rather than deleted (history keeps pointing at someone real).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter, ValidationError

from bridge.accounts.passwords import hash_password
from bridge.api.auth import Principal
from bridge.config import Config, Role
from bridge.config.models import EmailAddress
from bridge.lifecycle import Line
from bridge.store.schema import sessions, users

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$"
_EMAIL_ADAPTER: TypeAdapter[str] = TypeAdapter(EmailAddress)


class AccountError(ValueError):
    """A user command that cannot be done; the message says why, for a person."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: Role
    customer: str | None
    line: Line | None
    disabled: bool
    email: str | None = None  # a customer user with one hears their customer's notices

    @property
    def principal(self) -> Principal:
        return Principal(self.name, self.role, self.customer)

    @classmethod
    def from_row(cls, row: Any) -> User:
        return cls(
            id=row["id"],
            name=row["name"],
            role=Role(row["role"]),
            customer=row["customer_id"],
            line=Line(row["line"]) if row["line"] else None,
            disabled=bool(row["disabled"]),
            email=row.get("email"),
        )


def check(cfg: Config, name: str, role: str, customer: str | None, line: str | None) -> None:
    if not re.match(NAME_PATTERN, name):
        raise AccountError(
            f"bad user name '{name}': letters, digits and . _ @ - only, at most 128"
        )
    roles = [r.value for r in Role]
    if role not in roles:
        raise AccountError(f"unknown role '{role}' (roles: {', '.join(roles)})")
    if role == Role.CUSTOMER:
        if not customer:
            raise AccountError("a customer user needs --customer")
        if cfg.customer(customer) is None:
            known = ", ".join(c.id for c in cfg.customers)
            raise AccountError(f"unknown customer '{customer}' (known: {known})")
    elif customer:
        raise AccountError("only customer users belong to a customer")
    if line is not None and line not in [v.value for v in Line]:
        raise AccountError(f"unknown line '{line}' (lines: L1, L2, L3)")


def add(
    conn: sa.Connection,
    cfg: Config,
    *,
    name: str,
    role: str,
    password: str,
    now: datetime,
    customer: str | None = None,
    line: str | None = None,
    email: str | None = None,
) -> User:
    check(cfg, name, role, customer, line)
    email = checked_email(email)
    if get(conn, name) is not None:
        raise AccountError(f"user '{name}' exists already")
    if line is None and role in (Role.ENGINEER, Role.ADMIN):
        line = cfg.service.default_line.value
    values = {
        "name": name,
        "role": role,
        "customer_id": customer,
        "line": line,
        "password_hash": hash_password(password),
        "disabled": False,
        "created_at": now,
        "password_changed_at": now,
        "email": email,
    }
    new_id = conn.execute(users.insert().values(**values)).inserted_primary_key[0]
    return User.from_row({**values, "id": new_id})


def get(conn: sa.Connection, name: str) -> User | None:
    row = conn.execute(sa.select(users).where(users.c.name == name)).mappings().first()
    return User.from_row(row) if row else None


def password_hash(conn: sa.Connection, name: str) -> tuple[User | None, str | None]:
    row = conn.execute(sa.select(users).where(users.c.name == name)).mappings().first()
    if row is None:
        return None, None
    return User.from_row(row), row["password_hash"]


def _existing(conn: sa.Connection, name: str) -> User:
    user = get(conn, name)
    if user is None:
        raise AccountError(f"no user '{name}'")
    return user


def set_password(conn: sa.Connection, name: str, password: str, *, now: datetime) -> User:
    """New password; every session of the user ends (a stolen cookie stops working)."""
    user = _existing(conn, name)
    conn.execute(
        users.update()
        .where(users.c.id == user.id)
        .values(password_hash=hash_password(password), password_changed_at=now)
    )
    conn.execute(sessions.delete().where(sessions.c.user_id == user.id))
    return user


def set_disabled(conn: sa.Connection, name: str, disabled: bool = True) -> User:
    """Disable (or enable again); disabling ends every session of the user."""
    user = _existing(conn, name)
    conn.execute(users.update().where(users.c.id == user.id).values(disabled=disabled))
    if disabled:
        conn.execute(sessions.delete().where(sessions.c.user_id == user.id))
    return dataclasses.replace(user, disabled=disabled)


def checked_email(email: str | None) -> str | None:
    """The address as given, or AccountError naming the problem; '' or None: no address."""
    if not email:
        return None
    try:
        return _EMAIL_ADAPTER.validate_python(email)
    except ValidationError as err:
        raise AccountError(err.errors()[0]["msg"].removeprefix("Value error, ")) from None


def set_email(conn: sa.Connection, name: str, email: str | None) -> User:
    """A new address (None: none); a customer user's address receives the notices."""
    user = _existing(conn, name)
    email = checked_email(email)
    conn.execute(users.update().where(users.c.id == user.id).values(email=email))
    return dataclasses.replace(user, email=email)


def all_users(conn: sa.Connection) -> list[User]:
    return [User.from_row(r) for r in conn.execute(sa.select(users).order_by(users.c.name))
            .mappings()]
