"""``slabridge user add|passwd|email|disable|enable|list``: the people who sign in to the pages.

The first admin and engineers are made here (there is nobody yet to make them in a page).
Passwords come from a prompt, or from standard input with ``--password-stdin`` (scripts).
A bad role, an unknown customer, a duplicate or unknown name exits 2 with one line saying so.
A customer user's e-mail address (``add --email``, later ``email NAME ADDR``) receives the
customer's notices beside the configured contacts.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime

from bridge.accounts import users
from bridge.accounts.passwords import WeakPassword
from bridge.config import Role

EXIT_USAGE = 2


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"Password for {args.name}: ")
    if getpass.getpass("Again: ") != first:
        raise users.AccountError("the two passwords differ")
    return first


def run(args: argparse.Namespace) -> int:
    from bridge.cli import _load, _open_store

    cfg = _load(args.config)
    now = datetime.now(UTC)
    try:
        if args.action == "add":
            # refuse a bad role or customer before asking for a password
            users.check(cfg, args.name, args.role, args.customer, args.line)
            users.checked_email(args.email)
        password = _password(args) if args.action in ("add", "passwd") else ""
        engines = _open_store(args)
        try:
            with engines.write.begin() as conn:
                if args.action == "add":
                    u = users.add(
                        conn, cfg, name=args.name, role=args.role, password=password, now=now,
                        customer=args.customer, line=args.line, email=args.email,
                    )
                    print(f"user {u.name} added ({u.role.value})")
                elif args.action == "email":
                    u = users.set_email(conn, args.name, args.address)
                    print(f"user {u.name}: " + (f"e-mail {u.email}" if u.email else "no e-mail"))
                elif args.action == "passwd":
                    users.set_password(conn, args.name, password, now=now)
                    print(f"password of {args.name} changed; their sessions ended")
                elif args.action in ("disable", "enable"):
                    users.set_disabled(conn, args.name, args.action == "disable")
                    print(f"user {args.name} {args.action}d")
                else:
                    for u in users.all_users(conn):
                        extra = u.customer or (u.line.value if u.line else "")
                        state = "disabled" if u.disabled else "active"
                        email = f"\t{u.email}" if u.email else ""
                        print(f"{u.name}\t{u.role.value}\t{extra}\t{state}{email}")
        finally:
            engines.dispose()
    except (users.AccountError, WeakPassword) as err:
        print(f"slabridge user {args.action}: {err}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``user`` to the ``slabridge`` command."""
    from bridge.cli import _store_args

    p = subparsers.add_parser("user", help="add, change, disable and list sign-in accounts")
    actions = p.add_subparsers(dest="action", required=True)
    roles = ", ".join(r.value for r in Role)
    add = actions.add_parser("add", help="a new account")
    add.add_argument("name")
    add.add_argument("--role", required=True, help=roles)
    add.add_argument("--customer", help="the customer id of a customer user")
    add.add_argument("--line", help="support line of an engineer: L1, L2 or L3")
    add.add_argument("--email", help="a customer user's address for the customer's notices")
    email = actions.add_parser("email", help="set (or, without ADDRESS, remove) the e-mail")
    email.add_argument("name")
    email.add_argument("address", nargs="?", default=None)
    passwd = actions.add_parser("passwd", help="set a new password (ends the user's sessions)")
    passwd.add_argument("name")
    for name, text in (("disable", "stop a user signing in (ends their sessions)"),
                       ("enable", "let a disabled user sign in again")):
        actions.add_parser(name, help=text).add_argument("name")
    actions.add_parser("list", help="every account")
    for sub in (add, passwd, email, *(actions.choices[n] for n in ("disable", "enable", "list"))):
        sub.add_argument("--config", required=True)
        sub.add_argument("--password-stdin", action="store_true",
                         help="read the password from standard input (one line)")
        _store_args(sub)
