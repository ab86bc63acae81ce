#!/usr/bin/env python3
"""What one signed-up user or one client can do to the server: the hardening probes.

    python3 tests/bench/probes.py           # release build -> docs/BENCHMARKS-probes.md
    python3 tests/bench/probes.py --smoke   # debug build, smaller probes, no docs

Starts examples/hello on a fresh data directory with its default settings (only the
login limits are lifted so the setup can sign in freely), then runs one probe after
another while a sampler asks `GET /api/health` on a new connection every 20 ms:

1. large creates: 16 creates of 10 MB at once (over the 1 MiB default record limit),
   then 36 records of just under 1 MiB, four writers at a time;
2. large lists: four anonymous `per_page=500` lists of those records at once, ten times;
3. expensive filters: 300 records of 100 KB of text, then four callers at once sending a
   filter of 10 `~` terms of 300 characters (the most a filter may hold), five times each,
   and one filter with 100 short `~` terms (refused);
4. registration flood: 150 sign-ups in a row from one address;
5. slow clients: 200 connections that send a request line and then one header line a
   second, for 5 s past the header timeout.

For each probe: the server's peak resident memory (VmHWM, reset before the probe), the
health check's p50/p99/max, and what the probe saw. After the last probe the server
idles for a minute (--idle) and its resident memory is compared with what it held
before the first. The targets checked: peak below 256 MiB, health p99 below 100 ms, memory
back within 20% of its starting level, and a 429 before the 100th sign-up.

Exits 1 when a probe saw something it should not (a 5xx, a large create accepted, a
filter over the limit answered), after printing the report.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import build_binaries, log  # noqa: E402
from servers import BenchError, TinyBase, expect, http  # noqa: E402

ROOT = HERE.parent.parent
PEAK_LIMIT_MIB = 256
HEALTH_P99_LIMIT_MS = 100
RSS_RETURN_FACTOR = 1.2
REGISTRATIONS_BEFORE_429 = 100
HEADER_TIMEOUT_S = 10  # the server's default `server.header_timeout_seconds`


class HealthSampler:
    """Asks /api/health on a fresh connection every 20 ms until stopped; keeps latencies."""

    def __init__(self, port: int):
        self.port = port
        self.latencies_ms: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                conn = HTTPConnection("127.0.0.1", self.port, timeout=60)
                conn.request("GET", "/api/health")
                response = conn.getresponse()
                response.read()
                conn.close()
                if response.status != 200:
                    self.failures += 1
            except OSError:
                self.failures += 1
            self.latencies_ms.append((time.perf_counter() - started) * 1000)
            self._stop.wait(0.02)

    def __enter__(self) -> "HealthSampler":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def send(port: int, method: str, path: str, body: bytes | None = None,
         token: str | None = None, timeout: float = 120) -> int:
    """One request on its own connection; the status, or 0 when the server cut it off."""
    conn = HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    except (BrokenPipeError, ConnectionResetError):
        return 0
    finally:
        conn.close()


def json_body(numbers: int) -> bytes:
    """`{"meta": [0,0,...]}` of about 2 bytes per number."""
    return b'{"meta":[' + b",".join([b"0"] * numbers) + b"]}"


class Probes:
    def __init__(self, server: TinyBase, smoke: bool):
        self.server = server
        self.port = server.port
        self.smoke = smoke
        self.unexpected: list[str] = []
        # Bodies are made before any probe: building them in Python holds the interpreter
        # lock long enough to delay the health sampler and count against the server.
        self.huge = json_body(5 * 1024 * 1024)  # 10 MB
        self.large = json_body(499_000)  # just under 1 MiB

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.unexpected.append(what)

    def large_creates(self) -> str:
        huge = self.huge
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(
                lambda _: send(self.port, "POST", "/api/collections/pub/records", huge,
                               self.server.user_token), range(16)))
        refused = sum(1 for s in statuses if s in (0, 413))
        self.check(refused == 16, f"10 MB creates answered {statuses}")
        large = self.large
        count = 12 if self.smoke else 36

        def writer(share: int) -> list[int]:
            return [send(self.port, "POST", "/api/collections/pub/records", large,
                         self.server.user_token) for _ in range(share)]

        with ThreadPoolExecutor(4) as pool:
            created = [s for part in pool.map(writer, [count // 4] * 4) for s in part]
        self.check(all(s == 201 for s in created), f"1 MB creates answered {set(created)}")
        return f"16 × 10 MB refused ({refused}/16), {created.count(201)} × 1 MB created"

    def large_lists(self) -> str:
        rounds = 3 if self.smoke else 10
        url = "/api/collections/pub/records?per_page=500"
        served_bytes = 0

        def one(_):
            conn = HTTPConnection("127.0.0.1", self.port, timeout=120)
            conn.request("GET", url)
            response = conn.getresponse()
            body = response.read()
            conn.close()
            return response.status, len(body)

        statuses = []
        for _ in range(rounds):
            with ThreadPoolExecutor(4) as pool:
                for status, size in pool.map(one, range(4)):
                    statuses.append(status)
                    served_bytes += size
        self.check(all(s == 200 for s in statuses), f"lists answered {set(statuses)}")
        return (f"{len(statuses)} lists of per_page=500, "
                f"{served_bytes / len(statuses) / 2**20:.1f} MiB each on average")

    def expensive_filters(self) -> str:
        records = 60 if self.smoke else 300
        text = ("lorem ipsum dolor sit amet " * 4000)[:100_000]
        body = json.dumps({"body": text}).encode()

        def writer(share: int) -> list[int]:
            return [send(self.port, "POST", "/api/collections/texts/records", body,
                         self.server.user_token) for _ in range(share)]

        with ThreadPoolExecutor(4) as pool:
            created = [s for part in pool.map(writer, [records // 4] * 4) for s in part]
        self.check(all(s == 201 for s in created), f"text creates answered {set(created)}")
        term = "body ~ '" + ("zq" * 150) + "'"
        allowed = urllib.parse.quote(" || ".join([term] * 10))
        too_many = urllib.parse.quote(" || ".join(["body ~ 'zq'"] * 100))
        path = f"/api/collections/texts/records?filter={allowed}"
        timings: list[float] = []
        statuses: list[int] = []

        def caller(_):
            for _ in range(5):
                started = time.perf_counter()
                statuses.append(send(self.port, "GET", path))
                timings.append(time.perf_counter() - started)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(caller, range(4)))
        self.check(all(s in (200, 400, 504) for s in statuses),
                   f"filters answered {set(statuses)}")
        refused = send(self.port, "GET", f"/api/collections/texts/records?filter={too_many}")
        self.check(refused == 400, f"a 100-term filter answered {refused}")
        return (f"{len(statuses)} filters of 10 × `~` over {records} × 100 KB: "
                f"{statuses.count(200)} answered, p50 {statistics.median(timings) * 1000:.0f} ms, "
                f"max {max(timings) * 1000:.0f} ms; 100 terms: {refused}")

    def registration_flood(self) -> str:
        first_429 = None
        statuses = []
        for n in range(1, 151):
            status = send(self.port, "POST", "/api/auth/register", json.dumps(
                {"email": f"flood{n}@example.com", "password": "flood-password"}).encode())
            statuses.append(status)
            if status == 429 and first_429 is None:
                first_429 = n
        self.check(all(s in (201, 429) for s in statuses),
                   f"sign-ups answered {set(statuses)}")
        self.check(first_429 is not None and first_429 < REGISTRATIONS_BEFORE_429,
                   f"first 429 at sign-up {first_429}")
        return f"150 sign-ups: {statuses.count(201)} created, first 429 at #{first_429}"

    def slow_clients(self) -> str:
        count = 50 if self.smoke else 200
        sockets = []
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            sockets.append(s)
        closed = 0
        deadline = time.time() + HEADER_TIMEOUT_S + 5
        while time.time() < deadline:
            for s in sockets:
                try:
                    s.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass
            time.sleep(1)
        for s in sockets:
            try:
                s.settimeout(0.5)
                data = s.recv(4096)
                if not data or data.startswith(b"HTTP/1.1 408") or data.startswith(b"HTTP/1.1 4"):
                    closed += 1
            except (TimeoutError, socket.timeout):
                pass
            except OSError:
                closed += 1
            finally:
                s.close()
        self.check(closed == count, f"only {closed} of {count} slow connections were closed")
        return f"{count} connections trickling headers: {closed} closed by the server"


def setup_collections(server: TinyBase) -> None:
    for body in (
        {"name": "pub", "schema": {"fields": [{"name": "meta", "type": "json"}]},
         "options": {"list_rule": "public", "view_rule": "public", "create_rule": "auth"}},
        {"name": "texts", "schema": {"fields": [{"name": "body", "type": "text"}]},
         "options": {"list_rule": "public", "view_rule": "public", "create_rule": "auth"}},
    ):
        expect(http("POST", server.base + "/api/collections", body, server.admin_token),
               {201}, f"create collection {body['name']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="debug build, smaller probes")
    parser.add_argument("--idle", type=float, default=60.0,
                        help="seconds to idle before the last memory reading (default 60)")
    parser.add_argument("--out", type=Path, help="report path")
    args = parser.parse_args()
    hello, _floor = build_binaries(release=not args.smoke)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinybase-probes-") as tmp:
        server = TinyBase(Path(tmp) / "tinybase", hello)
        try:
            server.setup(with_indexed=False)
            server.login_user()
            setup_collections(server)
            time.sleep(1)
            rss_before = server._status_kib("VmRSS")
            log(f"resident memory before the probes: {rss_before / 1024:.1f} MiB")
            probes = Probes(server, args.smoke)
            for name, probe in [
                ("large creates", probes.large_creates),
                ("large lists", probes.large_lists),
                ("expensive filters", probes.expensive_filters),
                ("registration flood", probes.registration_flood),
                ("slow clients", probes.slow_clients),
            ]:
                server.reset_peak_rss()
                log(f"probe: {name}")
                with HealthSampler(server.port) as health:
                    seen = probe()
                peak = server.peak_rss_kib() / 1024
                rows.append((name, peak, health.percentile(0.5), health.percentile(0.99),
                             max(health.latencies_ms or [float("nan")]), health.failures,
                             seen))
                log(f"  {seen}; peak {peak:.1f} MiB, health p99 {health.percentile(0.99):.1f} ms")
            log(f"idling {args.idle:.0f} s")
            time.sleep(args.idle)
            rss_after = server._status_kib("VmRSS")
        finally:
            server.stop()

    lines = [
        "# Hardening probes",
        "",
        f"`python3 tests/bench/probes.py{' --smoke' if args.smoke else ''}` "
        f"({'debug' if args.smoke else 'release'} build, default settings, one machine, "
        "loopback). Health: `GET /api/health` on a new connection every 20 ms during the probe.",
        "",
        "| probe | peak RSS MiB | health p50 ms | health p99 ms | health max ms | health failures | what the probe saw |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, peak, p50, p99, worst, failures, seen in rows:
        lines.append(f"| {name} | {peak:.1f} | {p50:.1f} | {p99:.1f} | {worst:.1f} | "
                     f"{failures} | {seen} |")
    back = rss_after <= rss_before * RSS_RETURN_FACTOR
    lines += [
        "",
        f"Resident memory: {rss_before / 1024:.1f} MiB before the first probe, "
        f"{rss_after / 1024:.1f} MiB after {args.idle:.0f} s of idling "
        f"({'within' if back else 'NOT within'} 20%).",
        "",
        "Targets: " + ", ".join([
            f"peak < {PEAK_LIMIT_MIB} MiB: "
            + ("met" if all(r[1] < PEAK_LIMIT_MIB for r in rows) else "NOT met"),
            f"health p99 < {HEALTH_P99_LIMIT_MS} ms: "
            + ("met" if all(r[3] < HEALTH_P99_LIMIT_MS for r in rows) else "NOT met"),
            "memory back within 20%: " + ("met" if back else "NOT met"),
        ]) + ".",
    ]
    if probes.unexpected:
        lines += ["", "Unexpected answers: " + "; ".join(probes.unexpected)]
    report = "\n".join(lines) + "\n"
    print(report)
    if not args.smoke or args.out:
        out = args.out or ROOT / "docs" / "BENCHMARKS-probes.md"
        out.write_text(report)
        log(f"wrote {out}")
    print(f"{len(rows) - len(probes.unexpected)} passed, {len(probes.unexpected)} failed")
    return 1 if probes.unexpected else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as err:
        sys.exit(f"error: {err}")
