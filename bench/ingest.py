"""Webhook ingest throughput: slabridge against a bare aiohttp handler. Prints figures; not a test.

    .venv/bin/python bench/ingest.py [--duration 5] [--connections 32]

Starts `slabridge serve` (SQLite in a temporary data dir; a bearer-token Alertmanager source
whose routing sends every alert to customer acme) and a bare aiohttp server (a subprocess of
this script) whose handler only reads the body, decodes the JSON, parses it into Alerts with
the same parser (bridge.sources.alertmanager) and answers 200. Both are driven by `wrk`
(apt-get install wrk) with Lua scripts:

1. new:    one new alert per request (new fingerprint each time: each opens a ticket);
2. repeat: the same 50 known alerts per request (the dedup path).

Targets (issue #11, 2 cores): new ≥ 0.5× bare requests/s; repeat ≥ 0.7× bare alerts/s;
slabridge p99 < 50 ms at 32 connections in both.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-token"
PATH = "/api/v1/alerts/bench"
REPEAT_ALERTS = 50

ALERT = (
    '{"status":"firing","labels":{"alertname":"BenchCheck%s","customer":"acme","instance":'
    '"127.0.0.1:9100","job":"bench","severity":"warning"},"annotations":{"summary":'
    '"bench alert %s"},"startsAt":"2026-10-05T07:00:00Z","endsAt":"0001-01-01T00:00:00Z",'
    '"generatorURL":"http://127.0.0.1:9090/graph","fingerprint":"%s"}'
)
ENVELOPE = (
    '{"receiver":"slabridge","status":"firing","alerts":[%s],"groupLabels":{},"commonLabels":'
    '{},"commonAnnotations":{},"externalURL":"http://127.0.0.1:9093","version":"4",'
    '"groupKey":"{}:{alertname=\\"BenchCheck\\"}","truncatedAlerts":0}'
)

LUA_COMMON = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
local threads = {}
local next_id = 0
setup = function(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
done = function(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format(
    "RESULT {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, \\"p99_us\\": %%d, " ..
    "\\"max_us\\": %%d, \\"non2xx\\": %%d, \\"socket_errors\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""

LUA_NEW = """
local counter = 0
local alert = '%(alert)s'
local envelope = '%(envelope)s'
request = function()
  counter = counter + 1
  local fp = string.format("%%s%%02x%%010x", run, tid, counter)
  local body = string.format(envelope, string.format(alert, fp, fp, fp))
  return wrk.format(nil, "%(path)s", nil, body)
end
init = function(args) run = args[1] end
"""

LUA_FIXED = """
local body = io.open("%(body_path)s"):read("*a")
request = function()
  return wrk.format(nil, "%(path)s", nil, body)
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with opener.open(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} not ready within {timeout}s")


def lua_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'").replace("%", "%%")


def repeat_body() -> str:
    alerts = ",".join(ALERT % (i, i, f"fffe{i:012x}") for i in range(REPEAT_ALERTS))
    return ENVELOPE % alerts


def run_wrk(url: str, script: Path, seconds: int, connections: int, *args: str) -> dict:
    argv = [
        "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
        "-s", str(script), url, *(["--", *args] if args else []),
    ]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def post_once(url: str, body: bytes) -> int:
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", f"Bearer {TOKEN}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=10) as resp:
        return resp.status


def bench_config() -> str:
    data = yaml.safe_load((REPO / "config" / "example.yaml").read_text(encoding="utf-8"))
    data["sources"].append(
        {
            "name": "bench",
            "type": "alertmanager",
            "auth": {"type": "bearer", "token": TOKEN},
            "routing": [{"label": "customer", "to": "customer", "map": {"acme": "acme"}}],
        }
    )
    data["major_incidents"]["threshold"] = 1_000_000  # one ticket per alert, no correlation
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def bare_server(port: int) -> None:
    """The baseline: read, decode and parse the body into Alerts with slabridge's own
    Alertmanager parser, answer 200: what any receiver must do before storing anything."""
    from aiohttp import web

    from bridge.sources import alertmanager

    async def handle(request: web.Request) -> web.Response:
        n = len(alertmanager.parse(json.loads(await request.read())))
        return web.json_response({"accepted": n, "duplicate": 0, "unrouted": 0, "tickets": []})

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(client_max_size=1 << 20)
    app.router.add_post(PATH, handle)
    app.router.add_get("/healthz", health)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=int, default=5, help="seconds per run")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--profile", help="py-spy collapsed stacks of slabridge into this directory")
    p.add_argument("--bare-port", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.bare_port:
        bare_server(args.bare_port)
        return 0
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="slabridge-bench-"))
    procs: list[subprocess.Popen] = []
    try:
        (tmp / "config.yaml").write_text(bench_config(), encoding="utf-8")
        (tmp / "repeat.json").write_text(repeat_body(), encoding="utf-8")
        common = LUA_COMMON % {"token": TOKEN}
        new_lua = tmp / "new.lua"
        new_lua.write_text(
            common
            + LUA_NEW
            % {
                "alert": lua_escape(ALERT).replace("%%s", "%s"),
                "envelope": lua_escape(ENVELOPE).replace("%%s", "%s"),
                "path": PATH,
            }
        )
        fixed_lua = tmp / "repeat.lua"
        fixed_lua.write_text(common + LUA_FIXED % {"body_path": tmp / "repeat.json", "path": PATH})

        sb_port, bare_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLABRIDGE_")}
        slabridge = [str(Path(sys.executable).parent / "slabridge"), "serve"]
        sb_log = open(tmp / "slabridge.log", "wb")  # noqa: SIM115 - closed with the process
        procs.append(
            subprocess.Popen(
                [
                    *slabridge,
                    "--config",
                    str(tmp / "config.yaml"),
                    "--port",
                    str(sb_port),
                    "--data-dir",
                    str(tmp / "data"),
                ],
                stdout=sb_log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO,
            )  # fmt: skip
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, __file__, "--bare-port", str(bare_port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )  # fmt: skip
        )
        sb_url, bare_url = f"http://127.0.0.1:{sb_port}", f"http://127.0.0.1:{bare_port}"
        wait_http(sb_url + "/healthz", procs[0])
        wait_http(bare_url + "/healthz", procs[1])
        # the 50 repeat alerts exist before the repeat runs: every request is the dedup path
        assert post_once(sb_url + PATH, (tmp / "repeat.json").read_bytes()) == 200

        print(f"wrk: 2 threads, {args.connections} connections, {args.duration}s per run; "
              f"{os.cpu_count()} CPUs; slabridge on SQLite (WAL, synchronous=NORMAL)")  # fmt: skip
        rows = []
        for name, script, per_request in (("new", new_lua, 1), ("repeat", fixed_lua, 50)):
            # a short warm-up on each, then the measured run
            run_wrk(bare_url + PATH, script, 1, args.connections, "w")
            run_wrk(sb_url + PATH, script, 1, args.connections, "w")
            bare = run_wrk(bare_url + PATH, script, args.duration, args.connections, "b")
            spy = None
            if args.profile:
                out = Path(args.profile) / f"{name}.collapsed"
                spy = subprocess.Popen(
                    [str(Path(sys.executable).parent / "py-spy"), "record", "--format", "raw",
                     "-p", str(procs[0].pid), "-d", str(args.duration), "-o", str(out),
                     "--threads", "--nonblocking"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
            sb = run_wrk(sb_url + PATH, script, args.duration, args.connections, "s")
            if spy is not None:
                spy.wait(30)
            rows.append((name, per_request, bare, sb))

        print()
        print(f"{'scenario':<9} {'server':<10} {'req/s':>9} {'alerts/s':>10} {'p50 ms':>8} "
              f"{'p99 ms':>8} {'max ms':>8} {'non-2xx':>8} {'errors':>7}")  # fmt: skip
        for name, per, bare, sb in rows:
            for label, r in (("bare", bare), ("slabridge", sb)):
                print(f"{name:<9} {label:<10} {r['rps']:>9.0f} {r['rps'] * per:>10.0f} "
                      f"{r['p50_us'] / 1000:>8.1f} {r['p99_us'] / 1000:>8.1f} "
                      f"{r['max_us'] / 1000:>8.1f} {r['non2xx']:>8} "
                      f"{r['socket_errors']:>7}")  # fmt: skip
        print()
        new, rep = rows[0], rows[1]
        checks = [
            ("new: slabridge/bare requests/s", new[3]["rps"] / new[2]["rps"], 0.5),
            ("repeat: slabridge/bare alerts/s", rep[3]["rps"] / rep[2]["rps"], 0.7),
        ]
        for label, ratio, target in checks:
            verdict = "ok" if ratio >= target else "MISSED"
            print(f"{label:<34} {ratio:5.2f}×  (target ≥ {target}×)  {verdict}")
        for name, _per, _bare, sb in rows:
            p99 = sb["p99_us"] / 1000
            verdict = "ok" if p99 < 50 else "MISSED"
            print(f"{name + ': slabridge p99':<34} {p99:5.1f} ms (target < 50 ms)  {verdict}")
        return 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
