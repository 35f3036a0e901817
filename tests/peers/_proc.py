"""A child process with a log file, bounded readiness wait and SIGTERM-then-SIGKILL stop."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

# Never use proxies from the environment: every peer is on 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class PeerError(RuntimeError):
    """A peer could not be found, started or reached."""


def require_binary(candidates: Sequence[str], package: str) -> str:
    """First existing executable among ``candidates`` (paths or names on PATH), else fail
    naming the Debian package to install."""
    for cand in candidates:
        path = cand if os.path.isabs(cand) else shutil.which(cand)
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise PeerError(
        f"none of {list(candidates)} found: install the Debian package {package!r} "
        "(scripts/install-system-deps installs everything the tests need)"
    )


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """GET ``url`` without proxies; (status, body). HTTP errors return their status."""
    try:
        with _OPENER.open(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def http_request(
    method: str, url: str, body: bytes | None = None, content_type: str = "application/json",
    timeout: float = 5.0,
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", content_type)
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def http_ok(url: str) -> bool:
    try:
        return http_get(url, timeout=1.0)[0] == 200
    except OSError:
        return False


class ManagedProcess:
    """A started child whose stdout+stderr go to ``log_path``."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = Path(log_path)
        self.stop_signal = stop_signal
        self._log = open(self.log_path, "ab")  # closed in stop()
        kwargs: dict = {}
        if user is not None:
            # Drop privileges in the child itself (like `runuser -u USER --`, but the Popen
            # pid is the server's own, so signals reach it directly).
            import pwd

            pw = pwd.getpwnam(user)
            kwargs.update(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
            env = dict(env if env is not None else os.environ)
            env.update(HOME=pw.pw_dir, USER=user, LOGNAME=user)
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,  # Ctrl-C in pytest must not reach it mid-test
            **kwargs,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError as e:
            return f"<no log: {e}>"
        return "\n".join(data.decode(errors="replace").splitlines()[-lines:])

    def wait_ready(self, check: Callable[[], bool], timeout: float, what: str) -> float:
        """Poll ``check`` until true; seconds taken. Raises PeerError with the log tail if the
        process exits or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            if not self.alive():
                raise PeerError(
                    f"{self.name} exited with status {self.proc.returncode} before {what}; "
                    f"command: {self.argv}\n--- log tail ({self.log_path}) ---\n"
                    + self.log_tail()
                )
            try:
                if check():
                    return time.monotonic() - self.started_at
            except OSError:
                pass
            if time.monotonic() >= deadline:
                raise PeerError(
                    f"{self.name} not {what} within {timeout:.0f}s; command: {self.argv}\n"
                    f"--- log tail ({self.log_path}) ---\n" + self.log_tail()
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.2)

    def stop(self, timeout: float = 10.0) -> int | None:
        """Send the stop signal, wait up to ``timeout``, then SIGKILL. Returns exit status."""
        try:
            if self.alive():
                try:
                    self.proc.send_signal(self.stop_signal)
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            return self.proc.returncode
        finally:
            self._log.close()


def address_in_use(log_text: str) -> bool:
    return "address already in use" in log_text.lower()
