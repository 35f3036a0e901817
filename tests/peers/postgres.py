"""A temporary PostgreSQL cluster from the machine's server binaries, on 127.0.0.1.

initdb and postgres refuse to run as root, so as root (CI) they run as the ``postgres``
system user (created by Debian's postgresql package) in a temporary directory it owns.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from ._proc import ManagedProcess, PeerError, address_in_use
from .ports import LOOPBACK, free_tcp_port

SUPERUSER = "postgres"
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def find_bindir() -> Path:
    """Newest /usr/lib/postgresql/<ver>/bin holding initdb and postgres, else PATH."""
    def version(p: str) -> tuple[int, ...]:
        ver = Path(p).parent.name
        return tuple(int(x) for x in ver.split(".") if x.isdigit())

    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if all(os.access(os.path.join(bindir, b), os.X_OK) for b in ("initdb", "postgres")):
            return Path(bindir)
    initdb = shutil.which("initdb")
    if initdb:
        real = Path(os.path.realpath(initdb)).parent
        if os.access(real / "postgres", os.X_OK):
            return real
    raise PeerError(
        "PostgreSQL server binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin: "
        "install the Debian package 'postgresql' (scripts/install-system-deps)"
    )


def _run_as() -> pwd.struct_passwd | None:
    """The account to run the server as: the ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise PeerError(
            "running as root, and PostgreSQL refuses root: the 'postgres' system user is "
            "needed (it comes with the Debian package 'postgresql'; scripts/install-system-deps)"
        ) from None


class PostgresCluster:
    """``with PostgresCluster() as pg: pg.url`` — a throwaway cluster on a free port.

    ``url`` is a SQLAlchemy URL (``postgresql+psycopg://postgres@127.0.0.1:PORT/DBNAME``)
    for the database ``dbname`` created at start. Trust auth, fsync off, no sync on initdb.
    """

    def __init__(self, dbname: str = "slabridge", *, startup_timeout: float = 60.0) -> None:
        if not _IDENT.match(dbname):
            raise ValueError(f"bad database name {dbname!r}")
        self.dbname = dbname
        self.startup_timeout = startup_timeout
        self.host = LOOPBACK
        self.port: int = 0
        self.bindir = find_bindir()
        self.tmpdir: Path | None = None
        self.process: ManagedProcess | None = None
        self.startup_seconds: float = 0.0
        self._counter = itertools.count(1)

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> PostgresCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        t0 = time.monotonic()
        account = _run_as()
        self.tmpdir = Path(tempfile.mkdtemp(prefix="slabridge-pg-"))
        try:
            if account is not None:
                os.chown(self.tmpdir, account.pw_uid, account.pw_gid)
            os.chmod(self.tmpdir, 0o700)
            user = account.pw_name if account is not None else None
            data = self.tmpdir / "data"
            sock = self.tmpdir / "sock"
            self._initdb(data, user)
            self._mkdir_as(sock, account)
            for attempt in range(3):
                self.port = free_tcp_port()
                self.process = ManagedProcess(
                    "postgres",
                    [
                        str(self.bindir / "postgres"),
                        "-D", str(data),
                        "-F",  # fsync off
                        "-h", LOOPBACK,
                        "-p", str(self.port),
                        "-k", str(sock),
                        "-c", "synchronous_commit=off",
                        "-c", "full_page_writes=off",
                        "-c", "max_connections=200",
                        "-c", "shared_buffers=32MB",
                        "-c", "logging_collector=off",
                        "-c", "unix_socket_permissions=0777",
                    ],
                    self.tmpdir / "postgres.log",
                    cwd=self.tmpdir,
                    user=user,
                    # SIGINT is PostgreSQL's "fast" shutdown; SIGTERM ("smart") would wait
                    # for every open client connection to go away.
                    stop_signal=signal.SIGINT,
                )
                try:
                    self.process.wait_ready(self._accepts, self.startup_timeout, "accepting")
                    break
                except PeerError:
                    log = self.process.log_tail(200)
                    self.process.stop()
                    if attempt < 2 and address_in_use(log):
                        continue
                    raise
            self.create_database(self.dbname)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=15)
            self.process = None
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    # -- helpers ---------------------------------------------------------------------------
    def _initdb(self, data: Path, user: str | None) -> None:
        argv = [
            str(self.bindir / "initdb"),
            "-D", str(data),
            "-U", SUPERUSER,
            "-A", "trust",
            "-E", "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ]
        kwargs: dict = {}
        env = dict(os.environ)
        if user is not None:
            pw = pwd.getpwnam(user)
            kwargs.update(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
            env.update(HOME=pw.pw_dir, USER=user, LOGNAME=user)
        try:
            res = subprocess.run(
                argv, cwd=self.tmpdir, env=env, capture_output=True, text=True, timeout=120,
                stdin=subprocess.DEVNULL, **kwargs,
            )
        except subprocess.TimeoutExpired as e:
            raise PeerError(f"initdb did not finish in 120s: {argv}") from e
        if res.returncode != 0:
            raise PeerError(
                f"initdb failed with status {res.returncode}: {argv}\n"
                + (res.stdout + res.stderr)[-4000:]
            )

    @staticmethod
    def _mkdir_as(path: Path, account: pwd.struct_passwd | None) -> None:
        path.mkdir(mode=0o700)
        if account is not None:
            os.chown(path, account.pw_uid, account.pw_gid)

    def _accepts(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.conninfo("postgres"), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def conninfo(self, dbname: str | None = None) -> str:
        """libpq conninfo string (for psycopg.connect)."""
        return (
            f"host={self.host} port={self.port} user={SUPERUSER} "
            f"dbname={dbname or self.dbname}"
        )

    def url_for(self, dbname: str) -> str:
        """SQLAlchemy URL of database ``dbname`` in this cluster."""
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{dbname}"

    @property
    def url(self) -> str:
        return self.url_for(self.dbname)

    @property
    def log_path(self) -> Path | None:
        return self.process.log_path if self.process else None

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self, name: str) -> str:
        """CREATE DATABASE ``name``; returns its SQLAlchemy URL."""
        if not _IDENT.match(name):
            raise ValueError(f"bad database name {name!r}")
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """DROP DATABASE ``name``, disconnecting whoever is still connected to it."""
        if not _IDENT.match(name):
            raise ValueError(f"bad database name {name!r}")
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def new_database_name(self) -> str:
        return f"test_{next(self._counter)}"
