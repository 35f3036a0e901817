"""`slabridge user`: accounts from the command line, with exit 2 and one clear line for
mistakes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bridge import cli
from tests.conftest import EXAMPLE_CONFIG


def run(tmp_path: Path, monkeypatch, capsys, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(["user", *argv, "--config", str(EXAMPLE_CONFIG), "--data-dir",
                     str(tmp_path), "--password-stdin"])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_add_list_passwd_disable(tmp_path, monkeypatch, capsys):
    assert run(tmp_path, monkeypatch, capsys, "add", "root", "--role", "admin",
               stdin="first admin pw\n")[0] == 0
    assert run(tmp_path, monkeypatch, capsys, "add", "eve", "--role", "engineer", "--line", "L2",
               stdin="engineer pw 1\n")[0] == 0
    assert run(tmp_path, monkeypatch, capsys, "add", "acme-ops", "--role", "customer",
               "--customer", "acme", stdin="customer pw\n")[0] == 0
    assert run(tmp_path, monkeypatch, capsys, "passwd", "eve", stdin="engineer pw 2\n")[0] == 0
    assert run(tmp_path, monkeypatch, capsys, "disable", "acme-ops")[0] == 0
    code, out, _ = run(tmp_path, monkeypatch, capsys, "list")
    assert code == 0
    assert out.splitlines() == [
        "acme-ops\tcustomer\tacme\tdisabled",
        "eve\tengineer\tL2\tactive",
        "root\tadmin\tL1\tactive",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("add", "x", "--role", "boss"), "unknown role 'boss' (roles: admin, engineer,"),
        (("add", "x", "--role", "customer", "--customer", "nope"), "unknown customer 'nope'"),
        (("add", "x", "--role", "customer"), "a customer user needs --customer"),
        (("add", "x", "--role", "engineer", "--line", "L9"), "unknown line 'L9'"),
        (("add", "bad name", "--role", "engineer"), "bad user name 'bad name'"),
        (("add", "x", "--role", "engineer"), "at least 8 characters"),
        (("passwd", "ghost"), "no user 'ghost'"),
        (("disable", "ghost"), "no user 'ghost'"),
    ],
)
def test_mistakes_exit_2_with_one_clear_line(tmp_path, monkeypatch, capsys, argv, message):
    code, out, err = run(tmp_path, monkeypatch, capsys, *argv, stdin="short\n")
    assert code == 2 and not out
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_duplicate_name_exits_2(tmp_path, monkeypatch, capsys):
    assert run(tmp_path, monkeypatch, capsys, "add", "eve", "--role", "engineer",
               stdin="engineer pw 1\n")[0] == 0
    code, _, err = run(tmp_path, monkeypatch, capsys, "add", "eve", "--role", "admin",
                       stdin="engineer pw 1\n")
    assert code == 2 and "user 'eve' exists already" in err


async def test_the_admin_api_does_the_same(web):
    made = await web.ok("POST", "/api/v1/users", 201, as_="admin",
                        json={"name": "zoe", "role": "engineer", "password": "zoe password",
                              "line": "L3"})
    assert made == {"name": "zoe", "role": "engineer", "customer": None, "line": "L3",
                    "disabled": False, "email": None}
    dup = await web.call("POST", "/api/v1/users", as_="admin",
                         json={"name": "zoe", "role": "engineer", "password": "zoe password"})
    assert dup.status == 409 and "exists already" in dup.body["error"]
    bad = await web.call("POST", "/api/v1/users", as_="admin",
                         json={"name": "y", "role": "boss", "password": "zoe password"})
    assert bad.status == 400 and "unknown role" in bad.body["error"]
    assert (await web.call("GET", "/api/v1/users", as_="alice")).status == 403
    names = [u["name"] for u in (await web.ok("GET", "/api/v1/users", as_="admin"))["users"]]
    assert "zoe" in names
    missing = await web.call("PATCH", "/api/v1/users/ghost", as_="admin", json={"disabled": True})
    assert missing.status == 404
