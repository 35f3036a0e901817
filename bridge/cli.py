"""The `slabridge` command: serve, check-config, and the operator's tools."""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bridge.commands import demo_data, report, user
from bridge.config import Config, ConfigError, load_config

EXIT_BAD_CONFIG = 2


def _load(path: str) -> Config:
    try:
        return load_config(path)
    except ConfigError as err:
        for line in err.lines():
            print(line, file=sys.stderr)
        raise SystemExit(EXIT_BAD_CONFIG) from None


def _store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", default="var", help="where the embedded SQLite store lives")
    p.add_argument("--database-url", help="e.g. postgresql+psycopg://user@127.0.0.1/slabridge")
    p.add_argument(
        "--synchronous",
        choices=["NORMAL", "FULL"],
        default="NORMAL",
        help="SQLite durability: NORMAL survives a killed process, FULL also a power loss",
    )


def _open_store(args: argparse.Namespace):  # noqa: ANN202 - returns Engines
    from bridge.app import StoreOptions, open_store
    from bridge.store import database_url

    try:
        url = database_url(args.data_dir, args.database_url)
        return open_store(StoreOptions(url, args.synchronous))
    except Exception as err:  # noqa: BLE001 - an operator needs the reason, not a traceback
        print(f"slabridge: cannot open the store: {err}", file=sys.stderr)
        raise SystemExit(1) from None


def cmd_check_config(args: argparse.Namespace) -> int:
    cfg = _load(args.config)
    print(
        f"{args.config}: OK — {len(cfg.customers)} customers, {len(cfg.devices)} devices, "
        f"{len(cfg.sources)} webhook sources, {len(cfg.api_tokens)} API tokens"
    )
    return 0


def _tune_interpreter() -> None:
    """Process-wide settings for the long-running service (never for tests or the library).

    - The config, the per-device metric series and the rest of the start-up state are
      hundreds of thousands of long-lived objects; a full garbage collection walked them all
      (~0.2 s with 10,000 devices, every webhook waiting). ``gc.freeze`` moves them out of
      the collector's generations; they live as long as the process anyway.
    - A /metrics scrape runs in a worker thread and holds the GIL while it computes; the
      event loop and the writer thread hand the GIL back and forth on every SQLite call and
      each hand-over waited up to the switch interval (5 ms by default) behind the scrape.
      0.5 ms bounds that wait (bench/scrape.py, webhook latency while scraping).
    """
    import gc

    gc.collect()
    gc.freeze()
    sys.setswitchinterval(0.0005)


def _listen(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for every address of `host`, bound before the store is opened: a
    second start on a busy port must fail before it migrates, keeps reports or probes."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, *_, address in dict.fromkeys((i[0], i[4]) for i in infos):
            sockets.append(socket.create_server(address, family=family))
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _raise_open_file_limit() -> None:
    """Every connection is a file descriptor; the usual soft limit (1024) is hit long before
    the machine's limits are, so take the hard limit the administrator allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _node(args: argparse.Namespace):  # noqa: ANN202 - returns bridge.nodes.identity.Node
    from bridge.nodes.identity import DEFAULT_SITE, Node

    site = args.site or DEFAULT_SITE
    if args.node:
        return Node(name=args.node, site=site, address=args.host, port=args.port)
    return Node(site=site, address=args.host, port=args.port)


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (it is a dependency): the HTTP side of a webhook costs about a
    third less (bench/ingest.py); the standard loop otherwise."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bridge.app import build_app
    from bridge.nodes import registry, single
    from bridge.store import database_url
    from bridge.traps import receiver as trap_receiver

    cfg = _load(args.config)
    try:
        sockets = _listen(args.host, args.port)
    except OSError as err:
        reason = err.strerror or str(err)
        print(f"slabridge: cannot listen on {args.host}:{args.port}: {reason}", file=sys.stderr)
        return 1
    try:  # trap sources too, before the store: one line, not a traceback from the startup
        trap_receiver.check_listen(cfg.sources)
    except trap_receiver.TrapListenError as err:
        for sock in sockets:
            sock.close()
        print(f"slabridge: {err}", file=sys.stderr)
        return 1
    _raise_open_file_limit()
    try:
        # held until the process ends: the kernel drops it, even after SIGKILL
        _lock = single.hold(database_url(args.data_dir, args.database_url))  # noqa: F841
    except single.Taken as err:
        print(err, file=sys.stderr)
        return EXIT_BAD_CONFIG
    except OSError as err:  # e.g. a data directory this user may not write
        print(f"slabridge: cannot open the store: {err}", file=sys.stderr)
        return 1
    engines = _open_store(args)
    app = build_app(cfg, engines, run_probes=not args.no_probes, node=_node(args))
    _tune_interpreter()
    logging.getLogger(__name__).info("slabridge listening on http://%s:%d", args.host, args.port)
    try:
        web.run_app(
            app,
            sock=sockets,
            loop=_event_loop(),
            print=None,
            shutdown_timeout=10,
            # a log line per request costs the event loop more than parsing a webhook does
            **({} if args.access_log else {"access_log": None}),
        )
    except registry.NameTaken as err:
        print(f"slabridge: {err}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    except trap_receiver.TrapListenError as err:  # taken between the check and the start
        print(f"slabridge: {err}", file=sys.stderr)
        return 1
    finally:
        engines.dispose()
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    """One cycle of every check, printed as a table: for an operator checking a new device."""
    import asyncio

    from bridge import probing
    from bridge.clock import SystemClock
    from probes.runner import run_once

    cfg = _load(args.config)
    specs = probing.device_specs(cfg)
    if args.device:
        specs = [s for s in specs if s.id == args.device]
        if not specs:
            known = ", ".join(s.id for s in probing.device_specs(cfg)) or "none"
            print(f"slabridge: no probed device '{args.device}' (known: {known})", file=sys.stderr)
            return EXIT_BAD_CONFIG
    if not args.once:
        print("slabridge probe: only --once is supported; `serve` runs the probes", file=sys.stderr)
        return EXIT_BAD_CONFIG
    rows = asyncio.run(run_once(specs, SystemClock()))
    header = ("device", "address", "check", "status", "loss", "rtt avg ms", "summary")
    table = [header] + [
        (
            r.device_id,
            r.address,
            r.check,
            r.status,
            "" if r.loss is None else f"{r.loss:.0%}",
            "" if r.rtt_avg_ms is None else f"{r.rtt_avg_ms:.3f}",
            r.summary,
        )
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "report": report.run,
    "user": user.run,
    "demo-data": demo_data.run,
    "probe": cmd_probe,
    "check-config": cmd_check_config,
    "serve": cmd_serve,
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="slabridge", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("--config", required=True)
    serve = sub.add_parser("serve", help="run the API, webhooks and scheduler")
    serve.add_argument("--config", required=True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--no-probes",
        action="store_true",
        help="do not ping or poll devices (another slabridge process runs the probes)",
    )
    serve.add_argument(
        "--node",
        default=None,
        help="this node's unique name among the nodes sharing one store (default: host name)",
    )
    serve.add_argument(
        "--site",
        default=None,
        help="the site (network vantage point) this node probes from (default: 'default')",
    )
    serve.add_argument(
        "--access-log",
        action="store_true",
        help="log every HTTP request (off by default: it costs throughput under load)",
    )
    _store_args(serve)
    report.register(sub)
    demo_data.register(sub)
    user.register(sub)
    probe = sub.add_parser("probe", help="probe the configured devices once and print a table")
    probe.add_argument("--config", required=True)
    probe.add_argument("--once", action="store_true", help="run one cycle and exit")
    probe.add_argument("--device", help="only this device id")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    if hasattr(args, "config") and not Path(args.config).exists():
        print(f"{args.config}: no such file", file=sys.stderr)
        return EXIT_BAD_CONFIG
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
