"""Browser sessions kept in the store, so they survive restarts and are shared by every node.

The cookie holds a random id; the store holds only its SHA-256, so a read of the table does
not hand out live sessions. A session ends after 12 h without a request or 7 days after the
sign-in, at logout, at a password change and when the user is disabled. Each session has its
own CSRF token, which every state-changing request must echo.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from bridge.accounts.users import User
from bridge.store.schema import login_failures, sessions, users

IDLE = timedelta(hours=12)
ABSOLUTE = timedelta(days=7)
#: last_seen is written at most this often (a write per page view would queue behind ingest)
TOUCH_EVERY = timedelta(minutes=1)

MAX_FAILURES = 10
LOCK_FOR = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Session:
    id_hash: str
    user: User
    csrf: str
    created_at: datetime
    last_seen: datetime

    def csrf_ok(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf.encode(), presented.encode())


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(conn: sa.Connection, user: User, *, now: datetime) -> tuple[str, str]:
    """A new session: (the id for the cookie, its CSRF token)."""
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    conn.execute(
        sessions.insert().values(
            id_hash=_digest(session_id), user_id=user.id, csrf=csrf, created_at=now, last_seen=now
        )
    )
    return session_id, csrf


def find(conn: sa.Connection, session_id: str, *, now: datetime) -> Session | None:
    """The live session for a cookie value, or None (unknown, expired, or user disabled)."""
    query = (
        sa.select(sessions, users)
        .join(users, users.c.id == sessions.c.user_id)
        .where(sessions.c.id_hash == _digest(session_id))
    )
    row = conn.execute(query).mappings().first()
    if row is None or row["disabled"]:
        return None
    if now - row["last_seen"] >= IDLE or now - row["created_at"] >= ABSOLUTE:
        return None
    return Session(
        id_hash=row["id_hash"],
        user=User.from_row({**row, "id": row["user_id"]}),
        csrf=row["csrf"],
        created_at=row["created_at"],
        last_seen=row["last_seen"],
    )


def needs_touch(session: Session, now: datetime) -> bool:
    return now - session.last_seen >= TOUCH_EVERY


def touch(conn: sa.Connection, id_hash: str, *, now: datetime) -> None:
    conn.execute(sessions.update().where(sessions.c.id_hash == id_hash).values(last_seen=now))


def end(conn: sa.Connection, session_id: str) -> None:
    conn.execute(sessions.delete().where(sessions.c.id_hash == _digest(session_id)))


def purge(conn: sa.Connection, *, now: datetime) -> int:
    """Delete expired sessions and stale failure counters (housekeeping at each sign-in;
    `find` and `locked_until` already ignore them)."""
    result = conn.execute(
        sessions.delete().where(
            sa.or_(sessions.c.last_seen <= now - IDLE, sessions.c.created_at <= now - ABSOLUTE)
        )
    )
    conn.execute(login_failures.delete().where(
        login_failures.c.first_at <= now - LOCK_FOR,
        sa.or_(login_failures.c.locked_until.is_(None), login_failures.c.locked_until <= now),
    ))
    return result.rowcount or 0


# -- throttling -------------------------------------------------------------------------------


def throttle_keys(name: str, address: str) -> list[str]:
    return [f"user:{name.lower()}", f"addr:{address}"]


def locked_until(conn: sa.Connection, keys: list[str], *, now: datetime) -> datetime | None:
    """The latest lock still in force over `keys`, or None."""
    until = conn.execute(
        sa.select(sa.func.max(login_failures.c.locked_until)).where(
            login_failures.c.key.in_(keys), login_failures.c.locked_until > now
        )
    ).scalar()
    return until


def record_failure(conn: sa.Connection, keys: list[str], *, now: datetime) -> None:
    """Count a failure; the MAX_FAILURES-th within LOCK_FOR locks the key for LOCK_FOR."""
    for key in keys:
        row = conn.execute(
            sa.select(login_failures).where(login_failures.c.key == key)
        ).mappings().first()
        if row is None or now - row["first_at"] >= LOCK_FOR and (
            row["locked_until"] is None or row["locked_until"] <= now
        ):
            conn.execute(login_failures.delete().where(login_failures.c.key == key))
            conn.execute(login_failures.insert().values(key=key, failures=1, first_at=now))
            continue
        failures = row["failures"] + 1
        lock = now + LOCK_FOR if failures >= MAX_FAILURES else row["locked_until"]
        conn.execute(
            login_failures.update()
            .where(login_failures.c.key == key)
            .values(failures=failures, locked_until=lock)
        )


def clear_failures(conn: sa.Connection, name: str) -> None:
    """A good sign-in clears the account's counter (not the address's: that one may be shared
    by an attacker trying many names)."""
    conn.execute(login_failures.delete().where(login_failures.c.key == f"user:{name.lower()}"))
