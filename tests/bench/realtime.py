#!/usr/bin/env python3
"""TinyBase vs PocketBase realtime benchmark (server-sent events): one command.

    python3 tests/bench/realtime.py           # release builds -> docs/BENCHMARKS-realtime.md
    python3 tests/bench/realtime.py --smoke   # CI: debug build, small numbers, no docs
    python3 tests/bench/realtime.py --only idle   # step 1 on TinyBase alone, no docs

For each server, on a fresh data directory with the same `posts` collection as the load
benchmark (public list/view, create for signed-in users):

1. idle: N streams (default 10,000) open and connected, nothing subscribed; the server's
   resident memory is read 2 s after the last one connected, minus what it held before,
   and reported in KiB per connection;
2. delivery: S streams (default 1,000) subscribed to `posts` while a writer creates
   records at R/s (default 500) for T s; every subscriber times every record from just
   before its create request was sent to the moment it read the event (p50, p99), and
   the run counts events that never arrived. Three rounds (`--rounds`), each with fresh
   streams; the report gives the medians and each round's p99;
3. write throughput: wrk's "create a record" (the load benchmark's workload) with no
   stream open, then with S subscribed streams reading every event; the ratio is the
   share of write throughput realtime leaves.

The clients are tests/src/bin/bench_realtime.rs (Rust, tokio). Exits 1 when any request
or event failed, after writing the report.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import cargo_out, ensure_venv, ensure_wrk, log  # noqa: E402
from servers import POSTS, BenchError, PocketBase, Server, TinyBase, cleanup  # noqa: E402
from workloads import CREATE_BODY, Workload, run_wrk, smoke_check  # noqa: E402

ROOT = HERE.parent.parent
CACHE = HERE / ".cache"


def build(release: bool) -> tuple[Path, Path]:
    target = cargo_out(release)
    cmd = ["cargo", "build", "-p", "hello", "-p", "tinybase-e2e", "--bin", "hello",
           "--bin", "bench_realtime"] + (["--release"] if release else [])
    log(" ".join(cmd))
    subprocess.run(cmd, cwd=ROOT, check=True)
    return target / "hello", target / "bench_realtime"


def rss_kib(server: Server) -> int:
    return server._status_kib("VmRSS")


class Streams:
    """A running bench_realtime: opens its streams, then holds or writes."""

    def __init__(self, client: Path, server: Server, connections: int,
                 subscribe: bool = False, writes_per_second: int = 0, seconds: int = 0,
                 filter: str | None = None):
        cmd = [str(client), "--server", "pocketbase" if isinstance(server, PocketBase)
               else "tinybase", "--base", server.base, "--connections", str(connections)]
        if subscribe:
            cmd += ["--subscribe", POSTS]
        if filter:
            cmd += ["--filter", filter]
        if writes_per_second:
            cmd += ["--writes-per-second", str(writes_per_second), "--seconds", str(seconds),
                    "--create-token", server.user_token]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.connections = connections

    def wait_ready(self, timeout: float = 300) -> None:
        assert self.proc.stdout is not None
        deadline = time.time() + timeout
        line = self.proc.stdout.readline()
        if not line.startswith("ready ") or time.time() > deadline:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise BenchError(f"bench_realtime did not open its streams: {line!r} {err}")

    def finish(self, timeout: float = 120) -> dict:
        """Closes stdin (ends a hold) and returns the client's closing JSON line."""
        out, err = self.proc.communicate("", timeout=timeout)
        if self.proc.returncode != 0:
            raise BenchError(f"bench_realtime failed: {err.strip()}")
        return json.loads(out.strip().splitlines()[-1])


def measure(server: Server, client: Path, args, scratch: Path) -> dict:
    out = measure_idle(server, client, args)
    if args.only == "idle":
        return out
    return out | measure_load(server, client, args, scratch)


def measure_idle(server: Server, client: Path, args) -> dict:
    """Step 1: the resident memory of idle streams."""
    out: dict = {}
    time.sleep(1)
    before = rss_kib(server)
    streams = Streams(client, server, args.idle)
    streams.wait_ready()
    time.sleep(2)
    during = rss_kib(server)
    streams.finish()
    out["idle_connections"] = args.idle
    out["rss_before_mib"] = before / 1024
    out["rss_idle_mib"] = during / 1024
    out["kib_per_connection"] = (during - before) / args.idle
    log(f"  {server.name:10} {args.idle:,} idle streams: RSS {before / 1024:.1f} -> "
        f"{during / 1024:.1f} MiB ({out['kib_per_connection']:.1f} KiB each)")
    return out


def measure_load(server: Server, client: Path, args, scratch: Path) -> dict:
    """Steps 2 and 3: delivery latency and write throughput."""
    out: dict = {}
    # 2. delivery latency: the median of the rounds (the tail moves a lot between runs
    # when server and clients share two cores), every round's figures kept.
    rounds = []
    for n in range(args.rounds):
        streams = Streams(client, server, args.subscribers, subscribe=True,
                          writes_per_second=args.rate, seconds=args.seconds)
        streams.wait_ready()
        cpu0 = server.cpu_seconds()
        # The client gives up on writes unanswered 30 s after the last and waits 5 s more
        # for events, so it always ends well within this.
        result = streams.finish(timeout=args.seconds + 120)
        result["cpu_s"] = server.cpu_seconds() - cpu0
        rounds.append(result)
        log(f"  {server.name:10} round {n + 1}: {args.subscribers:,} subscribers, "
            f"{args.rate}/s for {args.seconds} s: {result['delivered']:,}/"
            f"{result['expected']:,} events, p50 {result['p50_ms']:.1f} ms, p99 "
            f"{result['p99_ms']:.1f} ms, max {result['max_ms']:.1f} ms, write errors "
            f"{result['write_errors']}")
    out["delivery_rounds"] = rounds
    out["delivery"] = {
        key: statistics.median(r[key] for r in rounds)
        for key in ("p50_ms", "p99_ms", "max_ms")
    } | {key: sum(r[key] for r in rounds)
         for key in ("delivered", "expected", "write_errors")}
    out["delivery_cpu_s"] = statistics.median(r["cpu_s"] for r in rounds)

    # 3. write throughput: no streams; streams whose filter no new record matches (the
    # cost of checking each write against every subscription); streams that take every
    # record (the cost of delivering; a stream that falls 256 events behind is cut off).
    create = Workload("create", "create a record (auth)", "POST",
                      lambda s: s.records_path(POSTS), body=lambda s: CREATE_BODY, auth=True)
    smoke_check(server, create)
    alone = run_wrk(server, create, args.wrk_seconds, scratch)
    out["create_alone_rps"] = alone.rps
    out["create_errors"] = alone.errors
    for key, filter in (("filtered", "rating = 5"), ("all", None)):
        streams = Streams(client, server, args.subscribers, subscribe=True, filter=filter)
        streams.wait_ready()
        watched = run_wrk(server, create, args.wrk_seconds, scratch)
        held = streams.finish()
        out[f"create_{key}_rps"] = watched.rps
        out[f"create_{key}_events"] = held["events"]
        out["create_errors"] += watched.errors
        log(f"  {server.name:10} creates with {args.subscribers:,} subscribers "
            f"({'filter ' + repr(filter) if filter else 'every record'}): "
            f"{watched.rps:.0f}/s vs {alone.rps:.0f}/s alone "
            f"({watched.rps / alone.rps:.0%}), {held['events']:,} events delivered")
    return out


def failures(results: dict) -> list[str]:
    bad = []
    for name, r in results.items():
        if r["delivery"]["write_errors"]:
            bad.append(f"{name}: {r['delivery']['write_errors']} failed writes")
        # Per round: a round that counts late events of the one before must not hide
        # another round's missing ones in the totals.
        for n, d in enumerate(r["delivery_rounds"], 1):
            if d["delivered"] < d["expected"]:
                bad.append(f"{name}: {d['expected'] - d['delivered']} events not "
                           f"delivered in round {n}")
        if r["create_errors"]:
            bad.append(f"{name}: {r['create_errors']} failed creates under wrk")
    return bad


def report(results: dict, args, path: Path) -> None:
    names = list(results)
    rows = [
        ("idle streams open", lambda r: f"{r['idle_connections']:,}"),
        ("RSS before → with them (MiB)",
         lambda r: f"{r['rss_before_mib']:.1f} → {r['rss_idle_mib']:.1f}"),
        ("KiB per idle stream", lambda r: f"{r['kib_per_connection']:.1f}"),
        (f"delivery p50 / p99 / max (ms), {args.subscribers:,} subscribers, "
         f"{args.rate} writes/s, median of {args.rounds}", lambda r: f"{r['delivery']['p50_ms']:.1f} / "
         f"{r['delivery']['p99_ms']:.1f} / {r['delivery']['max_ms']:.1f}"),
        ("delivery p99 of each round (ms)",
         lambda r: ", ".join(f"{x['p99_ms']:.1f}" for x in r["delivery_rounds"])),
        ("events delivered / expected, all rounds",
         lambda r: f"{r['delivery']['delivered']:,} / {r['delivery']['expected']:,}"),
        ("server CPU seconds during delivery (median round)", lambda r: f"{r['delivery_cpu_s']:.1f}"),
        ("creates/s, no subscribers", lambda r: f"{r['create_alone_rps']:,.0f}"),
        (f"creates/s, {args.subscribers:,} subscribers whose filter `rating = 5` no new "
         "record matches", lambda r: f"{r['create_filtered_rps']:,.0f} "
         f"({r['create_filtered_rps'] / r['create_alone_rps']:.0%})"),
        (f"creates/s, {args.subscribers:,} subscribers to every record",
         lambda r: f"{r['create_all_rps']:,.0f} "
         f"({r['create_all_rps'] / r['create_alone_rps']:.0%})"),
        ("events delivered during those creates", lambda r: f"{r['create_all_events']:,}"),
    ]
    lines = [
        "# Realtime benchmark: TinyBase vs PocketBase",
        "",
        f"`python3 tests/bench/realtime.py {' '.join(sys.argv[1:])}`".replace(" `", "`"),
        f"on {time.strftime('%Y-%m-%d')}, both servers on 127.0.0.1 on the same 2-core "
        "machine as their clients (tests/src/bin/bench_realtime.rs and wrk), "
        f"{'debug' if args.smoke else 'release'} builds, fresh data directories. How each number is measured: the docstring of "
        "tests/bench/realtime.py. Delivery latency runs from just before the create "
        "request is sent to the subscriber reading the event, so it includes the write.",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(results[n]) for n in names) + " |")
    path.write_text("\n".join(lines) + "\n")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true",
                   help="CI mode: debug build, 200 idle streams, 50 subscribers at 50 "
                        "writes/s for 2 s, 1 s wrk runs; report in tests/bench/.cache")
    p.add_argument("--idle", type=int, default=10_000)
    p.add_argument("--subscribers", type=int, default=1_000)
    p.add_argument("--rate", type=int, default=500, help="writes per second")
    p.add_argument("--seconds", type=int, default=10, help="seconds of writes")
    p.add_argument("--wrk-seconds", type=float, default=10)
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds of the delivery step; the report gives their medians")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--only", choices=["idle"], default=None,
                   help="run only this step, on TinyBase alone (no PocketBase, no wrk); "
                        "prints its numbers and writes no report")
    args = p.parse_args(argv)
    if args.smoke:
        args.idle, args.subscribers, args.rate, args.seconds = 200, 50, 50, 2
        args.wrk_seconds, args.rounds = 1, 1
        args.out = args.out or CACHE / "smoke" / "BENCHMARKS-realtime.md"
    args.out = args.out or ROOT / "docs" / "BENCHMARKS-realtime.md"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    # Every stream is a file descriptor in the server and in the client.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.idle + 1_000
    if hard != resource.RLIM_INFINITY and hard < need:
        sys.exit(f"error: {args.idle:,} streams need {need:,} file descriptors; the hard "
                 f"limit is {hard:,} (raise it or pass a smaller --idle)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    if not args.only:
        ensure_wrk()
        pb_bin = ensure_venv(with_plot=False)
    tb_bin, client = build(release=not args.smoke)
    tmp = Path(tempfile.mkdtemp(prefix="tinybase-realtime-"))
    results: dict = {}
    try:
        servers = [TinyBase(tmp / "tinybase", tb_bin)]
        if not args.only:
            servers.append(PocketBase(tmp / "pocketbase", pb_bin))
        for server in servers:
            try:
                server.setup(with_indexed=False)
                server.login_user()
                log(f"{server.name} (pid {server.pid}, port {server.port})")
                results[server.name] = measure(server, client, args, tmp / "scratch")
            finally:
                server.stop()
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        cleanup(tmp)
    if args.only:
        print(json.dumps(results, indent=2), flush=True)
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report(results, args, args.out)
    log(f"wrote {args.out}")
    print(args.out.read_text(), flush=True)
    bad = failures(results)
    # One closing line for CI: each server's three measurements, failed when a request
    # or an event was lost.
    measured = 3 * len(results)
    print(f"{measured - len(bad)} passed, {len(bad)} failed", flush=True)
    if bad:
        print("error: " + "; ".join(bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
