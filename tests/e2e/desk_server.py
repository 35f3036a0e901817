"""A real ``slabridge serve`` for the browser tests of the desk and the portal: the example
config, the people of tests/web/people.py, SQLite or the suite's PostgreSQL, no probes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bridge.app import StoreOptions, open_store
from bridge.config import load_config
from tests.bridge.ingest_fixtures import AM_TOKEN, am_alert, am_payload, encode
from tests.conftest import EXAMPLE_CONFIG, REPO, TOKENS
from tests.e2e.serve import serving
from tests.web.people import PASSWORD, add_people

DOCS = REPO / "docs"
STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass
class Server:
    base: str
    store_args: list[str]

    def api(self, method: str, path: str, body: object = None, *, as_: str = "alice") -> tuple:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.base}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {TOKENS[as_]}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def alert(self, title: str, instance: str = "127.0.10.1:9100") -> int:
        payload = am_payload(
            am_alert(
                uuid.uuid4().hex[:16],
                {"instance": instance},
                alertname=f"Down{uuid.uuid4().hex[:6]}",
                summary=title,
            )
        )
        req = urllib.request.Request(
            f"{self.base}/api/v1/alerts/prometheus",
            data=encode(payload),
            method="POST",
            headers={"Authorization": f"Bearer {AM_TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status

    def cli(self, *argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "bridge.cli", *argv, "--config", str(EXAMPLE_CONFIG),
             *self.store_args],
            cwd=REPO, capture_output=True, text=True, timeout=60,
        )  # fmt: skip


@contextmanager
def desk_server(
    request: pytest.FixtureRequest, tmp_path: Path, prepare: Callable[[Any], None] | None = None
) -> Iterator[Server]:
    """`request.param` names the store; `prepare(engines)` adds what a test needs beforehand."""
    cfg = load_config(EXAMPLE_CONFIG, env={})
    data = tmp_path / "var"
    data.mkdir()
    if request.param == "sqlite":
        url, store_args = f"sqlite:///{data / 'slabridge.db'}", ["--data-dir", str(data)]
    else:
        url = request.getfixturevalue("pg_url")
        store_args = ["--database-url", url]
    engines = open_store(StoreOptions(url))
    add_people(engines, cfg)
    if prepare is not None:
        prepare(engines)
    engines.dispose()
    argv = [sys.executable, "-m", "bridge.cli", "serve", "--config", str(EXAMPLE_CONFIG),
            "--no-probes", *store_args]  # fmt: skip
    with serving(argv, tmp_path / "serve.log") as base:
        yield Server(base, store_args)


def sign_in(context, server: Server, name: str, password: str = PASSWORD, next_url: str = ""):
    page = context.new_page()
    page.goto(f"{server.base}/login" + (f"?next={next_url}" if next_url else ""))
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    return page


def shot(page, artifacts_dir: Path, name: str) -> None:
    """A screenshot kept with the test's artifacts and copied to docs/ for the README."""
    page.screenshot(path=str(artifacts_dir / name), full_page=True)
    DOCS.mkdir(exist_ok=True)
    shutil.copy(artifacts_dir / name, DOCS / name)
